//! A seeded synthetic trace of one working day, for trying configurations
//! when no real trace is at hand. The shape follows what a video-meeting
//! gateway pool sees: a quiet night, a morning peak around 10:00, a lunch
//! dip, an afternoon peak around 14:45 and an evening tail; three calls in
//! ten are scheduled meetings that people join around the top or the half of
//! an hour (most within the minute, some a little early or late), which gives
//! bursts of about 60 arrivals in one minute at 3,500 calls a day; call
//! lengths are log-normal with a median of 45 minutes, and 3 % of calls are
//! failed attempts shorter than a minute (which the simulation drops).

use super::rng::Rng;
use super::trace::Call;
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// What to generate.
#[derive(Debug, Clone)]
pub struct WorkdayOptions {
    /// The local date of the day.
    pub date: NaiveDate,
    /// How many calls (exactly).
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
/// Median call length, in minutes.
const MEDIAN_MINUTES: f64 = 45.0;
/// The longest call generated.
const LONGEST_MINUTES: f64 = 360.0;

fn bump(hour: f64, centre: f64, width: f64) -> f64 {
    (-(hour - centre).powi(2) / (2.0 * width * width)).exp()
}

/// Relative arrival rate at a local hour of the day (0.0 ..= 24.0).
pub fn intensity(hour: f64) -> f64 {
    0.015 + bump(hour, 10.0, 1.2) + 0.85 * bump(hour, 14.75, 1.4) + 0.25 * bump(hour, 17.75, 1.0)
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

/// One synthetic working day, sorted by start time.
pub fn workday(options: &WorkdayOptions) -> Vec<Call> {
    let mut rng = Rng::new(options.seed);
    let midnight = options.date.and_hms_opt(0, 0, 0).unwrap_or_default();
    let minutes = running_sums((0..1440).map(|m| intensity(f64::from(m) / 60.0)));
    // Half-hour marks: the top of the hour draws more meetings than the half.
    let marks = running_sums((0..48).map(|k| {
        let weight = if k % 2 == 0 { 1.0 } else { 0.45 };
        weight * intensity(f64::from(k) / 2.0)
    }));
    let mut calls: Vec<Call> = (0..options.calls)
        .map(|_| {
            let kind = rng.uniform();
            let (offset_seconds, minutes_long) = if kind < MEETING_SHARE {
                let mark = rng.pick(&marks) as f64 * 1800.0;
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
            } else {
                let minute = rng.pick(&minutes) as f64;
                let second = rng.uniform() * 60.0;
                let length = if kind < MEETING_SHARE + SHORT_SHARE {
                    (3.0 + rng.uniform() * 56.0) / 60.0
                } else {
                    rng.log_normal(MEDIAN_MINUTES, 0.8)
                };
                (minute * 60.0 + second, length)
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

    #[test]
    fn same_seed_same_day_other_seed_other_day() {
        assert_eq!(day(1), day(1));
        assert_ne!(day(1), day(2));
        assert_eq!(day(3).len(), 3_500);
    }

    #[test]
    fn looks_like_a_working_day() {
        let calls = day(1);
        let paris = |t: DateTime<Utc>| t.with_timezone(&chrono_tz::Europe::Paris);
        let mut per_minute: HashMap<(u32, u32), u32> = HashMap::new();
        let mut per_hour = [0u32; 24];
        for call in &calls {
            let local = paris(call.start);
            *per_minute
                .entry((local.hour(), local.minute()))
                .or_default() += 1;
            per_hour[local.hour() as usize] += 1;
        }
        let night: u32 = per_hour[0..6].iter().sum();
        assert!(night < 100, "quiet night: {night}");
        assert!(per_hour[10] > 8 * per_hour[3].max(1), "{per_hour:?}");
        assert!(
            per_hour[12] < per_hour[10] && per_hour[12] < per_hour[14],
            "lunch dip: {per_hour:?}"
        );
        let (busiest, most) = per_minute.iter().max_by_key(|(k, v)| (**v, **k)).unwrap();
        assert!((45..=80).contains(most), "{most} arrivals at {busiest:?}");
        assert!(busiest.1 == 0 || busiest.1 == 30, "burst at {busiest:?}");
        let mut lengths: Vec<i64> = calls.iter().map(|c| c.duration().num_seconds()).collect();
        lengths.sort_unstable();
        let median = lengths[lengths.len() / 2];
        assert!((40 * 60..=50 * 60).contains(&median), "median {median} s");
        let short = lengths.iter().filter(|&&s| s < 60).count();
        assert!((50..=160).contains(&short), "{short} calls under a minute");
    }
}
