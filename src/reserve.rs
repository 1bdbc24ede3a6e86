//! `scaler reserve add|list|remove`, and the bookings a pass decides with:
//! those of the store ([`store`]) and of `[reservations] calendar`
//! ([`fetch`]), with the windows already open kept in the state as the
//! fallback when either cannot be read.

pub mod fetch;
pub mod store;

use crate::cli::{ReserveAddArgs, ReserveCommand};
use crate::config::Config;
use crate::error::Error;
use crate::lock::{self, LockConfig, PassLock};
use crate::report::{PoolInfo, Report};
use crate::reservations::{self, Booking, Origin, calendar};
use crate::state::State;
use chrono::{DateTime, Utc};
use std::time::{Duration, Instant};
use store::{LOCK_WAIT, Store, StoreError};

/// How far ahead `reserve list` shows a calendar's occurrences.
pub const LIST_DAYS: i64 = 14;

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Error {
        match e {
            StoreError::Duplicate(_) | StoreError::Unknown(_) => Error::Usage(e.to_string()),
            StoreError::Unavailable(_) | StoreError::BadData(_) => {
                Error::Unavailable(e.to_string())
            }
            StoreError::State(_) => Error::Config(e.to_string()),
        }
    }
}

/// The store of `config`'s pool.
pub fn store_of(config: &Config) -> Store {
    Store::new(&config.lock, &config.state_path, &config.pool.name)
}

/// Runs a `reserve` subcommand; its report lists the bookings concerned.
pub fn command(command: &ReserveCommand, config: &Config) -> Result<Report, Error> {
    let store = store_of(config);
    let mut report = Report::new("reserve");
    report.pool = Some(PoolInfo {
        name: config.pool.name.clone(),
        kind: config.pool.kind.as_str().to_string(),
    });
    match command {
        ReserveCommand::Add(args) => {
            let booking = booking_of(args, config.schedule.timezone)?;
            let _lock = wait_for_lock(&config.lock)?;
            let replaced = store.add(&booking, args.replace)?;
            let verb = if replaced { "replaced" } else { "added" };
            report.notes.push(format!(
                "reservation {verb}: {} (in force from {} with lead {})",
                booking.describe(),
                booking
                    .opens(config.reservations.lead)
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                crate::duration::HumanDuration(config.reservations.lead)
            ));
            report.reservations = Some(vec![booking]);
        }
        ReserveCommand::Remove(args) => {
            let _lock = wait_for_lock(&config.lock)?;
            let removed = store.remove(&args.name)?;
            report
                .notes
                .push(format!("reservation removed: {}", removed.describe()));
            report.reservations = Some(vec![removed]);
        }
        ReserveCommand::List => {
            let mut bookings = store.list()?;
            let now = Utc::now();
            let (calendar, notes) = cached_calendar(config, now);
            bookings.extend(calendar);
            report.notes.extend(notes);
            report.reservations = Some(bookings);
        }
    }
    Ok(report)
}

/// The booking `reserve add` asks for, validated (bad input: exit 64).
fn booking_of(args: &ReserveAddArgs, zone: chrono_tz::Tz) -> Result<Booking, Error> {
    let start = reservations::parse_time(&args.start, zone)
        .map_err(|e| Error::Usage(format!("--start: {e}")))?;
    let end = reservations::parse_time(&args.end, zone)
        .map_err(|e| Error::Usage(format!("--end: {e}")))?;
    let gateways = u32::try_from(args.gateways)
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            Error::Usage(format!(
                "reservation {:?}: --gateways must be at least 1 (got {})",
                args.name, args.gateways
            ))
        })?;
    let booking = Booking {
        name: args.name.clone(),
        origin: Origin::Cli,
        start,
        end,
        gateways,
        note: args.note.clone(),
    };
    reservations::validate(&booking).map_err(|e| Error::Usage(e.to_string()))?;
    Ok(booking)
}

/// Takes the pass lock, waiting up to [`LOCK_WAIT`] for a running pass.
pub fn wait_for_lock(config: &LockConfig) -> Result<PassLock, Error> {
    let deadline = Instant::now() + LOCK_WAIT;
    let mut said = false;
    loop {
        match lock::acquire(config) {
            Err(Error::Locked(message)) if Instant::now() < deadline => {
                if !said {
                    log::warn!("waiting up to 10 s for the pass lock: {message}");
                    said = true;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(Error::Locked(_)) => {
                return Err(Error::Locked(format!(
                    "{} is still held by a pass after 10 s: the reservations were not changed",
                    lock::describe(config)
                )));
            }
            other => return other,
        }
    }
}

/// The calendar's occurrences of the next [`LIST_DAYS`] days from its last
/// good copy, with notes on what was left out.
fn cached_calendar(config: &Config, now: DateTime<Utc>) -> (Vec<Booking>, Vec<String>) {
    let Some(source) = &config.reservations.calendar else {
        return (Vec::new(), Vec::new());
    };
    let cache = fetch::cache_path(&config.state_path);
    let Ok(text) = std::fs::read_to_string(&cache) else {
        let note = format!(
            "calendar {}: no copy read yet (a pass reads it)",
            fetch::describe(source)
        );
        return (Vec::new(), vec![note]);
    };
    let window = (now, now + chrono::Duration::days(LIST_DAYS));
    let r = &config.reservations;
    match calendar::expand(&text, config.schedule.timezone, r.default_gateways, window) {
        Ok(expanded) => (expanded.bookings, expanded.notes),
        Err(e) => (
            Vec::new(),
            vec![format!("calendar cache {}: {e}", cache.display())],
        ),
    }
}

/// The bookings in force for one pass, and what the pass must say.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ForPass {
    /// Bookings in force at the pass's time (CLI and calendar).
    pub bookings: Vec<Booking>,
    /// Notes (calendar events left out, the calendar down and what stays
    /// in force).
    pub notes: Vec<String>,
    /// Whether a store or the calendar could not be read: the pass exits 3.
    pub degraded: bool,
    /// Whether the state held open windows (a pass with none before and
    /// none now does not rewrite the state file for them).
    pub had_open: bool,
}

/// The bookings in force at `at` for a pass of `config` with `state`:
/// those of the store and the calendar; when one cannot be read, its
/// windows already open (kept in the state) and, for the calendar, its
/// last good copy stay in force, and the pass is `degraded`.
pub fn for_pass(config: &Config, state: &State, at: DateTime<Utc>) -> ForPass {
    let lead = config.reservations.lead;
    let mut out = ForPass {
        had_open: !state.reservations.open.is_empty(),
        ..ForPass::default()
    };
    let kept = |origin: Origin| -> Vec<Booking> {
        state
            .reservations
            .open
            .values()
            .map(|w| w.booking.clone())
            .filter(|b| b.origin == origin)
            .collect()
    };
    let mut all = match store_of(config) {
        Store::File { .. } => state.reservations.bookings.clone(),
        store => store.list().unwrap_or_else(|e| {
            out.notes.push(format!(
                "{e}: the reservation windows already open stay in force"
            ));
            out.degraded = true;
            kept(Origin::Cli)
        }),
    };
    if let Some(source) = &config.reservations.calendar {
        let r = &config.reservations;
        let read = fetch::read(
            source,
            r.calendar_timeout,
            &fetch::cache_path(&config.state_path),
        );
        if let Some(failure) = read.failure {
            out.notes.push(failure);
            out.degraded = true;
        }
        let lead_c = chrono::Duration::from_std(lead).unwrap_or_default();
        let window = (at, at + lead_c + chrono::Duration::seconds(1));
        let zone = config.schedule.timezone;
        match read
            .text
            .map(|t| calendar::expand(&t, zone, r.default_gateways, window))
        {
            Some(Ok(expanded)) => {
                all.extend(expanded.bookings);
                out.notes.extend(expanded.notes);
            }
            Some(Err(e)) => {
                out.notes.push(format!("calendar: {e}"));
                out.degraded = true;
                all.extend(kept(Origin::Calendar));
            }
            None => all.extend(kept(Origin::Calendar)),
        }
    }
    all.retain(|b| b.in_force(at, lead));
    all.sort_by_key(|b| (b.start, b.key()));
    all.dedup_by(|a, b| a.key() == b.key());
    out.bookings = all;
    out
}
