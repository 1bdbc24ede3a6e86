//! The media gateway source: Redis, where SIPMediaGW's media proxy keeps one
//! string key per gateway, `<key_prefix><gw_id>` →
//! `ip[:port]|state|type|room|start_time|media_duration|…` (older gateways
//! write fewer fields; two or more are accepted). Values are read as bytes
//! and never rewritten except for the state field.
//!
//! Observation is one `SCAN … MATCH <prefix>*` walk whose batches are read
//! with `MGET`, each `MGET` pipelined with the next `SCAN` (one round trip per
//! batch of about [`SCAN_COUNT`] keys, never one per key, never `KEYS`).
//!
//! A drain is one Lua script per host ([`DRAIN_SCRIPT`]): it checks that
//! every gateway of the host still has the observed address and is
//! `started`, `stopped` or already `stopping`, and only then moves each one
//! to `stopping`, so a proxy that assigns a room (`started → working`) before
//! the script runs wins and the host is kept. The drain time goes into a
//! separate hash (`[media] drain_key`, field = gateway key, value = Unix
//! seconds) written by the same script: the proxy's fields (including
//! `start_time`, which SIPMediaGW's Python scaler overwrote) stay byte for
//! byte, and the proxy, which scans `<prefix>*`, never sees the record.

use super::{
    DrainOutcome, Gateway, GatewayObservation, GatewaySource, GatewayState, Hosts, SourceError,
    SourceRecord, is_host_name,
};
use crate::duration::HumanDuration;
use crate::pool::sip::redacted_url;
use crate::secret::SecretSource;
use chrono::{DateTime, Local, NaiveDateTime, TimeZone, Utc};
use redis::{Client, Connection, Script, Value};
use serde::Deserialize;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Keys asked of each `SCAN` call.
pub const SCAN_COUNT: u32 = 1000;

/// `[media]` keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaConfig {
    /// `redis://[user@]host:port/db` (or `redis+unix:///path?db=N`).
    pub url: String,
    /// Password in clear (discouraged).
    pub password: Option<String>,
    /// Environment variable holding the password.
    pub password_env: Option<String>,
    /// File holding the password.
    pub password_file: Option<std::path::PathBuf>,
    /// systemd credential holding the password (`$CREDENTIALS_DIRECTORY/NAME`).
    pub password_credential: Option<String>,
    /// The gateway keys are `<key_prefix><gw_id>`.
    #[serde(default = "default_key_prefix")]
    pub key_prefix: String,
    /// Only gateways of this type (third field) belong to the pool; all when absent.
    pub gateway_type: Option<String>,
    /// The hash holding drain times; default `scaler:drain:<pool.name>`.
    pub drain_key: Option<String>,
    /// TCP connect (and handshake) timeout.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: HumanDuration,
    /// Read/write timeout of each command.
    #[serde(default = "default_command_timeout")]
    pub command_timeout: HumanDuration,
}

fn default_key_prefix() -> String {
    "gateway:".to_string()
}

fn default_connect_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(5))
}

fn default_command_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(10))
}

impl MediaConfig {
    /// Where the password comes from.
    pub fn password_source(&self) -> SecretSource {
        SecretSource::new(
            self.password.clone(),
            self.password_env.clone(),
            self.password_file.clone(),
        )
        .with_credential(self.password_credential.clone())
    }

    /// The drain-time hash of pool `pool`.
    pub fn drain_key(&self, pool: &str) -> String {
        self.drain_key
            .clone()
            .unwrap_or_else(|| format!("scaler:drain:{pool}"))
    }

    /// Checks the values that serde cannot (called by the configuration loader).
    pub fn validate(&self, pool: &str) -> Result<(), String> {
        if self.key_prefix.is_empty() {
            return Err("media.key_prefix must not be empty".into());
        }
        if let Some(kind) = &self.gateway_type
            && (kind.is_empty() || kind.contains('|'))
        {
            return Err(format!(
                "media.gateway_type {kind:?} must be a non-empty word without '|'"
            ));
        }
        let drain_key = self.drain_key(pool);
        if drain_key.is_empty() || drain_key.starts_with(&self.key_prefix) {
            return Err(format!(
                "media.drain_key {drain_key:?} must not be empty nor start with media.key_prefix {:?} (the proxy scans those keys)",
                self.key_prefix
            ));
        }
        Ok(())
    }
}

/// A gateway state as the proxy writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaState {
    /// `starting`: announced, not ready yet (pending).
    Starting,
    /// `started`: ready, no room (idle).
    Started,
    /// `working`: in a room (busy).
    Working,
    /// `stopped`: finished its room; the proxy makes it `started` again.
    Stopped,
    /// `stopping`: marked by a scaler to be destroyed.
    Stopping,
}

impl MediaState {
    fn parse(field: &[u8]) -> Option<MediaState> {
        Some(match field {
            b"starting" => MediaState::Starting,
            b"started" => MediaState::Started,
            b"working" => MediaState::Working,
            b"stopped" => MediaState::Stopped,
            b"stopping" => MediaState::Stopping,
            _ => return None,
        })
    }

    /// How the planner counts it. `stopped` has no room, so it is not busy:
    /// it counts as registered and idle (DESIGN.md "Decision" › "Counts": idle = registered − busy) and
    /// may be drained, though the proxy gives it no room until it is
    /// `started` again.
    pub fn gateway_state(self) -> GatewayState {
        match self {
            MediaState::Starting => GatewayState::Starting,
            MediaState::Started | MediaState::Stopped => GatewayState::Idle,
            MediaState::Working => GatewayState::Busy,
            MediaState::Stopping => GatewayState::Draining,
        }
    }
}

/// One value, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    /// The address field as written (`ip[:port]`).
    pub address: &'a [u8],
    /// Its IP.
    pub host: IpAddr,
    /// The state.
    pub state: MediaState,
    /// `start_time`, when written.
    pub start_time: Option<&'a [u8]>,
    /// Whether the whole value is valid UTF-8.
    pub utf8: bool,
}

/// What a value means for this pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Classified<'a> {
    /// One of the pool's gateways.
    Ours(Record<'a>),
    /// A gateway of another type (and its host, when readable).
    Foreign(Option<IpAddr>),
    /// Unreadable: why, and the host when the address could be read.
    Bad {
        host: Option<IpAddr>,
        reason: String,
    },
}

/// Bytes shown in a message: UTF-8 as is, other bytes escaped, cut at 80 characters.
pub fn show(bytes: &[u8]) -> String {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => bytes.escape_ascii().to_string(),
    };
    if text.chars().count() > 80 {
        let cut: String = text.chars().take(80).collect();
        format!("{cut}…")
    } else {
        text
    }
}

/// The IP of an `ip[:port]` field: `10.0.0.1`, `10.0.0.1:8080`, `::1`,
/// `[::1]` or `[::1]:8080`. Host names are not accepted.
pub fn parse_address(field: &[u8]) -> Result<IpAddr, String> {
    let bad = || format!("address \"{}\" is not an IP address", show(field));
    let text = std::str::from_utf8(field).map_err(|_| bad())?;
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(ip);
    }
    if let Some(v6) = text.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or_else(bad)?;
        let ip: IpAddr = host.parse().map_err(|_| bad())?;
        return match after.strip_prefix(':') {
            None if after.is_empty() => Ok(ip),
            Some(port) if port.parse::<u16>().is_ok() => Ok(ip),
            _ => Err(bad()),
        };
    }
    let (host, port) = text.rsplit_once(':').ok_or_else(bad)?;
    match (host.parse::<std::net::Ipv4Addr>(), port.parse::<u16>()) {
        (Ok(ip), Ok(_)) => Ok(IpAddr::V4(ip)),
        _ => Err(bad()),
    }
}

/// The host of an address field: its IP, or the address of the one
/// instance named by a `name[:port]` field (names are never resolved).
pub fn locate(field: &[u8], hosts: &Hosts) -> Result<IpAddr, String> {
    parse_address(field).or_else(|bad| {
        let text = std::str::from_utf8(field).map_err(|_| bad.clone())?;
        let name = match text.rsplit_once(':') {
            Some((name, port)) if port.parse::<u16>().is_ok() => name,
            Some(_) => return Err(bad),
            None => text,
        };
        if !is_host_name(name) {
            return Err(bad);
        }
        hosts.by_name(name).map_err(|e| format!("{bad}, and {e}"))
    })
}

/// Reads one value. With `gateway_type`, a value whose third field names
/// another type belongs to another pool; a value without a type field (older
/// gateways) belongs to every pool.
pub fn classify<'a>(value: &'a [u8], gateway_type: Option<&str>, hosts: &Hosts) -> Classified<'a> {
    let mut fields = value.split(|b| *b == b'|');
    let address = fields.next().unwrap_or_default();
    let state = fields.next();
    let kind = fields.next();
    let start_time = fields.nth(1);
    let host = locate(address, hosts);
    if let (Some(wanted), Some(kind)) = (gateway_type, kind)
        && kind != wanted.as_bytes()
    {
        return Classified::Foreign(host.ok());
    }
    let host = match host {
        Ok(host) => host,
        Err(reason) => return Classified::Bad { host: None, reason },
    };
    let state = match state {
        None | Some([]) => {
            return Classified::Bad {
                host: Some(host),
                reason: "missing state".into(),
            };
        }
        Some(field) => match MediaState::parse(field) {
            Some(state) => state,
            None => {
                return Classified::Bad {
                    host: Some(host),
                    reason: format!(
                        "unknown state \"{}\" (expected starting, started, working, stopped or stopping)",
                        show(field)
                    ),
                };
            }
        },
    };
    Classified::Ours(Record {
        address,
        host,
        state,
        start_time: start_time.filter(|f| !f.is_empty()),
        utf8: std::str::from_utf8(value).is_ok(),
    })
}

/// A drain time written by SIPMediaGW's Python scaler into `start_time`
/// (`datetime.now().isoformat()`, the local time without offset), or an
/// RFC 3339 time. Used for `stopping` gateways without a drain record.
pub fn legacy_drain_time(field: &[u8]) -> Option<DateTime<Utc>> {
    let text = std::str::from_utf8(field).ok()?.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    Local
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// A drain record's value: Unix seconds.
fn record_time(value: &[u8]) -> Option<DateTime<Utc>> {
    let seconds: i64 = std::str::from_utf8(value).ok()?.trim().parse().ok()?;
    DateTime::from_timestamp(seconds, 0)
}

/// Gateway keys with their values, as read.
type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// The drain-time hash: gateway key to Unix seconds.
type Records = HashMap<Vec<u8>, Vec<u8>>;

/// A `SCAN` reply: the next cursor and a batch of keys.
type ScanReply = (u64, Vec<Vec<u8>>);

/// An `MGET` reply (nil for a key deleted meanwhile or of another type).
type Values = Vec<Option<Vec<u8>>>;

/// What one observation read.
struct Read {
    entries: Entries,
    records: Records,
    /// Keys whose `MGET` value was nil, with their `TYPE`.
    unread: Vec<(Vec<u8>, String)>,
    round_trips: u32,
}

/// What the source remembers of the last observation.
#[derive(Debug, Default)]
struct Seen {
    /// Each gateway id (its key) with the address field it was observed with.
    address: HashMap<String, Vec<u8>>,
    /// Drain records whose key was not seen: pruned at the next `forget`.
    stale_records: Vec<Vec<u8>>,
}

/// The observation being assembled.
#[derive(Default)]
struct Assembly {
    observation: GatewayObservation,
    seen: Seen,
    tainted: BTreeSet<IpAddr>,
    ours: HashSet<IpAddr>,
    foreign: HashSet<IpAddr>,
}

impl Assembly {
    /// A key that cannot be used: it taints its host, or, when the host is
    /// unknown, it is a doubt (nothing of the pool is drained or destroyed).
    fn bad(&mut self, key: &str, host: Option<IpAddr>, reason: &str) {
        match host {
            Some(host) => {
                self.observation
                    .errors
                    .push(format!("media key {key}: {reason}"));
                self.tainted.insert(host);
            }
            None => self
                .observation
                .doubt(format!("media key {key}: {reason}: its host is unknown")),
        }
    }

    /// One key and its value.
    fn admit(
        &mut self,
        key: &[u8],
        value: &[u8],
        records: &Records,
        gateway_type: Option<&str>,
        hosts: &Hosts,
    ) {
        let classified = classify(value, gateway_type, hosts);
        let Ok(id) = std::str::from_utf8(key) else {
            let host = match &classified {
                Classified::Foreign(_) => return,
                Classified::Ours(record) => Some(record.host),
                Classified::Bad { host, .. } => *host,
            };
            return self.bad(&show(key), host, "key name is not valid UTF-8");
        };
        let record = match classified {
            Classified::Ours(record) => record,
            Classified::Foreign(host) => {
                self.foreign.extend(host);
                return;
            }
            Classified::Bad { host, reason } => return self.bad(id, host, &reason),
        };
        if !record.utf8 {
            self.bad(id, Some(record.host), "value is not valid UTF-8");
        }
        self.ours.insert(record.host);
        if record.state == MediaState::Stopping {
            let since = match records.get(key) {
                Some(raw) => {
                    let time = record_time(raw);
                    if time.is_none() {
                        self.observation.errors.push(format!(
                            "media key {id}: unreadable drain record \"{}\"",
                            show(raw)
                        ));
                    }
                    time
                }
                None => record.start_time.and_then(legacy_drain_time),
            };
            if let Some(since) = since {
                self.observation
                    .draining_since
                    .insert(id.to_string(), since);
            }
        }
        self.seen
            .address
            .insert(id.to_string(), record.address.to_vec());
        self.observation.gateways.push(Gateway {
            id: id.to_string(),
            host: record.host,
            state: record.state.gateway_state(),
            in_call: record.state == MediaState::Working,
        });
    }
}

/// Turns the keys and values read into the pool's gateways; pure, so it is
/// unit-tested. `records` are the drain-time hash's fields; `hosts` ties
/// addresses given as instance names.
fn assemble(
    entries: Entries,
    records: &Records,
    gateway_type: Option<&str>,
    hosts: &Hosts,
) -> (GatewayObservation, Seen) {
    let mut at = Assembly::default();
    at.observation.gateways.reserve(entries.len());
    at.seen.address.reserve(entries.len());
    for (key, value) in &entries {
        at.admit(key, value, records, gateway_type, hosts);
    }
    let mixed: BTreeSet<IpAddr> = at.ours.intersection(&at.foreign).copied().collect();
    for host in &mixed {
        at.observation.errors.push(format!(
            "media host {host} also runs gateways of another type than media.gateway_type {:?}: it is never drained",
            gateway_type.unwrap_or_default()
        ));
        at.tainted.insert(*host);
    }
    if !records.is_empty() {
        let keys_seen: HashSet<&[u8]> = entries.iter().map(|(k, _)| k.as_slice()).collect();
        at.seen.stale_records = records
            .keys()
            .filter(|k| !keys_seen.contains(k.as_slice()))
            .cloned()
            .collect();
    }
    at.seen.stale_records.sort();
    let (mut observation, seen) = (at.observation, at.seen);
    observation.tainted_hosts = at.tainted.into_iter().collect();
    // Entries come sorted by key; sorting again is nearly free and keeps the
    // order independent of the caller.
    observation.gateways.sort_by(|a, b| a.id.cmp(&b.id));
    (observation, seen)
}

/// Keys under the prefix that `MGET` could not read (nil), with what `TYPE`
/// says they are: gone since `SCAN` (`none`) is fine; any other type (a
/// hash, a list…) or a string that reappeared cannot be read as a gateway,
/// and its name carries no address, so each is a doubt.
fn unread_keys(unread: &[(Vec<u8>, String)], observation: &mut GatewayObservation) {
    for (key, kind) in unread {
        let why = match kind.as_str() {
            "none" => continue,
            "string" => "changed while it was read".to_string(),
            other => format!("holds a Redis {other}, not a string"),
        };
        observation.doubt(format!(
            "media key {}: {why}: its host is unknown",
            show(key)
        ));
    }
}

/// The drain of one host, all or nothing. KEYS: the host's gateway keys,
/// then the drain-time hash. ARGV: each key's observed address field (same
/// position), then the drain time (Unix seconds). Returns `{1, moved}` or
/// `{0, key, why}` having changed nothing.
pub const DRAIN_SCRIPT: &str = r#"
local n = #KEYS - 1
local hash = KEYS[#KEYS]
local now = ARGV[#KEYS]
local moves = {}
for i = 1, n do
  local value = redis.call('GET', KEYS[i])
  if not value then
    return {0, KEYS[i], 'gone'}
  end
  local first = string.find(value, '|', 1, true)
  if not first then
    return {0, KEYS[i], 'without a state'}
  end
  if string.sub(value, 1, first - 1) ~= ARGV[i] then
    return {0, KEYS[i], 'moved to another address'}
  end
  local second = string.find(value, '|', first + 1, true)
  local state = string.sub(value, first + 1, (second or 0) - 1)
  if state == 'started' or state == 'stopped' then
    local rest = ''
    if second then
      rest = string.sub(value, second)
    end
    moves[#moves + 1] = {KEYS[i], string.sub(value, 1, first) .. 'stopping' .. rest}
  elseif state == 'stopping' then
    moves[#moves + 1] = {KEYS[i], false}
  else
    return {0, KEYS[i], state}
  end
end
local moved = 0
for _, move in ipairs(moves) do
  if move[2] then
    redis.call('SET', move[1], move[2], 'KEEPTTL')
    redis.call('HSET', hash, move[1], now)
    moved = moved + 1
  else
    redis.call('HSETNX', hash, move[1], now)
  end
end
return {1, moved}
"#;

/// Forgets gateways whose host is gone. KEYS: gateway keys, then the
/// drain-time hash. ARGV: each key's observed address field. A key is
/// deleted only while it still has that address and is `stopping` or
/// `stopped` (never `working`); the drain record of a deleted or missing key
/// is dropped. An empty address prunes only the record, unless the key is
/// `stopping`. Returns the number of keys deleted.
pub const FORGET_SCRIPT: &str = r#"
local n = #KEYS - 1
local hash = KEYS[#KEYS]
local deleted = 0
for i = 1, n do
  local value = redis.call('GET', KEYS[i])
  if not value then
    redis.call('HDEL', hash, KEYS[i])
  else
    local first = string.find(value, '|', 1, true)
    local state = nil
    if first then
      local second = string.find(value, '|', first + 1, true)
      state = string.sub(value, first + 1, (second or 0) - 1)
    end
    if ARGV[i] == '' then
      if state ~= 'stopping' then
        redis.call('HDEL', hash, KEYS[i])
      end
    elseif string.sub(value, 1, first and first - 1 or 0) == ARGV[i]
        and (state == 'stopping' or state == 'stopped') then
      redis.call('DEL', KEYS[i])
      redis.call('HDEL', hash, KEYS[i])
      deleted = deleted + 1
    end
  end
end
return deleted
"#;

/// `*`, `?`, `[`, `]` and `\` escaped for `SCAN … MATCH`.
pub fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 1);
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The Redis source of one media pool.
pub struct MediaSource {
    client: Client,
    url: String,
    key_prefix: String,
    gateway_type: Option<String>,
    drain_key: String,
    connect_timeout: Duration,
    command_timeout: Duration,
    conn: Option<Connection>,
    seen: Seen,
    drain_script: Script,
    forget_script: Script,
}

/// What a Redis reply is, in words (for a message, never its debug form).
fn shape(value: &Value) -> String {
    match value {
        Value::Nil => "nil".to_string(),
        Value::Int(n) => format!("the integer {n}"),
        Value::BulkString(bytes) => format!("the string {}", show(bytes)),
        Value::SimpleString(s) => format!("the status {s}"),
        Value::Okay => "OK".to_string(),
        Value::Array(items) => format!("an array of {} value(s)", items.len()),
        _ => "a value of another type".to_string(),
    }
}

impl MediaSource {
    /// A source for pool `pool`. Resolves the password and checks the URL
    /// now; connects on first use.
    pub fn new(config: &MediaConfig, pool: &str) -> Result<MediaSource, SourceError> {
        let url = redacted_url(&config.url);
        let password = config
            .password_source()
            .resolve("media.password")
            .map_err(SourceError::Secret)?;
        let client = Client::open(config.url.as_str())
            .map_err(|e| SourceError::config(format!("media.url: invalid Redis URL {url}: {e}")))?;
        let client = match password {
            None => client,
            Some(password) => {
                let info = client.get_connection_info().clone();
                if info.redis_settings().password().is_some() {
                    return Err(SourceError::secret(
                        "media.url has a password: give it there or in media.password*, not both",
                    ));
                }
                let settings = info
                    .redis_settings()
                    .clone()
                    .set_password(password.expose());
                Client::open(info.set_redis_settings(settings))
                    .map_err(|e| SourceError::config(format!("media.url: {url}: {e}")))?
            }
        };
        Ok(MediaSource {
            client,
            url,
            key_prefix: config.key_prefix.clone(),
            gateway_type: config.gateway_type.clone(),
            drain_key: config.drain_key(pool),
            connect_timeout: config.connect_timeout.0,
            command_timeout: config.command_timeout.0,
            conn: None,
            seen: Seen::default(),
            drain_script: Script::new(DRAIN_SCRIPT),
            forget_script: Script::new(FORGET_SCRIPT),
        })
    }

    fn conn(&mut self) -> Result<&mut Connection, SourceError> {
        if self.conn.is_none() {
            let connected = self
                .client
                .get_connection_with_timeout(self.connect_timeout)
                .and_then(|conn| {
                    conn.set_read_timeout(Some(self.command_timeout))?;
                    conn.set_write_timeout(Some(self.command_timeout))?;
                    Ok(conn)
                });
            let conn = connected.map_err(|e| {
                let fault = SourceError::redis(&e);
                let fault = match &self.client.get_connection_info().addr() {
                    redis::ConnectionAddr::Tcp(host, port) => fault.or_dns(host, *port),
                    _ => fault,
                };
                fault.context(format!("Redis {}", self.url))
            })?;
            self.conn = Some(conn);
        }
        Ok(self.conn.as_mut().expect("connection was just set"))
    }

    fn fail(&mut self, what: &str, e: redis::RedisError) -> SourceError {
        self.conn = None;
        SourceError::redis(&e).context(format!("Redis {}: {what}", self.url))
    }

    /// Checks that scripts may run (`SCRIPT LOAD`, for `check`) and observes.
    pub fn check_scripts(&mut self) -> Result<String, SourceError> {
        let observed = self.observe(&Hosts::default())?;
        let (drain, forget) = (self.drain_script.clone(), self.forget_script.clone());
        let loaded = drain
            .load(self.conn()?)
            .and_then(|_| forget.load(self.conn.as_mut().expect("connected")));
        loaded.map_err(|e| self.fail("loading the drain scripts", e))?;
        Ok(format!(
            "{} gateway key(s) under {:?}, drain scripts loaded",
            observed.gateways.len(),
            self.key_prefix
        ))
    }

    /// Whether the account may run what a pass runs besides reading
    /// (`SCAN`, `MGET`, `HGETALL`, `SCRIPT LOAD`, checked by
    /// [`check_scripts`](Self::check_scripts)): both scripts by `EVALSHA`,
    /// `GET`, `SET`, `DEL` on a gateway key and `HDEL` on the drain hash. On
    /// a key that does not exist every one of them is a no-op, so nothing
    /// changes; Redis checks the ACL all the same.
    pub fn check_privileges(&mut self) -> Result<(), SourceError> {
        let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
        let absent = format!(
            "{}scaler-check-{}-{nanos}",
            self.key_prefix,
            std::process::id()
        );
        let (drain, forget) = (self.drain_script.clone(), self.forget_script.clone());
        let drain_key = self.drain_key.clone();
        let conn = self.conn()?;
        let result = (|| -> redis::RedisResult<()> {
            let _: Value = drain.key(drain_key.as_str()).invoke(conn)?;
            let _: i64 = forget
                .key(absent.as_str())
                .key(drain_key.as_str())
                .arg("")
                .invoke(conn)?;
            let _: Value = redis::cmd("SET")
                .arg(&absent)
                .arg("")
                .arg("XX")
                .query(conn)?;
            let _: i64 = redis::cmd("DEL").arg(&absent).query(conn)?;
            let _: i64 = redis::cmd("HDEL")
                .arg(&drain_key)
                .arg(&absent)
                .query(conn)?;
            Ok(())
        })();
        result.map_err(|e| {
            // Statements that change nothing: a refusal from the server (an
            // ACL, or a script's command denied) is a missing privilege.
            let refused_by_server = matches!(
                e.kind(),
                redis::ErrorKind::Server(_) | redis::ErrorKind::Extension
            );
            let failed = match self.fail("the account cannot drain or forget", e) {
                SourceError::Unavailable(m) if refused_by_server => SourceError::Privilege(m),
                other => other,
            };
            failed.map(|m| {
                format!(
                    "{m} (the pass needs SCAN, MGET, HGETALL, EVALSHA, SCRIPT LOAD, and GET, SET, DEL, HSET, HSETNX, HDEL in the scripts)"
                )
            })
        })
    }

    /// Every key under the prefix with its value, the drain records, the
    /// keys that could not be read, and the number of round trips it took.
    fn read_all(&mut self) -> Result<Read, redis::RedisError> {
        let pattern = format!("{}*", glob_escape(&self.key_prefix));
        let drain_key = self.drain_key.clone();
        let conn = self.conn.as_mut().expect("connected before reading");
        let scan = |cursor: u64| {
            let mut cmd = redis::cmd("SCAN");
            cmd.arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(SCAN_COUNT);
            cmd
        };
        let mut round_trips = 1;
        let ((mut cursor, mut keys), records): (ScanReply, Records) = redis::pipe()
            .add_command(scan(0))
            .cmd("HGETALL")
            .arg(&drain_key)
            .query(conn)?;
        let mut entries = Vec::with_capacity(4 * SCAN_COUNT as usize);
        // A key deleted since SCAN, or holding another type, reads as nil:
        // `TYPE` tells them apart afterwards.
        let mut nil = Vec::new();
        let mut keep = |keys: Vec<Vec<u8>>, values: Values| {
            for (key, value) in keys.into_iter().zip(values) {
                match value {
                    Some(value) => entries.push((key, value)),
                    None => nil.push(key),
                }
            }
        };
        loop {
            if cursor == 0 {
                if !keys.is_empty() {
                    round_trips += 1;
                    let values = redis::cmd("MGET").arg(&keys).query(conn)?;
                    keep(keys, values);
                }
                break;
            }
            round_trips += 1;
            if keys.is_empty() {
                (cursor, keys) = scan(cursor).query(conn)?;
                continue;
            }
            // This batch's values and the next batch's keys in one round trip.
            let (values, (next, next_keys)): (Values, ScanReply) = redis::pipe()
                .cmd("MGET")
                .arg(&keys)
                .add_command(scan(cursor))
                .query(conn)?;
            keep(std::mem::replace(&mut keys, next_keys), values);
            cursor = next;
        }
        // SCAN may return a key twice: keep one, and the keys in order.
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        entries.dedup_by(|a, b| a.0 == b.0);
        nil.sort_unstable();
        nil.dedup();
        let mut unread = Vec::new();
        if !nil.is_empty() {
            // One pipelined round trip for all of them, whatever their number.
            round_trips += 1;
            let mut pipe = redis::pipe();
            for key in &nil {
                pipe.cmd("TYPE").arg(key);
            }
            let kinds: Vec<String> = pipe.query(conn)?;
            unread = nil.into_iter().zip(kinds).collect();
        }
        Ok(Read {
            entries,
            records,
            unread,
            round_trips,
        })
    }

    fn addresses(&self, gateways: &[Gateway]) -> Vec<(String, Vec<u8>)> {
        gateways
            .iter()
            .filter_map(|g| {
                self.seen
                    .address
                    .get(&g.id)
                    .map(|a| (g.id.clone(), a.clone()))
            })
            .collect()
    }
}

impl GatewaySource for MediaSource {
    fn observe(&mut self, hosts: &Hosts) -> Result<GatewayObservation, SourceError> {
        let started = Instant::now();
        self.conn()?;
        let Read {
            entries,
            records,
            unread,
            round_trips,
        } = match self.read_all() {
            Ok(read) => read,
            Err(e) => return Err(self.fail("reading gateway keys", e)),
        };
        let keys = entries.len();
        let read = started.elapsed();
        let (mut observation, seen) =
            assemble(entries, &records, self.gateway_type.as_deref(), hosts);
        unread_keys(&unread, &mut observation);
        self.seen = seen;
        log::info!(
            "media: {keys} key(s) under {:?} observed in {:.1} ms ({:.1} ms reading, {round_trips} round trips)",
            self.key_prefix,
            started.elapsed().as_secs_f64() * 1e3,
            read.as_secs_f64() * 1e3
        );
        Ok(observation)
    }

    fn drain(&mut self, host: IpAddr, gateways: &[Gateway]) -> Result<DrainOutcome, SourceError> {
        let known = self.addresses(gateways);
        if known.len() != gateways.len() {
            return Ok(DrainOutcome::Busy(format!(
                "{host}: a gateway was not seen by this pass's observation"
            )));
        }
        if known.is_empty() {
            return Ok(DrainOutcome::Drained);
        }
        let script = self.drain_script.clone();
        let mut invocation = script.prepare_invoke();
        for (key, address) in &known {
            invocation.key(key.as_bytes()).arg(address.as_slice());
        }
        invocation
            .key(self.drain_key.as_bytes())
            .arg(Utc::now().timestamp());
        let result: Result<Value, _> = invocation.invoke(self.conn()?);
        let reply = match result {
            Ok(reply) => reply,
            Err(e) => return Err(self.fail(&format!("draining {host}"), e)),
        };
        match reply {
            Value::Array(items) if items.first() == Some(&Value::Int(1)) => {
                Ok(DrainOutcome::Drained)
            }
            Value::Array(items) if items.len() == 3 => {
                let text = |v: &Value| match v {
                    Value::BulkString(bytes) => show(bytes),
                    Value::SimpleString(s) => s.clone(),
                    other => shape(other),
                };
                Ok(DrainOutcome::Busy(format!(
                    "{host}: {} is {} (nothing was marked)",
                    text(&items[1]),
                    text(&items[2])
                )))
            }
            other => Err(SourceError::bad_data(format!(
                "Redis {}: draining {host}: the drain script answered {}, not its reply",
                self.url,
                shape(&other)
            ))),
        }
    }

    fn forget(&mut self, host: IpAddr, gateways: &[Gateway]) -> Result<(), SourceError> {
        let known = self.addresses(gateways);
        let stale = std::mem::take(&mut self.seen.stale_records);
        if known.is_empty() && stale.is_empty() {
            return Ok(());
        }
        let script = self.forget_script.clone();
        let mut invocation = script.prepare_invoke();
        for (key, address) in &known {
            invocation.key(key.as_bytes()).arg(address.as_slice());
        }
        for key in &stale {
            invocation.key(key.as_slice()).arg("");
        }
        invocation.key(self.drain_key.as_bytes());
        let result: Result<i64, _> = invocation.invoke(self.conn()?);
        match result {
            Ok(deleted) => {
                log::info!(
                    "media: deleted {deleted} of {} gateway key(s) of {host}",
                    known.len()
                );
                Ok(())
            }
            Err(e) => {
                self.seen.stale_records = stale;
                Err(self.fail(&format!("forgetting the gateways of {host}"), e))
            }
        }
    }

    /// Stopping keys whose host is gone: the same guarded delete.
    fn forget_stale(&mut self, host: IpAddr, gateways: &[Gateway]) -> Result<(), SourceError> {
        self.forget(host, gateways)
    }

    /// None: a media key is rewritten whole by the gateway that owns it (a
    /// new one on the same address inherits no mark), and the keys a killed
    /// pass left are deleted by [`forget_stale`](Self::forget_stale), by key
    /// and address, once their host is gone.
    fn records(&self, _gateways: &[Gateway]) -> Vec<SourceRecord> {
        Vec::new()
    }

    /// Nothing to delete: [`records`](Self::records) keeps none.
    fn forget_records(
        &mut self,
        _host: IpAddr,
        _records: &[SourceRecord],
    ) -> Result<u64, SourceError> {
        Ok(0)
    }

    /// Nothing to leave out: [`records`](Self::records) keeps none.
    fn hide_records(&mut self, _records: &[SourceRecord]) {}

    fn describe(&self) -> String {
        format!("Redis {} (keys {}*)", self.url, self.key_prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::shape;

    #[test]
    fn unexpected_replies_are_described_not_dumped() {
        assert_eq!(shape(&Value::Int(3)), "the integer 3");
        assert_eq!(
            shape(&Value::Array(vec![Value::Nil, Value::Nil])),
            "an array of 2 value(s)"
        );
        assert!(!shape(&Value::BulkString(b"x".to_vec())).contains("BulkString"));
    }

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn ours<'a>(value: &'a [u8], kind: Option<&str>) -> Record<'a> {
        match classify(value, kind, &Hosts::default()) {
            Classified::Ours(r) => r,
            other => panic!("{value:?}: {other:?}"),
        }
    }

    #[test]
    fn reads_the_addresses_the_proxy_writes() {
        assert_eq!(parse_address(b"10.0.0.1"), Ok(ip("10.0.0.1")));
        assert_eq!(parse_address(b"10.0.0.1:8080"), Ok(ip("10.0.0.1")));
        assert_eq!(parse_address(b"::1"), Ok(ip("::1")));
        assert_eq!(parse_address(b"[::1]"), Ok(ip("::1")));
        assert_eq!(parse_address(b"[2001:db8::5]:443"), Ok(ip("2001:db8::5")));
        for bad in [
            &b"gw1.example.com"[..],
            b"gw1:8080",
            b"10.0.0.1:99999",
            b"[::1]x",
            b"",
            b"10.0.0.\xff",
        ] {
            let err = parse_address(bad).unwrap_err();
            assert!(err.contains("not an IP address"), "{err}");
        }
    }

    #[test]
    fn classifies_states_types_and_bad_values() {
        let r = ours(
            b"10.0.0.1:8080|started|media|None|2026-01-01T10:00:00|0|0",
            None,
        );
        assert_eq!(r.host, ip("10.0.0.1"));
        assert_eq!(r.address, b"10.0.0.1:8080");
        assert_eq!(r.state, MediaState::Started);
        assert_eq!(r.start_time, Some(&b"2026-01-01T10:00:00"[..]));
        assert!(r.utf8);
        // Two fields are enough; no type field belongs to every pool.
        assert_eq!(
            ours(b"10.0.0.2|working", Some("media")).state,
            MediaState::Working
        );
        assert_eq!(
            classify(b"10.0.0.3|started|sip", Some("media"), &Hosts::default()),
            Classified::Foreign(Some(ip("10.0.0.3")))
        );
        // A foreign value is not ours to judge, even when malformed.
        assert_eq!(
            classify(b"junk|???|sip", Some("media"), &Hosts::default()),
            Classified::Foreign(None)
        );
        let r = ours(b"10.0.0.4|working|media|caf\xe9", Some("media"));
        assert!(!r.utf8);
        let bad = |value: &[u8]| match classify(value, None, &Hosts::default()) {
            Classified::Bad { host, reason } => (host, reason),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            bad(b"10.0.0.5"),
            (Some(ip("10.0.0.5")), "missing state".into())
        );
        assert_eq!(
            bad(b"10.0.0.5||media"),
            (Some(ip("10.0.0.5")), "missing state".into())
        );
        let (host, reason) = bad(b"10.0.0.6|sleeping|media");
        assert_eq!(host, Some(ip("10.0.0.6")));
        assert!(reason.contains("unknown state \"sleeping\""), "{reason}");
        let (host, reason) = bad(b"10.0.0.6|st\xffrted");
        assert_eq!(host, Some(ip("10.0.0.6")));
        assert!(reason.contains("st\\xffrted"), "{reason}");
        let (host, reason) = bad(b"gw.example.com|started");
        assert_eq!(host, None);
        assert!(reason.contains("gw.example.com"), "{reason}");
    }

    #[test]
    fn maps_states_for_the_planner() {
        use GatewayState::*;
        let states = [
            (MediaState::Starting, Starting),
            (MediaState::Started, Idle),
            (MediaState::Stopped, Idle),
            (MediaState::Working, Busy),
            (MediaState::Stopping, Draining),
        ];
        for (media, planner) in states {
            assert_eq!(media.gateway_state(), planner, "{media:?}");
        }
    }

    fn entry(key: &str, value: &[u8]) -> (Vec<u8>, Vec<u8>) {
        (key.as_bytes().to_vec(), value.to_vec())
    }

    #[test]
    fn assembles_gateways_errors_taints_and_drain_times() {
        let entries = vec![
            entry("gateway:a", b"10.0.0.1|started|media|None|t|0|0"),
            entry("gateway:b", b"10.0.0.1:81|working|media|room1"),
            entry("gateway:c", b"10.0.0.2|stopping|media|None|x"),
            entry(
                "gateway:d",
                b"10.0.0.3|stopping|media|None|2026-01-01T10:00:00Z",
            ),
            entry("gateway:e", b"10.0.0.4|stopping|media"),
            entry("gateway:f", b"10.0.0.5|bogus|media"),
            entry("gateway:g", b"not-an-ip|started|media"),
            entry("gateway:h", b"10.0.0.6|started|media|\xff"),
            entry("gateway:i", b"10.0.0.7|started|media"),
            entry("gateway:j", b"10.0.0.7|started|sip"),
            entry("gateway:k", b"10.0.0.8|started|sip"),
            (b"gateway:\xfe".to_vec(), b"10.0.0.9|started|media".to_vec()),
        ];
        let records: HashMap<Vec<u8>, Vec<u8>> = [
            (b"gateway:c".to_vec(), b"1767261600".to_vec()),
            (b"gateway:e".to_vec(), b"soon".to_vec()),
            (b"gateway:gone".to_vec(), b"1767261600".to_vec()),
        ]
        .into();
        let (obs, seen) = assemble(entries, &records, Some("media"), &Hosts::default());
        let ids: Vec<(&str, GatewayState)> = obs
            .gateways
            .iter()
            .map(|g| (g.id.as_str(), g.state))
            .collect();
        assert_eq!(
            ids,
            [
                ("gateway:a", GatewayState::Idle),
                ("gateway:b", GatewayState::Busy),
                ("gateway:c", GatewayState::Draining),
                ("gateway:d", GatewayState::Draining),
                ("gateway:e", GatewayState::Draining),
                ("gateway:h", GatewayState::Idle),
                ("gateway:i", GatewayState::Idle),
            ]
        );
        assert!(obs.gateways[1].in_call);
        assert_eq!(
            obs.draining_since["gateway:c"],
            DateTime::from_timestamp(1_767_261_600, 0).unwrap()
        );
        assert_eq!(
            obs.draining_since["gateway:d"].to_rfc3339(),
            "2026-01-01T10:00:00+00:00"
        );
        assert!(!obs.draining_since.contains_key("gateway:e"));
        let errors = obs.errors.join("\n");
        for expected in [
            "media key gateway:e: unreadable drain record \"soon\"",
            "media key gateway:f: unknown state \"bogus\"",
            "media key gateway:g: address \"not-an-ip\" is not an IP address",
            "media key gateway:h: value is not valid UTF-8",
            "media key gateway:\\xfe: key name is not valid UTF-8",
            "media host 10.0.0.7 also runs gateways of another type",
        ] {
            assert!(errors.contains(expected), "{expected:?} in\n{errors}");
        }
        assert_eq!(obs.errors.len(), 6, "{errors}");
        // The key whose address is unreadable could be on any host.
        assert_eq!(
            obs.doubts,
            [
                "media key gateway:g: address \"not-an-ip\" is not an IP address, and host name \"not-an-ip\" is no instance's name (names are never resolved): its host is unknown"
            ]
        );
        assert_eq!(
            obs.tainted_hosts,
            [
                ip("10.0.0.5"),
                ip("10.0.0.6"),
                ip("10.0.0.7"),
                ip("10.0.0.9")
            ]
        );
        assert_eq!(seen.address["gateway:b"], b"10.0.0.1:81");
        assert_eq!(seen.stale_records, [b"gateway:gone".to_vec()]);
    }

    #[test]
    fn an_address_given_as_a_name_is_tied_to_the_instance_of_that_name() {
        let instance = |name: &str, address: &str| crate::model::Instance {
            id: name.into(),
            name: name.into(),
            state: crate::model::InstanceState::Active,
            private_ip: Some(ip(address)),
            public_ip: None,
            vcpus: 4,
            instance_type: None,
            created_at: Utc::now(),
            adopted: false,
        };
        let hosts = Hosts::new(&[instance("gw-1", "10.0.0.1"), instance("gw-2", "10.0.0.2")]);
        assert_eq!(locate(b"GW-1:8080", &hosts), Ok(ip("10.0.0.1")));
        assert_eq!(locate(b"gw-2", &hosts), Ok(ip("10.0.0.2")));
        let err = locate(b"gw-3:8080", &hosts).unwrap_err();
        assert!(
            err.contains("gw-3") && err.contains("never resolved"),
            "{err}"
        );
        assert!(locate(b"gw-1:port", &hosts).is_err());
        let entries = vec![
            entry("gateway:a", b"gw-1:8080|working|media"),
            entry("gateway:b", b"gw-3:8080|started|media"),
        ];
        let (obs, _) = assemble(entries, &HashMap::new(), None, &hosts);
        assert_eq!(obs.gateways.len(), 1);
        assert_eq!(obs.gateways[0].host, ip("10.0.0.1"));
        assert_eq!(obs.doubts.len(), 1);
        assert!(
            obs.doubts[0].starts_with("media key gateway:b: address"),
            "{:?}",
            obs.doubts
        );
    }

    #[test]
    fn keys_mget_cannot_read_are_doubts_unless_gone() {
        let mut obs = GatewayObservation::default();
        let unread = vec![
            (b"gateway:gone".to_vec(), "none".to_string()),
            (b"gateway:h".to_vec(), "hash".to_string()),
            (b"gateway:back".to_vec(), "string".to_string()),
        ];
        unread_keys(&unread, &mut obs);
        assert_eq!(
            obs.doubts,
            [
                "media key gateway:h: holds a Redis hash, not a string: its host is unknown",
                "media key gateway:back: changed while it was read: its host is unknown"
            ]
        );
        assert_eq!(obs.errors, obs.doubts);
    }

    #[test]
    fn reads_legacy_drain_times() {
        let naive = legacy_drain_time(b"2026-01-01T10:00:00.123456").unwrap();
        let expected = Local
            .with_ymd_and_hms(2026, 1, 1, 10, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!((naive - expected).num_milliseconds(), 123);
        assert_eq!(
            legacy_drain_time(b"2026-01-01T10:00:00+01:00")
                .unwrap()
                .to_rfc3339(),
            "2026-01-01T09:00:00+00:00"
        );
        assert_eq!(legacy_drain_time(b"None"), None);
        assert_eq!(legacy_drain_time(b"\xff"), None);
    }

    #[test]
    fn escapes_the_scan_pattern() {
        assert_eq!(glob_escape("gateway:"), "gateway:");
        assert_eq!(glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }

    #[test]
    fn validates_the_section() {
        let config = |extra: &str| -> MediaConfig {
            toml::from_str(&format!("url = \"redis://127.0.0.1:6379/0\"\n{extra}")).unwrap()
        };
        let c = config("");
        assert_eq!(c.key_prefix, "gateway:");
        assert_eq!(c.drain_key("gw"), "scaler:drain:gw");
        assert_eq!(c.command_timeout.0, Duration::from_secs(10));
        assert!(c.validate("gw").is_ok());
        assert!(
            config("key_prefix = \"\"")
                .validate("gw")
                .unwrap_err()
                .contains("key_prefix")
        );
        assert!(
            config("drain_key = \"gateway:drain\"")
                .validate("gw")
                .unwrap_err()
                .contains("drain_key")
        );
        assert!(config("gateway_type = \"a|b\"").validate("gw").is_err());
        let err = toml::from_str::<MediaConfig>("url = \"redis://x\"\nkeyprefix = \"g\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("keyprefix"), "{err}");
    }

    #[test]
    fn refuses_two_passwords_and_bad_urls() {
        let config: MediaConfig =
            toml::from_str("url = \"redis://:secret@127.0.0.1:6379/0\"\npassword = \"other\"")
                .unwrap();
        let err = MediaSource::new(&config, "gw").err().unwrap();
        assert!(
            err.message().contains("not both") && !err.message().contains("secret"),
            "{err}"
        );
        let config: MediaConfig = toml::from_str("url = \"http://127.0.0.1\"").unwrap();
        let err = MediaSource::new(&config, "gw").err().unwrap();
        assert!(err.message().contains("media.url"), "{err}");
    }
}
