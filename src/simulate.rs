//! `scaler simulate`: replays a call trace minute by minute through the same
//! planner a real pass uses (`plan::assess`, `plan::cleanup`, `plan::decide`
//! on synthetic [`Instance`]s and [`Gateway`]s), with a simulated provider
//! whose instances register their gateways `boot_delay + uniform(0,
//! boot_jitter)` after creation, and measures service (served, rejected,
//! missed) against cost (gateway- and vCPU-hours) — DESIGN.md "Simulator".
//!
//! The simulated world, precisely:
//! - the pool starts empty at `from`; the planner runs at `from` and every
//!   minute after it, with the slot in force at that simulated instant;
//! - between two planner runs, events happen at their exact times, in this
//!   order at equal times: calls end, instances boot, calls arrive;
//! - a call shorter than one minute is dropped; a call takes the first idle
//!   gateway in registration order (Kamailio's `location` order); with none
//!   idle the attempt is rejected and retried 60 s later, at most twice, and
//!   the call is then missed; a call served on a retry keeps its length;
//! - creations, drains and destructions happen at the planner's instant, so
//!   instances are paid from creation (booting included) to destruction;
//! - calls that start in `[from, to)` are replayed; the clock runs on past
//!   `to` only while retries are pending (at most two minutes); without
//!   `to`, until the last call is over; `[from, to)` spans at most
//!   [`MAX_SPAN_DAYS`] days (a trace whose one call lasts a century is
//!   refused, not replayed for a century).

pub mod chart;
pub mod generate;
pub mod rng;
pub mod trace;

use crate::cli::SimulateArgs;
use crate::config::{Config, PoolKind};
use crate::error::Error;
use crate::model::{Gateway, GatewayState, Instance, InstanceState};
use crate::plan::{self, Observation, PoolParams};
pub use crate::report::simulation::{Generated, Outcome, Summary};
use crate::report::simulation::{missed_warning, share};
use crate::report::{PoolInfo, Report};
use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;
use rng::Rng;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::Duration;
use trace::Call;

/// Calls shorter than this are dropped (DESIGN.md "Simulator").
pub const SHORTEST_CALL: Duration = Duration::from_secs(60);
/// Time between a rejected attempt and its retry.
pub const RETRY_AFTER: Duration = Duration::from_secs(60);
/// Retries after the first attempt before a call counts as missed.
pub const RETRIES: u8 = 2;
/// The planner's period.
const STEP_MS: i64 = 60_000;
/// The longest replay, in days (a month, whatever its length).
pub const MAX_SPAN_DAYS: i64 = 31;

/// How to run a simulation.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Start of the replay; default: local midnight (schedule timezone) of
    /// the first call's day.
    pub from: Option<DateTime<Utc>>,
    /// End of the replay; default: when the last call is over (retries and
    /// calls served late included).
    pub to: Option<DateTime<Utc>>,
    /// Fixed part of the time from creation to registered gateways.
    pub boot_delay: Duration,
    /// Upper bound of the uniform random part added to `boot_delay`.
    pub boot_jitter: Duration,
    /// Seed of the boot jitter.
    pub seed: u64,
    /// Price of one vCPU-hour, for `cost`.
    pub vcpu_hour_price: f64,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            from: None,
            to: None,
            boot_delay: Duration::from_secs(60),
            boot_jitter: Duration::from_secs(60),
            seed: 1,
            vcpu_hour_price: 1.0,
        }
    }
}

/// The state of the simulated world once a minute, after the planner acted
/// (the last sample is the end of the run, where the planner no longer runs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Minutes since `from`.
    pub minute: i64,
    /// Calls of the trace in progress (as offered, zero delay).
    pub offered: u32,
    /// Calls in progress on gateways.
    pub calls: u32,
    /// Registered gateways (idle or busy).
    pub gateways: u32,
    /// Gateways on pool instances, booting ones included (what is paid for).
    pub paid_gateways: u32,
    /// Attempts rejected during the minute before.
    pub rejected: u32,
    /// Calls missed during the minute before.
    pub missed: u32,
    /// Cost accrued before this minute.
    pub cost: f64,
    /// The lower bound's cost accrued before this minute (calls offered ×
    /// `cpu_per_gateway`, sampled once a minute).
    pub lower_bound_cost: f64,
}

/// A whole replay: the figures and the minute-by-minute series.
#[derive(Debug, Clone)]
pub struct Simulation {
    /// The figures.
    pub summary: Summary,
    /// One sample per planner run.
    pub samples: Vec<Sample>,
    /// The slot's `max_gateways` at each sample (parallel to `samples`).
    pub max_gateways: Vec<u32>,
    /// The first planner run.
    pub from: DateTime<Utc>,
    /// The schedule's timezone.
    pub timezone: Tz,
}

/// What happens at an instant between two planner runs. The derived order
/// is the processing order at equal times: ends, boots, arrivals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    /// A call ends on the gateway with this serial.
    End(u64),
    /// The instance with this serial registers its gateways.
    Boot(u64),
    /// An attempt of the call with this index.
    Attempt(usize),
}

/// One call as replayed.
#[derive(Debug, Clone, Copy)]
struct Replayed {
    start_ms: i64,
    length_ms: i64,
    attempts: u8,
}

/// The simulated provider and gateway pool, kept as the planner's own
/// [`Observation`] (no copy per minute), with serial numbers beside it.
struct World {
    observation: Observation,
    /// Serial of each instance, parallel to `observation.instances`.
    instance_serials: Vec<u64>,
    /// Serial of each gateway, parallel to `observation.gateways`.
    gateway_serials: Vec<u64>,
    next_instance: u64,
    next_gateway: u64,
    cpu_per_gateway: u32,
    gateway_prefix: String,
    pool: String,
    /// vCPUs and gateways of all instances (booting included).
    vcpus: u64,
    paid_gateways: u64,
    created: u64,
    destroyed: u64,
}

/// The address of the `n`th simulated instance in a /8 (never contacted:
/// nothing leaves the process).
fn address(first: u8, n: u64) -> IpAddr {
    let [_, _, _, _, _, b, c, d] = n.to_be_bytes();
    IpAddr::V4(Ipv4Addr::new(first, b, c, d))
}

impl World {
    fn new(config: &Config) -> World {
        World {
            observation: Observation::default(),
            instance_serials: Vec::new(),
            gateway_serials: Vec::new(),
            next_instance: 1,
            next_gateway: 1,
            cpu_per_gateway: config.pool.cpu_per_gateway.max(1),
            gateway_prefix: config.pool.gateway_prefix.clone(),
            pool: config.pool.name.clone(),
            vcpus: 0,
            paid_gateways: 0,
            created: 0,
            destroyed: 0,
        }
    }

    /// Creates a building instance and returns its serial.
    fn create(&mut self, instance_type: &str, vcpus: u32, at: DateTime<Utc>) -> u64 {
        let serial = self.next_instance;
        self.next_instance += 1;
        self.observation.instances.push(Instance {
            id: format!("sim-{serial}"),
            name: format!("{}-sim-{serial}", self.pool),
            state: InstanceState::Building,
            private_ip: Some(address(10, serial)),
            public_ip: Some(address(100, serial)),
            vcpus,
            instance_type: Some(instance_type.to_string()),
            created_at: at,
        });
        self.instance_serials.push(serial);
        self.vcpus += u64::from(vcpus);
        self.paid_gateways += u64::from(vcpus / self.cpu_per_gateway);
        self.created += 1;
        serial
    }

    /// The instance turns active and registers its idle gateways.
    fn boot(&mut self, serial: u64) {
        let Some(index) = self.instance_serials.iter().position(|&s| s == serial) else {
            return; // destroyed while booting
        };
        let instance = &mut self.observation.instances[index];
        instance.state = InstanceState::Active;
        let Some(host) = instance.private_ip else {
            return;
        };
        for n in 0..instance.vcpus / self.cpu_per_gateway {
            self.observation.gateways.push(Gateway {
                id: format!("{host}.{}.{n}", self.gateway_prefix),
                host,
                state: GatewayState::Idle,
                in_call: false,
            });
            self.gateway_serials.push(self.next_gateway);
            self.next_gateway += 1;
        }
    }

    /// Takes the first idle gateway for a call; its serial.
    fn take_gateway(&mut self) -> Option<u64> {
        let index = self
            .observation
            .gateways
            .iter()
            .position(|g| g.state == GatewayState::Idle)?;
        let gateway = &mut self.observation.gateways[index];
        gateway.state = GatewayState::Busy;
        gateway.in_call = true;
        Some(self.gateway_serials[index])
    }

    fn release_gateway(&mut self, serial: u64) {
        if let Some(index) = self.gateway_serials.iter().position(|&s| s == serial) {
            let gateway = &mut self.observation.gateways[index];
            gateway.state = GatewayState::Idle;
            gateway.in_call = false;
        }
    }

    /// Destroys instances (by index) and forgets their gateways, at once.
    fn destroy(&mut self, indices: &HashSet<usize>) {
        if indices.is_empty() {
            return;
        }
        let mut hosts = HashSet::new();
        for &index in indices {
            let instance = &self.observation.instances[index];
            hosts.extend(instance.private_ip);
            self.vcpus -= u64::from(instance.vcpus);
            self.paid_gateways -= u64::from(instance.vcpus / self.cpu_per_gateway);
            self.destroyed += 1;
        }
        let mut index = 0;
        self.observation.instances.retain(|_| {
            index += 1;
            !indices.contains(&(index - 1))
        });
        let mut index = 0;
        self.instance_serials.retain(|_| {
            index += 1;
            !indices.contains(&(index - 1))
        });
        let keep: Vec<bool> = self
            .observation
            .gateways
            .iter()
            .map(|g| !hosts.contains(&g.host))
            .collect();
        let mut index = 0;
        self.observation.gateways.retain(|_| {
            index += 1;
            keep[index - 1]
        });
        let mut index = 0;
        self.gateway_serials.retain(|_| {
            index += 1;
            keep[index - 1]
        });
    }
}

fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn instant(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Local midnight, in `timezone`, of the day of `t`.
fn local_midnight(t: DateTime<Utc>, timezone: Tz) -> DateTime<Utc> {
    let date = t.with_timezone(&timezone).date_naive();
    let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    timezone
        .from_local_datetime(&midnight)
        .earliest()
        .map_or(t, |m| m.with_timezone(&Utc))
}

/// A usage error about the replay window.
fn window_error(message: String) -> Error {
    Error::Usage(message)
}

/// Refuses a replay window longer than [`MAX_SPAN_DAYS`]; `computed_to`
/// says the end is the last call's end (no `--to` given).
fn check_span(from: DateTime<Utc>, to: DateTime<Utc>, computed_to: bool) -> Result<(), Error> {
    if to - from <= chrono::TimeDelta::days(MAX_SPAN_DAYS) {
        return Ok(());
    }
    let end = if computed_to {
        "the last call ends at"
    } else {
        "--to"
    };
    Err(window_error(format!(
        "the replay would span {} days, from {} to {} ({end} {}); simulate replays at most {MAX_SPAN_DAYS} days: give --from and --to to replay a part of the trace",
        (to - from).num_days(),
        from.to_rfc3339_opts(SecondsFormat::Secs, true),
        to.to_rfc3339_opts(SecondsFormat::Secs, true),
        to.to_rfc3339_opts(SecondsFormat::Secs, true)
    )))
}

/// The `max_gateways` of the slot in force at each of `minutes` minutes
/// from `from` (for the chart).
fn slot_caps(config: &Config, from: DateTime<Utc>, minutes: usize) -> Vec<u32> {
    (0..minutes)
        .map(|minute| {
            let at = from + chrono::TimeDelta::minutes(minute as i64);
            config
                .schedule
                .slot_at(at)
                .map_or(0, |s| s.slot.max_gateways)
        })
        .collect()
}

/// Replays `calls` with the configuration's schedule and pool parameters.
pub fn simulate(config: &Config, calls: &[Call], settings: &Settings) -> Result<Simulation, Error> {
    let timezone = config.schedule.timezone;
    let from = match (settings.from, calls.first()) {
        (Some(from), _) => from,
        (None, Some(first)) => local_midnight(first.start, timezone),
        (None, None) => return Err(window_error("the trace has no calls".into())),
    };
    let in_window: Vec<&Call> = calls
        .iter()
        .filter(|c| c.start >= from && settings.to.is_none_or(|to| c.start < to))
        .collect();
    let to = match settings.to {
        Some(to) => to,
        None => in_window.iter().map(|c| c.end).max().ok_or_else(|| {
            window_error(format!(
                "the trace has no call at or after --from {}",
                from.to_rfc3339_opts(SecondsFormat::Secs, true)
            ))
        })?,
    };
    if to <= from {
        return Err(window_error(format!(
            "--to {} is not after --from {}",
            to.to_rfc3339_opts(SecondsFormat::Secs, true),
            from.to_rfc3339_opts(SecondsFormat::Secs, true)
        )));
    }
    check_span(from, to, settings.to.is_none())?;
    let shortest = chrono::Duration::from_std(SHORTEST_CALL).unwrap_or_default();
    let (replayed, dropped): (Vec<&Call>, Vec<&Call>) = in_window
        .into_iter()
        .partition(|c| c.duration() >= shortest);
    let mut replays: Vec<Replayed> = replayed
        .iter()
        .map(|c| Replayed {
            start_ms: millis(c.start),
            length_ms: millis(c.end) - millis(c.start),
            attempts: 0,
        })
        .collect();

    let params = config.pool_params();
    let mut world = World::new(config);
    let mut turned_away = Rejections::of(config);
    let mut rng = Rng::new(settings.seed);
    let boot_delay_ms = settings.boot_delay.as_millis() as i64;
    let jitter_ms = settings.boot_jitter.as_millis() as f64;

    let mut events: BinaryHeap<Reverse<(i64, Event)>> = replays
        .iter()
        .enumerate()
        .map(|(i, r)| Reverse((r.start_ms, Event::Attempt(i))))
        .collect();
    let mut attempts_pending = replays.len();

    // Offered load (the trace with zero delay), for the chart.
    let mut starts: Vec<i64> = replays.iter().map(|r| r.start_ms).collect();
    let mut ends: Vec<i64> = replays.iter().map(|r| r.start_ms + r.length_ms).collect();
    starts.sort_unstable();
    ends.sort_unstable();
    let (mut started, mut ended) = (0, 0);

    let (mut served, mut rejected, mut missed) = (0u64, 0u64, 0u64);
    let (mut minute_rejected, mut minute_missed) = (0u32, 0u32);
    let mut in_progress = 0u32;
    let (mut vcpu_minutes, mut gateway_minutes) = (0u64, 0u64);
    let mut offered_vcpu_minutes = 0u64;
    let mut peak_gateways = 0u64;
    let mut samples = Vec::new();
    let to_ms = millis(to);
    let mut tick_ms = millis(from);
    let mut minute = 0i64;

    // Without --to the clock runs until the last call is over.
    let until_quiet = settings.to.is_none();
    let mut above_target_since = None;
    loop {
        while let Some(&Reverse((at, event))) = events.peek() {
            if at > tick_ms {
                break;
            }
            events.pop();
            match event {
                Event::End(gateway) => {
                    world.release_gateway(gateway);
                    in_progress -= 1;
                }
                Event::Boot(instance) => world.boot(instance),
                Event::Attempt(call) => {
                    let replay = &mut replays[call];
                    if let Some(gateway) = world.take_gateway() {
                        served += 1;
                        in_progress += 1;
                        attempts_pending -= 1;
                        events.push(Reverse((at + replay.length_ms, Event::End(gateway))));
                    } else {
                        rejected += 1;
                        minute_rejected += 1;
                        if let Some(t) = turned_away.as_mut() {
                            t.record(at, call);
                        }
                        replay.attempts += 1;
                        if replay.attempts > RETRIES {
                            missed += 1;
                            minute_missed += 1;
                            attempts_pending -= 1;
                        } else {
                            let retry = at + RETRY_AFTER.as_millis() as i64;
                            events.push(Reverse((retry, Event::Attempt(call))));
                        }
                    }
                }
            }
        }
        let done = tick_ms >= to_ms && attempts_pending == 0 && !(until_quiet && in_progress > 0);

        if !done {
            // The planner, exactly as a pass runs it.
            let now = instant(tick_ms);
            let slot = config.schedule.slot_at(now).ok_or_else(|| {
                Error::Internal(anyhow::anyhow!("the schedule has no slot at {now}"))
            })?;
            if let Some(t) = turned_away.as_mut() {
                world.observation.turned_away = t.count(tick_ms);
            }
            let scale_down = (&mut above_target_since, config.limits.scale_down_delay.0);
            plan_minute(
                &mut world,
                &params,
                &slot.slot,
                now,
                scale_down,
                |world, create| {
                    let jitter = (rng.uniform() * jitter_ms) as i64;
                    let serial = world.create(&create.instance_type, create.vcpus, now);
                    events.push(Reverse((
                        tick_ms + boot_delay_ms + jitter,
                        Event::Boot(serial),
                    )));
                },
            );
        }

        while started < starts.len() && starts[started] <= tick_ms {
            started += 1;
        }
        while ended < ends.len() && ends[ended] <= tick_ms {
            ended += 1;
        }
        samples.push(Sample {
            minute,
            offered: (started - ended) as u32,
            calls: in_progress,
            gateways: world.observation.gateways.len() as u32,
            paid_gateways: world.paid_gateways as u32,
            rejected: std::mem::take(&mut minute_rejected),
            missed: std::mem::take(&mut minute_missed),
            cost: vcpu_minutes as f64 / 60.0 * settings.vcpu_hour_price,
            lower_bound_cost: offered_vcpu_minutes as f64 / 60.0 * settings.vcpu_hour_price,
        });
        if done {
            break;
        }
        // The minute to come is paid for what exists after the planner acted.
        vcpu_minutes += world.vcpus;
        offered_vcpu_minutes += (started - ended) as u64 * u64::from(config.pool.cpu_per_gateway);
        gateway_minutes += world.paid_gateways;
        peak_gateways = peak_gateways.max(world.paid_gateways);
        tick_ms += STEP_MS;
        minute += 1;
    }
    let end_ms = tick_ms;

    // The zero-delay lower bound and the offered peak, clipped to the run.
    let offered_ms: i64 = replays
        .iter()
        .map(|r| (r.start_ms + r.length_ms).min(end_ms) - r.start_ms)
        .sum();
    let mut sweep: Vec<(i64, i32)> = replays
        .iter()
        .flat_map(|r| {
            [
                (r.start_ms, 1),
                ((r.start_ms + r.length_ms).min(end_ms), -1),
            ]
        })
        .collect();
    sweep.sort_unstable(); // at equal times, ends (-1) before starts (+1)
    let peak_calls = sweep
        .iter()
        .scan(0i64, |now, (_, step)| {
            *now += i64::from(*step);
            Some(*now)
        })
        .max()
        .unwrap_or(0);

    let cpu = f64::from(config.pool.cpu_per_gateway);
    let lower_bound = offered_ms as f64 / 3_600_000.0 * cpu;
    let vcpu_hours = vcpu_minutes as f64 / 60.0;
    let summary = Summary {
        trace: None,
        from: from.to_rfc3339_opts(SecondsFormat::Secs, true),
        to: instant(end_ms).to_rfc3339_opts(SecondsFormat::Secs, true),
        timezone: timezone.name().to_string(),
        seed: settings.seed,
        boot_delay: crate::duration::HumanDuration(settings.boot_delay).to_string(),
        boot_jitter: crate::duration::HumanDuration(settings.boot_jitter).to_string(),
        vcpu_hour_price: settings.vcpu_hour_price,
        calls: replays.len() as u64,
        dropped: dropped.len() as u64,
        skewed_lines: 0,
        duplicate_lines: 0,
        skipped_lines: 0,
        served,
        rejected,
        missed,
        missed_share: share(missed, replays.len() as u64),
        rejected_share: share(rejected, replays.len() as u64),
        peak_calls: peak_calls.max(0) as u64,
        peak_gateways,
        gateway_hours: round3(gateway_minutes as f64 / 60.0),
        vcpu_hours: round3(vcpu_hours),
        lower_bound_vcpu_hours: round3(lower_bound),
        ratio: (lower_bound > 0.0).then(|| round3(vcpu_hours / lower_bound)),
        cost: round3(vcpu_hours * settings.vcpu_hour_price),
        created: world.created,
        destroyed: world.destroyed,
        svg: None,
        warnings: missed_warning(missed, replays.len() as u64)
            .into_iter()
            .collect(),
    };
    Ok(Simulation {
        summary,
        max_gateways: slot_caps(config, from, samples.len()),
        samples,
        from,
        timezone,
    })
}

/// The simulated `sip.turned_away`: the calls whose attempt was rejected
/// within the window before a planner run, as Kamailio's `missed_calls`
/// rows give them to a pass (a call retried within the window counts once).
struct Rejections {
    window_ms: i64,
    /// `(when, call)` of the rejected attempts, oldest first.
    recent: VecDeque<(i64, usize)>,
}

impl Rejections {
    /// The signal when the configuration turns it on.
    fn of(config: &Config) -> Option<Rejections> {
        let turned_away = config.sip.as_ref()?.turned_away.as_ref()?;
        Some(Rejections {
            window_ms: turned_away.window_seconds() as i64 * 1000,
            recent: VecDeque::new(),
        })
    }

    fn record(&mut self, at_ms: i64, call: usize) {
        self.recent.push_back((at_ms, call));
    }

    /// Distinct calls rejected in `[now - window, now]`.
    fn count(&mut self, now_ms: i64) -> u32 {
        while self
            .recent
            .front()
            .is_some_and(|&(at, _)| at < now_ms - self.window_ms)
        {
            self.recent.pop_front();
        }
        let calls: HashSet<usize> = self.recent.iter().map(|&(_, call)| call).collect();
        calls.len() as u32
    }
}

/// One planner run on the simulated world, as `pass::execute` does it:
/// assess, clean up, assess again what remains, decide, then act at once.
fn plan_minute(
    world: &mut World,
    params: &PoolParams,
    slot: &crate::model::Slot,
    now: DateTime<Utc>,
    scale_down: (&mut Option<DateTime<Utc>>, std::time::Duration),
    mut create: impl FnMut(&mut World, &plan::PlannedCreate),
) {
    let mut assessment = plan::assess(&world.observation, params, now);
    let (removals, _notes) = plan::cleanup(&assessment, &world.observation, params, now);
    if !removals.is_empty() {
        world.destroy(&removals.iter().map(|r| r.instance).collect());
        assessment = plan::assess(&world.observation, params, now);
    }
    // No creation budget in the simulation: every planned instance is created.
    let mut decision = plan::decide(
        &assessment,
        &world.observation,
        slot,
        params,
        None,
        u32::MAX,
    );
    let (above_since, delay) = scale_down;
    let (allowed, since) = plan::scale_down_gate(decision.delta, *above_since, now, delay);
    *above_since = since;
    if !allowed {
        decision.drains.clear();
    }
    // Drains first: indices refer to the world before any creation.
    world.destroy(&decision.drains.iter().copied().collect());
    for planned in &decision.creates {
        create(world, planned);
    }
}

/// `--generate-trace`: writes a synthetic day to `path`.
fn generate_command(args: &SimulateArgs, path: &Path) -> Result<Report, Error> {
    let mut report = Report::new("simulate");
    let Some(date) = args.date else {
        return Err(Error::Usage(
            "--generate-trace needs --date YYYY-MM-DD".into(),
        ));
    };
    let options = generate::WorkdayOptions {
        date,
        calls: args.calls,
        seed: args.seed,
        timezone: args.timezone,
    };
    let trace = generate::workday(&options);
    std::fs::write(path, trace::to_csv(&trace, args.timezone))
        .map_err(|e| Error::Internal(anyhow::anyhow!("cannot write {}: {e}", path.display())))?;
    report.simulation = Some(Outcome::Generated(Generated {
        generated_trace: path.display().to_string(),
        date: date.to_string(),
        timezone: args.timezone.name().to_string(),
        calls: trace.len() as u64,
        seed: args.seed,
    }));
    Ok(report)
}

/// Reads the trace with the tolerance asked for; what was tolerated goes to
/// the report's notes.
fn read_trace(
    args: &SimulateArgs,
    path: &Path,
    report: &mut Report,
) -> Result<trace::Trace, Error> {
    let options = trace::ReadOptions {
        skip_bad_lines: args.skip_bad_lines,
    };
    let trace = trace::read_with(path, options).map_err(|e| Error::Usage(e.to_string()))?;
    report.notes.extend(trace.notes(path));
    Ok(trace)
}

/// `scaler simulate`: generates a trace, or replays one and reports.
pub fn command(args: &SimulateArgs, config_path: &Path) -> Result<Report, Error> {
    if let Some(path) = &args.generate_trace {
        return generate_command(args, path);
    }
    let mut report = Report::new("simulate");
    let Some(trace_path) = &args.trace else {
        return Err(Error::Usage(
            "simulate needs --trace FILE.csv (or --generate-trace FILE)".into(),
        ));
    };
    let config = crate::config::load(config_path)?;
    if config.pool.kind == PoolKind::Replicas {
        return Err(Error::Config(format!(
            "{}: simulate replays calls on gateways: pool.kind must be \"sip\" or \"media\"",
            config.path.display()
        )));
    }
    // OpenStack may size flavors at run time; the simulation has no provider to ask.
    crate::config::check_instance_types(&config.instance_types, config.pool.cpu_per_gateway)
        .map_err(|e| {
            Error::Config(format!(
                "{}: simulate sizes instances from provider.instance_types (it asks no provider): {e}",
                config.path.display()
            ))
        })?;
    report.pool = Some(PoolInfo {
        name: config.pool.name.clone(),
        kind: config.pool.kind.as_str().to_string(),
    });
    if !(args.vcpu_hour_price >= 0.0 && args.vcpu_hour_price.is_finite()) {
        return Err(Error::Usage(format!(
            "--vcpu-hour-price must be a number of at least 0, got {}",
            args.vcpu_hour_price
        )));
    }
    let trace = read_trace(args, trace_path, &mut report)?;
    let settings = Settings {
        from: args.from,
        to: args.to,
        boot_delay: args.boot_delay,
        boot_jitter: args.boot_jitter,
        seed: args.seed,
        vcpu_hour_price: args.vcpu_hour_price,
    };
    let mut simulation = simulate(&config, &trace.calls, &settings)?;
    let summary = &mut simulation.summary;
    summary.trace = Some(trace_path.display().to_string());
    summary.skewed_lines = trace.skewed.total as u64;
    summary.duplicate_lines = trace.duplicates.total as u64;
    summary.skipped_lines = trace.skipped.total as u64;
    if let Some(svg) = &args.svg {
        let title = format!("{} — {}", config.pool.name, trace_path.display());
        let text = chart::render(&simulation, &title)
            .map_err(|e| Error::Internal(anyhow::anyhow!("drawing the chart: {e}")))?;
        std::fs::write(svg, text)
            .map_err(|e| Error::Internal(anyhow::anyhow!("cannot write {}: {e}", svg.display())))?;
        simulation.summary.svg = Some(svg.display().to_string());
    }
    report.simulation = Some(Outcome::Replay(Box::new(simulation.summary)));
    Ok(report)
}

#[cfg(test)]
mod tests;
