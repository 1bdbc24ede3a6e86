//! The pool's persistent state: a small JSON file (`[state] path`, default
//! `/var/lib/scaler/<pool>.state.json`) that outlives a pass. It holds the
//! metric counters (instances created and destroyed since the file began,
//! passes, the last success); later passes may keep more here.
//!
//! The API is two calls: [`load`] reads it (absent file: `None`), [`update`]
//! is a locked read-modify-write that replaces the file atomically
//! (temporary file, fsync, rename), so a pass killed at any point leaves
//! either the old or the new state, never a torn one. Fields this version
//! does not know are kept as they are.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The current layout version.
pub const VERSION: u32 = 1;

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
pub struct State {
    /// Layout version ([`VERSION`]).
    pub version: u32,
    /// The pool it belongs to.
    pub pool: String,
    /// When the file began: the counters count from here.
    pub started_at: DateTime<Utc>,
    /// Instances created (actions `create` done).
    #[serde(default)]
    pub created_total: u64,
    /// Instances destroyed (actions `destroy` done).
    #[serde(default)]
    pub destroyed_total: u64,
    /// Passes that updated the state.
    #[serde(default)]
    pub passes_total: u64,
    /// When the last pass ended.
    #[serde(default)]
    pub last_pass_at: Option<DateTime<Utc>>,
    /// When the last pass that exited 0 ended.
    #[serde(default)]
    pub last_success_at: Option<DateTime<Utc>>,
    /// Since when the pool has been above its target without interruption
    /// (`limits.scale_down_delay`).
    #[serde(default)]
    pub above_target_since: Option<DateTime<Utc>>,
    /// Fields written by another version, kept untouched.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl State {
    /// A fresh state for `pool`, beginning at `now`.
    pub fn new(pool: &str, now: DateTime<Utc>) -> State {
        State {
            version: VERSION,
            pool: pool.to_string(),
            started_at: now,
            created_total: 0,
            destroyed_total: 0,
            passes_total: 0,
            last_pass_at: None,
            last_success_at: None,
            above_target_since: None,
            other: serde_json::Map::new(),
        }
    }
}

/// A state file that cannot be read or written.
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
    /// The file is not a state file.
    #[error("state file {path}: {message} (move it away to start the counters again)")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |error| StateError::Io {
        path: path.to_path_buf(),
        error,
    }
}

/// Reads the state file; `None` when it does not exist yet.
pub fn load(path: &Path) -> Result<Option<State>, StateError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(path)(e)),
    };
    let state: State = serde_json::from_str(&text).map_err(|e| StateError::Corrupt {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    if state.version > VERSION {
        return Err(StateError::Corrupt {
            path: path.to_path_buf(),
            message: format!(
                "written by a newer scaler (layout {}, this one knows {VERSION})",
                state.version
            ),
        });
    }
    Ok(Some(state))
}

/// Reads the state of `pool` (a fresh one beginning at `now` when the file
/// does not exist), lets `change` modify it, and replaces the file
/// atomically, all under an exclusive lock on `<path>.lock`. Returns the
/// state as written.
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
    let mut state = load(path)?.unwrap_or_else(|| State::new(pool, now));
    if state.pool != pool {
        return Err(StateError::Corrupt {
            path: path.to_path_buf(),
            message: format!(
                "it belongs to pool {:?}, not {pool:?} (give each pool its own state.path)",
                state.pool
            ),
        });
    }
    change(&mut state);
    state.version = VERSION;
    let mut text = serde_json::to_string_pretty(&state).expect("the state serializes");
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

    #[test]
    fn update_creates_then_accumulates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/gw.state.json");
        assert_eq!(load(&path).unwrap(), None);
        let t0 = at("2026-11-23T07:00:00Z");
        let t1 = at("2026-11-23T07:01:00Z");
        update(&path, "gw", t0, |s| s.created_total += 2).unwrap();
        let state = update(&path, "gw", t1, |s| {
            s.destroyed_total += 1;
            s.last_success_at = Some(t1);
        })
        .unwrap();
        assert_eq!(state.started_at, t0, "the start is kept");
        assert_eq!((state.created_total, state.destroyed_total), (2, 1));
        assert_eq!(load(&path).unwrap(), Some(state));
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn unknown_fields_survive_an_update() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gw.state.json");
        std::fs::write(
            &path,
            r#"{"version":1,"pool":"gw","started_at":"2026-11-23T07:00:00Z","scale_down":{"since":"x"}}"#,
        )
        .unwrap();
        update(&path, "gw", Utc::now(), |s| s.passes_total += 1).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"scale_down\""), "{text}");
        assert!(text.contains("\"passes_total\": 1"), "{text}");
    }

    #[test]
    fn bad_files_are_named_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gw.state.json");
        std::fs::write(&path, "{ not json").unwrap();
        let err = update(&path, "gw", Utc::now(), |_| {}).unwrap_err();
        assert!(matches!(err, StateError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("gw.state.json"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{ not json");

        update(&dir.path().join("other.json"), "a", Utc::now(), |_| {}).unwrap();
        let err = update(&dir.path().join("other.json"), "b", Utc::now(), |_| {}).unwrap_err();
        assert!(err.to_string().contains("belongs to pool \"a\""), "{err}");

        let newer = dir.path().join("newer.json");
        std::fs::write(
            &newer,
            r#"{"version":99,"pool":"gw","started_at":"2026-11-23T07:00:00Z"}"#,
        )
        .unwrap();
        assert!(
            load(&newer)
                .unwrap_err()
                .to_string()
                .contains("newer scaler")
        );
    }
}
