//! `scaler schedule suggest`: learns a `[schedule]` from call traces. Slot
//! values are searched and every candidate is checked by replaying the
//! traces through the simulator (`simulate::simulate`, the real planner):
//!
//! 1. the traces are split into local days (schedule timezone); one timeline
//!    is learned per weekday present (when no weekday has two days, one
//!    timeline is learned from all of them and written for each weekday
//!    present: a timeline fitted to a single day does not hold on the
//!    next); every other timeline of the
//!    configuration (`default`, absent weekdays, names `[schedule.dates]`
//!    uses) is kept as it is, so days absent from the traces keep the
//!    configuration's timeline;
//! 2. each day is cut into slots of `--granularity`; per slot, the largest
//!    burst (calls starting within boot delay + jitter + 1 minute) gives a
//!    safe first `idle_min` (at least 1), raised uniformly until the limits
//!    hold on every day;
//! 3. a parallel binary search (`lower`, one routine for any per-slot
//!    integer level between per-slot bounds, given how levels make slots)
//!    lowers every slot's `idle_min` at once (`load_max` 1): each round
//!    halves each slot's interval, replays, and keeps the lowered values of
//!    the slots the rejections are not attributed to (a rejection at `t`
//!    blames the slots in force from `t - window` to `t`); the new candidate
//!    is replayed again before it is kept, so every kept candidate met the
//!    limits on all training days;
//! 4. then `load_max` per slot: every slot keeps `ceil(idle_min ×
//!    IDLE_SHARE)` of its searched value and the same search lowers its
//!    level on the grid `load_max` 0.5, 0.55, … 1 (`load_of`) from the
//!    safest, 0.5, keeping the highest (cheapest) `load_max` per slot that
//!    meets the limits. If the safe start misses calls, the slots blamed for
//!    them get their whole searched `idle_min` back (a few times at most);
//!    if it still misses, only the `idle_min` search is kept;
//! 5. headroom is added for days the search has not seen ([`Headroom`]):
//!    `ceil(idle_min × (1 + margin))`, and `load_max` times a factor below
//!    1 (with the search of step 3 alone, whose `load_max` is 1, that is
//!    one `load_max` for every learned slot; with step 4's, each slot's own
//!    `load_max` divided by `1 + m`), or square-root headroom: every
//!    learned slot gets `sqrt_headroom` β (`ceil(β × √busy)` gateways
//!    more), on step 3's search with `idle_min = ceil(searched × share)`
//!    (a share below 1 is a negative margin) and `load_max` 1, or on step
//!    4's as searched. It is chosen by leave-one-day-out
//!    validation: each day is replayed with the schedules learned (steps 2
//!    to 4) on the other days, for each candidate of both searches
//!    ([`Headroom::candidates`]; when no other day has the held-out day's
//!    weekday, the other days are learned as one timeline that the
//!    held-out day follows, else it would follow the configuration's and
//!    every candidate would replay alike); the one with the fewest held-out
//!    vCPU-hours among those whose held-out days miss at most
//!    `--max-missed` calls and reject at most [`HELD_OUT_REJECTED_SHARE`]
//!    of them is taken (`--margin` fixes the idle margin on step 4's
//!    search, `load_max` as searched; with one day, nothing to hold out,
//!    the margin is [`SINGLE_DAY_MARGIN`] on step 3's), and every
//!    candidate's held-out figures are printed. Adjacent slots with equal `(idle_min, load_max)`
//!    are merged; each slot's comment says what was searched.
//!
//! `max_gateways` is a generous bound (twice the peak of calls, or the peak
//! over the smallest `load_max` if below 0.5, plus the largest `idle_min`).
//! The search and the folds run in parallel.

pub use crate::cli::{MARGINS, ScheduleCommand, SuggestArgs};
use crate::config::{Config, PoolKind};
use crate::error::Error;
use crate::progress::{Progress, Show};
use crate::report::Report;
use crate::schedule::{Slot, Timeline, WEEKDAYS};
use crate::simulate::{self, Settings, trace::Call};
use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Timelike};
use chrono_tz::Tz;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Duration;

/// The most search rounds (each one or two replays of all days).
const MAX_ROUNDS: usize = 24;
/// The most uniform raises of the first candidate.
const MAX_RAISES: usize = 6;
/// The share of calls the held-out days may reject for a margin to serve
/// them (the project's target: 0.2 %).
pub const HELD_OUT_REJECTED_SHARE: f64 = 0.002;
/// The margin with one day (nothing to hold out).
pub const SINGLE_DAY_MARGIN: f64 = 1.0;

/// What the suggestion must keep, summed over the training days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Calls missed.
    pub max_missed: u64,
    /// Rejected attempts (`None`: any).
    pub max_rejected: Option<u64>,
}

impl Limits {
    fn hold(&self, figures: &Figures) -> bool {
        figures.missed <= self.max_missed
            && self.max_rejected.is_none_or(|max| figures.rejected <= max)
    }
}

/// Figures of one candidate replayed on every day.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Figures {
    /// Calls replayed.
    pub calls: u64,
    /// vCPU-hours paid.
    pub vcpu_hours: f64,
    /// The zero-delay lower bound.
    pub lower_bound_vcpu_hours: f64,
    /// Calls missed.
    pub missed: u64,
    /// Rejected attempts.
    pub rejected: u64,
    /// Instances created (churn).
    pub created: u64,
}

impl Figures {
    /// Adds the figures of more days.
    pub fn add(&mut self, other: &Figures) {
        self.calls += other.calls;
        self.vcpu_hours += other.vcpu_hours;
        self.lower_bound_vcpu_hours += other.lower_bound_vcpu_hours;
        self.missed += other.missed;
        self.rejected += other.rejected;
        self.created += other.created;
    }
}

/// A slot position: timeline index, slot index.
type Key = (usize, usize);

/// A replay's figures and the slots blamed.
type Replayed = Result<(Figures, BTreeSet<Key>), Error>;

/// The largest burst that starts in a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Burst {
    /// Calls started within the window.
    pub calls: u32,
    /// When the first of them started (seconds since the epoch).
    pub at: i64,
}

/// For each start (sorted seconds), the calls starting in `[start, start +
/// window)`; per slot (by `slot_of`), the largest such burst, kept in `out`
/// (the earliest wins ties).
pub fn largest_bursts(
    starts: &[i64],
    window: i64,
    slot_of: impl Fn(i64) -> Option<Key>,
    out: &mut BTreeMap<Key, Burst>,
) {
    let mut end = 0;
    for (i, &start) in starts.iter().enumerate() {
        end = end.max(i);
        while end < starts.len() && starts[end] < start + window {
            end += 1;
        }
        let calls = (end - i) as u32;
        if let Some(key) = slot_of(start) {
            let best = out.entry(key).or_default();
            if calls > best.calls {
                *best = Burst { calls, at: start };
            }
        }
    }
}

/// Runs of equal values: `(first index, one past the last)`.
pub fn merge_runs<T: PartialEq>(values: &[T]) -> Vec<(usize, usize)> {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for (i, value) in values.iter().enumerate() {
        match runs.last_mut() {
            Some((first, end)) if values[*first] == *value => *end = i + 1,
            _ => runs.push((i, i + 1)),
        }
    }
    runs
}

/// `ceil(value × (1 + margin))`.
pub fn with_margin(value: u32, margin: f64) -> u32 {
    (f64::from(value) * (1.0 + margin)).ceil() as u32
}

/// One local day of calls.
#[derive(Debug, Clone)]
struct Day {
    date: NaiveDate,
    calls: Vec<Call>,
}

/// The learning problem: days, the timelines learned from them, slots.
#[derive(Clone)]
struct Problem<'a> {
    config: &'a Config,
    timezone: Tz,
    days: Vec<Day>,
    /// Learned timelines: the weekdays present in `days`. Every other
    /// timeline of the configuration is kept as it is.
    names: Vec<String>,
    /// Every day follows one learned timeline, kept under each of `names`:
    /// a fold whose held-out day has a weekday the other days lack.
    pooled: bool,
    slot_minutes: u32,
    slots: usize,
    settings: Settings,
    window_seconds: i64,
    max_gateways: u32,
    /// Counts the days replayed, from every thread.
    progress: Progress,
}

/// The weekday names of `days`, Monday first.
fn weekday_names<'d>(days: impl IntoIterator<Item = &'d Day>) -> Vec<String> {
    let weekdays: BTreeSet<u32> = days
        .into_iter()
        .map(|d| d.date.weekday().num_days_from_monday())
        .collect();
    weekdays
        .iter()
        .map(|d| WEEKDAYS[*d as usize].to_string())
        .collect()
}

impl Problem<'_> {
    /// The problem without day `index` (for leave-one-day-out validation).
    /// When no other day has the held-out day's weekday, its timeline would
    /// be the configuration's and every headroom would replay alike: the
    /// other days are then pooled into one timeline, which the held-out
    /// day follows too.
    fn without_day(&self, index: usize) -> Self {
        let mut sub = self.clone();
        let held_out = sub.days.remove(index);
        sub.names = weekday_names(&sub.days);
        if sub.timeline_of(held_out.date).is_none() {
            sub.names = weekday_names(sub.days.iter().chain([&held_out]));
            sub.pooled = true;
        }
        sub
    }

    /// How many timelines are learned (rows of a candidate).
    fn rows(&self) -> usize {
        if self.pooled { 1 } else { self.names.len() }
    }

    /// The row of a candidate that timeline `names[index]` follows.
    fn row_of(&self, index: usize) -> usize {
        if self.pooled { 0 } else { index }
    }

    fn timeline_of(&self, date: NaiveDate) -> Option<usize> {
        let name = WEEKDAYS[date.weekday().num_days_from_monday() as usize];
        let index = self.names.iter().position(|n| n == name)?;
        Some(if self.pooled { 0 } else { index })
    }

    fn key_at(&self, seconds: i64) -> Option<Key> {
        let local = DateTime::from_timestamp(seconds, 0)?.with_timezone(&self.timezone);
        let minute = local.hour() * 60 + local.minute();
        Some((
            self.timeline_of(local.date_naive())?,
            (minute / self.slot_minutes) as usize,
        ))
    }

    fn slot_start(&self, index: usize) -> NaiveTime {
        let minutes = index as u32 * self.slot_minutes;
        NaiveTime::from_hms_opt(minutes / 60, minutes % 60, 0).unwrap_or(NaiveTime::MIN)
    }

    fn slot(&self, level: Level) -> Slot {
        Slot {
            idle_min: level.idle_min,
            load_max: level.load_max,
            max_gateways: self.max_gateways,
            min_gateways: 0,
            sqrt_headroom: level.sqrt_headroom,
            min_available: None,
            max_replicas: None,
        }
    }

    /// The configuration's timelines that are not learned (kept as they are).
    fn kept(&self) -> Vec<String> {
        self.config
            .schedule
            .timelines
            .keys()
            .filter(|name| !self.names.contains(name))
            .cloned()
            .collect()
    }

    /// The configuration's timelines with the learned ones replaced.
    fn timelines(&self, values: &[Vec<Level>]) -> BTreeMap<String, Timeline> {
        let mut timelines = self.config.schedule.timelines.clone();
        for (t, name) in self.names.iter().enumerate() {
            let row = &values[self.row_of(t)];
            let timeline: Timeline = row
                .iter()
                .enumerate()
                .map(|(i, v)| (self.slot_start(i), self.slot(*v)))
                .collect();
            timelines.insert(name.clone(), timeline);
        }
        timelines
    }

    /// Replays every day with a candidate: the figures, and the slots blamed
    /// for rejections.
    fn evaluate(&self, values: &[Vec<Level>]) -> Result<(Figures, BTreeSet<Key>), Error> {
        self.evaluate_days(values, &self.days, Blame::Rejected)
    }

    /// Replays every day with a candidate: the figures, and the slots blamed
    /// for missed calls.
    fn evaluate_missed(&self, values: &[Vec<Level>]) -> Result<(Figures, BTreeSet<Key>), Error> {
        self.evaluate_days(values, &self.days, Blame::Missed)
    }

    /// Replays `days` with a candidate.
    fn evaluate_days(
        &self,
        values: &[Vec<Level>],
        days: &[Day],
        blame: Blame,
    ) -> Result<(Figures, BTreeSet<Key>), Error> {
        let mut config = self.config.clone();
        config.schedule.timelines = self.timelines(values);
        config.schedule.dates.clear();
        let mut figures = Figures::default();
        let mut blamed = BTreeSet::new();
        for day in days {
            let run = simulate::simulate(&config, &day.calls, &self.settings)?;
            self.progress.advance();
            let s = &run.summary;
            figures.calls += s.calls;
            figures.vcpu_hours += s.vcpu_hours;
            figures.lower_bound_vcpu_hours += s.lower_bound_vcpu_hours;
            figures.missed += s.missed;
            figures.rejected += s.rejected;
            figures.created += s.created;
            let from = run.from.timestamp();
            let blamed_sample = |s: &&simulate::Sample| match blame {
                Blame::Rejected => s.rejected > 0,
                Blame::Missed => s.missed > 0,
            };
            for sample in run.samples.iter().filter(blamed_sample) {
                let at = from + (sample.minute - 1).max(0) * 60;
                let mut back = 0;
                while back <= self.window_seconds {
                    blamed.extend(self.key_at(at - back));
                    back += 60;
                }
            }
        }
        Ok((figures, blamed))
    }
}

/// What blames a slot: rejections or missed calls in the window after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Blame {
    Rejected,
    Missed,
}

/// A finished suggestion.
pub struct Suggestion {
    /// The `[schedule]` TOML with its comments.
    pub toml: String,
    /// The suggested schedule replayed on the training days.
    pub figures: Figures,
    /// Replays of all days the search made.
    pub replays: usize,
}

/// The values of one learned slot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Level {
    /// `idle_min`.
    pub idle_min: u32,
    /// `load_max`.
    pub load_max: f64,
    /// `sqrt_headroom` (β; 0 for none).
    pub sqrt_headroom: f64,
}

/// Slots with `idle_min` alone (`load_max` 1).
fn idle_only(values: &[Vec<u32>]) -> Vec<Vec<Level>> {
    values
        .iter()
        .map(|row| {
            row.iter()
                .map(|&idle_min| Level {
                    idle_min,
                    load_max: 1.0,
                    sqrt_headroom: 0.0,
                })
                .collect()
        })
        .collect()
}

/// What the `load_max` search (step 4) found.
#[derive(Debug, Clone)]
struct PerSlot {
    /// `idle_min` and `load_max` per learned timeline and slot.
    slots: Vec<Vec<Level>>,
    /// Those slots replayed on the days.
    figures: Figures,
}

/// What a search found on a problem's days.
struct Searched {
    /// `idle_min` per learned timeline and slot, `load_max` 1 (steps 2, 3).
    values: Vec<Vec<u32>>,
    /// Those values replayed on the days.
    figures: Figures,
    /// The per-slot `load_max` search (step 4), `None` when its safe start
    /// does not hold.
    per_slot: Option<PerSlot>,
    /// The largest burst per slot.
    bursts: BTreeMap<Key, Burst>,
    /// The largest number of calls in progress on one day.
    peak: u32,
    /// Replays of all days.
    replays: usize,
}

impl Searched {
    /// The slots of the per-slot search, else of the `idle_min` search.
    fn best(&self) -> Vec<Vec<Level>> {
        self.per_slot
            .as_ref()
            .map_or_else(|| idle_only(&self.values), |p| p.slots.clone())
    }
}

/// A generous `max_gateways`: the peak over the smallest `load_max`
/// (at least twice the peak) plus the largest `idle_min` and the largest
/// `ceil(sqrt_headroom × √peak)`, rounded up to tens.
fn generous(peak: u32, slots: &[Vec<Level>]) -> u32 {
    let largest = slots
        .iter()
        .flatten()
        .map(|l| l.idle_min)
        .max()
        .unwrap_or(1);
    let smallest = slots
        .iter()
        .flatten()
        .map(|l| l.load_max)
        .fold(0.5, f64::min);
    let by_load = (f64::from(peak) / smallest).ceil() as u32;
    let beta = slots
        .iter()
        .flatten()
        .map(|l| l.sqrt_headroom)
        .fold(0.0, f64::max);
    let sqrt = (beta * f64::from(peak).sqrt()).ceil() as u32;
    (by_load + largest + sqrt).div_ceil(10) * 10
}

/// The largest burst per slot, and the peak of calls in progress.
fn bursts_and_peak(problem: &Problem<'_>) -> (BTreeMap<Key, Burst>, u32) {
    let mut bursts = BTreeMap::new();
    let mut peak = 0u32;
    for day in &problem.days {
        let starts: Vec<i64> = day.calls.iter().map(|c| c.start.timestamp()).collect();
        let window = problem.window_seconds;
        largest_bursts(&starts, window, |s| problem.key_at(s), &mut bursts);
        let mut sweep: Vec<(i64, i32)> = day
            .calls
            .iter()
            .flat_map(|c| [(c.start.timestamp(), 1), (c.end.timestamp(), -1)])
            .collect();
        sweep.sort_unstable();
        let mut now = 0i32;
        for (_, step) in sweep {
            now += step;
            peak = peak.max(now.max(0) as u32);
        }
    }
    (bursts, peak)
}

/// A safe first `idle_min` per slot: the largest burst, raised uniformly
/// until the limits hold (step 2); the values, their figures and replays.
fn safe_start(
    problem: &mut Problem<'_>,
    limits: &Limits,
    bursts: &BTreeMap<Key, Burst>,
    peak: u32,
) -> Result<(Vec<Vec<u32>>, Figures, usize), Error> {
    let mut values: Vec<Vec<u32>> = (0..problem.rows())
        .map(|t| {
            (0..problem.slots)
                .map(|i| bursts.get(&(t, i)).map_or(1, |b| b.calls.max(1)))
                .collect()
        })
        .collect();
    let mut replays = 0;
    for _ in 0..=MAX_RAISES {
        let slots = idle_only(&values);
        problem.max_gateways = generous(peak, &slots);
        let (figures, _) = problem.evaluate(&slots)?;
        replays += 1;
        if limits.hold(&figures) {
            return Ok((values, figures, replays));
        }
        if replays > MAX_RAISES {
            let largest = values.iter().flatten().copied().max().unwrap_or(1);
            return Err(Error::Usage(format!(
                "no schedule found that keeps missed <= {} and rejected <= {}: even idle_min up to {largest} gives {} missed, {} rejected (check pool.max_vcpus and the instance types)",
                limits.max_missed,
                limits.max_rejected.map_or("any".into(), |m| m.to_string()),
                figures.missed,
                figures.rejected
            )));
        }
        for v in values.iter_mut().flatten() {
            *v += v.div_ceil(2) + 1;
        }
    }
    unreachable!("the loop returns")
}

/// Searches `idle_min` per slot (steps 2 and 3 of the module
/// documentation), then `load_max` per slot (step 4).
fn search(problem: &mut Problem<'_>, limits: &Limits) -> Result<Searched, Error> {
    let (bursts, peak) = bursts_and_peak(problem);
    let (start, figures, mut replays) = safe_start(problem, limits, &bursts, peak)?;
    let mut levels = Levels {
        lo: start.iter().map(|row| vec![1; row.len()]).collect(),
        hi: start,
        figures,
    };
    replays += lower(&mut levels, limits, |v| problem.evaluate(&idle_only(v)))?;
    let mut searched = Searched {
        values: levels.hi,
        figures: levels.figures,
        per_slot: None,
        bursts,
        peak,
        replays,
    };
    search_load(problem, limits, &mut searched)?;
    Ok(searched)
}

/// The `load_max` grid of step 4: level `k` is `1 - k × LOAD_STEP`, level
/// 0 the cheapest.
const LOAD_STEP: f64 = 0.05;
/// The safest level of the grid (`load_max` 0.5).
const LOAD_LEVELS: u32 = 10;
/// The share of the searched `idle_min` a slot keeps while its `load_max`
/// is searched.
pub const IDLE_SHARE: f64 = 0.5;

/// `load_max` of a grid level.
fn load_of(level: u32) -> f64 {
    ((1.0 - f64::from(level) * LOAD_STEP) * 100.0).round() / 100.0
}

/// Step 4: every slot keeps `ceil(searched idle_min × IDLE_SHARE)` and its
/// `load_max` is searched on the grid, from the safest level down; kept
/// when the safe start holds ([`repair`]).
fn search_load(
    problem: &mut Problem<'_>,
    limits: &Limits,
    searched: &mut Searched,
) -> Result<(), Error> {
    let mut idle: Vec<Vec<u32>> = searched
        .values
        .iter()
        .map(|row| {
            row.iter()
                .map(|v| (f64::from(*v) * IDLE_SHARE).ceil() as u32)
                .collect()
        })
        .collect();
    let hi: Vec<Vec<u32>> = idle
        .iter()
        .map(|row| vec![LOAD_LEVELS; row.len()])
        .collect();
    let Some(figures) = repair(problem, limits, searched, &mut idle, &hi)? else {
        return Ok(());
    };
    let slots_of = |levels: &[Vec<u32>]| with_loads(&idle, levels);
    let mut levels = Levels {
        lo: idle.iter().map(|row| vec![0; row.len()]).collect(),
        hi,
        figures,
    };
    searched.replays += lower(&mut levels, limits, |v| problem.evaluate(&slots_of(v)))?;
    searched.per_slot = Some(PerSlot {
        slots: slots_of(&levels.hi),
        figures: levels.figures,
    });
    Ok(())
}

/// Slots of `idle_min` values and `load_max` grid levels.
fn with_loads(idle: &[Vec<u32>], levels: &[Vec<u32>]) -> Vec<Vec<Level>> {
    idle.iter()
        .zip(levels)
        .map(|(row, lv)| {
            row.iter()
                .zip(lv)
                .map(|(&idle_min, &k)| Level {
                    idle_min,
                    load_max: load_of(k),
                    sqrt_headroom: 0.0,
                })
                .collect()
        })
        .collect()
}

/// The safe start of step 4: the reduced `idle_min` at the safest
/// `load_max`; slots blamed for missed calls get their searched `idle_min`
/// back, a few times at most. Its figures, or `None` if it never holds.
fn repair(
    problem: &mut Problem<'_>,
    limits: &Limits,
    searched: &mut Searched,
    idle: &mut [Vec<u32>],
    levels: &[Vec<u32>],
) -> Result<Option<Figures>, Error> {
    for _ in 0..MAX_RAISES {
        let slots = with_loads(idle, levels);
        problem.max_gateways = generous(searched.peak, &slots);
        let (figures, blamed) = problem.evaluate_missed(&slots)?;
        searched.replays += 1;
        if limits.hold(&figures) {
            return Ok(Some(figures));
        }
        let mut restored = false;
        for (t, i) in blamed {
            if idle[t][i] < searched.values[t][i] {
                idle[t][i] = searched.values[t][i];
                restored = true;
            }
        }
        if !restored {
            break;
        }
    }
    Ok(None)
}

/// Per-slot integer levels searched between `lo` and `hi` (inclusive); `hi`
/// always meets the limits, `figures` are its replay's.
#[derive(Debug, Clone)]
struct Levels {
    lo: Vec<Vec<u32>>,
    hi: Vec<Vec<u32>>,
    figures: Figures,
}

/// The parallel binary search (step 3): lowers every slot's level at once
/// towards `lo`, `evaluate` replaying the levels (the figures and the slots
/// blamed for rejections); the replays it made.
fn lower(
    levels: &mut Levels,
    limits: &Limits,
    mut evaluate: impl FnMut(&[Vec<u32>]) -> Replayed,
) -> Result<usize, Error> {
    let mut replays = 0;
    for _ in 0..MAX_ROUNDS {
        let (lo, hi) = (&mut levels.lo, &mut levels.hi);
        let open: Vec<Key> = keys(hi).filter(|&(t, i)| lo[t][i] < hi[t][i]).collect();
        if open.is_empty() {
            break;
        }
        let mut proposal = hi.clone();
        for &(t, i) in &open {
            proposal[t][i] = lo[t][i] + (hi[t][i] - lo[t][i]) / 2;
        }
        let (figures, blamed) = evaluate(&proposal)?;
        replays += 1;
        if limits.hold(&figures) {
            *hi = proposal;
            levels.figures = figures;
            continue;
        }
        let mut candidate = hi.clone();
        let mut lowered = Vec::new();
        for &(t, i) in &open {
            if blamed.contains(&(t, i)) {
                lo[t][i] = proposal[t][i] + 1;
            } else {
                candidate[t][i] = proposal[t][i];
                lowered.push((t, i));
            }
        }
        if lowered.is_empty() {
            continue;
        }
        let (figures, blamed) = evaluate(&candidate)?;
        replays += 1;
        if limits.hold(&figures) {
            *hi = candidate;
            levels.figures = figures;
        } else {
            // The lowered slots interact: those now blamed (all of them when
            // none is) keep their value.
            let guilty: Vec<Key> = lowered
                .iter()
                .copied()
                .filter(|k| blamed.contains(k))
                .collect();
            let guilty = if guilty.is_empty() { lowered } else { guilty };
            for (t, i) in guilty {
                lo[t][i] = (candidate[t][i] + 1).min(hi[t][i]);
            }
        }
    }
    Ok(replays)
}

/// `load_max` rounded down to hundredths (at least 0.01).
fn floor_hundredths(value: f64) -> f64 {
    ((value * 100.0 + 1e-9).floor() / 100.0).max(0.01)
}

/// How the searched slots are widened for days the search has not seen:
/// `idle_min = ceil(searched × (1 + idle))` (a negative `idle` keeps a
/// share of it), `load_max = searched × load_max` (rounded down to
/// hundredths; with the `idle_min` search alone the searched `load_max` is
/// 1, so this is the `load_max` of every learned slot: at least `busy /
/// load_max` gateways) and `sqrt_headroom` β on every learned slot
/// (`ceil(β × √busy)` gateways more).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Headroom {
    /// The margin on `idle_min`.
    pub idle: f64,
    /// The factor on each slot's `load_max`.
    pub load_max: f64,
    /// Whether it widens the per-slot `load_max` search (step 4) rather
    /// than the `idle_min` search alone.
    pub per_slot: bool,
    /// The `sqrt_headroom` (β) of every learned slot; 0 for none.
    pub sqrt: f64,
}

impl Headroom {
    /// The margin on `idle_min` alone, on the `idle_min` search.
    pub fn idle(margin: f64) -> Headroom {
        Headroom {
            idle: margin,
            load_max: 1.0,
            per_slot: false,
            sqrt: 0.0,
        }
    }

    /// Square-root headroom β on `idle_min = ceil(searched × share)`,
    /// `load_max` 1, on the `idle_min` search.
    pub fn sqrt(share: f64, beta: f64) -> Headroom {
        Headroom {
            idle: share - 1.0,
            sqrt: beta,
            ..Headroom::idle(0.0)
        }
    }

    /// The candidates the validation replays: on the `idle_min` search, the
    /// idle margins of [`MARGINS`], then proportional headroom
    /// ([`LOAD_MAXES`]) alone and with small idle margins, then square-root
    /// headroom ([`SQRT_BETAS`]) on the shares of `idle_min` of
    /// [`SQRT_SHARES`]; on the per-slot search, [`PER_SLOT_MARGINS`] with
    /// the factors of [`LOAD_MARGINS`], then [`PER_SLOT_SQRT_BETAS`] with
    /// neither margin; `given` (`--margin`) added when absent.
    pub fn candidates(given: Option<f64>) -> Vec<Headroom> {
        let mut all: Vec<Headroom> = MARGINS.iter().map(|&m| Headroom::idle(m)).collect();
        for idle in [0.0, 0.25, 0.5] {
            for load_max in LOAD_MAXES {
                all.push(Headroom {
                    load_max,
                    ..Headroom::idle(idle)
                });
            }
        }
        for share in SQRT_SHARES {
            for beta in SQRT_BETAS {
                all.push(Headroom::sqrt(share, beta));
            }
        }
        for idle in PER_SLOT_MARGINS {
            for margin in LOAD_MARGINS {
                all.push(Headroom {
                    load_max: 1.0 / (1.0 + margin),
                    ..Headroom::given(idle)
                });
            }
        }
        for beta in PER_SLOT_SQRT_BETAS {
            all.push(Headroom {
                sqrt: beta,
                ..Headroom::given(0.0)
            });
        }
        if let Some(given) = given {
            let fixed = Headroom::given(given);
            if !all.contains(&fixed) {
                all.push(fixed);
            }
        }
        all
    }

    /// `--margin`: the margin on the per-slot search (the `idle_min` search
    /// alone where the per-slot search was not kept), `load_max` as searched.
    pub fn given(margin: f64) -> Headroom {
        Headroom {
            per_slot: true,
            ..Headroom::idle(margin)
        }
    }

    /// The searched slots widened.
    fn apply(&self, searched: &Searched) -> Vec<Vec<Level>> {
        let base = if self.per_slot {
            searched.best()
        } else {
            idle_only(&searched.values)
        };
        base.iter()
            .map(|row| {
                row.iter()
                    .map(|l| Level {
                        idle_min: with_margin(l.idle_min, self.idle),
                        load_max: floor_hundredths(l.load_max * self.load_max),
                        sqrt_headroom: self.sqrt,
                    })
                    .collect()
            })
            .collect()
    }
}

impl std::fmt::Display for Headroom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.per_slot {
            write!(
                f,
                "per-slot load_max, margin {}, load_max x {}",
                self.idle,
                floor_hundredths(self.load_max)
            )?;
        } else {
            write!(f, "margin {}, load_max {}", self.idle, self.load_max)?;
        }
        if self.sqrt > 0.0 {
            write!(f, ", sqrt_headroom {}", self.sqrt)?;
        }
        Ok(())
    }
}

/// Proportional headroom the validation tries on the `idle_min` search
/// (`load_max` of the learned slots): 10 %, 20 %, 30 % and 50 % above the
/// busy count.
pub const LOAD_MAXES: [f64; 4] = [0.9, 0.83, 0.77, 0.67];
/// Idle margins the validation tries on the per-slot search.
pub const PER_SLOT_MARGINS: [f64; 5] = [0.0, 0.25, 0.5, 1.0, 2.0];
/// Load margins `m` the validation tries on the per-slot search: each
/// slot's `load_max` becomes `load_max / (1 + m)`.
pub const LOAD_MARGINS: [f64; 6] = [0.0, 0.03, 0.05, 0.1, 0.2, 0.3];
/// Shares of the searched `idle_min` kept under square-root headroom on
/// the `idle_min` search (`idle_min = ceil(searched × share)`).
pub const SQRT_SHARES: [f64; 3] = [0.25, 0.5, 1.0];
/// Square-root headroom β the validation tries on the `idle_min` search
/// (`load_max` 1): `ceil(β × √busy)` gateways above `busy + idle_min`.
pub const SQRT_BETAS: [f64; 4] = [1.0, 2.0, 3.0, 4.0];
/// Square-root headroom β the validation tries on the per-slot search
/// (idle margin 0, each slot's `load_max` as searched).
pub const PER_SLOT_SQRT_BETAS: [f64; 2] = [1.0, 2.0];
/// One headroom's figures on the held-out days.
#[derive(Debug, Clone, Copy)]
pub struct HeldOut {
    /// The headroom.
    pub headroom: Headroom,
    /// Every day replayed with the schedule learned on the others.
    pub figures: Figures,
}

impl HeldOut {
    /// Whether the margin served the held-out days: at most `max_missed`
    /// missed calls and [`HELD_OUT_REJECTED_SHARE`] of calls rejected.
    pub fn serves(&self, max_missed: u64) -> bool {
        self.figures.missed <= max_missed
            && (self.figures.rejected as f64) <= HELD_OUT_REJECTED_SHARE * self.figures.calls as f64
    }
}

/// Runs `job(0)` to `job(n - 1)` on up to the machine's cores, each job
/// once; the results in job order (so the figures do not depend on the
/// scheduling).
fn in_parallel<T: Send>(n: usize, job: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(n);
    if threads <= 1 {
        return (0..n).map(job).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<(usize, T)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= n {
                            break done;
                        }
                        done.push((i, job(i)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a search thread panicked"))
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// The validation's figures per candidate, and the replays it took.
type Validation = (Vec<HeldOut>, usize);

/// One fold of the validation: the search on every day but `index`, then
/// that day replayed for each margin.
fn fold(
    problem: &Problem<'_>,
    limits: &Limits,
    margins: &[Headroom],
    index: usize,
) -> Result<(Vec<Figures>, usize), Error> {
    let mut sub = problem.without_day(index);
    let searched = search(&mut sub, limits)?;
    let day = std::slice::from_ref(&problem.days[index]);
    let mut figures = Vec::with_capacity(margins.len());
    for headroom in margins {
        let slots = headroom.apply(&searched);
        sub.max_gateways = generous(searched.peak, &slots);
        figures.push(sub.evaluate_days(&slots, day, Blame::Rejected)?.0);
    }
    Ok((figures, searched.replays + margins.len()))
}

/// The search on all days (job 0) and, with two days or more, the
/// leave-one-day-out validation (one fold per day), run in parallel: the
/// search, and per margin the held-out figures summed over the days with
/// the replays they took.
fn search_and_validate(
    problem: &Problem<'_>,
    limits: &Limits,
    margins: &[Headroom],
) -> Result<(Searched, Option<Validation>), Error> {
    let days = problem.days.len();
    let folds = if days >= 2 { days } else { 0 };
    let mut results = in_parallel(folds + 1, |job| {
        if job == 0 {
            let mut all = problem.clone();
            search(&mut all, limits).map(|s| (Some(s), Vec::new(), 0))
        } else {
            fold(problem, limits, margins, job - 1).map(|(f, r)| (None, f, r))
        }
    })
    .into_iter();
    let (searched, _, _) = results.next().expect("job 0")?;
    let searched = searched.expect("job 0 searches");
    if folds == 0 {
        return Ok((searched, None));
    }
    let mut held: Vec<HeldOut> = margins
        .iter()
        .map(|&headroom| HeldOut {
            headroom,
            figures: Figures::default(),
        })
        .collect();
    let mut replays = 0;
    for result in results {
        let (_, figures, r) = result?;
        replays += r;
        for (out, f) in held.iter_mut().zip(&figures) {
            out.figures.add(f);
        }
    }
    Ok((searched, Some((held, replays))))
}

/// The headroom: the margin given, else the cheapest (held-out
/// vCPU-hours) that serves the held-out days, else (none does) the one
/// that misses fewest calls, then rejects fewest.
fn choose_margin(given: Option<f64>, held: Option<&[HeldOut]>, max_missed: u64) -> Headroom {
    if let Some(margin) = given {
        return Headroom::given(margin);
    }
    let Some(held) = held else {
        return Headroom::idle(SINGLE_DAY_MARGIN);
    };
    let cheapest = held
        .iter()
        .filter(|h| h.serves(max_missed))
        .min_by(|a, b| a.figures.vcpu_hours.total_cmp(&b.figures.vcpu_hours));
    if let Some(out) = cheapest {
        return out.headroom;
    }
    held.iter()
        .min_by_key(|h| (h.figures.missed, h.figures.rejected))
        .map_or(Headroom::idle(SINGLE_DAY_MARGIN), |h| h.headroom)
}

/// Splits the traces into local days (days of different files stay apart,
/// even on the same date), calls shorter than a minute left out.
fn days_of(traces: &[(String, Vec<Call>)], timezone: Tz) -> Result<Vec<Day>, Error> {
    let shortest = chrono::Duration::from_std(simulate::SHORTEST_CALL).unwrap_or_default();
    let mut by_date: BTreeMap<(NaiveDate, usize), Vec<Call>> = BTreeMap::new();
    for (file, (_, calls)) in traces.iter().enumerate() {
        for call in calls.iter().filter(|c| c.duration() >= shortest) {
            let date = call.start.with_timezone(&timezone).date_naive();
            by_date.entry((date, file)).or_default().push(*call);
        }
    }
    if by_date.is_empty() {
        return Err(Error::Usage(
            "the traces have no call of one minute or longer".into(),
        ));
    }
    Ok(by_date
        .into_iter()
        .map(|((date, _), mut calls)| {
            calls.sort_by_key(|c| (c.start, c.end));
            Day { date, calls }
        })
        .collect())
}

fn check_args(args: &SuggestArgs) -> Result<(), Error> {
    let granularity = args.granularity.as_secs();
    if granularity < 60
        || !granularity.is_multiple_of(60)
        || !1440u64.is_multiple_of(granularity / 60)
    {
        return Err(Error::Usage(format!(
            "--granularity must be whole minutes dividing a day (15m, 30m, 1h ...), got {}",
            crate::duration::HumanDuration(args.granularity)
        )));
    }
    if let Some(margin) = args.margin
        && !(0.0..=10.0).contains(&margin)
    {
        return Err(Error::Usage(format!(
            "--margin must be between 0 and 10, got {margin}"
        )));
    }
    Ok(())
}

/// Learns a schedule from `traces` (each a list of calls, named for the
/// header) for `config`; `progress` counts the days replayed.
pub fn suggest(
    config: &Config,
    traces: &[(String, Vec<Call>)],
    args: &SuggestArgs,
    progress: Progress,
) -> Result<Suggestion, Error> {
    let margins = Headroom::candidates(args.margin);
    suggest_among(config, traces, args, &margins, progress)
}

/// [`suggest`] with the headroom chosen among `margins`.
fn suggest_among(
    config: &Config,
    traces: &[(String, Vec<Call>)],
    args: &SuggestArgs,
    margins: &[Headroom],
    progress: Progress,
) -> Result<Suggestion, Error> {
    check_args(args)?;
    let timezone = config.schedule.timezone;
    let days = days_of(traces, timezone)?;
    let slot_minutes = (args.granularity.as_secs() / 60) as u32;
    let names = weekday_names(&days);
    let mut problem = Problem {
        config,
        timezone,
        pooled: days.len() >= 2 && names.len() == days.len(),
        names,
        days,
        slot_minutes,
        slots: (1440 / slot_minutes) as usize,
        settings: Settings {
            from: None,
            to: None,
            boot_delay: args.boot_delay,
            boot_jitter: args.boot_jitter,
            seed: args.seed,
            vcpu_hour_price: 1.0,
            reservations: Vec::new(),
        },
        window_seconds: (args.boot_delay + args.boot_jitter).as_secs() as i64 + 60,
        max_gateways: 0,
        progress,
    };
    let limits = Limits {
        max_missed: args.max_missed,
        max_rejected: args.max_rejected,
    };
    let (searched, validation) = search_and_validate(&problem, &limits, margins)?;
    let held = validation.as_ref().map(|(held, _)| held.as_slice());
    let margin = choose_margin(args.margin, held, args.max_missed);
    let suggested = margin.apply(&searched);
    problem.max_gateways = generous(searched.peak, &suggested);
    let (figures, _) = problem.evaluate(&suggested)?;
    let replays = searched.replays + 1 + validation.as_ref().map_or(0, |(_, r)| *r);
    let toml = render(
        &problem,
        traces,
        args,
        &searched,
        &suggested,
        Outcome {
            margin,
            held,
            figures: &figures,
            replays,
        },
    );
    Ok(Suggestion {
        toml,
        figures,
        replays,
    })
}

/// What the header reports besides the searched values.
struct Outcome<'a> {
    margin: Headroom,
    held: Option<&'a [HeldOut]>,
    figures: &'a Figures,
    replays: usize,
}

fn keys(values: &[Vec<u32>]) -> impl Iterator<Item = Key> + '_ {
    values
        .iter()
        .enumerate()
        .flat_map(|(t, row)| (0..row.len()).map(move |i| (t, i)))
}

fn describe_limits(args: &SuggestArgs) -> String {
    format!(
        "missed <= {}, rejected <= {}",
        args.max_missed,
        args.max_rejected.map_or("any".into(), |m| m.to_string())
    )
}

fn figures_line(f: &Figures) -> String {
    let ratio = if f.lower_bound_vcpu_hours > 0.0 {
        format!("{:.2}", f.vcpu_hours / f.lower_bound_vcpu_hours)
    } else {
        "n/a".into()
    };
    format!(
        "{:.1} vCPU-hours (lower bound {:.1}, ratio {ratio}), {} missed, {} rejected, {} instances created",
        f.vcpu_hours, f.lower_bound_vcpu_hours, f.missed, f.rejected, f.created
    )
}

fn render(
    problem: &Problem<'_>,
    traces: &[(String, Vec<Call>)],
    args: &SuggestArgs,
    searched: &Searched,
    suggested: &[Vec<Level>],
    outcome: Outcome<'_>,
) -> String {
    let mut out = header(problem, traces, args, searched, &outcome);
    let _ = writeln!(out, "[schedule]");
    let _ = writeln!(out, "timezone = \"{}\"", problem.timezone.name());
    for (index, name) in problem.names.iter().enumerate() {
        let t = problem.row_of(index);
        let _ = writeln!(out, "[schedule.{name}]");
        for (first, end) in merge_runs(&suggested[t]) {
            let start = problem.slot_start(first);
            let until = if end == problem.slots {
                "24:00".to_string()
            } else {
                problem.slot_start(end).format("%H:%M").to_string()
            };
            let level = suggested[t][first];
            let sqrt = if level.sqrt_headroom > 0.0 {
                format!(", sqrt_headroom {}", level.sqrt_headroom)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "# {}-{until}: idle_min {}, load_max {}{sqrt} ({}); {}",
                start.format("%H:%M"),
                level.idle_min,
                level.load_max,
                searched_note(searched, &outcome.margin, t, first..end),
                burst_note(problem, &searched.bursts, t, first..end)
            );
            let _ = writeln!(
                out,
                "\"{}\" = {{ idle_min = {}, load_max = {}, max_gateways = {}{} }}",
                start.format("%H:%M"),
                level.idle_min,
                toml_float(level.load_max),
                problem.max_gateways,
                sqrt_key(level.sqrt_headroom)
            );
        }
    }
    for name in problem.kept() {
        let _ = writeln!(out, "[schedule.{name}]    # kept from the configuration");
        for (start, slot) in &problem.config.schedule.timelines[&name] {
            let _ = writeln!(
                out,
                "\"{}\" = {{ idle_min = {}, load_max = {}, max_gateways = {}, min_gateways = {}{} }}",
                hh_mm(*start),
                slot.idle_min,
                toml_float(slot.load_max),
                slot.max_gateways,
                slot.min_gateways,
                sqrt_key(slot.sqrt_headroom)
            );
        }
    }
    out
}

/// `, sqrt_headroom = β` for a slot that has one (β > 0), else nothing.
fn sqrt_key(beta: f64) -> String {
    if beta > 0.0 {
        format!(", sqrt_headroom = {}", toml_float(beta))
    } else {
        String::new()
    }
}

/// `HH:MM`, or `HH:MM:SS` when the seconds are not zero.
fn hh_mm(time: NaiveTime) -> String {
    if time.second() == 0 {
        time.format("%H:%M").to_string()
    } else {
        time.format("%H:%M:%S").to_string()
    }
}

/// A float as TOML writes it (always with a decimal point).
fn toml_float(value: f64) -> String {
    let text = value.to_string();
    if text.contains('.') || text.contains('e') {
        text
    } else {
        format!("{text}.0")
    }
}

/// What was searched for slots `range` of timeline `t` (the largest
/// `idle_min`, the smallest `load_max` of the range).
fn searched_note(
    searched: &Searched,
    margin: &Headroom,
    t: usize,
    range: std::ops::Range<usize>,
) -> String {
    let idle = searched.values[t][range.clone()]
        .iter()
        .max()
        .copied()
        .unwrap_or(1);
    let alone = format!("searched: idle_min {idle} with load_max 1");
    match &searched.per_slot {
        Some(per_slot) if margin.per_slot => {
            let slots = &per_slot.slots[t][range];
            let idle = slots.iter().map(|l| l.idle_min).max().unwrap_or(1);
            let load = slots.iter().map(|l| l.load_max).fold(1.0, f64::min);
            format!("{alone}, then load_max {load} with idle_min {idle}")
        }
        Some(_) => format!("{alone}; the per-slot load_max search is not used"),
        None => format!("{alone}; the per-slot load_max search was not kept"),
    }
}

/// Why slots `range` of timeline `t` start where they do.
fn burst_note(
    problem: &Problem<'_>,
    bursts: &BTreeMap<Key, Burst>,
    t: usize,
    range: std::ops::Range<usize>,
) -> String {
    let burst = range
        .filter_map(|i| bursts.get(&(t, i)))
        .max_by_key(|b| (b.calls, std::cmp::Reverse(b.at)));
    match burst {
        Some(b) => {
            let at = DateTime::from_timestamp(b.at, 0)
                .map(|d| {
                    d.with_timezone(&problem.timezone)
                        .format("%Y-%m-%d %H:%M")
                        .to_string()
                })
                .unwrap_or_default();
            format!(
                "largest burst: {} calls started within {} ({at})",
                b.calls,
                crate::duration::HumanDuration(Duration::from_secs(problem.window_seconds as u64))
            )
        }
        None => "no call started in these slots (floor of 1)".to_string(),
    }
}

/// The comment lines above `[schedule]`.
fn header(
    problem: &Problem<'_>,
    traces: &[(String, Vec<Call>)],
    args: &SuggestArgs,
    searched: &Searched,
    outcome: &Outcome<'_>,
) -> String {
    let mut out = String::new();
    let files: Vec<&str> = traces.iter().map(|(name, _)| name.as_str()).collect();
    let date = |d: Option<&Day>| d.map(|d| d.date.to_string()).unwrap_or_default();
    let _ = writeln!(
        out,
        "# Suggested by `scaler schedule suggest` from {} day(s) of calls, {} to {} ({}).",
        problem.days.len(),
        date(problem.days.first()),
        date(problem.days.last()),
        files.join(", ")
    );
    let _ = writeln!(
        out,
        "# Slots of {}, boot {} + up to {}, seed {}; limits over those days: {}.",
        crate::duration::HumanDuration(args.granularity),
        crate::duration::HumanDuration(args.boot_delay),
        crate::duration::HumanDuration(args.boot_jitter),
        args.seed,
        describe_limits(args)
    );
    let _ = writeln!(
        out,
        "# Searched ({} replays of every day in all): {}.",
        outcome.replays,
        figures_line(&searched.figures)
    );
    let _ = match &searched.per_slot {
        Some(p) => writeln!(
            out,
            "# Then load_max per slot (idle_min = ceil(searched x {IDLE_SHARE})): {}.",
            figures_line(&p.figures)
        ),
        None => writeln!(
            out,
            "# Then load_max per slot (idle_min = ceil(searched x {IDLE_SHARE})): not kept (even load_max {} fails the limits).",
            load_of(LOAD_LEVELS)
        ),
    };
    held_out_lines(&mut out, args, outcome);
    let m = &outcome.margin;
    let base = if m.per_slot && searched.per_slot.is_some() {
        "the per-slot search"
    } else {
        "the idle_min search"
    };
    let sqrt = if m.sqrt > 0.0 {
        format!(", sqrt_headroom {}", m.sqrt)
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "# With the headroom ({base}, idle_min x {}, load_max x {}{sqrt}): {}.",
        1.0 + m.idle,
        floor_hundredths(m.load_max),
        figures_line(outcome.figures)
    );
    timelines_note(&mut out, problem);
    out
}

/// Which timelines are learned, how, and which are kept.
fn timelines_note(out: &mut String, problem: &Problem<'_>) {
    let kept = problem.kept();
    if problem.pooled {
        let _ = writeln!(
            out,
            "# No weekday has two days of calls: one timeline is learned from all the days and written for each of {} (give several days of a weekday to learn its own).",
            problem.names.join(", ")
        );
    }
    if !kept.is_empty() {
        let _ = writeln!(
            out,
            "# Learned: {}. Days absent from the traces keep the configuration's timelines: {} (copied unchanged below).",
            problem.names.join(", "),
            kept.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "# Replaces the [schedule] section of {}; date exceptions ([schedule.dates]) are not learned: keep yours.",
        problem.config.path.display()
    );
}

/// The held-out figures of each margin, and how the margin was chosen.
fn held_out_lines(out: &mut String, args: &SuggestArgs, outcome: &Outcome<'_>) {
    let Some(held) = outcome.held else {
        let _ = writeln!(
            out,
            "# One day: no leave-one-day-out validation; margin {}{}.",
            outcome.margin.idle,
            if args.margin.is_some() {
                " (--margin)"
            } else {
                " (the default for one day)"
            }
        );
        return;
    };
    let _ = writeln!(
        out,
        "# Leave-one-day-out validation (each day replayed with the schedule learned on the others):"
    );
    for h in held {
        let share = if h.figures.calls > 0 {
            100.0 * h.figures.rejected as f64 / h.figures.calls as f64
        } else {
            0.0
        };
        let _ = writeln!(
            out,
            "#   {}: {} calls, {} missed, {} rejected ({share:.2} %), ratio {}{}",
            h.headroom,
            h.figures.calls,
            h.figures.missed,
            h.figures.rejected,
            ratio(&h.figures),
            if h.headroom == outcome.margin {
                "  <- used"
            } else {
                ""
            }
        );
    }
    let how = if args.margin.is_some() {
        "given by --margin".to_string()
    } else if held
        .iter()
        .any(|h| h.headroom == outcome.margin && h.serves(args.max_missed))
    {
        format!(
            "the cheapest (held-out vCPU-hours) that keeps the held-out days within {} missed and {} % rejected",
            args.max_missed,
            HELD_OUT_REJECTED_SHARE * 100.0
        )
    } else {
        format!(
            "no margin keeps the held-out days within {} missed and {} % rejected: the one with the fewest missed calls",
            args.max_missed,
            HELD_OUT_REJECTED_SHARE * 100.0
        )
    };
    let _ = writeln!(out, "# Used {}: {how}.", outcome.margin);
}

fn ratio(f: &Figures) -> String {
    if f.lower_bound_vcpu_hours > 0.0 {
        format!("{:.3}", f.vcpu_hours / f.lower_bound_vcpu_hours)
    } else {
        "n/a".into()
    }
}

/// `scaler schedule suggest`: its report holds the suggested `[schedule]`
/// (`toml`), which text mode prints as it is; the days replayed are counted
/// on stderr as `show` says.
pub fn command(
    command: &ScheduleCommand,
    config_path: &std::path::Path,
    show: Show,
) -> Result<Report, Error> {
    let ScheduleCommand::Suggest(args) = command;
    let suggestion = command_suggest(args, config_path, show)?;
    let mut report = Report::new(NAME);
    report.toml = Some(suggestion.toml);
    Ok(report)
}

/// The command's name in its report.
pub const NAME: &str = "schedule suggest";

fn command_suggest(
    args: &SuggestArgs,
    config_path: &std::path::Path,
    show: Show,
) -> Result<Suggestion, Error> {
    let config = crate::config::load(config_path)?;
    if config.pool.kind == PoolKind::Replicas {
        return Err(Error::Config(format!(
            "{}: schedule suggest replays calls on gateways: pool.kind must be \"sip\" or \"media\"",
            config.path.display()
        )));
    }
    crate::config::check_instance_types(&config.instance_types, config.pool.cpu_per_gateway)
        .map_err(|e| {
            Error::Config(format!(
                "{}: schedule suggest sizes instances from provider.instance_types: {e}",
                config.path.display()
            ))
        })?;
    let mut traces = Vec::new();
    for path in &args.trace {
        let calls = simulate::trace::read(path).map_err(|e| Error::Usage(e.to_string()))?;
        traces.push((path.display().to_string(), calls));
    }
    let progress = Progress::counter(show, NAME, "day(s) replayed");
    suggest(&config, &traces, args, progress)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_count_starts_within_the_window_per_slot() {
        // Slots of 100 s; window 60 s.
        let starts = [0, 10, 20, 30, 90, 100, 150, 155, 159, 170, 400];
        let mut out = BTreeMap::new();
        largest_bursts(&starts, 60, |s| Some((0, (s / 100) as usize)), &mut out);
        // From 0: 0,10,20,30 (90 is outside [0,60)) = 4.
        assert_eq!(out[&(0, 0)], Burst { calls: 4, at: 0 });
        // From 100: 100,150,155,159 = 4; from 150: 150,155,159,170 = 4; earliest wins.
        assert_eq!(out[&(0, 1)], Burst { calls: 4, at: 100 });
        assert_eq!(out[&(0, 4)], Burst { calls: 1, at: 400 });
        assert!(!out.contains_key(&(0, 2)));
        // A second day keeps the larger burst.
        largest_bursts(
            &[1000, 1001, 1002, 1003, 1004],
            60,
            |_| Some((0, 1)),
            &mut out,
        );
        assert_eq!(out[&(0, 1)], Burst { calls: 5, at: 1000 });
    }

    #[test]
    fn bursts_skip_starts_outside_every_slot() {
        let mut out = BTreeMap::new();
        largest_bursts(&[0, 1, 2], 60, |s| (s > 0).then_some((0, 0)), &mut out);
        assert_eq!(out[&(0, 0)], Burst { calls: 2, at: 1 });
    }

    #[test]
    fn equal_neighbours_merge() {
        assert_eq!(
            merge_runs(&[1, 1, 3, 3, 3, 1]),
            vec![(0, 2), (2, 5), (5, 6)]
        );
        assert_eq!(merge_runs::<u32>(&[]), Vec::<(usize, usize)>::new());
        assert_eq!(merge_runs(&[7]), vec![(0, 1)]);
    }

    fn held(margin: f64, calls: u64, missed: u64, rejected: u64) -> HeldOut {
        HeldOut {
            headroom: Headroom::idle(margin),
            figures: Figures {
                calls,
                missed,
                rejected,
                vcpu_hours: 100.0 + margin * 10.0,
                ..Figures::default()
            },
        }
    }

    #[test]
    fn the_cheapest_headroom_that_serves_the_held_out_days_wins() {
        let outs = [
            held(0.0, 10_000, 3, 20),
            held(0.5, 10_000, 0, 21),
            held(1.0, 10_000, 0, 20),
            held(2.0, 10_000, 0, 2),
        ];
        // 0.2 % of 10,000 calls: 20 rejected at most.
        assert_eq!(choose_margin(None, Some(&outs), 0).idle, 1.0);
        assert_eq!(choose_margin(None, Some(&outs), 3).idle, 0.0);
        assert_eq!(choose_margin(Some(0.25), Some(&outs), 0).idle, 0.25);
        assert_eq!(choose_margin(None, None, 0).idle, SINGLE_DAY_MARGIN);
        // Proportional headroom that serves for fewer vCPU-hours wins.
        let mut with_load = outs.to_vec();
        let mut load = held(0.0, 10_000, 0, 10);
        load.headroom.load_max = 0.9;
        load.figures.vcpu_hours = 105.0;
        with_load.push(load);
        assert_eq!(choose_margin(None, Some(&with_load), 0), load.headroom);
        // A per-slot candidate that serves for fewer vCPU-hours wins over both.
        let mut per_slot = held(0.25, 10_000, 0, 15);
        per_slot.headroom.per_slot = true;
        per_slot.figures.vcpu_hours = 104.0;
        with_load.push(per_slot);
        assert_eq!(choose_margin(None, Some(&with_load), 0), per_slot.headroom);
        // One that rejects too many held-out calls does not, however cheap.
        with_load.last_mut().expect("pushed").figures.rejected = 21;
        assert_eq!(choose_margin(None, Some(&with_load), 0), load.headroom);
        assert_eq!(choose_margin(Some(0.25), None, 0), Headroom::given(0.25));
        // None serves: the fewest missed, then the fewest rejected.
        let none = [
            held(0.0, 100, 5, 9),
            held(1.0, 100, 1, 9),
            held(2.0, 100, 1, 8),
        ];
        assert_eq!(choose_margin(None, Some(&none), 0).idle, 2.0);
    }

    /// A synthetic replay: slot `(t, i)` misses a call and is blamed when
    /// its level is below `need[t][i]`.
    fn synthetic(need: &[Vec<u32>]) -> impl FnMut(&[Vec<u32>]) -> Replayed + '_ {
        |levels| {
            let blamed: BTreeSet<Key> = keys(levels)
                .filter(|&(t, i)| levels[t][i] < need[t][i])
                .collect();
            let figures = Figures {
                missed: blamed.len() as u64,
                rejected: blamed.len() as u64,
                vcpu_hours: levels.iter().flatten().map(|&v| f64::from(v)).sum(),
                ..Figures::default()
            };
            Ok((figures, blamed))
        }
    }

    #[test]
    fn the_parallel_search_finds_each_slot_s_own_level() {
        let need = vec![vec![3, 0, 7, 10], vec![5, 1]];
        let limits = Limits {
            max_missed: 0,
            max_rejected: None,
        };
        // Any integer level with per-slot bounds: `lo` 0 for the first
        // timeline, 1 for the second; `hi` (safe) differs per slot.
        let mut levels = Levels {
            lo: vec![vec![0; 4], vec![1; 2]],
            hi: vec![vec![10, 4, 9, 10], vec![16, 12]],
            figures: Figures::default(),
        };
        let replays = lower(&mut levels, &limits, synthetic(&need)).expect("search");
        assert_eq!(levels.hi, need);
        assert_eq!(levels.figures.missed, 0);
        assert_eq!(levels.figures.vcpu_hours, 26.0);
        assert!(
            replays <= 2 * 5,
            "{replays} replays for intervals of at most 16"
        );
        // A level at its lower bound stays there; `hi` is never raised.
        let mut tight = Levels {
            lo: vec![vec![2, 0]],
            hi: vec![vec![2, 0]],
            figures: Figures::default(),
        };
        let replays = lower(&mut tight, &limits, synthetic(&[vec![9, 9]])).expect("search");
        assert_eq!((tight.hi, replays), (vec![vec![2, 0]], 0));
    }

    #[test]
    fn load_levels_are_a_grid_from_one_down_to_one_half() {
        assert_eq!(load_of(0), 1.0);
        assert_eq!(load_of(3), 0.85);
        assert_eq!(load_of(LOAD_LEVELS), 0.5);
        let slots = with_loads(&[vec![4, 1]], &[vec![2, 0]]);
        assert_eq!(
            slots,
            vec![vec![
                Level {
                    idle_min: 4,
                    load_max: 0.9,
                    sqrt_headroom: 0.0
                },
                Level {
                    idle_min: 1,
                    load_max: 1.0,
                    sqrt_headroom: 0.0
                }
            ]]
        );
    }

    fn searched_with(per_slot: Option<Vec<Vec<Level>>>) -> Searched {
        Searched {
            values: vec![vec![10, 2]],
            figures: Figures::default(),
            per_slot: per_slot.map(|slots| PerSlot {
                slots,
                figures: Figures::default(),
            }),
            bursts: BTreeMap::new(),
            peak: 100,
            replays: 0,
        }
    }

    #[test]
    fn headroom_widens_each_slot_s_own_load_max() {
        let level = |idle_min, load_max| Level {
            idle_min,
            load_max,
            sqrt_headroom: 0.0,
        };
        let searched = searched_with(Some(vec![vec![level(5, 0.8), level(1, 1.0)]]));
        // 1 / load_max' = (1 / load_max) × 1.1, rounded down to hundredths.
        let widened = Headroom {
            load_max: 1.0 / 1.1,
            ..Headroom::given(0.5)
        };
        assert_eq!(
            widened.apply(&searched),
            vec![vec![level(8, 0.72), level(2, 0.9)]]
        );
        // On the idle_min search, the factor is every slot's load_max.
        let global = Headroom {
            load_max: 0.83,
            ..Headroom::idle(0.0)
        };
        assert_eq!(
            global.apply(&searched),
            vec![vec![level(10, 0.83), level(2, 0.83)]]
        );
        // No per-slot search kept: its candidates widen the idle_min search.
        assert_eq!(
            Headroom::given(0.0).apply(&searched_with(None)),
            vec![vec![level(10, 1.0), level(2, 1.0)]]
        );
        assert_eq!(
            widened.to_string(),
            "per-slot load_max, margin 0.5, load_max x 0.9"
        );
        let all = Headroom::candidates(None);
        assert!(all.contains(&Headroom::given(0.0)), "{all:?}");
        assert_eq!(all.iter().filter(|h| h.per_slot).count(), 32);
        // max_gateways: twice the peak (or the peak over a smaller
        // load_max) plus the largest idle_min, up to tens.
        assert_eq!(generous(100, &widened.apply(&searched)), 210);
        assert_eq!(generous(100, &[vec![level(3, 0.4)]]), 260);
    }

    #[test]
    fn sqrt_headroom_reaches_every_learned_slot() {
        let level = |idle_min, load_max, sqrt_headroom| Level {
            idle_min,
            load_max,
            sqrt_headroom,
        };
        let searched = searched_with(Some(vec![vec![level(5, 0.8, 0.0), level(1, 1.0, 0.0)]]));
        // On the idle_min search: half of idle_min (rounded up), load_max 1.
        let half = Headroom::sqrt(0.5, 2.0);
        assert_eq!(
            half.apply(&searched),
            vec![vec![level(5, 1.0, 2.0), level(1, 1.0, 2.0)]]
        );
        assert_eq!(half.to_string(), "margin -0.5, load_max 1, sqrt_headroom 2");
        assert_eq!(
            Headroom::sqrt(0.25, 1.0).apply(&searched),
            vec![vec![level(3, 1.0, 1.0), level(1, 1.0, 1.0)]]
        );
        // On the per-slot search: each slot's own values, β added.
        let per_slot = Headroom {
            sqrt: 1.0,
            ..Headroom::given(0.0)
        };
        assert_eq!(
            per_slot.apply(&searched),
            vec![vec![level(5, 0.8, 1.0), level(1, 1.0, 1.0)]]
        );
        assert_eq!(
            per_slot.to_string(),
            "per-slot load_max, margin 0, load_max x 1, sqrt_headroom 1"
        );
        let all = Headroom::candidates(None);
        assert_eq!(all.iter().filter(|h| h.sqrt > 0.0).count(), 14);
        assert!(all.contains(&Headroom::sqrt(0.25, 4.0)), "{all:?}");
        assert!(all.contains(&per_slot), "{all:?}");
        // max_gateways leaves room for ceil(β × √peak) too.
        assert_eq!(generous(100, &[vec![level(3, 1.0, 4.0)]]), 250);
    }

    /// The example configuration with its `[schedule]` tables replaced by
    /// `toml`.
    fn example_with(toml: &str) -> String {
        let example = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/sip.toml"),
        )
        .expect("example readable");
        let is_schedule = |l: &str| l.starts_with("[schedule]") || l.starts_with("[schedule.");
        let tables: Vec<&str> = example.split_inclusive('\n').collect();
        let kept: String = tables
            .iter()
            .scan(false, |inside, line| {
                if line.starts_with('[') {
                    *inside = is_schedule(line);
                }
                Some(if *inside { "" } else { *line })
            })
            .collect();
        kept + toml
    }

    #[test]
    fn a_suggestion_with_sqrt_headroom_writes_it_and_passes_check() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let config = crate::config::load(&root.join("examples/sip.toml")).expect("example");
        let calls = simulate::trace::read(&root.join("examples/trace-workday.csv")).expect("trace");
        // Two copies of the shipped day: two days, one held out per fold.
        let traces = vec![
            ("a.csv".to_string(), calls.clone()),
            ("b.csv".to_string(), calls),
        ];
        let args = SuggestArgs {
            trace: Vec::new(),
            granularity: Duration::from_secs(3600),
            max_missed: 0,
            max_rejected: None,
            boot_delay: Duration::from_secs(60),
            boot_jitter: Duration::from_secs(60),
            seed: 1,
            margin: None,
        };
        let beta = Headroom::sqrt(0.5, 2.0);
        let progress = Progress::counter(Show::Hidden, NAME, "day(s) replayed");
        let suggestion =
            suggest_among(&config, &traces, &args, &[beta], progress).expect("suggested");
        let text = &suggestion.toml;
        assert!(
            text.contains("\n#   margin -0.5, load_max 1, sqrt_headroom 2: ")
                && text.contains("\n# Used margin -0.5, load_max 1, sqrt_headroom 2: ")
                && text.contains("idle_min x 0.5, load_max x 1, sqrt_headroom 2): "),
            "{text}"
        );
        let learned: Vec<&str> = text
            .lines()
            .skip_while(|l| *l != "[schedule.monday]")
            .skip(1)
            .take_while(|l| !l.starts_with('['))
            .filter(|l| l.starts_with('"'))
            .collect();
        assert!(!learned.is_empty(), "{text}");
        for line in &learned {
            assert!(line.ends_with(", sqrt_headroom = 2.0 }"), "{line}");
        }
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("suggested.toml");
        std::fs::write(&path, example_with(text)).expect("written");
        let suggested = crate::config::load(&path).expect("the suggestion loads");
        assert_eq!(crate::check::run(&suggested, true, None).exit_code, 0);
        let monday = &suggested.schedule.timelines["monday"];
        assert!(monday.iter().all(|(_, slot)| slot.sqrt_headroom == 2.0));
    }

    #[test]
    fn parallel_jobs_come_back_in_job_order() {
        let squares = in_parallel(7, |i| i * i);
        assert_eq!(squares, vec![0, 1, 4, 9, 16, 25, 36]);
        assert!(in_parallel(0, |i| i).is_empty());
    }

    #[test]
    fn margin_rounds_up() {
        assert_eq!(with_margin(10, 0.5), 15);
        assert_eq!(with_margin(1, 0.5), 2);
        assert_eq!(with_margin(3, 0.0), 3);
        assert_eq!(with_margin(7, 0.25), 9);
    }

    #[test]
    fn limits_hold_on_both_counts() {
        let limits = Limits {
            max_missed: 0,
            max_rejected: Some(5),
        };
        let mut f = Figures::default();
        assert!(limits.hold(&f));
        f.rejected = 6;
        assert!(!limits.hold(&f));
        f.rejected = 5;
        f.missed = 1;
        assert!(!limits.hold(&f));
        let any = Limits {
            max_missed: 1,
            max_rejected: None,
        };
        f.rejected = 1_000;
        assert!(any.hold(&f));
    }
}
