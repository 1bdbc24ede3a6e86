//! The configuration: one TOML file describes one pool. Raw serde types
//! mirror the file (unknown keys are errors with file, line and column);
//! `load` validates them into a [`Config`] of typed values. Secrets stay as
//! [`SecretSource`]s until the component that needs them connects.

use crate::duration::HumanDuration;
use crate::error::Error;
use crate::pool::media::MediaConfig;
use crate::pool::sip::SipConfig;
use crate::provider::command::CommandConfig;
use crate::provider::ec2::Ec2Config;
use crate::provider::local::LocalConfig;
use crate::provider::openstack::OpenStackConfig;
use crate::schedule::{Schedule, Slot, Timeline, WEEKDAYS};
use chrono::NaiveTime;
use chrono_tz::Tz;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// The kind of pool, which decides where the load comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PoolKind {
    /// SIP gateways registered in Kamailio's database.
    Sip,
    /// Media gateways in Redis.
    Media,
    /// Replicas reporting their capacity over HTTP.
    Replicas,
}

impl PoolKind {
    /// The name used in the file and the report.
    pub fn as_str(self) -> &'static str {
        match self {
            PoolKind::Sip => "sip",
            PoolKind::Media => "media",
            PoolKind::Replicas => "replicas",
        }
    }
}

/// `[pool]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPool {
    name: PoolName,
    kind: PoolKind,
    #[serde(default = "default_prefix")]
    gateway_prefix: String,
    #[serde(default = "default_cpu")]
    cpu_per_gateway: Positive,
    #[serde(default = "default_cpu")]
    ram_per_gateway: Positive,
    #[serde(default)]
    protected: Vec<String>,
    #[serde(default)]
    no_public_ip_timeout: Option<Timeout>,
    #[serde(default = "ten_minutes")]
    register_timeout: HumanDuration,
    #[serde(default = "ten_minutes")]
    drain_timeout: HumanDuration,
}

fn default_prefix() -> String {
    "mediagw".to_string()
}
fn default_cpu() -> Positive {
    Positive(4)
}
fn ten_minutes() -> HumanDuration {
    HumanDuration(Duration::from_secs(600))
}

/// A pool name: letters, digits, `-` and `_`, since it names instances, locks and files.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
struct PoolName(String);

impl TryFrom<String> for PoolName {
    type Error = String;
    fn try_from(name: String) -> Result<Self, String> {
        let ok = !name.is_empty()
            && name.len() <= 40
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if ok {
            Ok(PoolName(name))
        } else {
            Err(format!(
                "invalid pool name {name:?}: use 1 to 40 letters, digits, '-' or '_'"
            ))
        }
    }
}

/// A whole number greater than zero.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(try_from = "i64")]
struct Positive(u32);

impl TryFrom<i64> for Positive {
    type Error = String;
    fn try_from(n: i64) -> Result<Self, String> {
        match u32::try_from(n) {
            Ok(v) if v > 0 => Ok(Positive(v)),
            _ => Err(format!("expected a whole number greater than 0, got {n}")),
        }
    }
}

/// A duration, or `"off"` to disable the check it bounds.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(try_from = "toml::Value")]
struct Timeout(Option<Duration>);

impl TryFrom<toml::Value> for Timeout {
    type Error = String;
    fn try_from(value: toml::Value) -> Result<Self, String> {
        match value {
            toml::Value::String(s) if s == "off" => Ok(Timeout(None)),
            toml::Value::String(s) => crate::duration::parse(&s).map(|d| Timeout(Some(d))),
            toml::Value::Integer(n) if n >= 0 => Ok(Timeout(Some(Duration::from_secs(n as u64)))),
            other => Err(format!(
                "expected a duration such as \"10m\" or \"off\", got {other}"
            )),
        }
    }
}

/// A slot start time, `HH:MM` or `HH:MM:SS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
struct SlotTime(NaiveTime);

impl TryFrom<String> for SlotTime {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        NaiveTime::parse_from_str(&text, "%H:%M:%S")
            .or_else(|_| NaiveTime::parse_from_str(&text, "%H:%M"))
            .map(SlotTime)
            .map_err(|_| format!("invalid slot time {text:?} (expected \"HH:MM\" or \"HH:MM:SS\")"))
    }
}

/// An IANA timezone name.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(try_from = "String")]
struct Timezone(Tz);

impl TryFrom<String> for Timezone {
    type Error = String;
    fn try_from(name: String) -> Result<Self, String> {
        name.parse::<Tz>().map(Timezone).map_err(|_| {
            format!("unknown timezone {name:?} (expected an IANA name such as \"Europe/Paris\")")
        })
    }
}

/// One slot's values as written; which are required depends on the pool kind.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSlot {
    idle_min: Option<u32>,
    load_max: Option<f64>,
    max_gateways: Option<u32>,
    min_gateways: Option<u32>,
    min_available: Option<u32>,
    max_replicas: Option<u32>,
}

type RawTimeline = BTreeMap<SlotTime, Spanned<RawSlot>>;

/// `[schedule]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    #[serde(default)]
    timezone: Option<Timezone>,
    default: Option<RawTimeline>,
    monday: Option<RawTimeline>,
    tuesday: Option<RawTimeline>,
    wednesday: Option<RawTimeline>,
    thursday: Option<RawTimeline>,
    friday: Option<RawTimeline>,
    saturday: Option<RawTimeline>,
    sunday: Option<RawTimeline>,
}

/// `[lock]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLock {
    path: Option<PathBuf>,
}

/// `[provider]` keys for `kind = "local"` (the embedded default).
#[derive(Debug, Default, Deserialize)]
struct ProviderKind {
    kind: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct KindOnly {
    #[serde(default)]
    provider: ProviderKind,
}

/// The whole file as written, with the provider section typed by its kind.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDoc<P> {
    pool: RawPool,
    schedule: RawSchedule,
    sip: Option<SipConfig>,
    media: Option<MediaConfig>,
    #[serde(default)]
    lock: RawLock,
    provider: Option<P>,
    /// Validated by [`Outputs`]; accepted here so the root denies only unknown sections.
    #[serde(rename = "metrics")]
    _metrics: Option<serde::de::IgnoredAny>,
    /// See `_metrics`.
    #[serde(rename = "state")]
    _state: Option<serde::de::IgnoredAny>,
}

/// `[metrics]` and `[state]`, read apart from the provider-typed document.
#[derive(Debug, Default, Deserialize)]
struct Outputs {
    #[serde(default)]
    metrics: crate::metrics::MetricsSection,
    #[serde(default)]
    state: crate::state::StateSection,
}

/// The provider and its settings.
// One value per run: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum ProviderConfig {
    /// The state-file cloud.
    Local(LocalConfig),
    /// An OpenStack cloud (Keystone v3, Nova, Neutron).
    OpenStack(Box<OpenStackConfig>),
    /// The EC2 query API (AWS, Outscale).
    Ec2(Ec2Config),
    /// User commands with a JSON contract.
    Command(CommandConfig),
}

impl ProviderConfig {
    /// Instance types whose vCPUs the provider reads at run time
    /// (OpenStack `flavors`); empty for the others.
    pub fn runtime_instance_types(&self) -> &[String] {
        match self {
            ProviderConfig::OpenStack(openstack) => &openstack.flavors,
            _ => &[],
        }
    }
}

/// Validated `[pool]`.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    pub name: String,
    pub kind: PoolKind,
    pub gateway_prefix: String,
    pub cpu_per_gateway: u32,
    pub ram_per_gateway: u32,
    pub protected: Vec<String>,
    pub no_public_ip_timeout: Option<Duration>,
    pub register_timeout: Duration,
    pub drain_timeout: Duration,
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    pub pool: PoolConfig,
    pub schedule: Schedule,
    pub sip: Option<SipConfig>,
    pub media: Option<MediaConfig>,
    pub provider: ProviderConfig,
    /// Instance type name to vCPUs.
    pub instance_types: BTreeMap<String, u32>,
    /// The lock file of the pass.
    pub lock_path: PathBuf,
    /// `[metrics] textfile`: node_exporter metrics after each pass.
    pub metrics_textfile: Option<PathBuf>,
    /// `[state] path`: the pool's persistent state.
    pub state_path: PathBuf,
}

/// Reads and validates a configuration file.
pub fn load(path: &Path) -> Result<Config, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Config(format!("cannot read configuration {}: {e}", path.display())))?;
    parse(&text, path)
}

fn toml_error(path: &Path, e: toml::de::Error) -> Error {
    Error::Config(format!("{}: {}", path.display(), e.to_string().trim_end()))
}

fn doc<P: DeserializeOwned>(text: &str, path: &Path) -> Result<RawDoc<P>, Error> {
    toml::from_str(text).map_err(|e| toml_error(path, e))
}

/// Line (1-based) of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|b| *b == b'\n')
        .count()
        + 1
}

/// Validates configuration text; `path` names the file in messages and
/// anchors relative paths.
pub fn parse(text: &str, path: &Path) -> Result<Config, Error> {
    let kind: KindOnly = toml::from_str(text).map_err(|e| toml_error(path, e))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let (raw_pool, raw_schedule, sip, media, lock, provider) = match kind
        .provider
        .kind
        .as_deref()
        .unwrap_or("local")
    {
        "local" => {
            let d: RawDoc<LocalConfig> = doc(text, path)?;
            let mut local = d.provider.unwrap_or_else(|| {
                toml::from_str("kind = \"local\"")
                    .expect("the default local provider section is valid")
            });
            local.state_file = base.join(&local.state_file);
            (
                d.pool,
                d.schedule,
                d.sip,
                d.media,
                d.lock,
                ProviderConfig::Local(local),
            )
        }
        "openstack" => {
            let d: RawDoc<OpenStackConfig> = doc(text, path)?;
            let mut openstack = d.provider.ok_or_else(|| {
                Error::Config(format!("{}: missing section [provider]", path.display()))
            })?;
            openstack
                .prepare(base, &d.pool.name.0)
                .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
            (
                d.pool,
                d.schedule,
                d.sip,
                d.media,
                d.lock,
                ProviderConfig::OpenStack(Box::new(openstack)),
            )
        }
        "ec2" => {
            let d: RawDoc<Ec2Config> = doc(text, path)?;
            let mut ec2 = d.provider.ok_or_else(|| {
                Error::Config(format!("{}: missing section [provider]", path.display()))
            })?;
            ec2.prepare(base, &d.pool.name.0)
                .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
            (
                d.pool,
                d.schedule,
                d.sip,
                d.media,
                d.lock,
                ProviderConfig::Ec2(ec2),
            )
        }
        "command" => {
            let d: RawDoc<CommandConfig> = doc(text, path)?;
            let mut command = d.provider.ok_or_else(|| {
                Error::Config(format!("{}: missing section [provider]", path.display()))
            })?;
            command
                .prepare(base, &d.pool.name.0)
                .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
            let provider = ProviderConfig::Command(command);
            (d.pool, d.schedule, d.sip, d.media, d.lock, provider)
        }
        other => {
            return Err(Error::Config(format!(
                "{}: provider.kind: unknown provider {other:?} (expected \"local\", \"openstack\", \"ec2\" or \"command\")",
                path.display()
            )));
        }
    };
    let fail = |msg: String| Error::Config(format!("{}: {msg}", path.display()));

    let pool = PoolConfig {
        name: raw_pool.name.0,
        kind: raw_pool.kind,
        gateway_prefix: raw_pool.gateway_prefix,
        cpu_per_gateway: raw_pool.cpu_per_gateway.0,
        ram_per_gateway: raw_pool.ram_per_gateway.0,
        protected: raw_pool.protected,
        no_public_ip_timeout: raw_pool
            .no_public_ip_timeout
            .map_or(Some(Duration::from_secs(600)), |t| t.0),
        register_timeout: raw_pool.register_timeout.0,
        drain_timeout: raw_pool.drain_timeout.0,
    };
    if pool.gateway_prefix.is_empty() && pool.kind != PoolKind::Replicas {
        return Err(fail("pool.gateway_prefix must not be empty".into()));
    }
    match pool.kind {
        PoolKind::Sip if sip.is_none() => {
            return Err(fail(
                "missing section [sip] (required by pool.kind = \"sip\")".into(),
            ));
        }
        PoolKind::Media if media.is_none() => {
            return Err(fail(
                "missing section [media] (required by pool.kind = \"media\")".into(),
            ));
        }
        PoolKind::Replicas => {
            return Err(fail(format!(
                "pool.kind = {:?} is not supported by this build yet",
                pool.kind.as_str()
            )));
        }
        _ => {}
    }
    if let Some(media) = &media {
        media.validate(&pool.name).map_err(fail)?;
    }

    let schedule = schedule(raw_schedule, pool.kind, text).map_err(fail)?;

    let instance_types = match &provider {
        ProviderConfig::Local(local) => local.instance_types.clone(),
        ProviderConfig::OpenStack(openstack) => openstack.instance_types.clone(),
        ProviderConfig::Ec2(ec2) => ec2.instance_types.clone(),
        ProviderConfig::Command(command) => command.instance_types.clone(),
    };
    if let Some((name, _)) = instance_types.iter().find(|(_, v)| **v == 0) {
        return Err(fail(format!(
            "provider.instance_types.{name}: vCPUs must be greater than 0"
        )));
    }
    // Types read at run time (OpenStack flavors) are checked once known.
    if provider.runtime_instance_types().is_empty() {
        check_instance_types(&instance_types, pool.cpu_per_gateway).map_err(fail)?;
    }

    let lock_path = match lock.path {
        Some(p) => base.join(p),
        None => default_lock_dir().join(format!("scaler-{}.lock", pool.name)),
    };
    let outputs: Outputs = toml::from_str(text).map_err(|e| toml_error(path, e))?;
    let metrics_textfile = outputs.metrics.textfile.map(|p| base.join(p));
    let state_path = base.join(
        outputs
            .state
            .path
            .unwrap_or_else(|| crate::state::default_path(&pool.name)),
    );

    Ok(Config {
        path: path.to_path_buf(),
        pool,
        schedule,
        sip,
        media,
        provider,
        instance_types,
        lock_path,
        metrics_textfile,
        state_path,
    })
}

/// Checks the instance types the planner will pack over: at least one, and
/// one with the vCPUs of a gateway.
pub fn check_instance_types(
    types: &BTreeMap<String, u32>,
    cpu_per_gateway: u32,
) -> Result<(), String> {
    if types.is_empty() {
        return Err("provider.instance_types must name at least one instance type".into());
    }
    if types.values().all(|v| *v < cpu_per_gateway) {
        return Err(format!(
            "provider.instance_types: no type has the {cpu_per_gateway} vCPUs of pool.cpu_per_gateway"
        ));
    }
    Ok(())
}

fn default_lock_dir() -> PathBuf {
    let run_lock = Path::new("/run/lock");
    if run_lock.is_dir() {
        run_lock.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

fn schedule(raw: RawSchedule, kind: PoolKind, text: &str) -> Result<Schedule, String> {
    let timezone = raw.timezone.map_or(chrono_tz::UTC, |t| t.0);
    let named = [
        ("default", raw.default),
        (WEEKDAYS[0], raw.monday),
        (WEEKDAYS[1], raw.tuesday),
        (WEEKDAYS[2], raw.wednesday),
        (WEEKDAYS[3], raw.thursday),
        (WEEKDAYS[4], raw.friday),
        (WEEKDAYS[5], raw.saturday),
        (WEEKDAYS[6], raw.sunday),
    ];
    let mut timelines = BTreeMap::new();
    for (name, timeline) in named {
        let Some(timeline) = timeline else { continue };
        if timeline.is_empty() {
            return Err(format!(
                "schedule.{name}: a timeline needs at least one slot"
            ));
        }
        let mut slots: Timeline = Vec::new();
        for (start, spanned) in timeline {
            let line = line_of(text, spanned.span().start);
            let key = format!(
                "line {line}: schedule.{name}.\"{}\"",
                start.0.format("%H:%M:%S")
            );
            slots.push((
                start.0,
                slot(spanned.into_inner(), kind).map_err(|e| format!("{key}: {e}"))?,
            ));
        }
        timelines.insert(name.to_string(), slots);
    }
    let schedule = Schedule {
        timezone,
        timelines,
    };
    if !schedule.covers_every_day() {
        return Err(
            "schedule: add [schedule.default] (or a timeline for each of the seven weekdays)"
                .into(),
        );
    }
    Ok(schedule)
}

fn slot(raw: RawSlot, kind: PoolKind) -> Result<Slot, String> {
    let required = |value: Option<u32>, key: &str| {
        value.ok_or_else(|| format!("{key} is required for pool.kind = {:?}", kind.as_str()))
    };
    match kind {
        PoolKind::Sip | PoolKind::Media => {
            let load_max = raw.load_max.ok_or_else(|| {
                format!("load_max is required for pool.kind = {:?}", kind.as_str())
            })?;
            if !(load_max > 0.0 && load_max <= 1.0) {
                return Err(format!(
                    "load_max must be greater than 0 and at most 1, got {load_max}"
                ));
            }
            let max_gateways = required(raw.max_gateways, "max_gateways")?;
            let min_gateways = raw.min_gateways.unwrap_or(0);
            if min_gateways > max_gateways {
                return Err(format!(
                    "min_gateways ({min_gateways}) is greater than max_gateways ({max_gateways})"
                ));
            }
            if raw.min_available.is_some() || raw.max_replicas.is_some() {
                return Err("min_available and max_replicas belong to replica pools".into());
            }
            Ok(Slot {
                idle_min: required(raw.idle_min, "idle_min")?,
                load_max,
                max_gateways,
                min_gateways,
                min_available: None,
                max_replicas: None,
            })
        }
        PoolKind::Replicas => {
            if raw.idle_min.is_some()
                || raw.load_max.is_some()
                || raw.max_gateways.is_some()
                || raw.min_gateways.is_some()
            {
                return Err(
                    "replica pools use min_available and max_replicas, not gateway thresholds"
                        .into(),
                );
            }
            let max_replicas = required(raw.max_replicas, "max_replicas")?;
            Ok(Slot {
                idle_min: 0,
                load_max: 1.0,
                max_gateways: max_replicas,
                min_gateways: 0,
                min_available: Some(required(raw.min_available, "min_available")?),
                max_replicas: Some(max_replicas),
            })
        }
    }
}

#[cfg(test)]
mod tests;
