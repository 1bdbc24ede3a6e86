//! iCalendar (RFC 5545) events as bookings: parses a feed with the
//! `icalendar` crate and expands recurring events (RRULE) with the `rrule`
//! crate, over a bounded window, applying EXDATE, RDATE, RECURRENCE-ID
//! overrides and TZID. Each event's gateway count is its
//! `X-SCALER-GATEWAYS` property, else `[reservations] default_gateways`.
//! Pure: text in, bookings and notes out.

use super::{Booking, Origin};
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use icalendar::parser::{Component, Property};
use std::collections::HashSet;

/// Occurrences expanded per event at most (a bound on a runaway rule such as
/// `FREQ=SECONDLY`); an event that reaches it is named in a note.
pub const MAX_OCCURRENCES: u16 = 2000;

/// The bookings of a feed, and what was left out and why.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expanded {
    /// One booking per occurrence overlapping the window, in start order.
    pub bookings: Vec<Booking>,
    /// Events left out (no UID, no gateway count, an unknown TZID, …).
    pub notes: Vec<String>,
}

/// One VEVENT, read.
struct Event<'a> {
    uid: String,
    start: DateTime<Utc>,
    length: chrono::Duration,
    gateways: u32,
    note: Option<String>,
    component: &'a Component<'a>,
}

/// Parses `text` and expands its events over `[from, to)`: every
/// occurrence that overlaps it. Floating times are in `zone`. An error
/// when the text is not an iCalendar document; an event that cannot be
/// used is left out with a note.
pub fn expand(
    text: &str,
    zone: Tz,
    default_gateways: Option<u32>,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
) -> Result<Expanded, String> {
    let unfolded = icalendar::parser::unfold(text);
    let calendar = icalendar::parser::read_calendar(&unfolded)
        .map_err(|e| format!("not an iCalendar document: {}", first_line(&e)))?;
    if !text
        .trim_start()
        .to_ascii_uppercase()
        .starts_with("BEGIN:VCALENDAR")
    {
        return Err("not an iCalendar document: it does not begin with BEGIN:VCALENDAR".into());
    }
    let mut out = Expanded::default();
    let events: Vec<&Component> = calendar
        .components
        .iter()
        .filter(|c| c.name.as_str().eq_ignore_ascii_case("VEVENT"))
        .collect();
    let mut read = Vec::new();
    for component in events {
        match event(component, zone, default_gateways) {
            Ok(Some(event)) => read.push(event),
            Ok(None) => {}
            Err(note) => out.notes.push(note),
        }
    }
    // RECURRENCE-ID: an override replaces that occurrence of its series.
    let mut overridden: HashSet<(String, DateTime<Utc>)> = HashSet::new();
    for event in &read {
        if let Some(prop) = find(event.component, "RECURRENCE-ID") {
            match instant(prop, zone) {
                Ok(id) => {
                    overridden.insert((event.uid.clone(), id));
                }
                Err(e) => out
                    .notes
                    .push(format!("event {}: RECURRENCE-ID: {e}", event.uid)),
            }
        }
    }
    for event in &read {
        occurrences(event, zone, &overridden, (from, to), &mut out);
    }
    out.bookings
        .sort_by(|a, b| (a.start, &a.name).cmp(&(b.start, &b.name)));
    Ok(out)
}

fn first_line(error: &str) -> String {
    error
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && *l != "error:")
        .unwrap_or(error)
        .chars()
        .take(200)
        .collect()
}

fn find<'a>(component: &'a Component<'a>, name: &str) -> Option<&'a Property<'a>> {
    component
        .properties
        .iter()
        .find(|p| p.name.as_str().eq_ignore_ascii_case(name))
}

fn all<'a>(component: &'a Component<'a>, name: &'a str) -> impl Iterator<Item = &'a Property<'a>> {
    component
        .properties
        .iter()
        .filter(move |p| p.name.as_str().eq_ignore_ascii_case(name))
}

fn param<'a>(prop: &'a Property<'a>, key: &str) -> Option<&'a str> {
    prop.params
        .iter()
        .find(|p| p.key.as_str().eq_ignore_ascii_case(key))
        .and_then(|p| p.val.as_ref())
        .map(|v| v.as_str().trim_matches('"'))
}

/// Reads one VEVENT: `None` for a cancelled one, a note for one that
/// cannot be used.
fn event<'a>(
    component: &'a Component<'a>,
    zone: Tz,
    default_gateways: Option<u32>,
) -> Result<Option<Event<'a>>, String> {
    let summary = find(component, "SUMMARY").map(|p| unescape(p.val.as_str()));
    let Some(uid) = find(component, "UID").map(|p| p.val.as_str().trim().to_string()) else {
        let what = summary.map_or(String::new(), |s| format!(" {s:?}"));
        return Err(format!("event{what} has no UID: left out"));
    };
    if find(component, "STATUS").is_some_and(|p| p.val.as_str().eq_ignore_ascii_case("CANCELLED")) {
        return Ok(None);
    }
    let dtstart = find(component, "DTSTART").ok_or(format!("event {uid}: no DTSTART: left out"))?;
    let start =
        instant(dtstart, zone).map_err(|e| format!("event {uid}: DTSTART: {e}: left out"))?;
    let length = length(component, dtstart, start, zone)
        .map_err(|e| format!("event {uid}: {e}: left out"))?;
    if length <= chrono::Duration::zero() {
        return Err(format!("event {uid}: it ends before it starts: left out"));
    }
    let gateways = match find(component, "X-SCALER-GATEWAYS") {
        Some(p) => match p.val.as_str().trim().parse::<u32>() {
            Ok(n) if n > 0 => n,
            _ => {
                return Err(format!(
                    "event {uid}: X-SCALER-GATEWAYS {:?} is not a whole number of at least 1: left out",
                    p.val.as_str()
                ));
            }
        },
        None => default_gateways.ok_or(format!(
            "event {uid}: no X-SCALER-GATEWAYS and no [reservations] default_gateways: left out"
        ))?,
    };
    Ok(Some(Event {
        uid,
        start,
        length,
        gateways,
        note: summary,
        component,
    }))
}

fn unescape(text: &str) -> String {
    text.replace("\\n", " ")
        .replace("\\N", " ")
        .replace("\\,", ",")
        .replace("\\;", ";")
        .replace("\\\\", "\\")
}

/// DTEND − DTSTART, else DURATION, else one day for an all-day event.
fn length(
    component: &Component,
    dtstart: &Property,
    start: DateTime<Utc>,
    zone: Tz,
) -> Result<chrono::Duration, String> {
    if let Some(end) = find(component, "DTEND") {
        return instant(end, zone)
            .map(|end| end - start)
            .map_err(|e| format!("DTEND: {e}"));
    }
    if let Some(duration) = find(component, "DURATION") {
        return parse_duration(duration.val.as_str()).map_err(|e| format!("DURATION: {e}"));
    }
    if is_date(dtstart) {
        return Ok(chrono::Duration::days(1));
    }
    Err("no DTEND or DURATION".into())
}

fn is_date(prop: &Property) -> bool {
    param(prop, "VALUE").is_some_and(|v| v.eq_ignore_ascii_case("DATE"))
        || prop.val.as_str().trim().len() == 8
}

/// An RFC 5545 duration: `[+-]P[nW]` or `[+-]P[nD][T[nH][nM][nS]]`.
fn parse_duration(text: &str) -> Result<chrono::Duration, String> {
    let bad = || format!("{text:?} is not an RFC 5545 duration");
    let t = text.trim();
    let (sign, t) = match t.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, t.strip_prefix('+').unwrap_or(t)),
    };
    let t = t.strip_prefix('P').ok_or_else(bad)?;
    let mut seconds: i64 = 0;
    let mut number = String::new();
    let mut in_time = false;
    for c in t.chars() {
        match c {
            '0'..='9' => number.push(c),
            'T' if !in_time && number.is_empty() => in_time = true,
            'W' | 'D' | 'H' | 'M' | 'S' => {
                let n: i64 = number.parse().map_err(|_| bad())?;
                number.clear();
                let unit = match (c, in_time) {
                    ('W', false) => 7 * 86_400,
                    ('D', false) => 86_400,
                    ('H', true) => 3600,
                    ('M', true) => 60,
                    ('S', true) => 1,
                    _ => return Err(bad()),
                };
                seconds = n
                    .checked_mul(unit)
                    .and_then(|s| s.checked_add(seconds))
                    .ok_or_else(bad)?;
            }
            _ => return Err(bad()),
        }
    }
    if !number.is_empty() {
        return Err(bad());
    }
    Ok(chrono::Duration::seconds(sign * seconds))
}

/// The timezone of a date-time property: its TZID (an IANA name), else `zone`.
fn zone_of(prop: &Property, zone: Tz) -> Result<Tz, String> {
    match param(prop, "TZID") {
        None => Ok(zone),
        Some(name) => {
            let name = name.trim_start_matches('/');
            name.parse::<Tz>()
                .map_err(|_| format!("TZID {name:?} is not an IANA timezone name"))
        }
    }
}

/// The instant of a single-valued date or date-time property.
fn instant(prop: &Property, zone: Tz) -> Result<DateTime<Utc>, String> {
    let value = prop.val.as_str().trim();
    if value.contains(',') {
        return Err(format!("{value:?}: one value expected"));
    }
    value_instant(value, zone_of(prop, zone)?)
}

/// Every instant of a (comma-separated) EXDATE or RDATE property.
fn instants(prop: &Property, zone: Tz) -> Result<Vec<DateTime<Utc>>, String> {
    let tz = zone_of(prop, zone)?;
    prop.val
        .as_str()
        .split(',')
        .map(|v| value_instant(v.trim(), tz))
        .collect()
}

/// `YYYYMMDD` (local midnight), `YYYYMMDDTHHMMSS` (local) or `…Z` (UTC).
/// A local time in a DST gap moves forward by the gap (RFC 5545 §3.3.5).
fn value_instant(value: &str, tz: Tz) -> Result<DateTime<Utc>, String> {
    let bad = || format!("{value:?} is not an iCalendar date or date-time");
    if let Some(utc) = value.strip_suffix('Z') {
        let naive = NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S").map_err(|_| bad())?;
        return Ok(Utc.from_utc_datetime(&naive));
    }
    let naive = if value.len() == 8 {
        NaiveDate::parse_from_str(value, "%Y%m%d")
            .map_err(|_| bad())?
            .and_hms_opt(0, 0, 0)
            .ok_or_else(bad)?
    } else {
        NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%S").map_err(|_| bad())?
    };
    for shift in 0..=3 {
        let moved = naive + chrono::Duration::hours(shift);
        if let Some(local) = tz.from_local_datetime(&moved).earliest() {
            return Ok(local.with_timezone(&Utc));
        }
    }
    Err(bad())
}

/// The starts of an event's occurrences (its DTSTART when it does not
/// recur) up to `to`.
fn starts(
    event: &Event,
    zone: Tz,
    to: DateTime<Utc>,
    from: DateTime<Utc>,
) -> Result<(Vec<DateTime<Utc>>, bool), String> {
    let component = event.component;
    let rrules: Vec<&Property> = all(component, "RRULE").collect();
    let mut starts = Vec::new();
    let mut limited = false;
    if rrules.is_empty() {
        starts.push(event.start);
    } else {
        let tz = zone_of(
            find(component, "DTSTART").expect("checked by event()"),
            zone,
        )?;
        let local = event.start.with_timezone(&tz).naive_local();
        let mut text = format!(
            "DTSTART;TZID={}:{}",
            tz.name(),
            local.format("%Y%m%dT%H%M%S")
        );
        for rule in &rrules {
            text.push_str(&format!("\nRRULE:{}", rule.val.as_str().trim()));
        }
        let set: rrule::RRuleSet = text.parse().map_err(|e| format!("RRULE: {e}"))?;
        let after = (from - event.length).with_timezone(&rrule::Tz::UTC);
        let before = to.with_timezone(&rrule::Tz::UTC);
        let result = set.after(after).before(before).all(MAX_OCCURRENCES);
        limited = result.limited && result.dates.len() >= usize::from(MAX_OCCURRENCES);
        starts.extend(result.dates.iter().map(|d| d.with_timezone(&Utc)));
        // DTSTART is the first occurrence even when the rule does not match it.
        starts.push(event.start);
    }
    for rdate in all(component, "RDATE") {
        starts.extend(instants(rdate, zone).map_err(|e| format!("RDATE: {e}"))?);
    }
    let mut excluded = HashSet::new();
    for exdate in all(component, "EXDATE") {
        excluded.extend(instants(exdate, zone).map_err(|e| format!("EXDATE: {e}"))?);
    }
    starts.retain(|s| !excluded.contains(s));
    starts.sort();
    starts.dedup();
    Ok((starts, limited))
}

/// Adds the occurrences of `event` that overlap `[from, to)`.
fn occurrences(
    event: &Event,
    zone: Tz,
    overridden: &HashSet<(String, DateTime<Utc>)>,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    out: &mut Expanded,
) {
    let is_override = find(event.component, "RECURRENCE-ID").is_some();
    let recurs = !is_override
        && (find(event.component, "RRULE").is_some() || find(event.component, "RDATE").is_some());
    let (starts, limited) = match starts(event, zone, to, from) {
        Ok(found) => found,
        Err(e) => {
            out.notes
                .push(format!("event {}: {e}: left out", event.uid));
            return;
        }
    };
    if limited {
        out.notes.push(format!(
            "event {}: more than {MAX_OCCURRENCES} occurrences in the window; the later ones are left out",
            event.uid
        ));
    }
    for start in starts {
        let end = start + event.length;
        if end <= from || start >= to {
            continue;
        }
        if !is_override && overridden.contains(&(event.uid.clone(), start)) {
            continue;
        }
        let name = if recurs || is_override {
            let id = match find(event.component, "RECURRENCE-ID").map(|p| instant(p, zone)) {
                Some(Ok(id)) => id,
                _ => start,
            };
            format!(
                "{}@{}",
                event.uid,
                id.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )
        } else {
            event.uid.clone()
        };
        out.bookings.push(Booking {
            name,
            origin: Origin::Calendar,
            start,
            end,
            gateways: event.gateways,
            note: event.note.clone(),
        });
    }
}

#[cfg(test)]
mod tests;
