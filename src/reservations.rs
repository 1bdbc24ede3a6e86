//! Reservations: capacity booked ahead for scheduled meetings. A booking
//! (from `scaler reserve add` or from an iCalendar feed) asks for N gateways
//! from `start − lead` until `end`; the decision keeps the target at or
//! above the busy count when the window opened plus `idle_min` plus the
//! bookings in force (the rule is `reserve` in the decision module).
//!
//! This module owns the data: the booking, the `[reservations]` section,
//! the command line's times, the validation that makes bad input exit 64,
//! and the files `simulate --reservations` reads. It does no I/O of its own
//! but reading those files; storage and the calendar's fetch are
//! the `reserve` command module's, the iCalendar expansion is [`calendar`]'s.

pub mod calendar;

use crate::duration::HumanDuration;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The default `lead`: how long before its start a booking takes effect.
pub const DEFAULT_LEAD: Duration = Duration::from_secs(5 * 60);

/// The default bound of one calendar request.
pub const DEFAULT_CALENDAR_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a booking comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// `scaler reserve add`, keyed by its name.
    #[default]
    Cli,
    /// An event of `[reservations] calendar`, keyed by its UID (and, for a
    /// recurring event, the occurrence's start).
    Calendar,
}

/// One booking: `gateways` more gateways from `start − lead` until `end`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Booking {
    /// The CLI name, or the calendar event's UID (`UID@start` for an
    /// occurrence of a recurring event).
    pub name: String,
    /// Where it comes from.
    #[serde(default)]
    pub origin: Origin,
    /// When the meeting starts.
    pub start: DateTime<Utc>,
    /// When it ends (after `start`).
    pub end: DateTime<Utc>,
    /// Gateways booked (at least 1).
    pub gateways: u32,
    /// Free text (`--note`, the event's SUMMARY).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Booking {
    /// Whether the booking is in force at `at`: from `start − lead` until `end`.
    pub fn in_force(&self, at: DateTime<Utc>, lead: Duration) -> bool {
        let lead = chrono::Duration::from_std(lead).unwrap_or(chrono::Duration::zero());
        self.start - lead <= at && at < self.end
    }

    /// When its window opens.
    pub fn opens(&self, lead: Duration) -> DateTime<Utc> {
        self.start - chrono::Duration::from_std(lead).unwrap_or(chrono::Duration::zero())
    }

    /// The key of its window in the state (`busy_at_open`): CLI names and
    /// calendar UIDs never collide.
    pub fn key(&self) -> String {
        match self.origin {
            Origin::Cli => format!("cli:{}", self.name),
            Origin::Calendar => format!("calendar:{}", self.name),
        }
    }

    /// `NAME START..END N gateway(s)`, for reports.
    pub fn describe(&self) -> String {
        let fmt = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let origin = match self.origin {
            Origin::Cli => "",
            Origin::Calendar => " (calendar)",
        };
        format!(
            "{}{origin} {}..{} {} gateway(s)",
            self.name,
            fmt(self.start),
            fmt(self.end),
            self.gateways
        )
    }
}

/// Why a booking is refused (exit 64).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BookingError {
    /// The name is empty or has characters a key cannot hold.
    #[error(
        "reservation name {0:?}: use 1 to 100 letters, digits, '-', '_', '.' or '@' (not starting with '-')"
    )]
    Name(String),
    /// The window is empty or reversed.
    #[error("reservation {name:?}: --end {end} is not after --start {start}")]
    EndBeforeStart {
        /// The booking.
        name: String,
        /// Its start.
        start: String,
        /// Its end.
        end: String,
    },
    /// No gateways booked.
    #[error("reservation {0:?}: --gateways must be at least 1")]
    NoGateways(String),
    /// Longer than a booking may last.
    #[error("reservation {0:?}: a booking lasts at most 31 days")]
    TooLong(String),
}

/// The longest booking accepted (a meeting, not a schedule: a standing
/// need belongs in `[schedule]`).
pub const MAX_LENGTH: chrono::Duration = chrono::Duration::days(31);

/// Checks a CLI booking.
pub fn validate(booking: &Booking) -> Result<(), BookingError> {
    let name = &booking.name;
    let name_ok = (1..=100).contains(&name.len())
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c));
    if !name_ok {
        return Err(BookingError::Name(name.clone()));
    }
    if booking.end <= booking.start {
        let fmt = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        return Err(BookingError::EndBeforeStart {
            name: name.clone(),
            start: fmt(booking.start),
            end: fmt(booking.end),
        });
    }
    if booking.gateways == 0 {
        return Err(BookingError::NoGateways(name.clone()));
    }
    if booking.end - booking.start > MAX_LENGTH {
        return Err(BookingError::TooLong(name.clone()));
    }
    Ok(())
}

/// A command-line TIME: RFC 3339, or `YYYY-MM-DDTHH:MM` (also with a space,
/// and with `:SS`) in `zone`. A local time that does not exist (the hour a
/// DST change skips) is an error; an ambiguous one (the hour it repeats)
/// is its earlier instant.
pub fn parse_time(text: &str, zone: Tz) -> Result<DateTime<Utc>, String> {
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        return Ok(instant.with_timezone(&Utc));
    }
    let naive = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .ok_or_else(|| {
            format!(
                "time {text:?}: expected RFC 3339 (2026-11-23T14:00:00+01:00) or YYYY-MM-DDTHH:MM in the schedule's timezone ({zone})"
            )
        })?;
    zone.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| {
            format!(
                "time {text:?} does not exist in {zone} (a daylight saving time change skips it)"
            )
        })
}

/// `[reservations]` keys, as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReservationsSection {
    /// How long before its start a booking takes effect (default 5m).
    pub lead: Option<HumanDuration>,
    /// An iCalendar feed: a file (relative to the configuration file) or
    /// an `https://` URL (`http://` only to a loopback address).
    pub calendar: Option<String>,
    /// Gateways of a calendar event without `X-SCALER-GATEWAYS`.
    pub default_gateways: Option<u32>,
    /// Bound of one calendar request (default 10s).
    pub calendar_timeout: Option<HumanDuration>,
}

/// Where the calendar is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CalendarSource {
    /// A local file.
    File(PathBuf),
    /// An `https://` (or loopback `http://`) URL.
    Url(String),
}

/// `[reservations]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReservationsConfig {
    /// How long before its start a booking takes effect.
    pub lead: Duration,
    /// The calendar feed, if any.
    pub calendar: Option<CalendarSource>,
    /// Gateways of an event without `X-SCALER-GATEWAYS` (none: such an
    /// event is left out, with a note).
    pub default_gateways: Option<u32>,
    /// Bound of one calendar request (connection, headers and body).
    pub calendar_timeout: Duration,
}

impl Default for ReservationsConfig {
    fn default() -> ReservationsConfig {
        ReservationsConfig {
            lead: DEFAULT_LEAD,
            calendar: None,
            default_gateways: None,
            calendar_timeout: DEFAULT_CALENDAR_TIMEOUT,
        }
    }
}

impl ReservationsSection {
    /// Validates the section; `base` anchors a calendar file's path.
    pub fn validate(self, base: &Path) -> Result<ReservationsConfig, String> {
        let lead = self.lead.map_or(DEFAULT_LEAD, |d| d.0);
        if lead > Duration::from_secs(86_400) {
            return Err("reservations.lead: at most 1d".into());
        }
        if self.default_gateways == Some(0) {
            return Err("reservations.default_gateways: must be at least 1".into());
        }
        let calendar_timeout = self
            .calendar_timeout
            .map_or(DEFAULT_CALENDAR_TIMEOUT, |d| d.0);
        if calendar_timeout.is_zero() {
            return Err("reservations.calendar_timeout: must be longer than 0s".into());
        }
        let calendar = self
            .calendar
            .map(|text| calendar_source(&text, base))
            .transpose()?;
        Ok(ReservationsConfig {
            lead,
            calendar,
            default_gateways: self.default_gateways,
            calendar_timeout,
        })
    }
}

fn calendar_source(text: &str, base: &Path) -> Result<CalendarSource, String> {
    let lower = text.to_ascii_lowercase();
    if lower.starts_with("https://") {
        return Ok(CalendarSource::Url(text.to_string()));
    }
    if let Some(rest) = lower.strip_prefix("http://") {
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
        let name = match host.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(""),
            None => host.split(':').next().unwrap_or(""),
        };
        let loopback = name == "localhost"
            || name
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if loopback {
            return Ok(CalendarSource::Url(text.to_string()));
        }
        return Err(format!(
            "reservations.calendar: {text:?}: use https:// (plain http:// is only accepted for a loopback address)"
        ));
    }
    if lower.contains("://") {
        return Err(format!(
            "reservations.calendar: {text:?}: a file path or an https:// URL"
        ));
    }
    Ok(CalendarSource::File(base.join(text)))
}

/// The JSON that `scaler reserve list --format json` prints: the report,
/// of which `simulate --reservations` reads `reservations`.
#[derive(Debug, Deserialize)]
struct ListedReport {
    reservations: Vec<Booking>,
}

/// Reads a `simulate --reservations` file: the JSON of `reserve list
/// --format json` (or a bare array of bookings), or an iCalendar file
/// (`.ics`) expanded over `[from, to]`. Returns the bookings and notes on
/// what was left out.
pub fn read_file(
    path: &Path,
    zone: Tz,
    default_gateways: Option<u32>,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
) -> Result<(Vec<Booking>, Vec<String>), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read reservations {}: {e}", path.display()))?;
    let shown = path.display();
    let ics = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("ics"))
        || text.trim_start().starts_with("BEGIN:VCALENDAR");
    if ics {
        let expanded = calendar::expand(&text, zone, default_gateways, (from, to))
            .map_err(|e| format!("reservations {shown}: {e}"))?;
        return Ok((expanded.bookings, expanded.notes));
    }
    let bookings = serde_json::from_str::<ListedReport>(&text)
        .map(|r| r.reservations)
        .or_else(|_| serde_json::from_str::<Vec<Booking>>(&text))
        .map_err(|e| {
            format!(
                "reservations {shown}: neither an .ics file nor the JSON of `scaler reserve list --format json`: {e}"
            )
        })?;
    for booking in &bookings {
        check_listed(booking).map_err(|e| format!("reservations {shown}: {e}"))?;
    }
    Ok((bookings, Vec::new()))
}

/// A listed booking: a CLI one is validated as when it was added; a
/// calendar one only for its window and gateways.
fn check_listed(booking: &Booking) -> Result<(), BookingError> {
    match booking.origin {
        Origin::Cli => validate(booking),
        Origin::Calendar if booking.end <= booking.start => validate(booking),
        Origin::Calendar if booking.gateways == 0 => {
            Err(BookingError::NoGateways(booking.name.clone()))
        }
        Origin::Calendar => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn booking(name: &str, start: &str, end: &str, gateways: u32) -> Booking {
        Booking {
            name: name.into(),
            origin: Origin::Cli,
            start: at(start),
            end: at(end),
            gateways,
            note: None,
        }
    }

    #[test]
    fn times_in_the_schedule_zone() {
        let paris: Tz = "Europe/Paris".parse().unwrap();
        assert_eq!(
            parse_time("2026-11-23T14:00", paris).unwrap(),
            at("2026-11-23T13:00:00Z")
        );
        assert_eq!(
            parse_time("2026-11-23T14:00:00+01:00", chrono_tz::UTC).unwrap(),
            at("2026-11-23T13:00:00Z")
        );
        // 2026-03-29 02:30 does not exist in Paris (clocks go 02:00 -> 03:00).
        let err = parse_time("2026-03-29T02:30", paris).unwrap_err();
        assert!(err.contains("does not exist"), "{err}");
        // 2026-10-25 02:30 happens twice: the earlier (summer time, +02:00).
        assert_eq!(
            parse_time("2026-10-25T02:30", paris).unwrap(),
            at("2026-10-25T00:30:00Z")
        );
        assert!(parse_time("14:00", paris).is_err());
    }

    #[test]
    fn bad_bookings_are_named() {
        let ok = booking("course", "2026-11-23T13:00:00Z", "2026-11-23T15:00:00Z", 40);
        validate(&ok).unwrap();
        let reversed = booking("course", "2026-11-23T15:00:00Z", "2026-11-23T13:00:00Z", 4);
        assert!(matches!(
            validate(&reversed),
            Err(BookingError::EndBeforeStart { .. })
        ));
        let empty = booking("course", "2026-11-23T13:00:00Z", "2026-11-23T13:00:00Z", 4);
        assert!(validate(&empty).is_err());
        let none = booking("course", "2026-11-23T13:00:00Z", "2026-11-23T15:00:00Z", 0);
        assert_eq!(
            validate(&none),
            Err(BookingError::NoGateways("course".into()))
        );
        for name in ["", "-x", "a b", "x/y"] {
            let bad = booking(name, "2026-11-23T13:00:00Z", "2026-11-23T15:00:00Z", 1);
            assert!(
                matches!(validate(&bad), Err(BookingError::Name(_))),
                "{name}"
            );
        }
        let long = booking("year", "2026-01-01T00:00:00Z", "2026-12-01T00:00:00Z", 1);
        assert!(matches!(validate(&long), Err(BookingError::TooLong(_))));
    }

    #[test]
    fn window_opens_lead_before_start_and_closes_at_end() {
        let b = booking("c", "2026-11-23T14:00:00Z", "2026-11-23T15:00:00Z", 4);
        let lead = DEFAULT_LEAD;
        assert!(!b.in_force(at("2026-11-23T13:54:59Z"), lead));
        assert!(b.in_force(at("2026-11-23T13:55:00Z"), lead));
        assert!(b.in_force(at("2026-11-23T14:59:59Z"), lead));
        assert!(!b.in_force(at("2026-11-23T15:00:00Z"), lead));
        assert_eq!(b.opens(lead), at("2026-11-23T13:55:00Z"));
    }

    #[test]
    fn calendar_sources() {
        let base = Path::new("/etc/scaler");
        let section = |calendar: &str| ReservationsSection {
            calendar: Some(calendar.into()),
            ..ReservationsSection::default()
        };
        let v = |s: ReservationsSection| s.validate(base);
        assert_eq!(
            v(section("meetings.ics")).unwrap().calendar,
            Some(CalendarSource::File(base.join("meetings.ics")))
        );
        for url in [
            "https://cal.example.org/x.ics",
            "http://127.0.0.1:8080/x.ics",
            "http://[::1]:8080/x.ics",
            "http://localhost/x",
        ] {
            assert_eq!(
                v(section(url)).unwrap().calendar,
                Some(CalendarSource::Url(url.into()))
            );
        }
        for bad in ["http://cal.example.org/x.ics", "ftp://x/y"] {
            assert!(v(section(bad)).is_err(), "{bad}");
        }
        let zero = ReservationsSection {
            default_gateways: Some(0),
            ..ReservationsSection::default()
        };
        assert!(v(zero).is_err());
        assert_eq!(
            v(ReservationsSection::default()).unwrap(),
            ReservationsConfig::default()
        );
    }
}
