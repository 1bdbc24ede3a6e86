//! Where `scaler reserve` keeps its bookings: the pool's state file when
//! the pass lock is a file (one host), else the shared backend of the lock,
//! so every host running the pool sees the same bookings: a MySQL table
//! (`scaler_reservations`, one row per pool and name, in the lock's
//! database) or a Redis hash (`<lock name>:reservations`, name to JSON).
//! Every call is bounded by the lock's timeout.

use crate::fault::Fault;
use crate::lock::{Backend, LockConfig};
use crate::reservations::{Booking, Origin};
use crate::state::{self, StateError};
use chrono::{DateTime, Utc};
use mysql::prelude::Queryable;
use std::path::PathBuf;
use std::time::Duration;

/// The MySQL table of a shared `[lock] backend = "mysql"`.
pub const TABLE: &str = "scaler_reservations";

/// A booking store.
#[derive(Debug, Clone)]
pub enum Store {
    /// The `reservations.bookings` section of the pool's state file.
    File {
        /// The state file.
        path: PathBuf,
        /// The pool.
        pool: String,
    },
    /// The `scaler_reservations` table of the lock's database.
    Mysql {
        /// The lock's settings (URL, password, timeout).
        lock: LockConfig,
        /// The pool (rows of other pools are not ours).
        pool: String,
    },
    /// The `<lock name>:reservations` hash on the lock's Redis.
    Redis {
        /// The lock's settings (URL, password, name, timeout).
        lock: LockConfig,
    },
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `reserve add` of a name already booked, without `--replace`.
    #[error(
        "reservation {0:?} already exists (use --replace to change it, or `scaler reserve remove {0}`)"
    )]
    Duplicate(String),
    /// `reserve remove` of a name that is not booked.
    #[error("no reservation named {0:?} (`scaler reserve list` shows them)")]
    Unknown(String),
    /// The shared backend could not be reached or answered an error.
    #[error("{0}")]
    Unavailable(String),
    /// What the store holds is not a booking.
    #[error("{0}")]
    BadData(String),
    /// The state file.
    #[error(transparent)]
    State(#[from] StateError),
}

impl Store {
    /// The store of a pool with this lock and state file.
    pub fn new(lock: &LockConfig, state_path: &std::path::Path, pool: &str) -> Store {
        match lock.backend {
            Backend::File => Store::File {
                path: state_path.to_path_buf(),
                pool: pool.to_string(),
            },
            Backend::Mysql => Store::Mysql {
                lock: lock.clone(),
                pool: pool.to_string(),
            },
            Backend::Redis => Store::Redis { lock: lock.clone() },
        }
    }

    /// Where the bookings are, for messages.
    pub fn describe(&self) -> String {
        match self {
            Store::File { path, .. } => format!("state file {}", path.display()),
            Store::Mysql { lock, .. } => format!("table {TABLE} on {}", shown(lock)),
            Store::Redis { lock } => format!("Redis key {} on {}", redis_key(lock), shown(lock)),
        }
    }

    /// The bookings, by name.
    pub fn list(&self) -> Result<Vec<Booking>, StoreError> {
        let mut bookings = match self {
            Store::File { path, pool } => state::load(path, pool)?
                .map(|s| s.reservations.bookings)
                .unwrap_or_default(),
            Store::Mysql { lock, pool } => mysql_list(lock, pool)?,
            Store::Redis { lock } => redis_list(lock)?,
        };
        bookings.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(bookings)
    }

    /// Adds a booking; one of the same name is replaced with `replace`,
    /// else refused. Returns whether it replaced one.
    pub fn add(&self, booking: &Booking, replace: bool) -> Result<bool, StoreError> {
        match self {
            Store::File { path, pool } => {
                let mut outcome = Ok(false);
                state::update(path, pool, Utc::now(), |s| {
                    let list = &mut s.reservations.bookings;
                    let had = list.iter().any(|b| b.name == booking.name);
                    if had && !replace {
                        outcome = Err(StoreError::Duplicate(booking.name.clone()));
                        return;
                    }
                    list.retain(|b| b.name != booking.name);
                    list.push(booking.clone());
                    outcome = Ok(had);
                })?;
                outcome
            }
            Store::Mysql { lock, pool } => mysql_add(lock, pool, booking, replace),
            Store::Redis { lock } => redis_add(lock, booking, replace),
        }
    }

    /// Removes the booking `name`, returning it.
    pub fn remove(&self, name: &str) -> Result<Booking, StoreError> {
        match self {
            Store::File { path, pool } => {
                let mut found = None;
                state::update(path, pool, Utc::now(), |s| {
                    let list = &mut s.reservations.bookings;
                    if let Some(i) = list.iter().position(|b| b.name == name) {
                        found = Some(list.remove(i));
                    }
                })?;
                found.ok_or_else(|| StoreError::Unknown(name.to_string()))
            }
            Store::Mysql { lock, pool } => mysql_remove(lock, pool, name),
            Store::Redis { lock } => redis_remove(lock, name),
        }
    }
}

fn shown(lock: &LockConfig) -> String {
    lock.url
        .as_deref()
        .map_or_else(String::new, crate::pool::sip::redacted_url)
}

fn redis_key(lock: &LockConfig) -> String {
    format!("{}:reservations", lock.name)
}

fn password(lock: &LockConfig) -> Result<Option<String>, StoreError> {
    lock.password
        .resolve("lock.password")
        .map(|p| p.map(|s| s.expose().to_string()))
        .map_err(StoreError::Unavailable)
}

fn mysql_conn(lock: &LockConfig) -> Result<mysql::Conn, StoreError> {
    let url = lock.url.as_deref().unwrap_or_default();
    let unavailable = |e: String| StoreError::Unavailable(format!("reservations: {e}"));
    let opts = mysql::Opts::from_url(url)
        .map_err(|e| unavailable(format!("invalid MySQL URL {}: {e}", shown(lock))))?;
    let mut builder = mysql::OptsBuilder::from_opts(opts)
        .prefer_socket(false)
        .tcp_connect_timeout(Some(lock.timeout))
        .read_timeout(Some(lock.timeout))
        .write_timeout(Some(lock.timeout));
    if let Some(password) = password(lock)? {
        builder = builder.pass(Some(password));
    }
    mysql::Conn::new(builder)
        .map_err(|e| unavailable(format!("database {}: {}", shown(lock), Fault::mysql(&e))))
}

fn mysql_error(lock: &LockConfig, e: &mysql::Error) -> StoreError {
    StoreError::Unavailable(format!(
        "reservations: table {TABLE} on {}: {}",
        shown(lock),
        Fault::mysql(e)
    ))
}

/// MySQL's "table doesn't exist": nothing was ever booked.
fn no_table(e: &mysql::Error) -> bool {
    matches!(e, mysql::Error::MySqlError(m) if m.code == 1146)
}

fn mysql_create(conn: &mut mysql::Conn, lock: &LockConfig) -> Result<(), StoreError> {
    conn.query_drop(format!(
        "CREATE TABLE IF NOT EXISTS {TABLE} (pool VARCHAR(64) NOT NULL, name VARCHAR(100) NOT NULL, \
         start_at BIGINT NOT NULL, end_at BIGINT NOT NULL, gateways INT UNSIGNED NOT NULL, \
         note TEXT NULL, PRIMARY KEY (pool, name))"
    ))
    .map_err(|e| mysql_error(lock, &e))
}

type Row = (String, i64, i64, u32, Option<String>);

fn mysql_list(lock: &LockConfig, pool: &str) -> Result<Vec<Booking>, StoreError> {
    let mut conn = mysql_conn(lock)?;
    let rows: Vec<Row> = match conn.exec(
        format!("SELECT name, start_at, end_at, gateways, note FROM {TABLE} WHERE pool = ?"),
        (pool,),
    ) {
        Ok(rows) => rows,
        Err(e) if no_table(&e) => return Ok(Vec::new()),
        Err(e) => return Err(mysql_error(lock, &e)),
    };
    rows.into_iter()
        .map(|(name, start, end, gateways, note)| {
            let instant = |s: i64| {
                DateTime::<Utc>::from_timestamp(s, 0).ok_or_else(|| {
                    StoreError::BadData(format!(
                        "reservations: table {TABLE}: row {name:?} has an invalid time {s}"
                    ))
                })
            };
            Ok(Booking {
                start: instant(start)?,
                end: instant(end)?,
                name,
                origin: Origin::Cli,
                gateways,
                note,
            })
        })
        .collect()
}

fn mysql_add(
    lock: &LockConfig,
    pool: &str,
    booking: &Booking,
    replace: bool,
) -> Result<bool, StoreError> {
    let mut conn = mysql_conn(lock)?;
    mysql_create(&mut conn, lock)?;
    let existing: Option<String> = conn
        .exec_first(
            format!("SELECT name FROM {TABLE} WHERE pool = ? AND name = ?"),
            (pool, &booking.name),
        )
        .map_err(|e| mysql_error(lock, &e))?;
    if existing.is_some() && !replace {
        return Err(StoreError::Duplicate(booking.name.clone()));
    }
    let values = (
        pool,
        &booking.name,
        booking.start.timestamp(),
        booking.end.timestamp(),
        booking.gateways,
        booking.note.as_deref(),
    );
    conn.exec_drop(
        format!(
            "REPLACE INTO {TABLE} (pool, name, start_at, end_at, gateways, note) VALUES (?, ?, ?, ?, ?, ?)"
        ),
        values,
    )
    .map_err(|e| mysql_error(lock, &e))?;
    Ok(existing.is_some())
}

fn mysql_remove(lock: &LockConfig, pool: &str, name: &str) -> Result<Booking, StoreError> {
    let found = mysql_list(lock, pool)?
        .into_iter()
        .find(|b| b.name == name)
        .ok_or_else(|| StoreError::Unknown(name.to_string()))?;
    let mut conn = mysql_conn(lock)?;
    conn.exec_drop(
        format!("DELETE FROM {TABLE} WHERE pool = ? AND name = ?"),
        (pool, name),
    )
    .map_err(|e| mysql_error(lock, &e))?;
    Ok(found)
}

fn redis_conn(lock: &LockConfig) -> Result<redis::Connection, StoreError> {
    let url = lock.url.as_deref().unwrap_or_default();
    let unavailable = |e: String| StoreError::Unavailable(format!("reservations: {e}"));
    let mut info = redis::IntoConnectionInfo::into_connection_info(url)
        .map_err(|e| unavailable(format!("invalid Redis URL {}: {e}", shown(lock))))?;
    if let Some(password) = password(lock)? {
        let settings = info.redis_settings().clone().set_password(password);
        info = info.set_redis_settings(settings);
    }
    let client = redis::Client::open(info).map_err(|e| unavailable(format!("{e}")))?;
    let conn = client
        .get_connection_with_timeout(lock.timeout)
        .map_err(|e| unavailable(format!("Redis {}: {}", shown(lock), Fault::redis(&e))))?;
    conn.set_read_timeout(Some(lock.timeout))
        .and_then(|()| conn.set_write_timeout(Some(lock.timeout)))
        .map_err(|e| unavailable(format!("Redis {}: {}", shown(lock), Fault::redis(&e))))?;
    Ok(conn)
}

fn redis_error(lock: &LockConfig, e: &redis::RedisError) -> StoreError {
    StoreError::Unavailable(format!(
        "reservations: Redis key {} on {}: {}",
        redis_key(lock),
        shown(lock),
        Fault::redis(e)
    ))
}

fn redis_list(lock: &LockConfig) -> Result<Vec<Booking>, StoreError> {
    let mut conn = redis_conn(lock)?;
    let all: Vec<(String, String)> = redis::cmd("HGETALL")
        .arg(redis_key(lock))
        .query(&mut conn)
        .map_err(|e| redis_error(lock, &e))?;
    all.into_iter()
        .map(|(name, json)| {
            serde_json::from_str::<Booking>(&json).map_err(|e| {
                StoreError::BadData(format!(
                    "reservations: Redis key {} field {name:?} is not a booking: {e}",
                    redis_key(lock)
                ))
            })
        })
        .collect()
}

fn redis_add(lock: &LockConfig, booking: &Booking, replace: bool) -> Result<bool, StoreError> {
    let mut conn = redis_conn(lock)?;
    let json = serde_json::to_string(booking).expect("a booking serializes");
    let command = if replace { "HSET" } else { "HSETNX" };
    let added: i64 = redis::cmd(command)
        .arg(redis_key(lock))
        .arg(&booking.name)
        .arg(json)
        .query(&mut conn)
        .map_err(|e| redis_error(lock, &e))?;
    match (added, replace) {
        (0, false) => Err(StoreError::Duplicate(booking.name.clone())),
        (0, true) => Ok(true),
        _ => Ok(false),
    }
}

fn redis_remove(lock: &LockConfig, name: &str) -> Result<Booking, StoreError> {
    let found = redis_list(lock)?
        .into_iter()
        .find(|b| b.name == name)
        .ok_or_else(|| StoreError::Unknown(name.to_string()))?;
    let mut conn = redis_conn(lock)?;
    let _: i64 = redis::cmd("HDEL")
        .arg(redis_key(lock))
        .arg(name)
        .query(&mut conn)
        .map_err(|e| redis_error(lock, &e))?;
    Ok(found)
}

/// How long a write waits for a running pass's lock.
pub const LOCK_WAIT: Duration = Duration::from_secs(10);
