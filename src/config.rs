//! The configuration: one TOML file describes one pool. Raw serde types
//! mirror the file (unknown keys are errors with file, line and column);
//! `load` validates them into a [`Config`] of typed values. Secrets stay as
//! [`SecretSource`]s until the component that needs them connects.

use crate::duration::HumanDuration;
use crate::error::Error;
use crate::limits::Limits;
use crate::lock::{Backend, LockConfig, LockSection};
use crate::pool::media::MediaConfig;
use crate::pool::sip::SipConfig;
use crate::probe::ProbeConfig;
use crate::provider::command::CommandConfig;
use crate::provider::ec2::Ec2Config;
use crate::provider::local::LocalConfig;
use crate::provider::openstack::OpenStackConfig;
use crate::schedule::{DateRule, Schedule, Slot, Timeline, WEEKDAYS};
use crate::secret::SecretSource;
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
    protected: Vec<Spanned<String>>,
    #[serde(default)]
    no_public_ip_timeout: Option<Timeout>,
    #[serde(default = "ten_minutes")]
    register_timeout: HumanDuration,
    #[serde(default = "ten_minutes")]
    drain_timeout: HumanDuration,
    #[serde(default)]
    max_vcpus: Option<Positive>,
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
            toml::Value::Integer(n) => crate::duration::from_seconds(n).map(|d| Timeout(Some(d))),
            other => Err(format!(
                "expected a duration such as \"10m\" or \"off\", got {other}"
            )),
        }
    }
}

/// A slot start time, `HH:MM` or `HH:MM:SS`.
fn slot_time(text: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(text, "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(text, "%H:%M"))
        .map_err(|_| format!("invalid slot time {text:?} (expected \"HH:MM\" or \"HH:MM:SS\")"))
}

/// The most gateways or replicas a slot may ask for (`idle_min`,
/// `min_gateways`, `max_gateways`, `max_replicas`).
pub const MAX_GATEWAYS: u32 = 100_000;

/// The smallest `load_max`.
pub const MIN_LOAD_MAX: f64 = 0.01;

/// The largest `sqrt_headroom` (β): at 10 a slot with 100 busy gateways
/// keeps 100 more, far beyond any queueing margin.
pub const MAX_SQRT_HEADROOM: f64 = 10.0;

/// The largest resource amount (`min_available`, `replicas.replica_capacity`).
pub const MAX_RESOURCES: u32 = 1_000_000_000;

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
    sqrt_headroom: Option<f64>,
    max_gateways: Option<u32>,
    min_gateways: Option<u32>,
    min_available: Option<u32>,
    max_replicas: Option<u32>,
}

/// Slots by start time as written (`"07:00"`); two spellings of one time are
/// refused when the timeline is validated.
type RawTimeline = BTreeMap<String, Spanned<RawSlot>>;

/// `[schedule]` as written: `timezone`, `dates`, and timelines by name
/// (`default`, weekdays, or names that `dates` refers to).
#[derive(Debug, Default)]
struct RawSchedule {
    timezone: Option<Timezone>,
    dates: BTreeMap<DateSpan, String>,
    timelines: BTreeMap<String, RawTimeline>,
}

impl<'de> Deserialize<'de> for RawSchedule {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawSchedule;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a table with timezone, dates and timelines")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RawSchedule, A::Error> {
                let mut raw = RawSchedule::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "timezone" => raw.timezone = Some(map.next_value()?),
                        "dates" => raw.dates = map.next_value()?,
                        _ => {
                            let timeline: RawTimeline = map.next_value()?;
                            raw.timelines.insert(key, timeline);
                        }
                    }
                }
                Ok(raw)
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// A date (`2026-12-25`) or an inclusive range (`2026-12-24..2026-12-26`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
struct DateSpan(chrono::NaiveDate, chrono::NaiveDate);

impl TryFrom<String> for DateSpan {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let date = |s: &str| {
            chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
                format!(
                    "invalid date {text:?} (expected \"2026-12-25\" or \"2026-12-24..2026-12-26\")"
                )
            })
        };
        let (from, to) = match text.split_once("..") {
            Some((a, b)) => (date(a)?, date(b)?),
            None => (date(&text)?, date(&text)?),
        };
        if from > to {
            return Err(format!("date range {text:?} ends before it starts"));
        }
        Ok(DateSpan(from, to))
    }
}

/// `[replicas]`: replica pools (SimpleScaleVM).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicasConfig {
    /// Resources one new replica brings (counted for building ones).
    pub replica_capacity: u32,
    /// Instance type of new replicas (default: the smallest configured type).
    pub instance_type: Option<String>,
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
    probe: Option<ProbeConfig>,
    replicas: Option<ReplicasConfig>,
    #[serde(default)]
    lock: LockSection,
    #[serde(default)]
    limits: Limits,
    provider: Option<P>,
    /// Validated by [`Outputs`]; accepted here so the root denies only unknown sections.
    #[serde(rename = "metrics")]
    _metrics: Option<serde::de::IgnoredAny>,
    /// See `_metrics`.
    #[serde(rename = "state")]
    _state: Option<serde::de::IgnoredAny>,
    /// See `_metrics`.
    #[serde(rename = "reservations")]
    _reservations: Option<serde::de::IgnoredAny>,
}

/// `[metrics]` keys (used by `metrics`, which depends on this module, so
/// the section is defined here rather than there).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSection {
    /// The textfile to write; relative to the configuration file.
    pub textfile: Option<PathBuf>,
}

/// `[metrics]` and `[state]`, read apart from the provider-typed document.
#[derive(Debug, Default, Deserialize)]
struct Outputs {
    #[serde(default)]
    metrics: MetricsSection,
    #[serde(default)]
    state: crate::state::StateSection,
    #[serde(default)]
    reservations: crate::reservations::ReservationsSection,
}

/// Every section but `[provider]`, as written.
#[derive(Debug)]
struct Sections {
    pool: RawPool,
    schedule: RawSchedule,
    sip: Option<SipConfig>,
    media: Option<MediaConfig>,
    probe: Option<ProbeConfig>,
    replicas: Option<ReplicasConfig>,
    lock: LockSection,
    limits: Limits,
}

impl<P> RawDoc<P> {
    /// The provider section apart from the others.
    fn split(self) -> (Sections, Option<P>) {
        let sections = Sections {
            pool: self.pool,
            schedule: self.schedule,
            sip: self.sip,
            media: self.media,
            probe: self.probe,
            replicas: self.replicas,
            lock: self.lock,
            limits: self.limits,
        };
        (sections, self.provider)
    }
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

impl PoolConfig {
    /// The vCPUs an instance type needs to be usable: one gateway's, or any
    /// for replica pools.
    pub fn min_type_vcpus(&self) -> u32 {
        if self.kind == PoolKind::Replicas {
            1
        } else {
            self.cpu_per_gateway
        }
    }
}

impl Config {
    /// The parameters the decision takes from this configuration (built
    /// here, so the planner depends on the configuration's values and never
    /// on this module).
    pub fn pool_params(&self) -> crate::plan::PoolParams {
        crate::plan::PoolParams {
            cpu_per_gateway: self.pool.cpu_per_gateway,
            instance_types: self.instance_types.clone(),
            protected: self.pool.protected.clone(),
            register_timeout: self.pool.register_timeout,
            no_public_ip_timeout: self.pool.no_public_ip_timeout,
            expects_gateways: self.pool.kind != PoolKind::Replicas,
            max_vcpus: self.pool.max_vcpus,
            drain_timeout: self.pool.drain_timeout,
        }
    }

    /// The parameters of the pass decision ([`crate::decision::decide`]).
    pub fn decision_params(&self) -> crate::decision::Params {
        let rule = if self.pool.kind == PoolKind::Replicas {
            let (instance_type, vcpus) = self.replica_type().unwrap_or_default();
            let capacity = self.replicas.as_ref().map_or(1, |r| r.replica_capacity);
            crate::decision::Rule::Replicas {
                capacity,
                instance_type,
                vcpus,
            }
        } else {
            crate::decision::Rule::Gateways
        };
        crate::decision::Params {
            pool: self.pool_params(),
            rule,
            limits: self.limits.clone(),
        }
    }

    /// The instance type of new replicas and its vCPUs: the configured one,
    /// else the smallest known type.
    pub fn replica_type(&self) -> Option<(String, u32)> {
        match self.replicas.as_ref().and_then(|r| r.instance_type.clone()) {
            Some(name) => self.instance_types.get(&name).map(|v| (name, *v)),
            None => self
                .instance_types
                .iter()
                .min_by_key(|(name, v)| (**v, (*name).clone()))
                .map(|(name, v)| (name.clone(), *v)),
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
    /// Budget cap on the pool's total vCPUs (running + building).
    pub max_vcpus: Option<u32>,
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
    /// HTTP status probes (any kind; required for replica pools).
    pub probe: Option<ProbeConfig>,
    /// Replica pool settings.
    pub replicas: Option<ReplicasConfig>,
    pub provider: ProviderConfig,
    /// Instance type name to vCPUs.
    pub instance_types: BTreeMap<String, u32>,
    /// The pass lock.
    pub lock: LockConfig,
    /// Brakes on a pass.
    pub limits: Limits,
    /// `[metrics] textfile`: node_exporter metrics after each pass.
    pub metrics_textfile: Option<PathBuf>,
    /// `[state] path`: the pool's persistent state.
    pub state_path: PathBuf,
    /// `[reservations]`: capacity booked ahead.
    pub reservations: crate::reservations::ReservationsConfig,
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

/// The document typed by a cloud provider's section, which is required,
/// prepared (paths made relative to the file, secrets and templates read).
fn prepared<P: DeserializeOwned>(
    text: &str,
    path: &Path,
    prepare: impl FnOnce(&mut P, &Path, &str) -> Result<(), String>,
) -> Result<(Sections, P), Error> {
    let (sections, provider) = doc::<P>(text, path)?.split();
    let mut provider = provider
        .ok_or_else(|| Error::Config(format!("{}: missing section [provider]", path.display())))?;
    let base = path.parent().unwrap_or(Path::new("."));
    prepare(&mut provider, base, &sections.pool.name.0)
        .map_err(|e| Error::Config(format!("{}: {}", path.display(), with_line(text, &e))))?;
    Ok((sections, provider))
}

/// Line (1-based) of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|b| *b == b'\n')
        .count()
        + 1
}

/// Which of the kind-specific sections a file has.
#[derive(Debug, Clone, Copy)]
struct Present {
    sip: bool,
    media: bool,
    replicas: bool,
    probe: bool,
}

/// The section `kind` needs that the file lacks, as an error.
fn required_sections(kind: PoolKind, present: Present) -> Result<(), String> {
    let missing = match kind {
        PoolKind::Sip if !present.sip => Some("sip"),
        PoolKind::Media if !present.media => Some("media"),
        PoolKind::Replicas if !present.replicas => Some("replicas"),
        PoolKind::Replicas if !present.probe => Some("probe"),
        _ => None,
    };
    match missing {
        Some(section) => Err(format!(
            "missing section [{section}] (required by pool.kind = \"{}\")",
            kind.as_str()
        )),
        None => Ok(()),
    }
}

/// Validates configuration text; `path` names the file in messages and
/// anchors relative paths.
pub fn parse(text: &str, path: &Path) -> Result<Config, Error> {
    let base = path.parent().unwrap_or(Path::new("."));
    let (sections, provider) = typed_sections(text, path)?;
    let Sections {
        pool: raw_pool,
        schedule: raw_schedule,
        sip,
        media,
        probe,
        replicas,
        lock,
        limits,
    } = sections;
    let fail =
        |msg: String| Error::Config(format!("{}: {}", path.display(), with_line(text, &msg)));

    let pool = pool_config(raw_pool, text).map_err(fail)?;
    foreign_sections(pool.kind, text).map_err(fail)?;
    let present = Present {
        sip: sip.is_some(),
        media: media.is_some(),
        replicas: replicas.is_some(),
        probe: probe.is_some(),
    };
    required_sections(pool.kind, present).map_err(fail)?;
    if let Some(media) = &media {
        media.validate(&pool.name).map_err(fail)?;
    }
    if let Some(turned_away) = sip.as_ref().and_then(|s| s.turned_away.as_ref()) {
        turned_away.validate().map_err(fail)?;
    }

    let schedule = schedule(raw_schedule, pool.kind, text).map_err(fail)?;

    let instance_types = instance_types_of(&provider).map_err(fail)?;
    if let Some(probe) = &probe {
        probe.validate().map_err(fail)?;
    }
    if let Some(r) = &replicas {
        check_replicas(r, &provider, &instance_types).map_err(fail)?;
    }
    // Types read at run time (OpenStack flavors) are checked once known.
    if provider.runtime_instance_types().is_empty() {
        check_instance_types(&instance_types, pool.min_type_vcpus()).map_err(fail)?;
    }

    limits.validate().map_err(fail)?;
    let lock = lock_config(lock, &pool.name, base, sip.as_ref(), &limits).map_err(fail)?;
    let outputs: Outputs = toml::from_str(text).map_err(|e| toml_error(path, e))?;
    let metrics_textfile = outputs.metrics.textfile.map(|p| base.join(p));
    let state_path = base.join(
        outputs
            .state
            .path
            .unwrap_or_else(|| crate::state::default_path(&pool.name)),
    );
    let reservations = outputs.reservations.validate(base).map_err(fail)?;

    let config = Config {
        path: path.to_path_buf(),
        pool,
        schedule,
        sip,
        media,
        probe,
        replicas,
        provider,
        instance_types,
        lock,
        limits,
        metrics_textfile,
        state_path,
        reservations,
    };
    connections::check(&config, text).map_err(fail)?;
    Ok(config)
}

/// The sections, with `[provider]` typed by its `kind` and prepared.
fn typed_sections(text: &str, path: &Path) -> Result<(Sections, ProviderConfig), Error> {
    let kind: KindOnly = toml::from_str(text).map_err(|e| toml_error(path, e))?;
    let base = path.parent().unwrap_or(Path::new("."));
    Ok(match kind.provider.kind.as_deref().unwrap_or("local") {
        "local" => {
            let (sections, local) = doc::<LocalConfig>(text, path)?.split();
            let mut local = local.unwrap_or_else(|| {
                toml::from_str("kind = \"local\"")
                    .expect("the default local provider section is valid")
            });
            local.state_file = base.join(&local.state_file);
            (sections, ProviderConfig::Local(local))
        }
        "openstack" => {
            let (sections, provider) = prepared(text, path, OpenStackConfig::prepare)?;
            (sections, ProviderConfig::OpenStack(Box::new(provider)))
        }
        "ec2" => {
            let (sections, provider) = prepared(text, path, Ec2Config::prepare)?;
            (sections, ProviderConfig::Ec2(provider))
        }
        "command" => {
            let (sections, provider) = prepared(text, path, CommandConfig::prepare)?;
            (sections, ProviderConfig::Command(provider))
        }
        other => {
            return Err(Error::Config(format!(
                "{}: provider.kind: unknown provider {other:?} (expected \"local\", \"openstack\", \"ec2\" or \"command\")",
                path.display()
            )));
        }
    })
}

/// Validated `[pool]`.
fn pool_config(raw: RawPool, text: &str) -> Result<PoolConfig, String> {
    let pool = PoolConfig {
        name: raw.name.0,
        kind: raw.kind,
        gateway_prefix: raw.gateway_prefix,
        cpu_per_gateway: raw.cpu_per_gateway.0,
        ram_per_gateway: raw.ram_per_gateway.0,
        protected: protected(raw.protected, text)?,
        no_public_ip_timeout: raw
            .no_public_ip_timeout
            .map_or(Some(Duration::from_secs(600)), |t| t.0),
        register_timeout: raw.register_timeout.0,
        drain_timeout: raw.drain_timeout.0,
        max_vcpus: raw.max_vcpus.map(|m| m.0),
    };
    if pool.gateway_prefix.is_empty() && pool.kind != PoolKind::Replicas {
        return Err("pool.gateway_prefix must not be empty".into());
    }
    Ok(pool)
}

/// `[provider.instance_types]`, none with 0 vCPUs.
fn instance_types_of(provider: &ProviderConfig) -> Result<BTreeMap<String, u32>, String> {
    let types = match provider {
        ProviderConfig::Local(local) => local.instance_types.clone(),
        ProviderConfig::OpenStack(openstack) => openstack.instance_types.clone(),
        ProviderConfig::Ec2(ec2) => ec2.instance_types.clone(),
        ProviderConfig::Command(command) => command.instance_types.clone(),
    };
    if let Some((name, _)) = types.iter().find(|(_, v)| **v == 0) {
        return Err(format!(
            "provider.instance_types.{name}: vCPUs must be greater than 0"
        ));
    }
    Ok(types)
}

/// `[replicas]`: a capacity in range and a known instance type.
fn check_replicas(
    replicas: &ReplicasConfig,
    provider: &ProviderConfig,
    instance_types: &BTreeMap<String, u32>,
) -> Result<(), String> {
    if replicas.replica_capacity == 0 || replicas.replica_capacity > MAX_RESOURCES {
        return Err(format!(
            "replicas.replica_capacity must be from 1 to {MAX_RESOURCES}, got {}",
            replicas.replica_capacity
        ));
    }
    if let Some(name) = &replicas.instance_type
        && provider.runtime_instance_types().is_empty()
        && !instance_types.contains_key(name)
    {
        return Err(format!(
            "replicas.instance_type {name:?} is not one of provider.instance_types"
        ));
    }
    Ok(())
}

/// Line of the key at `path` (`["provider", "instance_types", "c4"]`), for
/// values checked after parsing.
fn key_line(text: &str, path: &[&str]) -> Option<usize> {
    let root = toml::de::DeTable::parse(text).ok()?;
    let (last, parents) = path.split_last()?;
    let mut table = root.get_ref();
    for key in parents {
        let (_, value) = table.iter().find(|(k, _)| k.get_ref() == key)?;
        match value.get_ref() {
            toml::de::DeValue::Table(inner) => table = inner,
            _ => return None,
        }
    }
    let (key, _) = table.iter().find(|(k, _)| k.get_ref() == last)?;
    Some(line_of(text, key.span().start))
}

/// `message` with the line of the key it starts with (`media.key_prefix
/// must not be empty` becomes `line 12: media.key_prefix must ...`), when
/// that key is in the file and the message names no line yet.
fn with_line(text: &str, message: &str) -> String {
    if message.starts_with("line ") {
        return message.to_string();
    }
    let key = message
        .split([' ', ':', '='])
        .next()
        .unwrap_or_default()
        .trim_end_matches(',');
    let path: Vec<&str> = key.split('.').collect();
    match key_line(text, &path).filter(|_| path.len() > 1) {
        Some(line) => format!("line {line}: {message}"),
        None => message.to_string(),
    }
}

/// Refuses the sections of another pool kind (`[media]` on a SIP pool...),
/// which would be ignored. `[probe]` serves every kind.
fn foreign_sections(kind: PoolKind, text: &str) -> Result<(), String> {
    for section in ["sip", "media", "replicas"] {
        if section == kind.as_str() {
            continue;
        }
        if let Some(line) = key_line(text, &[section]) {
            return Err(format!(
                "line {line}: [{section}] does not apply to pool.kind = {:?}: remove it (or set pool.kind = {section:?})",
                kind.as_str()
            ));
        }
    }
    Ok(())
}

/// `pool.protected`: IP addresses, instance ids or names, trimmed. An entry
/// that could never match (empty, with spaces inside, a network, a malformed
/// address) is refused rather than left to protect nothing.
fn protected(entries: Vec<Spanned<String>>, text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for entry in entries {
        let line = line_of(text, entry.span().start);
        let written = entry.into_inner();
        let value = written.trim();
        let looks_like_address = value.contains(':')
            || (!value.is_empty() && value.chars().all(|c| c.is_ascii_digit() || c == '.'));
        let problem = if value.is_empty() {
            Some("is empty")
        } else if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            Some("has spaces inside: an IP address, instance id or name has none")
        } else if value.contains('/') {
            Some("is a network: list the addresses one by one")
        } else if looks_like_address && value.parse::<std::net::IpAddr>().is_err() {
            Some("is not a valid IP address")
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(format!(
                "line {line}: pool.protected: {written:?} {problem} (entries are IP addresses, instance ids or names)"
            ));
        }
        out.push(value.to_string());
    }
    Ok(out)
}

fn lock_config(
    raw: LockSection,
    pool: &str,
    base: &Path,
    sip: Option<&SipConfig>,
    limits: &Limits,
) -> Result<LockConfig, String> {
    let path = match raw.path {
        Some(p) => base.join(p),
        None => default_lock_dir().join(format!("scaler-{pool}.lock")),
    };
    let own_password = SecretSource::new(raw.password, raw.password_env, raw.password_file)
        .with_credential(raw.password_credential);
    let (url, password) = match (raw.backend, raw.url) {
        (_, Some(url)) => (Some(url), own_password),
        (Backend::Mysql, None) => match sip {
            Some(sip) if own_password.is_given() => (Some(sip.url.clone()), own_password),
            Some(sip) => (Some(sip.url.clone()), sip.password_source()),
            None => {
                return Err(
                    "lock.url is required for backend = \"mysql\" without a [sip] section".into(),
                );
            }
        },
        (Backend::Redis, None) => return Err("lock.url is required for backend = \"redis\"".into()),
        (Backend::File, None) => (None, own_password),
    };
    let lease = raw.lease.map_or(
        limits.deadline.0.saturating_add(Duration::from_secs(30)),
        |l| l.0,
    );
    // The lease must outlive the longest a pass can run (the watchdog's bound).
    let bound = limits.deadline.0.saturating_add(crate::watchdog::GRACE);
    if raw.backend == Backend::Redis && lease <= bound {
        return Err(format!(
            "lock.lease ({}) must be longer than limits.deadline + {} s ({}), the longest a pass runs",
            HumanDuration(lease),
            crate::watchdog::GRACE.as_secs(),
            HumanDuration(bound)
        ));
    }
    Ok(LockConfig {
        backend: raw.backend,
        path,
        name: raw.name.unwrap_or_else(|| format!("scaler-{pool}")),
        url,
        password,
        lease,
        timeout: Duration::from_secs(5),
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

/// `/run/scaler` (created by the first pass when missing), or the temporary
/// directory on a system without `/run`.
fn default_lock_dir() -> PathBuf {
    if Path::new("/run").is_dir() {
        PathBuf::from(crate::lock::DEFAULT_DIR)
    } else {
        std::env::temp_dir()
    }
}

fn schedule(raw: RawSchedule, kind: PoolKind, text: &str) -> Result<Schedule, String> {
    let timezone = raw.timezone.map_or(chrono_tz::UTC, |t| t.0);
    let mut dates: Vec<DateRule> = Vec::new();
    for (span, target) in &raw.dates {
        let known = target == "default"
            || WEEKDAYS.contains(&target.as_str())
            || raw.timelines.contains_key(target);
        if !known {
            return Err(format!(
                "schedule.dates: {} refers to timeline {target:?}, which is not defined (add [schedule.{target}])",
                span_text(span)
            ));
        }
        if let Some(other) = dates.iter().find(|d| d.from <= span.1 && span.0 <= d.to) {
            return Err(format!(
                "schedule.dates: {} overlaps {}",
                span_text(span),
                span_text(&DateSpan(other.from, other.to))
            ));
        }
        dates.push(DateRule {
            from: span.0,
            to: span.1,
            timeline: target.clone(),
        });
    }
    for name in raw.timelines.keys() {
        let standard = name == "default" || WEEKDAYS.contains(&name.as_str());
        if !standard && !raw.dates.values().any(|t| t == name) {
            return Err(format!(
                "schedule.{name}: not a weekday (monday ... sunday) nor \"default\", and no entry of [schedule.dates] uses it"
            ));
        }
    }
    let mut timelines = BTreeMap::new();
    for (name, raw) in raw.timelines {
        let slots = timeline(&name, raw, kind, text)?;
        timelines.insert(name, slots);
    }
    let schedule = Schedule {
        timezone,
        timelines,
        dates,
    };
    if !schedule.covers_every_day() {
        return Err(
            "schedule: add [schedule.default] (or a timeline for each of the seven weekdays)"
                .into(),
        );
    }
    Ok(schedule)
}

/// One timeline's slots, sorted by start time. Two keys naming the same time
/// (`"00:00"` and `"00:00:00"`) are refused: one would silently replace the other.
fn timeline(name: &str, raw: RawTimeline, kind: PoolKind, text: &str) -> Result<Timeline, String> {
    if raw.is_empty() {
        return Err(format!(
            "schedule.{name}: a timeline needs at least one slot"
        ));
    }
    let mut by_time: BTreeMap<NaiveTime, (String, usize, Slot)> = BTreeMap::new();
    for (written, spanned) in raw {
        let line = line_of(text, spanned.span().start);
        let key = format!("line {line}: schedule.{name}.\"{written}\"");
        let start = slot_time(&written).map_err(|e| format!("{key}: {e}"))?;
        let slot = slot(spanned.into_inner(), kind).map_err(|e| format!("{key}: {e}"))?;
        if let Some((other, other_line, _)) = by_time.get(&start) {
            let (first, second) = if *other_line <= line {
                ((other.as_str(), *other_line), (written.as_str(), line))
            } else {
                ((written.as_str(), line), (other.as_str(), *other_line))
            };
            return Err(format!(
                "line {}: schedule.{name}.\"{}\" is the same time as schedule.{name}.\"{}\" (line {}): write each slot time once",
                second.1, second.0, first.0, first.1
            ));
        }
        by_time.insert(start, (written, line, slot));
    }
    Ok(by_time
        .into_iter()
        .map(|(start, (_, _, slot))| (start, slot))
        .collect())
}

fn span_text(span: &DateSpan) -> String {
    if span.0 == span.1 {
        span.0.to_string()
    } else {
        format!("{}..{}", span.0, span.1)
    }
}

/// Refuses a slot value above its documented maximum.
fn at_most(value: Option<u32>, max: u32, key: &str) -> Result<(), String> {
    match value {
        Some(v) if v > max => Err(format!("{key} must be at most {max}, got {v}")),
        _ => Ok(()),
    }
}

/// `sqrt_headroom` as written: absent is 0; a finite value from 0 to
/// [`MAX_SQRT_HEADROOM`] otherwise.
fn sqrt_headroom(value: Option<f64>) -> Result<f64, String> {
    let beta = value.unwrap_or(0.0);
    if beta.is_finite() && (0.0..=MAX_SQRT_HEADROOM).contains(&beta) {
        Ok(beta)
    } else {
        Err(format!(
            "sqrt_headroom must be a number from 0 to {MAX_SQRT_HEADROOM}, got {beta}"
        ))
    }
}

fn slot(raw: RawSlot, kind: PoolKind) -> Result<Slot, String> {
    let required = |value: Option<u32>, key: &str| {
        value.ok_or_else(|| format!("{key} is required for pool.kind = {:?}", kind.as_str()))
    };
    at_most(raw.idle_min, MAX_GATEWAYS, "idle_min")?;
    at_most(raw.min_gateways, MAX_GATEWAYS, "min_gateways")?;
    at_most(raw.max_gateways, MAX_GATEWAYS, "max_gateways")?;
    at_most(raw.max_replicas, MAX_GATEWAYS, "max_replicas")?;
    at_most(raw.min_available, MAX_RESOURCES, "min_available")?;
    match kind {
        PoolKind::Sip | PoolKind::Media => {
            let load_max = raw.load_max.ok_or_else(|| {
                format!("load_max is required for pool.kind = {:?}", kind.as_str())
            })?;
            // Below 1% the target is over a hundred times the busy count:
            // a typo, not a threshold (and its reason would print 300 digits).
            if !(MIN_LOAD_MAX..=1.0).contains(&load_max) {
                return Err(format!(
                    "load_max must be from {MIN_LOAD_MAX} to 1, got {load_max}"
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
                sqrt_headroom: sqrt_headroom(raw.sqrt_headroom)?,
                min_available: None,
                max_replicas: None,
            })
        }
        PoolKind::Replicas => {
            if raw.idle_min.is_some()
                || raw.load_max.is_some()
                || raw.sqrt_headroom.is_some()
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
                sqrt_headroom: 0.0,
                min_available: Some(required(raw.min_available, "min_available")?),
                max_replicas: Some(max_replicas),
            })
        }
    }
}

mod connections;

#[cfg(test)]
mod tests;
