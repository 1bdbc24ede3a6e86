//! Time slots: which thresholds apply at a given instant. A schedule has a
//! timezone and timelines (`default` and/or one per weekday), each a list of
//! slots starting at a local wall-clock time. The slot in force is the latest
//! one starting at or before the local time of day; before the first slot of
//! a day, the previous day's last slot still applies.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use std::collections::BTreeMap;

pub use crate::model::Slot;

/// One timeline: slots sorted by start time, never empty.
pub type Timeline = Vec<(NaiveTime, Slot)>;

/// A validated schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// Timezone the slot times are written in.
    pub timezone: Tz,
    /// `"default"`, weekday names (`"monday"` ...) and names used by date
    /// exceptions, to timelines.
    pub timelines: BTreeMap<String, Timeline>,
    /// Date exceptions (`[schedule.dates]`), not overlapping.
    pub dates: Vec<DateRule>,
}

/// A date exception: these local dates follow another timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateRule {
    /// First date, inclusive.
    pub from: NaiveDate,
    /// Last date, inclusive.
    pub to: NaiveDate,
    /// The timeline to follow: a weekday name (that weekday's timeline, else
    /// `default`), `default`, or a named timeline.
    pub timeline: String,
}

impl DateRule {
    /// `2026-12-25` or `2026-12-24..2026-12-26`.
    pub fn describe(&self) -> String {
        if self.from == self.to {
            self.from.to_string()
        } else {
            format!("{}..{}", self.from, self.to)
        }
    }
}

/// The slot in force at an instant, and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveSlot {
    /// `"default"` or the weekday name of the timeline used.
    pub timeline: String,
    /// Local start time of the slot.
    pub start: NaiveTime,
    /// The date exception that chose the timeline, if any.
    pub exception: Option<String>,
    /// The thresholds.
    pub slot: Slot,
}

/// Lower-case English weekday names, as used for timeline keys.
pub const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

fn weekday_name(day: Weekday) -> &'static str {
    WEEKDAYS[day.num_days_from_monday() as usize]
}

impl Schedule {
    /// The timeline that governs a local date: a date exception's, else its
    /// weekday's, else `default`; with the exception that applied.
    fn timeline_for(&self, date: NaiveDate) -> Option<(&str, &Timeline, Option<&DateRule>)> {
        let rule = self.dates.iter().find(|r| r.from <= date && date <= r.to);
        let wanted = rule.map_or(weekday_name(date.weekday()), |r| r.timeline.as_str());
        if let Some((name, timeline)) = self.timelines.get_key_value(wanted) {
            return Some((name.as_str(), timeline, rule));
        }
        self.timelines
            .get_key_value("default")
            .map(|(name, timeline)| (name.as_str(), timeline, rule))
    }

    /// Whether every day of the week has a timeline (validation uses this).
    pub fn covers_every_day(&self) -> bool {
        self.timelines.contains_key("default")
            || WEEKDAYS.iter().all(|d| self.timelines.contains_key(*d))
    }

    /// The slot in force at `at`. `None` only for a schedule that does not
    /// cover every day, which validation rejects.
    pub fn slot_at(&self, at: DateTime<Utc>) -> Option<ActiveSlot> {
        let local = at.with_timezone(&self.timezone);
        let date = local.date_naive();
        let time = local.time();
        let (name, timeline, rule) = self.timeline_for(date)?;
        if let Some((start, slot)) = timeline.iter().rev().find(|(start, _)| *start <= time) {
            return Some(active(name, *start, slot, rule));
        }
        // Before the first slot of the day: the last slot of the most recent
        // earlier day applies (the original crashed here).
        let mut day = date;
        for _ in 0..7 {
            day = day.pred_opt()?;
            let (name, timeline, rule) = self.timeline_for(day)?;
            if let Some((start, slot)) = timeline.last() {
                return Some(active(name, *start, slot, rule));
            }
        }
        None
    }

    /// The instant of local wall-clock time `time` today (in the schedule's
    /// timezone, "today" taken at `now`). On a DST gap the time is moved
    /// forward to the first valid instant; on an overlap the earlier is used.
    pub fn today_at(&self, now: DateTime<Utc>, time: NaiveTime) -> DateTime<Utc> {
        let date = now.with_timezone(&self.timezone).date_naive();
        let mut naive = date.and_time(time);
        for _ in 0..240 {
            if let Some(local) = self.timezone.from_local_datetime(&naive).earliest() {
                return local.with_timezone(&Utc);
            }
            naive += chrono::Duration::minutes(1);
        }
        now
    }
}

fn active(name: &str, start: NaiveTime, slot: &Slot, rule: Option<&DateRule>) -> ActiveSlot {
    ActiveSlot {
        timeline: name.to_string(),
        start,
        exception: rule.map(DateRule::describe),
        slot: slot.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(idle_min: u32) -> Slot {
        Slot {
            idle_min,
            load_max: 0.8,
            max_gateways: 100,
            min_gateways: 0,
            sqrt_headroom: 0.0,
            min_available: None,
            max_replicas: None,
        }
    }

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn paris() -> Schedule {
        let mut timelines = BTreeMap::new();
        timelines.insert(
            "default".to_string(),
            vec![(t(0, 0), slot(1)), (t(7, 0), slot(8)), (t(19, 0), slot(2))],
        );
        timelines.insert("saturday".to_string(), vec![(t(9, 0), slot(3))]);
        Schedule {
            timezone: chrono_tz::Europe::Paris,
            timelines,
            dates: Vec::new(),
        }
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn picks_latest_slot_in_local_time() {
        // 2026-11-23 is a Monday; 06:30 UTC is 07:30 in Paris (CET).
        let a = paris().slot_at(utc("2026-11-23T06:30:00Z")).unwrap();
        assert_eq!(
            (a.timeline.as_str(), a.start, a.slot.idle_min),
            ("default", t(7, 0), 8)
        );
        let a = paris().slot_at(utc("2026-11-23T05:59:59Z")).unwrap();
        assert_eq!((a.start, a.slot.idle_min), (t(0, 0), 1));
    }

    #[test]
    fn weekday_timeline_wins_and_before_first_slot_uses_previous_day() {
        // Saturday 2026-11-28 08:00 Paris: before saturday's first slot (09:00),
        // so Friday's (default) last slot, 19:00, applies.
        let a = paris().slot_at(utc("2026-11-28T07:00:00Z")).unwrap();
        assert_eq!(
            (a.timeline.as_str(), a.start, a.slot.idle_min),
            ("default", t(19, 0), 2)
        );
        let a = paris().slot_at(utc("2026-11-28T09:00:00Z")).unwrap();
        assert_eq!((a.timeline.as_str(), a.slot.idle_min), ("saturday", 3));
        // Sunday 00:30 uses default again.
        let a = paris().slot_at(utc("2026-11-28T23:30:00Z")).unwrap();
        assert_eq!((a.timeline.as_str(), a.start), ("default", t(0, 0)));
    }

    #[test]
    fn a_single_late_slot_wraps_to_the_previous_day() {
        let mut timelines = BTreeMap::new();
        timelines.insert("default".to_string(), vec![(t(8, 0), slot(5))]);
        let s = Schedule {
            timezone: chrono_tz::UTC,
            timelines,
            dates: Vec::new(),
        };
        let a = s.slot_at(utc("2026-11-23T03:00:00Z")).unwrap();
        assert_eq!((a.start, a.slot.idle_min), (t(8, 0), 5));
    }

    /// Slot times have seconds (`"07:00:30"`): configuration refuses two
    /// keys for one time, so slots that differ by seconds are distinct.
    #[test]
    fn slots_seconds_apart_are_distinct() {
        let mut timelines = BTreeMap::new();
        let at = |s: u32| NaiveTime::from_hms_opt(7, 0, s).unwrap();
        timelines.insert(
            "default".to_string(),
            vec![(t(0, 0), slot(1)), (at(0), slot(2)), (at(30), slot(3))],
        );
        let s = Schedule {
            timezone: chrono_tz::UTC,
            timelines,
            dates: Vec::new(),
        };
        let idle = |when: &str| s.slot_at(utc(when)).unwrap().slot.idle_min;
        assert_eq!(idle("2026-11-23T06:59:59Z"), 1);
        assert_eq!(idle("2026-11-23T07:00:29Z"), 2);
        assert_eq!(idle("2026-11-23T07:00:30Z"), 3);
        assert_eq!(idle("2026-11-23T23:59:59Z"), 3);
    }

    #[test]
    fn dst_days_use_wall_clock_time() {
        // 2026-03-29: Paris jumps from 02:00 to 03:00. 06:00 UTC = 08:00 CEST.
        let a = paris().slot_at(utc("2026-03-29T06:00:00Z")).unwrap();
        assert_eq!(a.start, t(7, 0));
        // 2026-10-25: back from 03:00 to 02:00. 05:30 UTC = 06:30 CET.
        let a = paris().slot_at(utc("2026-10-25T05:30:00Z")).unwrap();
        assert_eq!(a.start, t(0, 0));
        // A wall-clock time inside the gap moves forward to 03:00 CEST.
        let at = paris().today_at(utc("2026-03-29T12:00:00Z"), t(2, 30));
        assert_eq!(at, utc("2026-03-29T01:00:00Z"));
    }

    #[test]
    fn date_exceptions_choose_the_timeline() {
        let mut s = paris();
        s.timelines
            .insert("holiday".to_string(), vec![(t(0, 0), slot(0))]);
        let date = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
        s.dates = vec![
            DateRule {
                from: date("2026-12-25"),
                to: date("2026-12-25"),
                timeline: "holiday".into(),
            },
            DateRule {
                from: date("2026-12-28"),
                to: date("2026-12-31"),
                timeline: "saturday".into(),
            },
        ];
        // Christmas (a Friday) follows the holiday timeline.
        let a = s.slot_at(utc("2026-12-25T10:00:00Z")).unwrap();
        assert_eq!((a.timeline.as_str(), a.slot.idle_min), ("holiday", 0));
        assert_eq!(a.exception.as_deref(), Some("2026-12-25"));
        // The day after, 08:00 local: saturday's first slot (09:00) is not
        // reached, so the holiday's last slot carries over.
        let a = s.slot_at(utc("2026-12-26T07:00:00Z")).unwrap();
        assert_eq!(
            (a.timeline.as_str(), a.exception.as_deref()),
            ("holiday", Some("2026-12-25"))
        );
        // A range mapped to a weekday follows that weekday's timeline.
        let a = s.slot_at(utc("2026-12-29T12:00:00Z")).unwrap();
        assert_eq!(
            (a.timeline.as_str(), a.exception.as_deref()),
            ("saturday", Some("2026-12-28..2026-12-31"))
        );
        // Outside the exceptions nothing changes.
        let a = s.slot_at(utc("2027-01-04T12:00:00Z")).unwrap();
        assert_eq!((a.timeline.as_str(), a.exception), ("default", None));
    }
}
