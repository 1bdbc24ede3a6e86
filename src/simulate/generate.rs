//! A seeded synthetic trace of one working day, for trying configurations
//! when no real trace is at hand. The shape follows what a video-meeting
//! gateway pool sees: a quiet night, a morning peak, a lunch dip, an
//! afternoon peak and an evening tail; three calls in ten are scheduled
//! meetings that people join around the top or the half of an hour (most
//! within the minute, some a little early or late), which gives bursts of
//! about 60 arrivals in one minute at 3,500 calls a day; call lengths are
//! log-normal with a median of 45 minutes plus a heavy tail of long calls
//! (up to five hours), and 3 % of calls are failed attempts shorter than a
//! minute (which the simulation drops), a few of them written as if by two
//! clocks (ending up to 2 s before they start).
//!
//! Days vary as real ones do, each drawn from its seed: the volume is the
//! typical day's ±30 %, the morning and afternoon peaks each move by up to
//! an hour around 10:00 and 14:45, and the afternoon peak is 55–100 % of
//! the morning one (so it can match it).

use super::rng::Rng;
use super::trace::Call;
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// What to generate.
#[derive(Debug, Clone)]
pub struct WorkdayOptions {
    /// The local date of the day.
    pub date: NaiveDate,
    /// How many calls a typical day has; the day's own volume is within
    /// ±[`VOLUME_SPREAD`] of it.
    pub calls: u32,
    /// The random seed: the same seed gives the same trace.
    pub seed: u64,
    /// The timezone the day's wall-clock shape is in.
    pub timezone: Tz,
}

/// Share of calls that are scheduled meetings joined around :00 or :30.
const MEETING_SHARE: f64 = 0.30;
/// Share of calls shorter than one minute (failed attempts).
const SHORT_SHARE: f64 = 0.03;
/// Share of the failed attempts written with the end before the start.
const SKEWED_SHARE: f64 = 0.07;
/// Share of the other calls that are long (the heavy tail).
const LONG_SHARE: f64 = 0.02;
/// Median call length, in minutes.
const MEDIAN_MINUTES: f64 = 45.0;
/// The longest call generated: five hours.
const LONGEST_MINUTES: f64 = 300.0;
/// How far a day's volume may be from the typical day's.
pub const VOLUME_SPREAD: f64 = 0.30;
/// How far (hours) each peak may move from its usual hour.
const PEAK_SHIFT_HOURS: f64 = 1.0;

fn bump(hour: f64, centre: f64, width: f64) -> f64 {
    (-(hour - centre).powi(2) / (2.0 * width * width)).exp()
}

/// The shape of one day, drawn from its seed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DayShape {
    /// Calls of the day (the typical volume ±30 %).
    pub calls: u32,
    /// Local hour of the morning peak (10:00 ± 1 h).
    pub morning: f64,
    /// Local hour of the afternoon peak (14:45 ± 1 h).
    pub afternoon: f64,
    /// Height of the afternoon peak relative to the morning one (0.55–1).
    pub afternoon_weight: f64,
    /// Height of the evening tail around 17:45 (0.15–0.35).
    pub evening_weight: f64,
}

impl DayShape {
    /// The shape of the day of `seed`, for a typical volume of `calls`.
    pub fn draw(calls: u32, seed: u64) -> DayShape {
        // A stream of its own, so the shape does not shift the calls' draws.
        let mut rng = Rng::new(seed ^ 0x5DEE_CE66_D1CE_4E5B);
        let mut spread = |width: f64| (2.0 * rng.uniform() - 1.0) * width;
        let volume = f64::from(calls) * (1.0 + spread(VOLUME_SPREAD));
        DayShape {
            calls: volume.round().max(0.0) as u32,
            morning: 10.0 + spread(PEAK_SHIFT_HOURS),
            afternoon: 14.75 + spread(PEAK_SHIFT_HOURS),
            afternoon_weight: 0.775 + spread(0.225),
            evening_weight: 0.25 + spread(0.10),
        }
    }

    /// Relative arrival rate at a local hour of the day (0.0 ..= 24.0).
    pub fn intensity(&self, hour: f64) -> f64 {
        0.015
            + bump(hour, self.morning, 1.2)
            + self.afternoon_weight * bump(hour, self.afternoon, 1.4)
            + self.evening_weight * bump(hour, 17.75, 1.0)
    }
}

fn running_sums(weights: impl Iterator<Item = f64>) -> Vec<f64> {
    weights
        .scan(0.0, |sum, w| {
            *sum += w;
            Some(*sum)
        })
        .collect()
}

/// The instant of a local wall-clock time; inside a DST gap, one hour later.
fn instant(timezone: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    timezone
        .from_local_datetime(&local)
        .earliest()
        .or_else(|| {
            timezone
                .from_local_datetime(&(local + Duration::hours(1)))
                .earliest()
        })
        .map_or_else(|| local.and_utc(), |t| t.with_timezone(&Utc))
}

/// A meeting participant: seconds after midnight they join, and minutes
/// they stay.
fn meeting_call(rng: &mut Rng, marks: &[f64]) -> (f64, f64) {
    let mark = rng.pick(marks) as f64 * 1800.0;
    let join = rng.uniform();
    let offset = if join < 0.5 {
        rng.uniform() * 60.0 // within the minute
    } else if join < 0.75 {
        -rng.uniform() * 120.0 // a little early
    } else {
        // late: a minute plus an exponential wait (mean 90 s, at most 9 min)
        60.0 + (-90.0 * (1.0 - rng.uniform()).ln()).min(540.0)
    };
    (mark + offset, rng.log_normal(MEDIAN_MINUTES, 0.45))
}

/// Minutes of a call that is not a meeting: log-normal, or from the heavy
/// tail (Pareto from 90 minutes, shape 1.5, truncated at five hours), or a
/// failed attempt (under a minute; a few of them skewed, ending 1–2 s
/// before they start).
fn other_length(rng: &mut Rng, kind: f64) -> f64 {
    if kind < MEETING_SHARE + SHORT_SHARE {
        if rng.uniform() < SKEWED_SHARE {
            return -(1.0 + (rng.uniform() * 2.0).floor()) / 60.0;
        }
        return (3.0 + rng.uniform() * 56.0) / 60.0;
    }
    if rng.uniform() < LONG_SHARE {
        let beyond = (90.0 / LONGEST_MINUTES).powf(1.5);
        return 90.0 * (1.0 - rng.uniform() * (1.0 - beyond)).powf(-1.0 / 1.5);
    }
    rng.log_normal(MEDIAN_MINUTES, 0.8)
}

/// One synthetic working day, sorted by start time; no two calls have the
/// same start and end (a repeated line would read as a duplicate).
pub fn workday(options: &WorkdayOptions) -> Vec<Call> {
    let shape = DayShape::draw(options.calls, options.seed);
    let mut rng = Rng::new(options.seed);
    let midnight = options.date.and_hms_opt(0, 0, 0).unwrap_or_default();
    let minutes = running_sums((0..1440).map(|m| shape.intensity(f64::from(m) / 60.0)));
    // Half-hour marks: the top of the hour draws more meetings than the half.
    let marks = running_sums((0..48).map(|k| {
        let weight = if k % 2 == 0 { 1.0 } else { 0.45 };
        weight * shape.intensity(f64::from(k) / 2.0)
    }));
    let mut calls: Vec<Call> = (0..shape.calls)
        .map(|_| {
            let kind = rng.uniform();
            let (offset_seconds, minutes_long) = if kind < MEETING_SHARE {
                meeting_call(&mut rng, &marks)
            } else {
                let minute = rng.pick(&minutes) as f64;
                let second = rng.uniform() * 60.0;
                (minute * 60.0 + second, other_length(&mut rng, kind))
            };
            let start = midnight + Duration::seconds(offset_seconds.max(0.0).floor() as i64);
            let length =
                Duration::seconds((minutes_long.min(LONGEST_MINUTES) * 60.0).round() as i64);
            let start = instant(options.timezone, start);
            Call {
                start,
                end: start + length,
            }
        })
        .collect();
    calls.sort_by_key(|c| (c.start, c.end));
    for i in 1..calls.len() {
        let previous = calls[i - 1];
        if calls[i].start == previous.start && calls[i].end <= previous.end {
            calls[i].end = previous.end + Duration::seconds(1);
        }
    }
    calls
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Timelike;
    use std::collections::HashMap;

    fn day(seed: u64) -> Vec<Call> {
        workday(&WorkdayOptions {
            date: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
            calls: 3_500,
            seed,
            timezone: chrono_tz::Europe::Paris,
        })
    }

    fn paris(t: DateTime<Utc>) -> DateTime<Tz> {
        t.with_timezone(&chrono_tz::Europe::Paris)
    }

    /// Arrivals per local hour.
    fn per_hour(calls: &[Call]) -> [u32; 24] {
        let mut hours = [0u32; 24];
        for call in calls {
            hours[paris(call.start).hour() as usize] += 1;
        }
        hours
    }

    #[test]
    fn same_seed_same_day_other_seed_other_day() {
        assert_eq!(day(1), day(1));
        assert_ne!(day(1), day(2));
        assert_eq!(day(3).len() as u32, DayShape::draw(3_500, 3).calls);
    }

    #[test]
    fn looks_like_a_working_day() {
        for seed in [1, 2, 3] {
            let calls = day(seed);
            let hours = per_hour(&calls);
            let night: u32 = hours[0..6].iter().sum();
            assert!(night < 130, "quiet night: {night}");
            let mut per_minute: HashMap<(u32, u32), u32> = HashMap::new();
            for call in &calls {
                let local = paris(call.start);
                *per_minute
                    .entry((local.hour(), local.minute()))
                    .or_default() += 1;
            }
            let (busiest, most) = per_minute.iter().max_by_key(|(k, v)| (**v, **k)).unwrap();
            assert!((30..=110).contains(most), "{most} arrivals at {busiest:?}");
            assert!(busiest.1 == 0 || busiest.1 == 30, "burst at {busiest:?}");
            let mut lengths: Vec<i64> = calls.iter().map(|c| c.duration().num_seconds()).collect();
            lengths.sort_unstable();
            let median = lengths[lengths.len() / 2];
            assert!((40 * 60..=52 * 60).contains(&median), "median {median} s");
            let short = lengths.iter().filter(|&&s| s < 60).count() as f64;
            let share = short / calls.len() as f64;
            assert!(
                (0.02..0.045).contains(&share),
                "{share} of calls under a minute"
            );
        }
    }

    #[test]
    fn days_vary_as_real_days_do() {
        let shapes: Vec<DayShape> = (1..=40).map(|seed| DayShape::draw(3_500, seed)).collect();
        let volumes: Vec<u32> = shapes.iter().map(|s| s.calls).collect();
        assert!(
            volumes.iter().all(|v| (2_450..=4_550).contains(v)),
            "{volumes:?}"
        );
        assert!(
            volumes.iter().any(|&v| v < 2_900) && volumes.iter().any(|&v| v > 4_100),
            "{volumes:?}"
        );
        for s in &shapes {
            assert!(
                (9.0..=11.0).contains(&s.morning) && (13.75..=15.75).contains(&s.afternoon),
                "{s:?}"
            );
        }
        let (early, late) = shapes.iter().fold((24.0, 0.0), |(lo, hi): (f64, f64), s| {
            (lo.min(s.morning), hi.max(s.morning))
        });
        assert!(
            late - early > 1.5,
            "the morning peak moves: {early}..{late}"
        );
        // Some afternoons are as busy as the morning: in the arrivals too.
        let even = (1..=40).find(|&seed| {
            let hours = per_hour(&day(seed));
            let morning = hours[8..12].iter().max().unwrap();
            let afternoon = hours[13..17].iter().max().unwrap();
            f64::from(*afternoon) >= 0.95 * f64::from(*morning)
        });
        assert!(even.is_some(), "no afternoon matched its morning");
    }

    #[test]
    fn long_calls_and_a_few_skewed_lines() {
        let calls: Vec<Call> = (1..=5).flat_map(day).collect();
        let longest = calls
            .iter()
            .map(|c| c.duration().num_minutes())
            .max()
            .unwrap();
        assert!((240..=300).contains(&longest), "longest call {longest} min");
        let over_3h = calls
            .iter()
            .filter(|c| c.duration().num_hours() >= 3)
            .count();
        assert!(over_3h >= 20, "{over_3h} calls of three hours or more");
        let skewed: Vec<i64> = calls
            .iter()
            .filter(|c| c.end < c.start)
            .map(|c| (c.start - c.end).num_seconds())
            .collect();
        assert!(
            !skewed.is_empty() && skewed.len() < calls.len() / 200,
            "{} skewed",
            skewed.len()
        );
        assert!(skewed.iter().all(|s| (1..=2).contains(s)), "{skewed:?}");
    }

    #[test]
    fn the_csv_reads_back_with_the_skewed_lines_noted_and_no_duplicates() {
        let calls = day(4);
        let text = super::super::trace::to_csv(&calls, chrono_tz::Europe::Paris);
        let read = super::super::trace::parse_with(
            &text,
            std::path::Path::new("t"),
            super::super::trace::ReadOptions::default(),
        )
        .unwrap();
        assert_eq!(read.calls.len(), calls.len());
        assert_eq!(read.duplicates.total, 0);
        let skewed = calls.iter().filter(|c| c.end < c.start).count();
        assert_eq!(read.skewed.total, skewed);
    }
}
