//! The pass lock, held for the whole pass so two overlapping runs never both
//! act (the second exits 75). The default backend is an exclusive `flock` on
//! a file, which the kernel releases when the process ends, even on SIGKILL.
//! For several cron hosts running the same pool, `backend = "mysql"` takes
//! `GET_LOCK(name, 0)` on a dedicated database connection (released when the
//! connection closes), and `backend = "redis"` sets a key with `SET NX PX`
//! and a random token, released by a compare-and-delete script; its lease
//! outlives the pass's hard bound (`limits.deadline` plus the watchdog's
//! grace) so a killed holder's lock expires by itself, and a pass stopped by
//! the watchdog releases it on a fresh connection ([`PassLock::releaser`]).

use crate::duration::HumanDuration;
use crate::error::Error;
use crate::fault::Fault;
use crate::secret::SecretSource;
use mysql::prelude::Queryable;
use serde::Deserialize;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The directory of the default lock file, `<DEFAULT_DIR>/scaler-<pool>.lock`:
/// the unit's `RuntimeDirectory=scaler` (and the package's tmpfiles.d entry),
/// owned by the `scaler` user, so no other local user can take the lock.
pub const DEFAULT_DIR: &str = "/run/scaler";

/// Where the lock lives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// `flock` on `lock.path` (one host).
    #[default]
    File,
    /// `GET_LOCK` on the Kamailio database (several hosts).
    Mysql,
    /// `SET NX PX` on Redis (several hosts).
    Redis,
}

/// `[lock]` keys.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockSection {
    /// The backend.
    #[serde(default)]
    pub backend: Backend,
    /// Lock file (file backend); relative to the configuration file.
    pub path: Option<PathBuf>,
    /// Lock name (mysql, redis); default `scaler-<pool>`.
    pub name: Option<String>,
    /// Database or Redis URL (default: `[sip] url` for mysql).
    pub url: Option<String>,
    /// Password in clear (discouraged).
    pub password: Option<String>,
    /// Environment variable holding the password.
    pub password_env: Option<String>,
    /// File holding the password.
    pub password_file: Option<PathBuf>,
    /// systemd credential holding the password.
    pub password_credential: Option<String>,
    /// Redis lease (default: the pass deadline plus 30 s).
    pub lease: Option<HumanDuration>,
}

/// How to take the lock, validated.
#[derive(Debug, Clone)]
pub struct LockConfig {
    /// The backend.
    pub backend: Backend,
    /// Lock file (file backend).
    pub path: PathBuf,
    /// Lock name (mysql, redis).
    pub name: String,
    /// URL (mysql, redis).
    pub url: Option<String>,
    /// Password source (mysql, redis).
    pub password: SecretSource,
    /// Redis lease.
    pub lease: Duration,
    /// Connect/command timeout.
    pub timeout: Duration,
}

/// A held lock; released when dropped (and by the kernel, the database or the
/// lease if the process dies).
pub enum PassLock {
    /// The locked file.
    File(File),
    /// The connection holding `GET_LOCK`.
    Mysql(Box<mysql::Conn>, String),
    /// The Redis lock.
    Redis(Box<RedisLock>),
}

/// A held Redis lock: the connection that took it, a client for a fresh
/// connection, the key and this holder's token.
pub struct RedisLock {
    conn: redis::Connection,
    client: redis::Client,
    key: String,
    token: String,
    timeout: Duration,
}

impl std::fmt::Debug for PassLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PassLock::File(_) => f.write_str("PassLock::File"),
            PassLock::Mysql(_, name) => write!(f, "PassLock::Mysql({name})"),
            PassLock::Redis(lock) => write!(f, "PassLock::Redis({})", lock.key),
        }
    }
}

const RELEASE: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

impl Drop for PassLock {
    fn drop(&mut self) {
        match self {
            PassLock::File(_) => {}
            PassLock::Mysql(conn, name) => {
                let _ = conn.exec_drop("SELECT RELEASE_LOCK(?)", (name.as_str(),));
            }
            PassLock::Redis(lock) => {
                let _ = release_redis(&mut lock.conn, &lock.key, &lock.token);
            }
        }
    }
}

fn release_redis(conn: &mut redis::Connection, key: &str, token: &str) -> redis::RedisResult<i64> {
    redis::Script::new(RELEASE).key(key).arg(token).invoke(conn)
}

impl PassLock {
    /// What the watchdog runs when it stops the pass, for what the process
    /// exit does not release: the Redis lock, deleted if still ours on a
    /// fresh connection (the pass's own may be the one that hangs), each step
    /// bounded by the lock's timeout. A file lock goes with the process
    /// (flock), a MySQL lock with its connection.
    pub fn releaser(&self) -> Option<Box<dyn FnOnce() + Send>> {
        let PassLock::Redis(lock) = self else {
            return None;
        };
        let (client, key, token, timeout) = (
            lock.client.clone(),
            lock.key.clone(),
            lock.token.clone(),
            lock.timeout,
        );
        Some(Box::new(move || {
            let released = client
                .get_connection_with_timeout(timeout)
                .and_then(|mut conn| {
                    conn.set_read_timeout(Some(timeout))?;
                    conn.set_write_timeout(Some(timeout))?;
                    release_redis(&mut conn, &key, &token)
                });
            match released {
                Ok(_) => log::info!("Redis lock {key:?} released"),
                Err(e) => log::error!(
                    "Redis lock {key:?} not released ({}): it expires with its lease",
                    Fault::redis(&e)
                ),
            }
        }))
    }
}

/// The lock's peer, for the watchdog's report.
pub fn describe(config: &LockConfig) -> String {
    let url = config.url.as_deref().map(crate::pool::sip::redacted_url);
    match (config.backend, url) {
        (Backend::Mysql, Some(url)) => format!("lock database {url}: GET_LOCK"),
        (Backend::Redis, Some(url)) => format!("lock Redis {url}: SET NX"),
        _ => format!("lock file {}", config.path.display()),
    }
}

fn locked(what: &str) -> Error {
    Error::Locked(format!("another pass holds {what}: this one did nothing"))
}

fn unavailable(what: String) -> Error {
    Error::Unavailable(what)
}

/// Takes the lock without waiting.
pub fn acquire(config: &LockConfig) -> Result<PassLock, Error> {
    match config.backend {
        Backend::File => acquire_file(&config.path),
        Backend::Mysql => acquire_mysql(config),
        Backend::Redis => acquire_redis(config),
    }
}

fn acquire_file(path: &Path) -> Result<PassLock, Error> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            Error::Internal(anyhow::anyhow!(
                "cannot create lock directory {}: {e}",
                dir.display()
            ))
        })?;
    }
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| {
            Error::Internal(anyhow::anyhow!(
                "cannot open lock file {}: {e}",
                path.display()
            ))
        })?;
    match file.try_lock() {
        Ok(()) => Ok(PassLock::File(file)),
        Err(std::fs::TryLockError::WouldBlock) => Err(locked(&path.display().to_string())),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::Internal(anyhow::anyhow!(
            "cannot lock {}: {e}",
            path.display()
        ))),
    }
}

fn acquire_mysql(config: &LockConfig) -> Result<PassLock, Error> {
    let url = config.url.as_deref().ok_or_else(|| {
        Error::Config("lock.url (or [sip] url) is required for backend = \"mysql\"".into())
    })?;
    let shown = crate::pool::sip::redacted_url(url);
    let opts = mysql::Opts::from_url(url)
        .map_err(|e| Error::Config(format!("lock.url: invalid MySQL URL {shown}: {e}")))?;
    let mut builder = mysql::OptsBuilder::from_opts(opts)
        .prefer_socket(false)
        .tcp_connect_timeout(Some(config.timeout))
        .read_timeout(Some(config.timeout))
        .write_timeout(Some(config.timeout));
    if let Some(password) = config
        .password
        .resolve("lock.password")
        .map_err(Error::Config)?
    {
        builder = builder.pass(Some(password.expose()));
    }
    let mut conn = mysql::Conn::new(builder)
        .map_err(|e| Error::Fault(Fault::mysql(&e).context(format!("lock database {shown}"))))?;
    let got: Option<Option<i64>> = conn
        .exec_first("SELECT GET_LOCK(?, 0)", (config.name.as_str(),))
        .map_err(|e| {
            Error::Fault(Fault::mysql(&e).context(format!("lock database {shown}: GET_LOCK")))
        })?;
    match got.flatten() {
        Some(1) => Ok(PassLock::Mysql(Box::new(conn), config.name.clone())),
        Some(_) => Err(locked(&format!("MySQL lock {:?} on {shown}", config.name))),
        None => Err(unavailable(format!(
            "lock database {shown}: GET_LOCK returned NULL"
        ))),
    }
}

fn acquire_redis(config: &LockConfig) -> Result<PassLock, Error> {
    let url = config
        .url
        .as_deref()
        .ok_or_else(|| Error::Config("lock.url is required for backend = \"redis\"".into()))?;
    let shown = crate::pool::sip::redacted_url(url);
    let mut info = redis::IntoConnectionInfo::into_connection_info(url)
        .map_err(|e| Error::Config(format!("lock.url: invalid Redis URL {shown}: {e}")))?;
    if let Some(password) = config
        .password
        .resolve("lock.password")
        .map_err(Error::Config)?
    {
        let settings = info
            .redis_settings()
            .clone()
            .set_password(password.expose());
        info = info.set_redis_settings(settings);
    }
    let client =
        redis::Client::open(info).map_err(|e| Error::Config(format!("lock.url {shown}: {e}")))?;
    let mut conn = client
        .get_connection_with_timeout(config.timeout)
        .map_err(|e| Error::Fault(Fault::redis(&e).context(format!("lock Redis {shown}"))))?;
    let _ = conn.set_read_timeout(Some(config.timeout));
    let _ = conn.set_write_timeout(Some(config.timeout));
    let token = random_token();
    let lease_ms = config.lease.as_millis().max(1) as u64;
    let set: Option<String> = redis::cmd("SET")
        .arg(&config.name)
        .arg(&token)
        .arg("NX")
        .arg("PX")
        .arg(lease_ms)
        .query(&mut conn)
        .map_err(|e| Error::Fault(Fault::redis(&e).context(format!("lock Redis {shown}: SET"))))?;
    match set {
        Some(_) => Ok(PassLock::Redis(Box::new(RedisLock {
            conn,
            client,
            key: config.name.clone(),
            token,
            timeout: config.timeout,
        }))),
        None => Err(locked(&format!("Redis lock {:?} on {shown}", config.name))),
    }
}

/// A token unique to this holder: pid, time and address entropy, hashed.
fn random_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    let a = hasher.finish();
    hasher.write_u64(a);
    format!("{}-{a:016x}{:016x}", std::process::id(), hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_config(path: PathBuf) -> LockConfig {
        LockConfig {
            backend: Backend::File,
            path,
            name: "t".into(),
            url: None,
            password: SecretSource::default(),
            lease: Duration::from_secs(60),
            timeout: Duration::from_secs(2),
        }
    }

    #[test]
    fn second_holder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let config = file_config(dir.path().join("sub/pool.lock"));
        let first = acquire(&config).unwrap();
        assert!(matches!(acquire(&config), Err(Error::Locked(_))));
        drop(first);
        acquire(&config).unwrap();
    }

    #[test]
    fn tokens_differ() {
        assert_ne!(random_token(), random_token());
    }
}
