//! `scaler schedule suggest`: learns a `[schedule]` from call traces. Slot
//! values are searched and every candidate is checked by replaying the
//! traces through the simulator (`simulate::simulate`: the decision a pass
//! takes, brakes included, carried out on the simulated cloud):
//!
//! 1. the traces are split into local days (schedule timezone); one timeline
//!    per weekday present (plus `default` for the absent ones, the slot-wise
//!    maximum), or only `default` when a single weekday is present;
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
//! 4. a safety margin, `ceil(idle_min × (1 + margin))`, is added for days the
//!    search has not seen; adjacent slots with equal values are merged.
//!
//! `load_max` is 1 (the buffer is `idle_min` alone) and `max_gateways` a
//! generous bound (twice the peak of calls plus the largest `idle_min`).

pub use crate::cli::{DEFAULT_MARGIN, ScheduleCommand, SuggestArgs};
use crate::config::{Config, PoolKind};
use crate::error::Error;
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

/// One local day of calls, and its timeline.
struct Day {
    date: NaiveDate,
    calls: Vec<Call>,
}

/// The learning problem: days, timelines, slots.
struct Problem<'a> {
    config: &'a Config,
    timezone: Tz,
    days: Vec<Day>,
    /// Learned timelines (weekday names, or `default` alone).
    names: Vec<String>,
    /// Whether a derived `default` (slot-wise max) completes the week.
    derived_default: bool,
    slot_minutes: u32,
    slots: usize,
    settings: Settings,
    window_seconds: i64,
    max_gateways: u32,
}

impl Problem<'_> {
    fn timeline_of(&self, date: NaiveDate) -> Option<usize> {
        if self.names.len() == 1 && self.names[0] == "default" {
            return Some(0);
        }
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
            load_max: 1.0,
            max_gateways: self.max_gateways,
            min_gateways: 0,
            min_available: None,
            max_replicas: None,
        }
    }

    /// The timelines of a candidate, unmerged (`default` derived if needed).
    fn timelines(&self, values: &[Vec<u32>]) -> BTreeMap<String, Timeline> {
        let build = |row: &[u32]| -> Timeline {
            row.iter()
                .enumerate()
                .map(|(i, v)| (self.slot_start(i), self.slot(*v)))
                .collect()
        };
        let mut timelines: BTreeMap<String, Timeline> = self
            .names
            .iter()
            .zip(values)
            .map(|(name, row)| (name.clone(), build(row)))
            .collect();
        if self.derived_default {
            let row: Vec<u32> = (0..self.slots)
                .map(|i| values.iter().map(|r| r[i]).max().unwrap_or(1))
                .collect();
            timelines.insert("default".into(), build(&row));
        }
        timelines
    }

    /// Replays every day with a candidate: the figures, and the slots blamed
    /// for rejections.
    fn evaluate(&self, values: &[Vec<u32>]) -> Result<(Figures, BTreeSet<Key>), Error> {
        let mut config = self.config.clone();
        config.schedule.timelines = self.timelines(values);
        config.schedule.dates.clear();
        let mut figures = Figures::default();
        let mut blamed = BTreeSet::new();
        for day in &self.days {
            let run = simulate::simulate(&config, &day.calls, &self.settings)?;
            let s = &run.summary;
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

/// Learns a schedule from `traces` (each a list of calls, named for the
/// header) for `config`.
pub fn suggest(
    config: &Config,
    traces: &[(String, Vec<Call>)],
    args: &SuggestArgs,
) -> Result<Suggestion, Error> {
    let granularity = checked_granularity(args)?;
    let days = local_days(config, traces)?;
    let mut problem = Problem::new(config, days, args, granularity);
    let limits = Limits {
        max_missed: args.max_missed,
        max_rejected: args.max_rejected,
    };
    let (bursts, peak) = bursts_and_peak(&problem);
    let values: Vec<Vec<u32>> = (0..problem.names.len())
        .map(|t| {
            (0..problem.slots)
                .map(|i| bursts.get(&(t, i)).map_or(1, |b| b.calls.max(1)))
                .collect()
        })
        .collect();
    let generous = |values: &[Vec<u32>]| {
        (2 * peak + with_margin(largest(values), args.margin)).div_ceil(10) * 10
    };
    let mut replays = 0;
    let (values, start_figures) = problem.safe_start(values, &limits, &generous, &mut replays)?;
    let (searched, searched_figures) =
        problem.search(values, start_figures, &limits, &mut replays)?;

    // The margin, then the suggestion replayed on the training days.
    let suggested: Vec<Vec<u32>> = searched
        .iter()
        .map(|row| row.iter().map(|v| with_margin(*v, args.margin)).collect())
        .collect();
    problem.max_gateways = generous(&suggested);
    let (figures, _) = problem.evaluate(&suggested)?;
    replays += 1;

    let toml = render(
        &problem,
        traces,
        args,
        &searched,
        &suggested,
        &bursts,
        (&searched_figures, &figures, replays),
    );
    Ok(Suggestion {
        toml,
        figures,
        replays,
    })
}

/// `--granularity` in seconds, and `--margin`, checked.
fn checked_granularity(args: &SuggestArgs) -> Result<u64, Error> {
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
    if !(args.margin >= 0.0 && args.margin <= 10.0) {
        return Err(Error::Usage(format!(
            "--margin must be between 0 and 10, got {}",
            args.margin
        )));
    }
    Ok(granularity)
}

/// The calls of one minute or longer, split into local days (schedule
/// timezone); days of different files stay apart, even on the same date.
fn local_days(config: &Config, traces: &[(String, Vec<Call>)]) -> Result<Vec<Day>, Error> {
    let timezone = config.schedule.timezone;
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

/// The largest burst per slot, and the offered peak of calls at once.
fn bursts_and_peak(problem: &Problem<'_>) -> (BTreeMap<Key, Burst>, u32) {
    let mut bursts = BTreeMap::new();
    let mut peak = 0u32;
    for day in &problem.days {
        let starts: Vec<i64> = day.calls.iter().map(|c| c.start.timestamp()).collect();
        largest_bursts(
            &starts,
            problem.window_seconds,
            |s| problem.key_at(s),
            &mut bursts,
        );
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

/// The largest value of a candidate (at least 1).
fn largest(values: &[Vec<u32>]) -> u32 {
    values.iter().flatten().copied().max().unwrap_or(1)
}

impl<'a> Problem<'a> {
    fn new(config: &'a Config, days: Vec<Day>, args: &SuggestArgs, granularity: u64) -> Self {
        let weekdays: BTreeSet<u32> = days
            .iter()
            .map(|d| d.date.weekday().num_days_from_monday())
            .collect();
        let names: Vec<String> = if weekdays.len() == 1 {
            vec!["default".to_string()]
        } else {
            weekdays
                .iter()
                .map(|d| WEEKDAYS[*d as usize].to_string())
                .collect()
        };
        let derived_default = names.len() > 1 && names.len() < 7;
        let slot_minutes = (granularity / 60) as u32;
        Problem {
            config,
            timezone: config.schedule.timezone,
            days,
            derived_default,
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
            names,
        }
    }
}

impl Problem<'_> {
    /// A safe start: the bursts, raised uniformly until the limits hold.
    fn safe_start(
        &mut self,
        mut values: Vec<Vec<u32>>,
        limits: &Limits,
        generous: &dyn Fn(&[Vec<u32>]) -> u32,
        replays: &mut usize,
    ) -> Result<(Vec<Vec<u32>>, Figures), Error> {
        let mut raises = 0;
        loop {
            self.max_gateways = generous(&values);
            let (figures, _) = self.evaluate(&values)?;
            *replays += 1;
            if limits.hold(&figures) {
                return Ok((values, figures));
            }
            raises += 1;
            if raises > MAX_RAISES {
                return Err(Error::Usage(format!(
                    "no schedule found that keeps missed <= {} and rejected <= {}: even idle_min up to {} gives {} missed, {} rejected (check pool.max_vcpus and the instance types)",
                    limits.max_missed,
                    limits.max_rejected.map_or("any".into(), |m| m.to_string()),
                    largest(&values),
                    figures.missed,
                    figures.rejected
                )));
            }
            for v in values.iter_mut().flatten() {
                *v += v.div_ceil(2) + 1;
            }
        }
    }

    /// Parallel binary search from a safe candidate: `[lo, hi]` per slot,
    /// `hi` always kept safe. Returns the lowest safe candidate found.
    fn search(
        &self,
        mut hi: Vec<Vec<u32>>,
        mut best: Figures,
        limits: &Limits,
        replays: &mut usize,
    ) -> Result<(Vec<Vec<u32>>, Figures), Error> {
        let mut lo: Vec<Vec<u32>> = hi.iter().map(|row| vec![1; row.len()]).collect();
        for _ in 0..MAX_ROUNDS {
            let open: Vec<Key> = keys(&hi).filter(|&(t, i)| lo[t][i] < hi[t][i]).collect();
            if open.is_empty() {
                break;
            }
            let mut proposal = hi.clone();
            for &(t, i) in &open {
                proposal[t][i] = lo[t][i] + (hi[t][i] - lo[t][i]) / 2;
            }
            let (figures, blamed) = self.evaluate(&proposal)?;
            *replays += 1;
            if limits.hold(&figures) {
                hi = proposal;
                best = figures;
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
            let (figures, blamed) = self.evaluate(&candidate)?;
            *replays += 1;
            if limits.hold(&figures) {
                hi = candidate;
                best = figures;
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
        Ok((hi, best))
    }
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

/// The `[schedule]` TOML of a suggestion, with its comments.
fn render(
    problem: &Problem<'_>,
    traces: &[(String, Vec<Call>)],
    args: &SuggestArgs,
    searched: &[Vec<u32>],
    suggested: &[Vec<u32>],
    bursts: &BTreeMap<Key, Burst>,
    (searched_figures, figures, replays): (&Figures, &Figures, usize),
) -> String {
    let mut out = String::new();
    let files: Vec<&str> = traces.iter().map(|(name, _)| name.as_str()).collect();
    let first = problem
        .days
        .first()
        .map(|d| d.date.to_string())
        .unwrap_or_default();
    let last = problem
        .days
        .last()
        .map(|d| d.date.to_string())
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "# Suggested by `scaler schedule suggest` from {} day(s) of calls, {first} to {last} ({}).",
        problem.days.len(),
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
        "# Searched ({replays} replays of every day): {}.",
        figures_line(searched_figures)
    );
    let _ = writeln!(
        out,
        "# With the margin (idle_min = ceil(searched x {})): {}.",
        1.0 + args.margin,
        figures_line(figures)
    );
    let _ = writeln!(
        out,
        "# Replaces the [schedule] section of {}; date exceptions ([schedule.dates]) are not learned: keep yours.",
        problem.config.path.display()
    );
    let _ = writeln!(out, "[schedule]");
    let _ = writeln!(out, "timezone = \"{}\"", problem.timezone.name());
    let mut order: Vec<usize> = (0..problem.names.len()).collect();
    order.sort_by_key(|&t| {
        WEEKDAYS
            .iter()
            .position(|d| *d == problem.names[t])
            .unwrap_or(usize::MAX)
    });
    for t in order {
        render_timeline(&mut out, problem, t, searched, suggested, bursts);
    }
    if problem.derived_default {
        let row: Vec<u32> = (0..problem.slots)
            .map(|i| suggested.iter().map(|r| r[i]).max().unwrap_or(1))
            .collect();
        let _ = writeln!(
            out,
            "# default: the days absent from the traces, the largest value of the timelines above per slot"
        );
        let _ = writeln!(out, "[schedule.default]");
        for (first, _) in merge_runs(&row) {
            let _ = writeln!(
                out,
                "{}",
                slot_line(problem, problem.slot_start(first), row[first])
            );
        }
    }
    out
}

/// One slot of the suggestion as TOML.
fn slot_line(problem: &Problem<'_>, start: NaiveTime, idle: u32) -> String {
    format!(
        "\"{}\" = {{ idle_min = {idle}, load_max = 1.0, max_gateways = {} }}",
        start.format("%H:%M"),
        problem.max_gateways
    )
}

/// One learned timeline: its merged slots, each with the burst behind it.
fn render_timeline(
    out: &mut String,
    problem: &Problem<'_>,
    t: usize,
    searched: &[Vec<u32>],
    suggested: &[Vec<u32>],
    bursts: &BTreeMap<Key, Burst>,
) {
    let _ = writeln!(out, "[schedule.{}]", problem.names[t]);
    for (first, end) in merge_runs(&suggested[t]) {
        let start = problem.slot_start(first);
        let until = if end == problem.slots {
            "24:00".to_string()
        } else {
            problem.slot_start(end).format("%H:%M").to_string()
        };
        let burst = (first..end)
            .filter_map(|i| bursts.get(&(t, i)))
            .max_by_key(|b| (b.calls, std::cmp::Reverse(b.at)));
        let searched_max = searched[t][first..end].iter().max().copied().unwrap_or(1);
        let _ = writeln!(
            out,
            "# {}-{until}: idle_min {} (searched {searched_max}); {}",
            start.format("%H:%M"),
            suggested[t][first],
            why(problem, burst)
        );
        let _ = writeln!(out, "{}", slot_line(problem, start, suggested[t][first]));
    }
}

/// What drove a slot's value: its largest burst, if any.
fn why(problem: &Problem<'_>, burst: Option<&Burst>) -> String {
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

/// `scaler schedule suggest`: its report holds the suggested `[schedule]`
/// (`toml`), which text mode prints as it is.
pub fn command(command: &ScheduleCommand, config_path: &std::path::Path) -> Result<Report, Error> {
    let ScheduleCommand::Suggest(args) = command;
    let suggestion = command_suggest(args, config_path)?;
    let mut report = Report::new(NAME);
    report.toml = Some(suggestion.toml);
    Ok(report)
}

/// The command's name in its report.
pub const NAME: &str = "schedule suggest";

fn command_suggest(args: &SuggestArgs, config_path: &std::path::Path) -> Result<Suggestion, Error> {
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
    suggest(&config, &traces, args)
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
