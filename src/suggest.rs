//! `scaler schedule suggest`: learns a `[schedule]` from call traces. Slot
//! values are searched and every candidate is checked by replaying the
//! traces through the simulator (`simulate::simulate`, the real planner):
//!
//! 1. the traces are split into local days (schedule timezone); one timeline
//!    is learned per weekday present; every other timeline of the
//!    configuration (`default`, absent weekdays, names `[schedule.dates]`
//!    uses) is kept as it is, so days absent from the traces keep the
//!    configuration's timeline;
//! 2. each day is cut into slots of `--granularity`; per slot, the largest
//!    burst (calls starting within boot delay + jitter + 1 minute) gives a
//!    safe first `idle_min` (at least 1), raised uniformly until the limits
//!    hold on every day;
//! 3. a parallel binary search lowers every slot's `idle_min` at once: each
//!    round halves each slot's interval, replays, and keeps the lowered
//!    values of the slots the rejections are not attributed to (a rejection
//!    at `t` blames the slots in force from `t - window` to `t`); the new
//!    candidate is replayed again before it is kept, so every kept candidate
//!    met the limits on all training days;
//! 4. headroom is added for days the search has not seen ([`Headroom`]): a
//!    margin, `ceil(idle_min × (1 + margin))`, and a `load_max` below 1 for
//!    proportional headroom. It is chosen by leave-one-day-out validation:
//!    each day is replayed with the schedule learned (steps 2 and 3) on the
//!    other days, for each candidate ([`Headroom::candidates`]); the one
//!    with the fewest held-out vCPU-hours among those whose held-out days
//!    miss at most `--max-missed` calls and reject at most
//!    [`HELD_OUT_REJECTED_SHARE`] of them is taken (`--margin` fixes the
//!    margin, load_max 1), and the held-out figures are printed. Adjacent
//!    slots with equal values are merged.
//!
//! `max_gateways` is a generous bound (twice the peak of calls plus the
//! largest `idle_min`). The search and the folds run in parallel.

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
    slot_minutes: u32,
    slots: usize,
    settings: Settings,
    window_seconds: i64,
    max_gateways: u32,
    /// `load_max` of every learned slot (1 while searching).
    load_max: f64,
    /// Counts the days replayed, from every thread.
    progress: Progress,
}

/// The weekday names of `days`, Monday first.
fn weekday_names(days: &[Day]) -> Vec<String> {
    let weekdays: BTreeSet<u32> = days
        .iter()
        .map(|d| d.date.weekday().num_days_from_monday())
        .collect();
    weekdays
        .iter()
        .map(|d| WEEKDAYS[*d as usize].to_string())
        .collect()
}

impl Problem<'_> {
    /// The problem without day `index` (for leave-one-day-out validation).
    fn without_day(&self, index: usize) -> Self {
        let mut sub = self.clone();
        sub.days.remove(index);
        sub.names = weekday_names(&sub.days);
        sub
    }

    fn timeline_of(&self, date: NaiveDate) -> Option<usize> {
        let name = WEEKDAYS[date.weekday().num_days_from_monday() as usize];
        self.names.iter().position(|n| n == name)
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

    fn slot(&self, idle_min: u32) -> Slot {
        Slot {
            idle_min,
            load_max: self.load_max,
            max_gateways: self.max_gateways,
            min_gateways: 0,
            sqrt_headroom: 0.0,
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
    fn timelines(&self, values: &[Vec<u32>]) -> BTreeMap<String, Timeline> {
        let mut timelines = self.config.schedule.timelines.clone();
        for (name, row) in self.names.iter().zip(values) {
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
    fn evaluate(&self, values: &[Vec<u32>]) -> Result<(Figures, BTreeSet<Key>), Error> {
        self.evaluate_days(values, &self.days)
    }

    /// Replays `days` with a candidate.
    fn evaluate_days(
        &self,
        values: &[Vec<u32>],
        days: &[Day],
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
            for sample in run.samples.iter().filter(|s| s.rejected > 0) {
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

/// A finished suggestion.
pub struct Suggestion {
    /// The `[schedule]` TOML with its comments.
    pub toml: String,
    /// The suggested schedule replayed on the training days.
    pub figures: Figures,
    /// Replays of all days the search made.
    pub replays: usize,
}

/// What a search found on a problem's days.
struct Searched {
    /// `idle_min` per learned timeline and slot, before the margin.
    values: Vec<Vec<u32>>,
    /// Those values replayed on the days.
    figures: Figures,
    /// The largest burst per slot.
    bursts: BTreeMap<Key, Burst>,
    /// The largest number of calls in progress on one day.
    peak: u32,
    /// Replays of all days.
    replays: usize,
}

/// A generous `max_gateways`: twice the peak plus the largest `idle_min`,
/// rounded up to tens.
fn generous(peak: u32, values: &[Vec<u32>]) -> u32 {
    let largest = values.iter().flatten().copied().max().unwrap_or(1);
    (2 * peak + largest).div_ceil(10) * 10
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

/// Searches `idle_min` per slot on the problem's days (steps 2 and 3 of the
/// module documentation).
fn search(problem: &mut Problem<'_>, limits: &Limits) -> Result<Searched, Error> {
    let (bursts, peak) = bursts_and_peak(problem);
    let mut values: Vec<Vec<u32>> = (0..problem.names.len())
        .map(|t| {
            (0..problem.slots)
                .map(|i| bursts.get(&(t, i)).map_or(1, |b| b.calls.max(1)))
                .collect()
        })
        .collect();
    // A safe start, raised uniformly until the limits hold.
    let mut replays = 0;
    let mut raises = 0;
    let figures = loop {
        problem.max_gateways = generous(peak, &values);
        let (figures, _) = problem.evaluate(&values)?;
        replays += 1;
        if limits.hold(&figures) {
            break figures;
        }
        raises += 1;
        if raises > MAX_RAISES {
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
    };
    let mut searched = Searched {
        values,
        figures,
        bursts,
        peak,
        replays,
    };
    lower(problem, limits, &mut searched)?;
    Ok(searched)
}

/// The parallel binary search: `[lo, hi]` per slot, `hi` always safe.
fn lower(problem: &Problem<'_>, limits: &Limits, searched: &mut Searched) -> Result<(), Error> {
    let hi = &mut searched.values;
    let mut lo: Vec<Vec<u32>> = hi.iter().map(|row| vec![1; row.len()]).collect();
    for _ in 0..MAX_ROUNDS {
        let open: Vec<Key> = keys(hi).filter(|&(t, i)| lo[t][i] < hi[t][i]).collect();
        if open.is_empty() {
            break;
        }
        let mut proposal = hi.clone();
        for &(t, i) in &open {
            proposal[t][i] = lo[t][i] + (hi[t][i] - lo[t][i]) / 2;
        }
        let (figures, blamed) = problem.evaluate(&proposal)?;
        searched.replays += 1;
        if limits.hold(&figures) {
            *hi = proposal;
            searched.figures = figures;
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
        let (figures, blamed) = problem.evaluate(&candidate)?;
        searched.replays += 1;
        if limits.hold(&figures) {
            *hi = candidate;
            searched.figures = figures;
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
    Ok(())
}

/// `ceil(v × (1 + margin))` for every value.
fn margined(values: &[Vec<u32>], margin: f64) -> Vec<Vec<u32>> {
    values
        .iter()
        .map(|row| row.iter().map(|v| with_margin(*v, margin)).collect())
        .collect()
}

/// How the searched `idle_min` is widened for days the search has not
/// seen: `idle_min = ceil(searched × (1 + idle))` and, for proportional
/// headroom, `load_max` below 1 (at least `busy / load_max` gateways).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Headroom {
    /// The margin on `idle_min`.
    pub idle: f64,
    /// `load_max` of the learned slots.
    pub load_max: f64,
}

impl Headroom {
    /// The margin on `idle_min` alone.
    pub fn idle(margin: f64) -> Headroom {
        Headroom {
            idle: margin,
            load_max: 1.0,
        }
    }

    /// The candidates the validation replays: the idle margins of
    /// [`MARGINS`], then proportional headroom ([`LOAD_MAXES`]) alone and
    /// with small idle margins; `given` (`--margin`) added when absent.
    pub fn candidates(given: Option<f64>) -> Vec<Headroom> {
        let mut all: Vec<Headroom> = MARGINS.iter().map(|&m| Headroom::idle(m)).collect();
        for idle in [0.0, 0.25, 0.5] {
            for load_max in LOAD_MAXES {
                all.push(Headroom { idle, load_max });
            }
        }
        if let Some(given) = given
            && !all.contains(&Headroom::idle(given))
        {
            all.push(Headroom::idle(given));
        }
        all
    }
}

impl std::fmt::Display for Headroom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "margin {}, load_max {}", self.idle, self.load_max)
    }
}

/// Proportional headroom the validation tries (`load_max` of the learned
/// slots): 10 %, 20 %, 30 % and 50 % above the busy count.
pub const LOAD_MAXES: [f64; 4] = [0.9, 0.83, 0.77, 0.67];

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
        let values = margined(&searched.values, headroom.idle);
        sub.max_gateways = generous(searched.peak, &values);
        sub.load_max = headroom.load_max;
        figures.push(sub.evaluate_days(&values, day)?.0);
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
        return Headroom::idle(margin);
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
    check_args(args)?;
    let timezone = config.schedule.timezone;
    let days = days_of(traces, timezone)?;
    let slot_minutes = (args.granularity.as_secs() / 60) as u32;
    let mut problem = Problem {
        config,
        timezone,
        names: weekday_names(&days),
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
        load_max: 1.0,
        progress,
    };
    let limits = Limits {
        max_missed: args.max_missed,
        max_rejected: args.max_rejected,
    };
    let margins = Headroom::candidates(args.margin);
    let (searched, validation) = search_and_validate(&problem, &limits, &margins)?;
    let held = validation.as_ref().map(|(held, _)| held.as_slice());
    let margin = choose_margin(args.margin, held, args.max_missed);
    let suggested = margined(&searched.values, margin.idle);
    problem.max_gateways = generous(searched.peak, &suggested);
    problem.load_max = margin.load_max;
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
    suggested: &[Vec<u32>],
    outcome: Outcome<'_>,
) -> String {
    let mut out = header(problem, traces, args, searched, &outcome);
    let _ = writeln!(out, "[schedule]");
    let _ = writeln!(out, "timezone = \"{}\"", problem.timezone.name());
    let slot_line = |start: NaiveTime, idle: u32| {
        format!(
            "\"{}\" = {{ idle_min = {idle}, load_max = {}, max_gateways = {} }}",
            start.format("%H:%M"),
            toml_float(problem.load_max),
            problem.max_gateways
        )
    };
    for (t, name) in problem.names.iter().enumerate() {
        let _ = writeln!(out, "[schedule.{name}]");
        for (first, end) in merge_runs(&suggested[t]) {
            let start = problem.slot_start(first);
            let until = if end == problem.slots {
                "24:00".to_string()
            } else {
                problem.slot_start(end).format("%H:%M").to_string()
            };
            let searched_max = searched.values[t][first..end]
                .iter()
                .max()
                .copied()
                .unwrap_or(1);
            let _ = writeln!(
                out,
                "# {}-{until}: idle_min {} (searched {searched_max}); {}",
                start.format("%H:%M"),
                suggested[t][first],
                burst_note(problem, &searched.bursts, t, first..end)
            );
            let _ = writeln!(out, "{}", slot_line(start, suggested[t][first]));
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
                sqrt_key(slot)
            );
        }
    }
    out
}

/// `, sqrt_headroom = β` for a kept slot that has one, else nothing.
fn sqrt_key(slot: &Slot) -> String {
    if slot.sqrt_headroom > 0.0 {
        format!(", sqrt_headroom = {}", toml_float(slot.sqrt_headroom))
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
    held_out_lines(&mut out, args, outcome);
    let _ = writeln!(
        out,
        "# With the headroom (idle_min = ceil(searched x {}), load_max {}): {}.",
        1.0 + outcome.margin.idle,
        outcome.margin.load_max,
        figures_line(outcome.figures)
    );
    let kept = problem.kept();
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
    out
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
        // None serves: the fewest missed, then the fewest rejected.
        let none = [
            held(0.0, 100, 5, 9),
            held(1.0, 100, 1, 9),
            held(2.0, 100, 1, 8),
        ];
        assert_eq!(choose_margin(None, Some(&none), 0).idle, 2.0);
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
