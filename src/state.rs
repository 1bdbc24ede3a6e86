//! The pool's persistent state: one JSON file (`[state] path`, default
//! `/var/lib/scaler/<pool>.state.json`) that outlives a pass, and the only
//! code that reads or writes it. It holds, in named sections, the metric
//! counters, the scale-down clock (`limits.scale_down_delay`), the
//! pending forgets (registrations of destroyed hosts not yet deleted), the
//! reservations (bookings made with `scaler reserve add` when the lock is a
//! file, and the windows in force with their busy count at opening) and the
//! crash-loop backoff (instances lost in a row without registering, and the
//! suspension of creation they led to).
//!
//! The file carries a `schema_version` ([`SCHEMA_VERSION`]). An older
//! layout (version 1: flat fields, `version` instead of `schema_version`)
//! is migrated when read; a newer one is refused, and so is any field this
//! version does not know: a later section (reservations, crash_loop, …) comes
//! with a new version, so a file is never half understood. A file that
//! cannot be read or understood is an error naming it — never a panic, never
//! a silent fresh start that would forget a pending forget.
//!
//! A later section (reservations in version 3, the crash-loop backoff and
//! the destroys by reason in version 4) is a `#[serde(default)]` field of
//! [`State`] and `SCHEMA_VERSION + 1`: files from version 2 on are read by
//! the same struct (the new section starts empty), version 1 through its
//! own and [`From`].
//!
//! [`load`] reads it (absent file: `None`); [`update`] is a locked
//! read-modify-write that replaces the file atomically (temporary file,
//! fsync, rename, directory fsync), so a pass killed at any point leaves
//! either the old or the new state, never a torn one.

use crate::crash_loop::CrashLoop;
use crate::pool::SourceRecord;
use crate::reservations::Booking;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// The layout this version reads and writes.
pub const SCHEMA_VERSION: u32 = 4;

/// `[state]` keys.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateSection {
    /// The state file; relative to the configuration file.
    pub path: Option<PathBuf>,
}

/// The default state file of a pool.
pub fn default_path(pool: &str) -> PathBuf {
    PathBuf::from(format!("/var/lib/scaler/{pool}.state.json"))
}

/// What the state file holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// Layout version ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// The pool it belongs to.
    pub pool: String,
    /// When the file began: the counters count from here.
    pub started_at: DateTime<Utc>,
    /// Metric counters.
    #[serde(default)]
    pub counters: Counters,
    /// The scale-down clock.
    #[serde(default)]
    pub scale_down: ScaleDown,
    /// Registrations of destroyed (or being destroyed) hosts not yet deleted.
    #[serde(default)]
    pub pending_forgets: Vec<PendingForget>,
    /// Reservations (since schema_version 3).
    #[serde(default)]
    pub reservations: Reservations,
    /// The crash-loop backoff (since schema_version 4).
    #[serde(default, skip_serializing_if = "CrashLoop::is_clear")]
    pub crash_loop: CrashLoop,
}

/// The `reservations` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reservations {
    /// Bookings made with `scaler reserve add` when `[lock]` is a file
    /// (a shared lock keeps them in its MySQL table or Redis key).
    #[serde(default)]
    pub bookings: Vec<Booking>,
    /// The windows in force, by booking key (`cli:NAME`, `calendar:UID`):
    /// the booking as it was last read (it stays in force until its end
    /// when its store or calendar cannot be read) and the busy count when
    /// its window opened.
    #[serde(default)]
    pub open: BTreeMap<String, OpenWindow>,
}

/// A reservation window in force.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenWindow {
    /// The booking.
    pub booking: Booking,
    /// Busy gateways when the window opened (`busy_at_open`).
    pub busy_at_open: u32,
}

/// The metric counters (`scaler_*_total`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counters {
    /// Instances created (actions `create` done).
    pub created_total: u64,
    /// Instances destroyed (actions `destroy` done).
    pub destroyed_total: u64,
    /// The same by reason (`unregistered`, `drained`...; since
    /// schema_version 4: destroys counted before are in `destroyed_total`
    /// only).
    #[serde(default)]
    pub destroyed_by_reason: BTreeMap<String, u64>,
    /// Passes that updated the counters.
    pub passes_total: u64,
    /// When the last pass ended.
    pub last_pass_at: Option<DateTime<Utc>>,
    /// When the last pass that exited 0 ended.
    pub last_success_at: Option<DateTime<Utc>>,
}

/// `limits.scale_down_delay`'s clock.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScaleDown {
    /// Since when the pool has been above its target without interruption.
    pub above_target_since: Option<DateTime<Utc>>,
}

/// A host's registrations to delete: written before its instance is
/// destroyed, removed once they are deleted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingForget {
    /// The provider's id of the instance.
    pub instance: String,
    /// Its name.
    pub name: String,
    /// The address its gateways registered from.
    pub host: IpAddr,
    /// When the destroy was decided.
    pub since: DateTime<Utc>,
    /// The source's records of its gateways.
    pub records: Vec<SourceRecord>,
}

impl State {
    /// A fresh state for `pool`, beginning at `now`.
    pub fn new(pool: &str, now: DateTime<Utc>) -> State {
        State {
            schema_version: SCHEMA_VERSION,
            pool: pool.to_string(),
            started_at: now,
            counters: Counters::default(),
            scale_down: ScaleDown::default(),
            pending_forgets: Vec::new(),
            reservations: Reservations::default(),
            crash_loop: CrashLoop::default(),
        }
    }

    /// Adds a pending forget, replacing one for the same instance.
    pub fn add_pending_forget(&mut self, pending: PendingForget) {
        self.pending_forgets
            .retain(|p| p.instance != pending.instance);
        self.pending_forgets.push(pending);
    }

    /// Removes the pending forget of `instance` (when there is one).
    pub fn remove_pending_forget(&mut self, instance: &str) {
        self.pending_forgets.retain(|p| p.instance != instance);
    }
}

/// Version 1 (scaler before the schema version): flat fields.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateV1 {
    /// Checked by [`parse`] before this layout is chosen.
    #[serde(default, rename = "version")]
    _version: Option<u32>,
    pool: String,
    started_at: DateTime<Utc>,
    #[serde(default)]
    created_total: u64,
    #[serde(default)]
    destroyed_total: u64,
    #[serde(default)]
    passes_total: u64,
    #[serde(default)]
    last_pass_at: Option<DateTime<Utc>>,
    #[serde(default)]
    last_success_at: Option<DateTime<Utc>>,
    #[serde(default)]
    above_target_since: Option<DateTime<Utc>>,
}

impl From<StateV1> for State {
    fn from(v1: StateV1) -> State {
        State {
            schema_version: SCHEMA_VERSION,
            pool: v1.pool,
            started_at: v1.started_at,
            counters: Counters {
                created_total: v1.created_total,
                destroyed_total: v1.destroyed_total,
                destroyed_by_reason: BTreeMap::new(),
                passes_total: v1.passes_total,
                last_pass_at: v1.last_pass_at,
                last_success_at: v1.last_success_at,
            },
            scale_down: ScaleDown {
                above_target_since: v1.above_target_since,
            },
            pending_forgets: Vec::new(),
            reservations: Reservations::default(),
            crash_loop: CrashLoop::default(),
        }
    }
}

/// A state file that cannot be read, understood or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// An I/O error on the file, its directory or its lock.
    #[error("state file {path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        error: std::io::Error,
    },
    /// The file is not a state file this version understands.
    #[error(
        "state file {path}: {message} (fix or move it away; a new file forgets pending forgets: delete by hand the location rows of destroyed hosts it lists)"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The file was written by a newer scaler.
    #[error(
        "state file {path}: schema_version {found} was written by a newer scaler (this one knows up to {SCHEMA_VERSION}): upgrade scaler"
    )]
    Newer {
        /// The file.
        path: PathBuf,
        /// Its version.
        found: u64,
    },
    /// The file belongs to another pool.
    #[error(
        "state file {path}: it belongs to pool {found:?}, not {pool:?} (give each pool its own state.path)"
    )]
    OtherPool {
        /// The file.
        path: PathBuf,
        /// The pool it names.
        found: String,
        /// The pool of the configuration.
        pool: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |error| StateError::Io {
        path: path.to_path_buf(),
        error,
    }
}

/// Parses a state file's text, migrating an older layout.
fn parse(path: &Path, text: &str) -> Result<State, StateError> {
    let corrupt = |message: String| StateError::Corrupt {
        path: path.to_path_buf(),
        message,
    };
    if text.trim().is_empty() {
        return Err(corrupt("the file is empty".into()));
    }
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| corrupt(e.to_string()))?;
    let Some(object) = value.as_object() else {
        return Err(corrupt("not a JSON object".into()));
    };
    let version = match (object.get("schema_version"), object.get("version")) {
        (Some(v), _) => v.as_u64(),
        (None, Some(v)) => v.as_u64(),
        (None, None) => Some(1),
    };
    let Some(version) = version else {
        return Err(corrupt("schema_version is not a whole number".into()));
    };
    let state = match version {
        1 if !object.contains_key("schema_version") => {
            serde_json::from_value::<StateV1>(value).map(State::from)
        }
        v if (2..=u64::from(SCHEMA_VERSION)).contains(&v) => serde_json::from_value::<State>(value),
        v if v > u64::from(SCHEMA_VERSION) => {
            return Err(StateError::Newer {
                path: path.to_path_buf(),
                found: v,
            });
        }
        v => return Err(corrupt(format!("unknown schema_version {v}"))),
    };
    state.map_err(|e| corrupt(e.to_string()))
}

/// Reads the state file of `pool`; `None` when it does not exist yet.
pub fn load(path: &Path, pool: &str) -> Result<Option<State>, StateError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(path)(e)),
    };
    let state = parse(path, &text)?;
    if state.pool != pool {
        return Err(StateError::OtherPool {
            path: path.to_path_buf(),
            found: state.pool,
            pool: pool.to_string(),
        });
    }
    Ok(Some(state))
}

/// Reads the state of `pool` (a fresh one beginning at `now` when the file
/// does not exist), lets `change` modify it, and replaces the file
/// atomically, all under an exclusive lock on `<path>.lock`. Returns the
/// state as written; an unreadable file is an error and is left as it is.
pub fn update(
    path: &Path,
    pool: &str,
    now: DateTime<Utc>,
    change: impl FnOnce(&mut State),
) -> Result<State, StateError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let lock_path = PathBuf::from(format!("{}.lock", path.display()));
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io(&lock_path))?;
    lock.lock().map_err(io(&lock_path))?;
    let mut state = load(path, pool)?.unwrap_or_else(|| State::new(pool, now));
    change(&mut state);
    state.schema_version = SCHEMA_VERSION;
    let mut text =
        serde_json::to_string_pretty(&state).map_err(|e| io(path)(std::io::Error::other(e)))?;
    text.push('\n');
    write_atomic(path, text.as_bytes()).map_err(io(path))?;
    drop(lock);
    Ok(state)
}

/// Replaces `path` with `bytes` atomically: writes a temporary file in the
/// same directory (a name that does not end like the target, so collectors
/// such as node_exporter's never read it half-written), syncs it, renames it
/// over `path`, then syncs the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scaler".into());
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn pending(instance: &str) -> PendingForget {
        PendingForget {
            instance: instance.into(),
            name: format!("gw-{instance}"),
            host: "10.0.0.7".parse().unwrap(),
            since: at("2026-11-23T07:00:00Z"),
            records: vec![SourceRecord {
                gateway: "10.0.0.7.mediagw.0".into(),
                id: 42,
            }],
        }
    }

    #[test]
    fn update_creates_then_accumulates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/gw.state.json");
        assert_eq!(load(&path, "gw").unwrap(), None);
        let t0 = at("2026-11-23T07:00:00Z");
        let t1 = at("2026-11-23T07:01:00Z");
        update(&path, "gw", t0, |s| s.counters.created_total += 2).unwrap();
        let state = update(&path, "gw", t1, |s| {
            s.counters.destroyed_total += 1;
            s.counters.last_success_at = Some(t1);
            s.add_pending_forget(pending("i-1"));
        })
        .unwrap();
        assert_eq!(state.started_at, t0, "the start is kept");
        let counters = &state.counters;
        assert_eq!((counters.created_total, counters.destroyed_total), (2, 1));
        assert_eq!(load(&path, "gw").unwrap(), Some(state));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"schema_version\": 4"), "{text}");
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn pending_forgets_are_replaced_per_instance_and_removed() {
        let mut state = State::new("gw", at("2026-11-23T07:00:00Z"));
        state.add_pending_forget(pending("i-1"));
        state.add_pending_forget(pending("i-2"));
        let mut again = pending("i-1");
        again.records.clear();
        state.add_pending_forget(again.clone());
        assert_eq!(state.pending_forgets, [pending("i-2"), again]);
        state.remove_pending_forget("i-2");
        state.remove_pending_forget("i-9");
        assert_eq!(state.pending_forgets.len(), 1);
    }

    #[test]
    fn version_1_files_are_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gw.state.json");
        // What scaler wrote before the schema version (with and without `version`).
        let v1 = r#"{"version":1,"pool":"gw","started_at":"2026-11-23T07:00:00Z","created_total":5,
            "destroyed_total":3,"passes_total":9,"last_pass_at":"2026-11-23T08:00:00Z",
            "last_success_at":null,"above_target_since":"2026-11-23T07:55:00Z"}"#;
        for text in [v1.to_string(), v1.replace(r#""version":1,"#, "")] {
            std::fs::write(&path, &text).unwrap();
            let state = load(&path, "gw").unwrap().unwrap();
            assert_eq!(state.schema_version, SCHEMA_VERSION);
            assert_eq!(state.counters.created_total, 5);
            assert_eq!(state.counters.passes_total, 9);
            assert_eq!(
                state.scale_down.above_target_since,
                Some(at("2026-11-23T07:55:00Z"))
            );
            assert!(state.pending_forgets.is_empty());
        }
        let state = update(&path, "gw", Utc::now(), |s| s.counters.passes_total += 1).unwrap();
        assert_eq!(state.counters.destroyed_total, 3);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"schema_version\": 4"), "{text}");
        assert!(
            !text.contains("\"version\""),
            "written in the new layout: {text}"
        );
    }

    #[test]
    fn unknown_fields_are_refused_not_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gw.state.json");
        for text in [
            r#"{"schema_version":2,"pool":"gw","started_at":"2026-11-23T07:00:00Z","forecast":{}}"#,
            r#"{"schema_version":4,"pool":"gw","started_at":"2026-11-23T07:00:00Z","crash_loop":{"lost":1,"streak":2}}"#,
            r#"{"schema_version":2,"pool":"gw","started_at":"2026-11-23T07:00:00Z","scale_down":{"since":null}}"#,
            r#"{"version":1,"pool":"gw","started_at":"2026-11-23T07:00:00Z","extra":1}"#,
        ] {
            std::fs::write(&path, text).unwrap();
            let err = update(&path, "gw", Utc::now(), |_| {}).unwrap_err();
            assert!(matches!(err, StateError::Corrupt { .. }), "{err}");
            assert!(err.to_string().contains("unknown field"), "{err}");
            assert_eq!(
                std::fs::read_to_string(&path).unwrap(),
                text,
                "left as it is"
            );
        }
    }

    #[test]
    fn bad_files_are_named_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gw.state.json");
        for text in [
            "{ not json",
            "",
            "[1, 2]",
            r#"{"schema_version":"two","pool":"gw"}"#,
            r#"{"schema_version":2,"pool":"gw","started_at":"2026-11-23T07:00:00Z","pending_forgets":[{"instance":"i-1"}]}"#,
            r#"{"schema_version":2,"pool":"gw","started_at":"2026-11-23T07:00:00Z","pending_forgets":[{"instance":"i-1","name":"n","host":"not-an-ip","since":"2026-11-23T07:00:00Z","records":[]}]}"#,
            r#"{"schema_version":0,"pool":"gw","started_at":"2026-11-23T07:00:00Z"}"#,
        ] {
            std::fs::write(&path, text).unwrap();
            let err = update(&path, "gw", Utc::now(), |_| {}).unwrap_err();
            assert!(matches!(err, StateError::Corrupt { .. }), "{text}: {err}");
            assert!(err.to_string().contains("gw.state.json"), "{err}");
            assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        }

        update(&dir.path().join("other.json"), "a", Utc::now(), |_| {}).unwrap();
        let err = update(&dir.path().join("other.json"), "b", Utc::now(), |_| {}).unwrap_err();
        assert!(err.to_string().contains("belongs to pool \"a\""), "{err}");
        assert!(load(&dir.path().join("other.json"), "b").is_err());

        let newer = dir.path().join("newer.json");
        let text =
            r#"{"schema_version":5,"pool":"gw","started_at":"2026-11-23T07:00:00Z","forecast":{}}"#;
        std::fs::write(&newer, text).unwrap();
        let err = update(&newer, "gw", Utc::now(), |_| {}).unwrap_err();
        assert!(matches!(err, StateError::Newer { found: 5, .. }), "{err}");
        assert!(err.to_string().contains("newer scaler"), "{err}");
        assert_eq!(std::fs::read_to_string(&newer).unwrap(), text);
        // The old layout's version number is read the same way.
        std::fs::write(&newer, r#"{"version":99,"pool":"gw"}"#).unwrap();
        assert!(matches!(
            load(&newer, "gw").unwrap_err(),
            StateError::Newer { found: 99, .. }
        ));
    }

    #[test]
    fn version_2_files_gain_an_empty_reservations_section() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gw.state.json");
        let v2 = r#"{"schema_version":2,"pool":"gw","started_at":"2026-11-23T07:00:00Z"}"#;
        std::fs::write(&path, v2).unwrap();
        let state = load(&path, "gw").unwrap().unwrap();
        assert_eq!(state.reservations, Reservations::default());
        let booking = Booking {
            name: "course".into(),
            origin: crate::reservations::Origin::Cli,
            start: at("2026-11-23T13:00:00Z"),
            end: at("2026-11-23T15:00:00Z"),
            gateways: 40,
            note: None,
        };
        let written = update(&path, "gw", Utc::now(), |s| {
            s.reservations.bookings.push(booking.clone());
            let open = OpenWindow {
                booking: booking.clone(),
                busy_at_open: 7,
            };
            s.reservations.open.insert(booking.key(), open);
        })
        .unwrap();
        assert_eq!(written.schema_version, 4);
        assert_eq!(load(&path, "gw").unwrap().unwrap(), written);
        assert_eq!(written.reservations.open["cli:course"].busy_at_open, 7);
    }

    #[test]
    fn version_3_files_gain_the_crash_loop_and_the_destroys_by_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gw.state.json");
        // What scaler wrote at schema_version 3.
        let v3 = r#"{"schema_version":3,"pool":"gw","started_at":"2026-11-23T07:00:00Z",
            "counters":{"created_total":9,"destroyed_total":4,"passes_total":20,
            "last_pass_at":null,"last_success_at":null},"reservations":{}}"#;
        std::fs::write(&path, v3).unwrap();
        let state = load(&path, "gw").unwrap().unwrap();
        assert_eq!(state.crash_loop, CrashLoop::default());
        assert_eq!(state.counters.destroyed_total, 4);
        assert!(state.counters.destroyed_by_reason.is_empty());
        let suspension = crate::crash_loop::Suspension {
            since: at("2026-11-23T08:00:00Z"),
            until: at("2026-11-23T08:10:00Z"),
            backoff_seconds: 600,
            trial_since: None,
        };
        let written = update(&path, "gw", Utc::now(), |s| {
            s.crash_loop.lost = 3;
            s.crash_loop.suspension = Some(suspension.clone());
            s.counters
                .destroyed_by_reason
                .insert("unregistered".into(), 3);
        })
        .unwrap();
        assert_eq!(load(&path, "gw").unwrap().unwrap(), written);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"backoff_seconds\": 600"), "{text}");
        // A clear crash loop is not written at all.
        update(&path, "gw", Utc::now(), |s| {
            s.crash_loop = CrashLoop::default()
        })
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("crash_loop"), "{text}");
    }
}
