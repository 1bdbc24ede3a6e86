//! Reads `[reservations] calendar` once a pass: a file, or one bounded
//! HTTP(S) request (ureq with a global timeout and a size limit). A copy
//! that parses becomes the last good copy, kept next to the state file
//! (`<state>.calendar.ics`); when the calendar cannot be read or does not
//! parse, that copy stays in force and the caller says so (exit 3): the
//! pool never shrinks because a calendar is down.

use crate::reservations::CalendarSource;
use crate::reservations::calendar;
use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The largest calendar accepted.
pub const MAX_BODY: u64 = 8 * 1024 * 1024;

/// The text of the calendar to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    /// The iCalendar text: fresh, or the last good copy (`None`: neither).
    pub text: Option<String>,
    /// Why the calendar could not be read this time, and what stays in
    /// force instead.
    pub failure: Option<String>,
}

/// The last good copy of the calendar of the pool whose state is `state_path`.
pub fn cache_path(state_path: &Path) -> PathBuf {
    PathBuf::from(format!("{}.calendar.ics", state_path.display()))
}

/// Reads the calendar (see the module documentation).
pub fn read(source: &CalendarSource, timeout: Duration, cache: &Path) -> Calendar {
    let shown = describe(source);
    let fresh = fetch(source, timeout).and_then(|text| {
        let now = Utc::now();
        calendar::expand(&text, chrono_tz::UTC, Some(1), (now, now)).map(|_| text)
    });
    match fresh {
        Ok(text) => {
            if std::fs::read_to_string(cache).ok().as_deref() != Some(text.as_str())
                && let Err(e) = crate::state::write_atomic(cache, text.as_bytes())
            {
                log::warn!("calendar cache {}: {e}", cache.display());
            }
            Calendar {
                text: Some(text),
                failure: None,
            }
        }
        Err(e) => {
            let cached = std::fs::read_to_string(cache).ok();
            let kept = match (&cached, modified(cache)) {
                (Some(_), Some(at)) => format!(
                    "the last good copy ({}) stays in force",
                    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ),
                (Some(_), None) => "the last good copy stays in force".to_string(),
                (None, _) => {
                    "there is no last good copy: only the reservation windows already open stay in force"
                        .to_string()
                }
            };
            Calendar {
                text: cached,
                failure: Some(format!("calendar {shown} cannot be read ({e}): {kept}")),
            }
        }
    }
}

fn modified(path: &Path) -> Option<DateTime<Utc>> {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .map(DateTime::<Utc>::from)
}

/// The calendar's location, without credentials or query.
pub fn describe(source: &CalendarSource) -> String {
    match source {
        CalendarSource::File(path) => path.display().to_string(),
        CalendarSource::Url(url) => crate::pool::sip::redacted_url(url)
            .split('?')
            .next()
            .unwrap_or_default()
            .to_string(),
    }
}

fn fetch(source: &CalendarSource, timeout: Duration) -> Result<String, String> {
    let url = match source {
        CalendarSource::File(path) => {
            return std::fs::read_to_string(path).map_err(|e| e.to_string());
        }
        CalendarSource::Url(url) => url,
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .timeout_connect(Some(timeout))
        .max_redirects(5)
        .http_status_as_error(false)
        .proxy(None)
        .user_agent(concat!("scaler/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let _call = crate::watchdog::doing(format!("calendar {}", describe(source)));
    let mut response = agent.get(url).call().map_err(|e| describe_error(&e))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("HTTP {}", status.as_u16()));
    }
    response
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_string()
        .map_err(|e| describe_error(&e))
}

fn describe_error(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(_) => "no answer within reservations.calendar_timeout".into(),
        ureq::Error::BodyExceedsLimit(_) => {
            format!("larger than {} MiB", MAX_BODY / (1024 * 1024))
        }
        ureq::Error::ConnectionFailed | ureq::Error::Io(_) => format!("cannot connect: {e}"),
        other => other.to_string(),
    }
}
