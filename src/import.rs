//! `scaler config import`: converts a SIPMediaGW `scaler.json` (or, in
//! [`simplescalevm`], a SimpleScaleVM `.env`) into the TOML of one pool. Handles both forms of `auto_scale_threshold` (the older flat
//! map of slot times, and timelines per weekday or `default`, with
//! comma-separated day lists such as `"saturday,sunday"`). Values without an
//! equivalent become comments; secrets are never copied: each becomes a
//! `password_env` placeholder naming the variable to export.

mod simplescalevm;

pub use crate::cli::{ConfigCommand, ImportArgs, ImportFrom, ImportKind};
use crate::config::PoolKind;
use crate::error::Error;
use crate::report::Report;
use chrono::NaiveTime;
use serde_json::{Map, Value};
pub use simplescalevm::{EnvOptions, detect as is_simplescalevm_env, import as import_env};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Runs `scaler config import`: its report holds the TOML (`toml`), what
/// the operator must look at (`notes`) and, with `--output`, the file
/// written (`output`); text mode prints the TOML to stdout (or writes the
/// file) and the notes to stderr. Exit 78 when the input is not a valid
/// SIPMediaGW configuration, 64 when `--output` exists without `--force` or
/// `--timezone` is unknown, 1 when writing fails.
pub fn command(command: &ConfigCommand) -> Result<Report, Error> {
    let ConfigCommand::Import(args) = command;
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| Error::Config(format!("cannot read {}: {e}", args.file.display())))?;
    let mut report = Report::new(NAME);
    let from = args.from.unwrap_or(if simplescalevm::detect(&text) {
        ImportFrom::Simplescalevm
    } else {
        ImportFrom::Sipmediagw
    });
    let imported = match from {
        ImportFrom::Simplescalevm => simplescalevm::import(
            &text,
            &EnvOptions {
                pool_name: args.name.clone(),
                max_replicas: args.max_gateways,
                timezone: args.timezone.clone().unwrap_or_else(|| "UTC".into()),
                source_name: args.file.display().to_string(),
            },
        ),
        ImportFrom::Sipmediagw => import(&text, &sipmediagw_options(args, &mut report)?),
    }
    .map_err(|e| Error::Config(e.to_string()))?;
    finish(args, imported, report)
}

/// The options of a SIPMediaGW import (`--timezone` checked, else the host's).
fn sipmediagw_options(args: &ImportArgs, report: &mut Report) -> Result<ImportOptions, Error> {
    let timezone = match &args.timezone {
        Some(name) if name.parse::<chrono_tz::Tz>().is_err() => {
            return Err(Error::Usage(format!(
                "--timezone: unknown timezone {name:?} (expected an IANA name such as Europe/Paris)"
            )));
        }
        Some(name) => name.clone(),
        None => host_timezone(&mut report.notes),
    };
    Ok(ImportOptions {
        pool_name: args.name.clone(),
        kind: args.kind.map(|k| match k {
            ImportKind::Sip => PoolKind::Sip,
            ImportKind::Media => PoolKind::Media,
        }),
        timezone,
        default_max_gateways: args.max_gateways,
        source_name: args.file.display().to_string(),
    })
}

/// Validates the converted TOML, writes it out with `--output`, and fills
/// the report.
fn finish(args: &ImportArgs, imported: Imported, mut report: Report) -> Result<Report, Error> {
    let target = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from("imported.toml"));
    if let Err(e) = crate::config::parse(&imported.toml, &target) {
        return Err(Error::Config(format!(
            "the converted configuration does not validate: {e}"
        )));
    }
    report.notes.extend(imported.notes);
    if let Some(path) = &args.output {
        if path.exists() && !args.force {
            return Err(Error::Usage(format!(
                "{} exists: add --force to replace it",
                path.display()
            )));
        }
        write_new(path, &imported.toml).map_err(|e| {
            Error::Internal(anyhow::anyhow!("cannot write {}: {e}", path.display()))
        })?;
        report.output = Some(path.display().to_string());
    }
    report.toml = Some(imported.toml);
    Ok(report)
}

/// The command's name in its report.
pub const NAME: &str = "config import";

/// The host's timezone name for `schedule.timezone` (UTC when the host names
/// none), with a note saying where it came from.
fn host_timezone(notes: &mut Vec<String>) -> String {
    let tz = std::env::var("TZ").ok();
    let found = crate::host_timezone::detect(tz.as_deref(), Path::new("/"));
    for reason in &found.skipped {
        notes.push(format!("{reason}: skipped"));
    }
    match found.zone {
        Some((zone, source)) => {
            notes.push(format!(
                "schedule.timezone = \"{}\" from {source} (SIPMediaGW used the \
                 host's local time; --timezone chooses another)",
                zone.name()
            ));
            zone.name().to_string()
        }
        None => {
            notes.push(
                "schedule.timezone = \"UTC\": the host names no timezone (TZ, \
                 /etc/timezone, /etc/localtime); give --timezone with SIPMediaGW's local zone"
                    .to_string(),
            );
            "UTC".to_string()
        }
    }
}

/// Writes the file readable by its owner and group only: it names accounts.
fn write_new(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    crate::state::write_atomic(path, text.as_bytes())?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o640))
}

/// Choices the JSON cannot make.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// `pool.name`; derived from `gw_name_prefix` when absent.
    pub pool_name: Option<String>,
    /// `pool.kind`; `sip` when the file has `sip_db`, else `media` when it has `redis`.
    pub kind: Option<PoolKind>,
    /// `schedule.timezone` (SIPMediaGW used the host's local time).
    pub timezone: String,
    /// `max_gateways` for slots without `maxGw` (older files had no cap).
    pub default_max_gateways: u32,
    /// The input's name, for the header comment.
    pub source_name: String,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            pool_name: None,
            kind: None,
            timezone: "UTC".into(),
            default_max_gateways: 100,
            source_name: "scaler.json".into(),
        }
    }
}

/// The converted configuration.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The TOML text.
    pub toml: String,
    /// What the operator must look at (also present as `# NOTE` comments).
    pub notes: Vec<String>,
}

/// Why a file could not be converted.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Not JSON.
    #[error("{source_name}: not valid JSON: {error}")]
    Json {
        /// The input's name.
        source_name: String,
        /// serde_json's message (with line and column).
        error: serde_json::Error,
    },
    /// JSON, but not a SIPMediaGW scaler configuration.
    #[error("{source_name}: {key}: {message}")]
    Invalid {
        /// The input's name.
        source_name: String,
        /// The JSON key path.
        key: String,
        /// What is wrong.
        message: String,
    },
}

const DAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// Keys `import` understands at the top level.
const KNOWN: [&str; 12] = [
    "gw_name_prefix",
    "auto_scale_threshold",
    "cpu_per_gw",
    "ram_per_gw",
    "sip_db",
    "redis",
    "cleaner_blacklist",
    "cleanup_threshold_seconds",
    "api_token",
    "create_timeout_seconds",
    "orphan_confirmations",
    "pool_name",
];

/// One converted slot.
#[derive(Debug, Clone)]
struct Slot {
    start: NaiveTime,
    idle_min: u64,
    load_max: f64,
    max_gateways: Option<u64>,
    ignored: Vec<String>,
}

struct Converter<'a> {
    options: &'a ImportOptions,
    notes: Vec<String>,
}

/// A TOML string literal.
fn quote(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// A float as TOML writes it (`1.0`, `0.75`).
fn float(value: f64) -> String {
    format!("{value:?}")
}

/// Seconds as a human duration (`600` -> `"10m"`).
fn human(seconds: u64) -> String {
    crate::duration::HumanDuration(std::time::Duration::from_secs(seconds)).to_string()
}

impl Converter<'_> {
    fn invalid(&self, key: &str, message: impl Into<String>) -> ImportError {
        ImportError::Invalid {
            source_name: self.options.source_name.clone(),
            key: key.to_string(),
            message: message.into(),
        }
    }

    fn note(&mut self, out: &mut String, text: String) {
        let _ = writeln!(out, "# NOTE: {text}");
        self.notes.push(text);
    }

    fn whole(&self, value: &Value, key: &str) -> Result<u64, ImportError> {
        match value {
            Value::Number(n) => n
                .as_u64()
                .or_else(|| {
                    n.as_f64()
                        .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 1e15)
                        .map(|f| f as u64)
                })
                .ok_or_else(|| self.invalid(key, format!("expected a whole number, got {n}"))),
            Value::String(s) => s
                .trim()
                .parse()
                .map_err(|_| self.invalid(key, format!("expected a whole number, got {s:?}"))),
            other => Err(self.invalid(key, format!("expected a whole number, got {other}"))),
        }
    }

    fn number(&self, value: &Value, key: &str) -> Result<f64, ImportError> {
        match value {
            Value::Number(n) => n
                .as_f64()
                .ok_or_else(|| self.invalid(key, format!("expected a number, got {n}"))),
            Value::String(s) => s
                .trim()
                .parse()
                .map_err(|_| self.invalid(key, format!("expected a number, got {s:?}"))),
            other => Err(self.invalid(key, format!("expected a number, got {other}"))),
        }
    }

    fn string<'v>(&self, value: &'v Value, key: &str) -> Result<&'v str, ImportError> {
        value
            .as_str()
            .ok_or_else(|| self.invalid(key, format!("expected a string, got {value}")))
    }

    fn object<'v>(
        &self,
        value: &'v Value,
        key: &str,
    ) -> Result<&'v Map<String, Value>, ImportError> {
        value
            .as_object()
            .ok_or_else(|| self.invalid(key, format!("expected an object, got {value}")))
    }

    fn slot(&self, time: &str, value: &Value, key: &str) -> Result<Slot, ImportError> {
        let start = NaiveTime::parse_from_str(time, "%H:%M:%S")
            .or_else(|_| NaiveTime::parse_from_str(time, "%H:%M"))
            .map_err(|_| self.invalid(key, "expected a slot time \"HH:MM:SS\""))?;
        let fields = self.object(value, key)?;
        let idle_min = match fields.get("unlockedMin") {
            Some(v) => self.whole(v, &format!("{key}.unlockedMin"))?,
            None => return Err(self.invalid(key, "missing unlockedMin")),
        };
        let load_max = match fields.get("loadMax") {
            Some(v) => self.number(v, &format!("{key}.loadMax"))?,
            None => return Err(self.invalid(key, "missing loadMax")),
        };
        let min = crate::config::MIN_LOAD_MAX;
        if !(min..=1.0).contains(&load_max) {
            return Err(self.invalid(
                &format!("{key}.loadMax"),
                format!("must be from {min} to 1, got {load_max}"),
            ));
        }
        let max_gateways = fields
            .get("maxGw")
            .map(|v| self.whole(v, &format!("{key}.maxGw")))
            .transpose()?;
        let ignored = fields
            .keys()
            .filter(|k| !matches!(k.as_str(), "unlockedMin" | "loadMax" | "maxGw"))
            .cloned()
            .collect();
        Ok(Slot {
            start,
            idle_min,
            load_max,
            max_gateways,
            ignored,
        })
    }

    fn timeline(&self, value: &Value, key: &str) -> Result<Vec<Slot>, ImportError> {
        let entries = self.object(value, key)?;
        if entries.is_empty() {
            return Err(self.invalid(key, "a timeline needs at least one slot"));
        }
        let mut slots = entries
            .iter()
            .map(|(time, slot)| self.slot(time, slot, &format!("{key}.{time}")))
            .collect::<Result<Vec<_>, _>>()?;
        slots.sort_by_key(|s| s.start);
        if let Some(pair) = slots.windows(2).find(|w| w[0].start == w[1].start) {
            return Err(self.invalid(
                key,
                format!("two slots start at {}", pair[0].start.format("%H:%M:%S")),
            ));
        }
        Ok(slots)
    }

    /// `auto_scale_threshold` as timelines named `default` or a weekday.
    fn schedule(&self, value: &Value) -> Result<BTreeMap<String, Vec<Slot>>, ImportError> {
        const KEY: &str = "auto_scale_threshold";
        let entries = self.object(value, KEY)?;
        let is_time = |k: &str| k.contains(':');
        if entries.keys().all(|k| is_time(k)) {
            return Ok(BTreeMap::from([(
                "default".to_string(),
                self.timeline(value, KEY)?,
            )]));
        }
        if let Some(time) = entries.keys().find(|k| is_time(k)) {
            return Err(self.invalid(
                KEY,
                format!("mixes slot times ({time:?}) with day names: use one form"),
            ));
        }
        let mut timelines = BTreeMap::new();
        for (days, timeline) in entries {
            let key = format!("{KEY}.{days}");
            let slots = self.timeline(timeline, &key)?;
            for day in days.split(',').map(|d| d.trim().to_ascii_lowercase()) {
                if day != "default" && !DAYS.contains(&day.as_str()) {
                    return Err(self.invalid(
                        &key,
                        format!("unknown day {day:?} (expected default or monday ... sunday)"),
                    ));
                }
                if timelines.insert(day.clone(), slots.clone()).is_some() {
                    return Err(self.invalid(&key, format!("{day} has two timelines")));
                }
            }
        }
        if !timelines.contains_key("default") {
            let missing: Vec<&str> = DAYS
                .into_iter()
                .filter(|d| !timelines.contains_key(*d))
                .collect();
            if !missing.is_empty() {
                return Err(self.invalid(
                    KEY,
                    format!(
                        "no \"default\" timeline and none for {}: add a \"default\"",
                        missing.join(", ")
                    ),
                ));
            }
        }
        Ok(timelines)
    }

    fn pool_name(&self, prefix: &str) -> String {
        if let Some(name) = &self.options.pool_name {
            return name.clone();
        }
        let name: String = prefix
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .take(40)
            .collect();
        let name = name.trim_matches(['-', '_']).to_string();
        if name.is_empty() {
            "sipmediagw".into()
        } else {
            name
        }
    }
}

/// A key of a JSON object, unless absent or `null`.
fn field<'v>(object: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    object.get(key).filter(|v| !v.is_null())
}

/// Converts the text of a SIPMediaGW `scaler.json`.
pub fn import(json: &str, options: &ImportOptions) -> Result<Imported, ImportError> {
    let doc: Value = serde_json::from_str(json).map_err(|error| ImportError::Json {
        source_name: options.source_name.clone(),
        error,
    })?;
    let mut c = Converter {
        options,
        notes: Vec::new(),
    };
    let root = c.object(&doc, "(top level)")?.clone();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Converted from {} by `scaler config import` (scaler {}).\n\
         # Read every NOTE below, then validate with `scaler check --offline -c FILE`.\n",
        options.source_name,
        env!("CARGO_PKG_VERSION")
    );
    let (kind, cpu_per_gateway) = c.pool_section(&mut out, &root)?;
    c.schedule_section(&mut out, &root)?;
    c.sip_section(&mut out, &root, kind)?;
    c.media_section(&mut out, &root, kind)?;
    c.leftovers(&mut out, &root);
    c.provider_section(&mut out, cpu_per_gateway);
    Ok(Imported {
        toml: out,
        notes: c.notes,
    })
}

impl Converter<'_> {
    /// `[pool]`; returns the pool's kind and its vCPUs per gateway.
    fn pool_section(
        &mut self,
        out: &mut String,
        root: &Map<String, Value>,
    ) -> Result<(PoolKind, u64), ImportError> {
        let get = |k: &str| field(root, k);
        let prefix = match get("gw_name_prefix") {
            Some(v) => self.string(v, "gw_name_prefix")?.to_string(),
            None => "mediagw".to_string(),
        };
        if prefix.is_empty() {
            return Err(self.invalid("gw_name_prefix", "must not be empty"));
        }
        let kind =
            self.options
                .kind
                .unwrap_or(if get("sip_db").is_none() && get("redis").is_some() {
                    PoolKind::Media
                } else {
                    PoolKind::Sip
                });
        if kind == PoolKind::Replicas {
            return Err(self.invalid(
                "(top level)",
                "a SIPMediaGW file describes a sip or media pool, not replicas",
            ));
        }
        let _ = writeln!(out, "[pool]");
        let _ = writeln!(out, "name = {}", quote(&self.pool_name(&prefix)));
        let _ = writeln!(out, "kind = {}", quote(kind.as_str()));
        if get("gw_name_prefix").is_none() {
            self.note(
                out,
                "gw_name_prefix was not set: SIPMediaGW's usual \"mediagw\" is assumed".into(),
            );
        }
        let _ = writeln!(
            out,
            "gateway_prefix = {}   # gw_name_prefix",
            quote(&prefix)
        );
        for (json_key, toml_key) in [
            ("cpu_per_gw", "cpu_per_gateway"),
            ("ram_per_gw", "ram_per_gateway"),
        ] {
            if let Some(v) = get(json_key) {
                let n = self.whole(v, json_key)?;
                if n == 0 || n > u64::from(u32::MAX) {
                    return Err(self.invalid(
                        json_key,
                        format!("expected a whole number above 0, got {n}"),
                    ));
                }
                let _ = writeln!(out, "{toml_key} = {n}   # {json_key}");
            }
        }
        let cpu_per_gateway = match get("cpu_per_gw") {
            Some(v) => self.whole(v, "cpu_per_gw")?,
            None => 4,
        };
        self.protected(out, root)?;
        self.timeouts(out, root)?;
        let _ = writeln!(out);
        Ok((kind, cpu_per_gateway))
    }

    /// `protected`, from `cleaner_blacklist`.
    fn protected(
        &mut self,
        out: &mut String,
        root: &Map<String, Value>,
    ) -> Result<(), ImportError> {
        let Some(list) = field(root, "cleaner_blacklist") else {
            return Ok(());
        };
        let items = list
            .as_array()
            .ok_or_else(|| self.invalid("cleaner_blacklist", "expected a list"))?;
        let (strings, others): (Vec<&Value>, Vec<&Value>) =
            items.iter().partition(|v| v.is_string());
        let quoted: Vec<String> = strings
            .iter()
            .filter_map(|v| v.as_str())
            .map(quote)
            .collect();
        let _ = writeln!(
            out,
            "protected = [{}]   # cleaner_blacklist: IPs, instance ids or names never destroyed",
            quoted.join(", ")
        );
        if !others.is_empty() {
            self.note(
                out,
                format!(
                    "cleaner_blacklist entries that are not strings were left out: {}",
                    others
                        .iter()
                        .map(|v| v.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
        Ok(())
    }

    /// `drain_timeout`, and notes on the timeouts without an equivalent.
    fn timeouts(&mut self, out: &mut String, root: &Map<String, Value>) -> Result<(), ImportError> {
        if let Some(v) = field(root, "cleanup_threshold_seconds") {
            let seconds = self.whole(v, "cleanup_threshold_seconds")?;
            let _ = writeln!(
                out,
                "drain_timeout = {}   # cleanup_threshold_seconds: how long a drained gateway may take to stop",
                quote(&human(seconds))
            );
        }
        if let Some(v) = field(root, "create_timeout_seconds") {
            let seconds = self.whole(v, "create_timeout_seconds")?;
            self.note(
                out,
                format!(
                    "create_timeout_seconds = {seconds} has no equivalent: scaler never waits for an instance; \
                     one that registers no gateway within register_timeout is destroyed"
                ),
            );
        }
        if let Some(v) = field(root, "orphan_confirmations") {
            self.note(
                out,
                format!(
                    "orphan_confirmations = {v} has no equivalent: scaler destroys only its own pool's \
                     instances, for the reasons listed in the man page"
                ),
            );
        }
        Ok(())
    }

    /// `[schedule]`, from `auto_scale_threshold`.
    fn schedule_section(
        &mut self,
        out: &mut String,
        root: &Map<String, Value>,
    ) -> Result<(), ImportError> {
        let threshold = field(root, "auto_scale_threshold").ok_or_else(|| {
            self.invalid("auto_scale_threshold", "missing: the schedule is required")
        })?;
        let timelines = self.schedule(threshold)?;
        let _ = writeln!(out, "[schedule]");
        let _ = writeln!(
            out,
            "timezone = {}   # SIPMediaGW used the host's local time: set your IANA zone",
            quote(&self.options.timezone)
        );
        let mut names: Vec<&String> = timelines.keys().collect();
        names.sort_by_key(|n| {
            (
                n.as_str() != "default",
                DAYS.iter().position(|d| *d == n.as_str()),
            )
        });
        let mut uncapped = false;
        for name in names {
            uncapped |= self.timeline_section(out, name, &timelines[name]);
        }
        if uncapped {
            self.note(
                out,
                format!(
                    "slots marked \"no maxGw\" had no cap in {}: max_gateways = {} is the import default \
                     (--max-gateways); set the most your budget allows",
                    self.options.source_name, self.options.default_max_gateways
                ),
            );
        }
        let _ = writeln!(out);
        Ok(())
    }

    /// One `[schedule.<name>]` table; returns whether a slot had no cap.
    fn timeline_section(&mut self, out: &mut String, name: &str, slots: &[Slot]) -> bool {
        let _ = writeln!(out, "[schedule.{name}]");
        if slots.first().is_some_and(|s| s.start != NaiveTime::MIN) {
            self.note(
                out,
                format!(
                    "schedule.{name} starts after 00:00: before its first slot scaler applies the previous \
                     day's last slot (SIPMediaGW failed there)"
                ),
            );
        }
        let mut uncapped = false;
        for slot in slots {
            let max = match slot.max_gateways {
                Some(m) => m,
                None => {
                    uncapped = true;
                    u64::from(self.options.default_max_gateways)
                }
            };
            let start = if slot.start.format("%S").to_string() == "00" {
                slot.start.format("%H:%M").to_string()
            } else {
                slot.start.format("%H:%M:%S").to_string()
            };
            let mut line = format!(
                "\"{start}\" = {{ idle_min = {}, load_max = {}, max_gateways = {max} }}",
                slot.idle_min,
                float(slot.load_max)
            );
            if slot.max_gateways.is_none() {
                line.push_str("   # no maxGw");
            }
            let _ = writeln!(out, "{line}");
            if !slot.ignored.is_empty() {
                self.note(
                    out,
                    format!(
                        "slot {name} {start}: {} not converted (no equivalent)",
                        slot.ignored.join(", ")
                    ),
                );
            }
        }
        uncapped
    }

    /// `[sip]` from `sip_db` (commented out for a media pool).
    fn sip_section(
        &mut self,
        out: &mut String,
        root: &Map<String, Value>,
        kind: PoolKind,
    ) -> Result<(), ImportError> {
        let sip_out = match field(root, "sip_db") {
            Some(v) => {
                let db = self.object(v, "sip_db")?.clone();
                Some(self.sip_db(&db)?)
            }
            None => None,
        };
        match (kind, &sip_out) {
            (PoolKind::Sip, Some(text)) => {
                out.push_str(text);
                out.push('\n');
            }
            (PoolKind::Sip, None) => {
                let _ = writeln!(
                    out,
                    "[sip]\nurl = \"mysql://kamailio@127.0.0.1:3306/kamailio\"\npassword_env = \"KAMAILIO_DB_PASSWORD\""
                );
                self.note(
                    out,
                    "the file had no sip_db: set [sip] url to the Kamailio database".into(),
                );
                out.push('\n');
            }
            (_, Some(text)) => {
                let _ = writeln!(
                    out,
                    "# sip_db, for a SIP pool of the same gateways (pool.kind = \"sip\"):"
                );
                for line in text.lines() {
                    let _ = writeln!(out, "# {line}");
                }
                out.push('\n');
            }
            (_, None) => {}
        }
        Ok(())
    }

    /// The `[sip]` section of a `sip_db` object, with its notes.
    fn sip_db(&mut self, db: &Map<String, Value>) -> Result<String, ImportError> {
        let mut s = String::new();
        let host = match field(db, "host") {
            Some(v) => self.string(v, "sip_db.host")?.trim().to_string(),
            None => String::new(),
        };
        let host_missing = host.is_empty();
        let host = if host_missing {
            "127.0.0.1".to_string()
        } else {
            host
        };
        let host = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]")
        } else {
            host
        };
        let port = match field(db, "port") {
            Some(v) => self.whole(v, "sip_db.port")?,
            None => 3306,
        };
        let user = match field(db, "user") {
            Some(v) => self.string(v, "sip_db.user")?.to_string(),
            None => "root".to_string(),
        };
        let database = match field(db, "database") {
            Some(v) => self.string(v, "sip_db.database")?.to_string(),
            None => "kamailio".to_string(),
        };
        let _ = writeln!(s, "[sip]");
        let _ = writeln!(
            s,
            "url = {}",
            quote(&format!("mysql://{user}@{host}:{port}/{database}"))
        );
        let secret = ["root_password", "password"]
            .into_iter()
            .find(|k| field(db, k).is_some());
        match secret {
            Some(k) => {
                let _ = writeln!(
                    s,
                    "password_env = \"KAMAILIO_DB_PASSWORD\"   # was sip_db.{k} (not copied): export it, or use password_file"
                );
            }
            None => {
                let _ = writeln!(
                    s,
                    "# password_env = \"KAMAILIO_DB_PASSWORD\"   # sip_db had no password"
                );
            }
        }
        self.sip_db_notes(&mut s, db, host_missing, &user);
        Ok(s)
    }

    /// Notes on a `sip_db` object: assumed host, root account, unknown keys.
    fn sip_db_notes(
        &mut self,
        s: &mut String,
        db: &Map<String, Value>,
        host_missing: bool,
        user: &str,
    ) {
        let mut notes = Vec::new();
        if host_missing {
            notes.push("sip_db.host was empty: 127.0.0.1 is assumed".to_string());
        }
        if user == "root" {
            notes.push(
                "SIPMediaGW connected as root: an account with SELECT, UPDATE, DELETE on location and SELECT \
                 on dialog is enough"
                    .to_string(),
            );
        }
        for k in db.keys() {
            if !matches!(
                k.as_str(),
                "host" | "port" | "user" | "database" | "root_password" | "password"
            ) {
                notes.push(format!("sip_db.{k} not converted (no equivalent)"));
            }
        }
        for note in notes {
            let _ = writeln!(s, "# NOTE: {note}");
            self.notes.push(note);
        }
    }

    /// `[media]` from `redis` (commented out for a SIP pool).
    fn media_section(
        &mut self,
        out: &mut String,
        root: &Map<String, Value>,
        kind: PoolKind,
    ) -> Result<(), ImportError> {
        let Some(v) = field(root, "redis") else {
            if kind == PoolKind::Media {
                let _ = writeln!(out, "[media]\nurl = \"redis://127.0.0.1:6379/0\"");
                self.note(out, "the file had no redis section: set [media] url".into());
                out.push('\n');
            }
            return Ok(());
        };
        let redis = self.object(v, "redis")?.clone();
        let host = match field(&redis, "host") {
            Some(v) => self.string(v, "redis.host")?.trim().to_string(),
            None => "127.0.0.1".to_string(),
        };
        let host = if host.is_empty() {
            "127.0.0.1".into()
        } else {
            host
        };
        let port = match field(&redis, "port") {
            Some(v) => self.whole(v, "redis.port")?,
            None => 6379,
        };
        let db = match field(&redis, "db") {
            Some(v) => self.whole(v, "redis.db")?,
            None => 0,
        };
        let mut section = String::new();
        let _ = writeln!(section, "[media]");
        let _ = writeln!(
            section,
            "url = {}",
            quote(&format!("redis://{host}:{port}/{db}"))
        );
        if field(&redis, "password").is_some() {
            let _ = writeln!(
                section,
                "password_env = \"REDIS_PASSWORD\"   # was redis.password (not copied): export it"
            );
        }
        if kind == PoolKind::Media {
            out.push_str(&section);
        } else {
            let _ = writeln!(
                out,
                "# redis, for a media pool of the same gateways (pool.kind = \"media\"):"
            );
            for line in section.lines() {
                let _ = writeln!(out, "# {line}");
            }
        }
        out.push('\n');
        Ok(())
    }

    /// Notes on what has no equivalent at all.
    fn leftovers(&mut self, out: &mut String, root: &Map<String, Value>) {
        if field(root, "api_token").is_some() {
            self.note(
                out,
                "api_token (SIPMediaGW's web service) has no equivalent and was not copied".into(),
            );
        }
        for key in root.keys() {
            if !KNOWN.contains(&key.as_str()) {
                self.note(out, format!("{key} not converted (unknown to import)"));
            }
        }
    }

    /// A `local` placeholder `[provider]` that lets the file validate.
    fn provider_section(&mut self, out: &mut String, cpu_per_gateway: u64) {
        let small = cpu_per_gateway.max(1);
        let _ = writeln!(
            out,
            "\n# SIPMediaGW kept its cloud apart (CSP_NAME and the provider's own JSON file).\n\
             # Replace this section with your provider (openstack, ec2 or command: see\n\
             # /usr/share/doc/scaler/examples/). The local provider below only lets the\n\
             # file validate: its \"instances\" are records in a file, nothing boots."
        );
        self.notes.push(
            "[provider] is a local placeholder: describe your cloud there before running `scaler run`"
                .into(),
        );
        let _ = writeln!(out, "[provider]");
        let _ = writeln!(out, "kind = \"local\"");
        let _ = writeln!(out, "state_file = \"local-cloud.json\"");
        let _ = writeln!(out, "[provider.instance_types]   # type name -> vCPUs");
        let _ = writeln!(out, "\"c{small}\" = {small}");
        let _ = writeln!(out, "\"c{}\" = {}", small * 2, small * 2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn options() -> ImportOptions {
        ImportOptions::default()
    }

    fn load(toml: &str) -> crate::config::Config {
        crate::config::parse(toml, Path::new("/etc/scaler/imported.toml"))
            .unwrap_or_else(|e| panic!("{e}\n{toml}"))
    }

    /// The flat form of SIPMediaGW's deploy/scaler/config/scaler.json.
    const FLAT: &str = r#"{
        "gw_name_prefix" : "mediagw",
        "auto_scale_threshold" : {
            "00:00:00": {"unlockedMin":1, "loadMax":0.9},
            "07:00:00": {"unlockedMin":2, "loadMax":0.75},
            "12:30:00": {"unlockedMin":2, "loadMax":0.8},
            "17:00:00": {"unlockedMin":1, "loadMax":0.8}
        },
        "cpu_per_gw": 4,
        "ram_per_gw": 4,
        "sip_db": { "host": "127.0.0.1", "root_password": "dbrootpw" },
        "redis": { "host": "127.0.0.1", "port": 6379 },
        "cleaner_blacklist": [],
        "api_token": "1234",
        "cleanup_threshold_seconds": 600
    }"#;

    /// The weekday form with maxGw and a comma-separated day list.
    const WEEKDAYS: &str = r#"{
        "gw_name_prefix": "mediagw",
        "auto_scale_threshold": {
            "default": { "00:00:00": {"maxGw": 4, "unlockedMin": 1, "loadMax": 0.9},
                         "08:00:00": {"maxGw": 40, "unlockedMin": 10, "loadMax": 0.75} },
            "saturday,sunday": { "00:00:00": {"maxGw": 2, "unlockedMin": 0, "loadMax": 0.9} }
        },
        "cpu_per_gw": 4,
        "ram_per_gw": 8,
        "sip_db": { "host": "", "root_password": "" },
        "redis": { "host": "127.0.0.1", "port": 6379 },
        "cleaner_blacklist": ["10.0.0.5"],
        "api_token": "",
        "cleanup_threshold_seconds": 600,
        "orphan_confirmations": 3,
        "create_timeout_seconds": 300
    }"#;

    #[test]
    fn flat_form_loads_and_keeps_the_thresholds() {
        let imported = import(FLAT, &options()).unwrap();
        let config = load(&imported.toml);
        assert_eq!(config.pool.name, "mediagw");
        assert_eq!(config.pool.gateway_prefix, "mediagw");
        assert_eq!(config.pool.cpu_per_gateway, 4);
        assert_eq!(config.pool.drain_timeout.as_secs(), 600);
        let default = &config.schedule.timelines["default"];
        assert_eq!(default.len(), 4);
        assert_eq!(default[1].1.idle_min, 2);
        assert_eq!(default[1].1.load_max, 0.75);
        assert_eq!(default[1].1.max_gateways, 100);
        assert!(imported.toml.contains("# no maxGw"));
        assert!(imported.notes.iter().any(|n| n.contains("api_token")));
    }

    #[test]
    fn weekday_form_expands_day_lists() {
        let imported = import(WEEKDAYS, &options()).unwrap();
        let config = load(&imported.toml);
        let timelines = &config.schedule.timelines;
        assert_eq!(timelines["default"][1].1.max_gateways, 40);
        assert_eq!(timelines["default"][1].1.idle_min, 10);
        assert_eq!(timelines["saturday"][0].1.max_gateways, 2);
        assert_eq!(timelines["sunday"][0].1.idle_min, 0);
        assert!(!timelines.contains_key("monday"));
        assert_eq!(config.pool.protected, ["10.0.0.5"]);
        assert_eq!(config.pool.ram_per_gateway, 8);
        for key in [
            "orphan_confirmations",
            "create_timeout_seconds",
            "sip_db.host",
        ] {
            assert!(
                imported.notes.iter().any(|n| n.contains(key)),
                "no note about {key}: {:?}",
                imported.notes
            );
        }
    }

    #[test]
    fn secrets_are_never_copied() {
        let imported = import(FLAT, &options()).unwrap();
        assert!(!imported.toml.contains("dbrootpw"), "{}", imported.toml);
        assert!(!imported.toml.contains("1234"), "{}", imported.toml);
        let config = load(&imported.toml);
        let sip = config.sip.expect("a [sip] section");
        assert_eq!(sip.password_env.as_deref(), Some("KAMAILIO_DB_PASSWORD"));
        assert_eq!(sip.password, None);
        assert_eq!(sip.url, "mysql://root@127.0.0.1:3306/kamailio");
    }

    #[test]
    fn options_choose_name_zone_and_cap() {
        let options = ImportOptions {
            pool_name: Some("paris".into()),
            timezone: "Europe/Paris".into(),
            default_max_gateways: 12,
            ..options()
        };
        let config = load(&import(FLAT, &options).unwrap().toml);
        assert_eq!(config.pool.name, "paris");
        assert_eq!(config.schedule.timezone, chrono_tz::Europe::Paris);
        assert_eq!(config.schedule.timelines["default"][0].1.max_gateways, 12);
    }

    #[test]
    fn prefixes_become_valid_pool_names() {
        let json = FLAT.replace("\"mediagw\"", "\"gw-\"");
        let imported = import(&json, &options()).unwrap();
        let config = load(&imported.toml);
        assert_eq!(config.pool.name, "gw");
        assert_eq!(config.pool.gateway_prefix, "gw-");
    }

    #[test]
    fn bad_input_names_the_key() {
        let cases = [
            ("{", "not valid JSON"),
            ("[]", "(top level)"),
            (r#"{"cpu_per_gw": 4}"#, "auto_scale_threshold"),
            (
                r#"{"auto_scale_threshold": {"00:00:00": {"loadMax": 0.9}}}"#,
                "missing unlockedMin",
            ),
            (
                r#"{"auto_scale_threshold": {"25:00:00": {"unlockedMin": 1, "loadMax": 0.9}}}"#,
                "auto_scale_threshold.25:00:00",
            ),
            (
                r#"{"auto_scale_threshold": {"00:00:00": {"unlockedMin": 1, "loadMax": 1.5}}}"#,
                "loadMax",
            ),
            (
                r#"{"auto_scale_threshold": {"funday": {"00:00:00": {"unlockedMin": 1, "loadMax": 0.5}}}}"#,
                "unknown day \"funday\"",
            ),
            (
                r#"{"auto_scale_threshold": {"monday": {"00:00:00": {"unlockedMin": 1, "loadMax": 0.5}}}}"#,
                "no \"default\" timeline",
            ),
            (
                r#"{"auto_scale_threshold": {"default": {"00:00:00": {"unlockedMin": 1, "loadMax": 0.5}}, "00:00:00": {}}}"#,
                "mixes slot times",
            ),
            (
                r#"{"cpu_per_gw": "four", "auto_scale_threshold": {"00:00:00": {"unlockedMin": 1, "loadMax": 0.5}}}"#,
                "cpu_per_gw",
            ),
        ];
        for (json, expected) in cases {
            let err = import(json, &options()).unwrap_err().to_string();
            assert!(err.contains(expected), "{json}: {err}");
            assert!(err.starts_with("scaler.json"), "{err}");
        }
    }

    #[test]
    fn media_pools_get_a_media_section() {
        let json = FLAT.replace(
            r#""sip_db": { "host": "127.0.0.1", "root_password": "dbrootpw" },"#,
            "",
        );
        let imported = import(&json, &options()).unwrap();
        assert!(imported.toml.contains("kind = \"media\""));
        assert!(
            imported
                .toml
                .contains("[media]\nurl = \"redis://127.0.0.1:6379/0\"")
        );
        let config = load(&imported.toml);
        assert_eq!(config.pool.kind, PoolKind::Media);
    }

    #[test]
    fn first_slot_after_midnight_is_noted() {
        let json = r#"{"auto_scale_threshold": {"07:00:00": {"unlockedMin": 1, "loadMax": 0.5}}, "sip_db": {"host": "db"}}"#;
        let imported = import(json, &options()).unwrap();
        assert!(
            imported
                .notes
                .iter()
                .any(|n| n.contains("starts after 00:00"))
        );
        assert!(imported.toml.contains("# password_env"));
        load(&imported.toml);
    }
}
