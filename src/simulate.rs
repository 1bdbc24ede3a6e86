//! `scaler simulate`: replays a call trace minute by minute through the
//! decision a real pass takes ([`crate::decision::decide`]: clean-up,
//! target, packing, budget, brakes, scale-down delay, on synthetic
//! [`Instance`]s and [`Gateway`]s) and carries its steps out on a
//! simulated cloud ([`World::carry_out`]), whose instances register their gateways
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
//! - creations, drains and destructions happen at the planner's instant
//!   (within the same brakes as a pass: what they hold back waits for the
//!   next minute), so instances are paid from creation (booting included)
//!   to destruction; a drain never finds a gateway busy (calls move only
//!   between two planner runs) and nothing fails;
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
use crate::decision::{self, Input, Memory, Params, Plan, Reservations, Step};
use crate::error::Error;
use crate::model::{Gateway, GatewayState, Instance, InstanceState, Slot};
use crate::plan::Observation;
use crate::progress::{Progress, Show};
pub use crate::report::simulation::{Generated, Outcome, Summary};
use crate::report::simulation::{missed_warning, share};
use crate::report::{Action, ActionKind, ActionStatus, PoolInfo, Report};
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
    /// Bookings (`simulate --reservations`), in force from `start −
    /// [reservations] lead` until `end` as in a pass.
    pub reservations: Vec<crate::reservations::Booking>,
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
            reservations: Vec::new(),
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

/// The simulated provider and gateway pool, kept as the decision's own
/// input, an [`Observation`] (no copy per minute), with serial numbers
/// beside it.
#[derive(Debug, Clone)]
pub struct World {
    observation: Observation,
    /// Serial of each instance, parallel to `observation.instances`
    /// (increasing: searched by bisection).
    instance_serials: Vec<u64>,
    /// Serial of each gateway, parallel to `observation.gateways`
    /// (increasing: searched by bisection).
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

/// What one planner run did to the simulated world.
#[derive(Debug, Clone)]
pub struct Minute {
    /// The decision, as a pass takes it.
    pub plan: Plan,
    /// Its steps carried out, as a pass reports them (status `done`).
    pub actions: Vec<Action>,
    /// Serials of the instances created (their boots are the caller's).
    pub created: Vec<u64>,
}

impl World {
    /// An empty pool of `config`'s.
    pub fn new(config: &Config) -> World {
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

    /// A world that starts as `observation` says the pool is (a real pass's
    /// observation, for instance): its instances, gateways and marks.
    pub fn from_observation(config: &Config, observation: Observation) -> World {
        let mut world = World::new(config);
        let per = world.cpu_per_gateway;
        world.vcpus = observation
            .instances
            .iter()
            .map(|i| u64::from(i.vcpus))
            .sum();
        world.paid_gateways = observation
            .instances
            .iter()
            .map(|i| u64::from(i.vcpus / per))
            .sum();
        world.instance_serials = (1..=observation.instances.len() as u64).collect();
        world.gateway_serials = (1..=observation.gateways.len() as u64).collect();
        world.next_instance = observation.instances.len() as u64 + 1;
        world.next_gateway = observation.gateways.len() as u64 + 1;
        world.observation = observation;
        world
    }

    /// The decision's input at this simulated minute: the pool as a pass
    /// would observe it.
    pub fn observation(&self) -> &Observation {
        &self.observation
    }

    /// Creates a building instance and returns it with its serial.
    fn create(&mut self, instance_type: &str, vcpus: u32, at: DateTime<Utc>) -> (u64, &Instance) {
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
            adopted: false,
        });
        self.instance_serials.push(serial);
        self.vcpus += u64::from(vcpus);
        self.paid_gateways += u64::from(vcpus / self.cpu_per_gateway);
        self.created += 1;
        (
            serial,
            &self.observation.instances[self.observation.instances.len() - 1],
        )
    }

    /// The instance turns active and registers its idle gateways.
    fn boot(&mut self, serial: u64) {
        // Serials are handed out in increasing order and kept in order.
        let Ok(index) = self.instance_serials.binary_search(&serial) else {
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
        if let Ok(index) = self.gateway_serials.binary_search(&serial) {
            let gateway = &mut self.observation.gateways[index];
            gateway.state = GatewayState::Idle;
            gateway.in_call = false;
        }
    }

    /// Destroys instances (by id) and forgets their gateways, at once (a
    /// few per minute: lists searched in turn beat hashing every id).
    fn destroy(&mut self, ids: &[&str]) {
        if ids.is_empty() {
            return;
        }
        let mut hosts: Vec<IpAddr> = Vec::new();
        let mut keep = Vec::with_capacity(self.observation.instances.len());
        for instance in &self.observation.instances {
            let gone = ids.contains(&instance.id.as_str());
            keep.push(!gone);
            if gone {
                hosts.extend(instance.private_ip);
                hosts.extend(instance.public_ip);
                self.vcpus -= u64::from(instance.vcpus);
                self.paid_gateways -= u64::from(instance.vcpus / self.cpu_per_gateway);
                self.destroyed += 1;
            }
        }
        retain_by(&mut self.observation.instances, &keep);
        retain_by(&mut self.instance_serials, &keep);
        let keep: Vec<bool> = self
            .observation
            .gateways
            .iter()
            .map(|g| !hosts.contains(&g.host))
            .collect();
        retain_by(&mut self.observation.gateways, &keep);
        retain_by(&mut self.gateway_serials, &keep);
    }

    /// Carries a plan's steps out at `now`, as the pass does, at once: a
    /// drain always finds its gateways idle (calls move only between two
    /// planner runs), creations and destructions never fail.
    pub fn carry_out(&mut self, steps: &[Step], now: DateTime<Utc>) -> (Vec<Action>, Vec<u64>) {
        let mut actions = Vec::new();
        let created = self.act(steps, now, Some(&mut actions));
        (actions, created)
    }

    /// [`World::carry_out`], the actions written out only when `actions`
    /// is given (a replay never shows them); the serials of the instances
    /// created.
    fn act(
        &mut self,
        steps: &[Step],
        now: DateTime<Utc>,
        mut actions: Option<&mut Vec<Action>>,
    ) -> Vec<u64> {
        let mut created = Vec::new();
        let mut gone: Vec<&str> = Vec::new();
        for step in steps {
            match step {
                // Destroying an instance forgets its gateways here.
                Step::ForgetStale { .. } => {}
                Step::Create {
                    create,
                    with_gateways,
                } => {
                    let (serial, instance) = self.create(&create.instance_type, create.vcpus, now);
                    created.push(serial);
                    if let Some(actions) = actions.as_deref_mut() {
                        let mut action = Action::about(
                            ActionKind::Create,
                            ActionStatus::Done,
                            "scale_up",
                            instance,
                        );
                        action.gateways = with_gateways.then_some(create.gateways);
                        actions.push(action);
                    }
                }
                Step::Destroy {
                    instance,
                    gateways,
                    reason,
                    drain,
                } => {
                    gone.push(&instance.id);
                    let Some(actions) = actions.as_deref_mut() else {
                        continue;
                    };
                    if let Some(why) = drain
                        && !gateways.is_empty()
                    {
                        let mut action =
                            Action::about(ActionKind::Drain, ActionStatus::Done, why, instance);
                        action.gateways = Some(gateways.len() as u32);
                        actions.push(action);
                    }
                    actions.push(Action::about(
                        ActionKind::Destroy,
                        ActionStatus::Done,
                        reason.as_str(),
                        instance,
                    ));
                }
            }
        }
        self.destroy(&gone);
        created
    }
}

/// Keeps the items whose flag is set.
fn retain_by<T>(items: &mut Vec<T>, keep: &[bool]) {
    let mut index = 0;
    items.retain(|_| {
        index += 1;
        keep[index - 1]
    });
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

/// One planner run on the simulated world, exactly as a pass runs it: the
/// decision on the world's observation, carried out at `now`.
pub fn plan_minute(
    world: &mut World,
    params: &Params,
    slot: &Slot,
    memory: Memory,
    now: DateTime<Utc>,
) -> Minute {
    plan_minute_with(world, params, slot, memory, &Reservations::default(), now)
}

/// [`plan_minute`] with reservations in force.
pub fn plan_minute_with(
    world: &mut World,
    params: &Params,
    slot: &Slot,
    memory: Memory,
    reservations: &Reservations,
    now: DateTime<Utc>,
) -> Minute {
    let plan = decide(world, params, slot, memory, reservations, now);
    let (actions, created) = world.carry_out(&plan.steps, now);
    Minute {
        plan,
        actions,
        created,
    }
}

/// The decision a pass takes on the world's observation at `now`.
fn decide(
    world: &World,
    params: &Params,
    slot: &Slot,
    memory: Memory,
    reservations: &Reservations,
    now: DateTime<Utc>,
) -> Plan {
    decision::decide(&Input {
        observation: world.observation(),
        params,
        slot,
        memory,
        now,
        scale: true,
        busy_override: None,
        reservations,
    })
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

/// The replay window and the calls replayed in it.
struct Window {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    /// Without `--to` the clock runs until the last call is over.
    until_quiet: bool,
    replays: Vec<Replayed>,
    dropped: u64,
}

fn window(config: &Config, calls: &[Call], settings: &Settings) -> Result<Window, Error> {
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
    let replays = replayed
        .iter()
        .map(|c| Replayed {
            start_ms: millis(c.start),
            length_ms: millis(c.end) - millis(c.start),
            attempts: 0,
        })
        .collect();
    Ok(Window {
        from,
        to,
        until_quiet: settings.to.is_none(),
        replays,
        dropped: dropped.len() as u64,
    })
}

/// A replay under way: the simulated world, the events to come and the
/// service counters.
struct Replay<'a> {
    config: &'a Config,
    params: Params,
    world: World,
    rng: Rng,
    boot_delay_ms: i64,
    jitter_ms: f64,
    events: BinaryHeap<Reverse<(i64, Event)>>,
    replays: Vec<Replayed>,
    attempts_pending: usize,
    in_progress: u32,
    served: u64,
    rejected: u64,
    missed: u64,
    minute_rejected: u32,
    minute_missed: u32,
    memory: Memory,
    bookings: Vec<crate::reservations::Booking>,
    busy_at_open: std::collections::BTreeMap<String, u32>,
    /// `sip.turned_away`: the rejections the next planner run counts.
    turned_away: Option<Rejections>,
}

impl<'a> Replay<'a> {
    fn new(config: &'a Config, settings: &Settings, replays: Vec<Replayed>) -> Replay<'a> {
        let events = replays
            .iter()
            .enumerate()
            .map(|(i, r)| Reverse((r.start_ms, Event::Attempt(i))))
            .collect();
        Replay {
            config,
            params: config.decision_params(),
            world: World::new(config),
            rng: Rng::new(settings.seed),
            boot_delay_ms: settings.boot_delay.as_millis() as i64,
            jitter_ms: settings.boot_jitter.as_millis() as f64,
            events,
            attempts_pending: replays.len(),
            replays,
            in_progress: 0,
            served: 0,
            rejected: 0,
            missed: 0,
            minute_rejected: 0,
            minute_missed: 0,
            memory: Memory::default(),
            bookings: settings.reservations.clone(),
            busy_at_open: std::collections::BTreeMap::new(),
            turned_away: Rejections::of(config),
        }
    }

    /// Everything that happens up to `tick_ms`, in time order.
    fn events_until(&mut self, tick_ms: i64) {
        while let Some(&Reverse((at, event))) = self.events.peek() {
            if at > tick_ms {
                break;
            }
            self.events.pop();
            match event {
                Event::End(gateway) => {
                    self.world.release_gateway(gateway);
                    self.in_progress -= 1;
                }
                Event::Boot(instance) => self.world.boot(instance),
                Event::Attempt(call) => self.attempt(at, call),
            }
        }
    }

    /// One attempt of a call: served, or rejected (and retried, or missed).
    fn attempt(&mut self, at: i64, call: usize) {
        let replay = &mut self.replays[call];
        if let Some(gateway) = self.world.take_gateway() {
            self.served += 1;
            self.in_progress += 1;
            self.attempts_pending -= 1;
            let end = at + replay.length_ms;
            self.events.push(Reverse((end, Event::End(gateway))));
            return;
        }
        self.rejected += 1;
        self.minute_rejected += 1;
        if let Some(t) = self.turned_away.as_mut() {
            t.record(at, call);
        }
        replay.attempts += 1;
        if replay.attempts > RETRIES {
            self.missed += 1;
            self.minute_missed += 1;
            self.attempts_pending -= 1;
        } else {
            let retry = at + RETRY_AFTER.as_millis() as i64;
            self.events.push(Reverse((retry, Event::Attempt(call))));
        }
    }

    /// The planner at `tick_ms`, exactly as a pass runs it; new instances
    /// boot `boot_delay + uniform(0, boot_jitter)` later.
    fn plan(&mut self, tick_ms: i64) -> Result<(), Error> {
        let now = instant(tick_ms);
        let slot =
            self.config.schedule.slot_at(now).ok_or_else(|| {
                Error::Internal(anyhow::anyhow!("the schedule has no slot at {now}"))
            })?;
        if let Some(t) = self.turned_away.as_mut() {
            self.world.observation.turned_away = t.count(tick_ms);
        }
        let lead = self.config.reservations.lead;
        let reservations = Reservations {
            in_force: self
                .bookings
                .iter()
                .filter(|b| b.in_force(now, lead))
                .cloned()
                .collect(),
            busy_at_open: std::mem::take(&mut self.busy_at_open),
        };
        let (world, params) = (&mut self.world, &self.params);
        // As plan_minute_with, without writing out the actions.
        let memory = std::mem::take(&mut self.memory);
        let plan = decide(world, params, &slot.slot, memory, &reservations, now);
        let created = world.act(&plan.steps, now, None);
        self.memory = plan.memory;
        self.busy_at_open = plan.busy_at_open;
        for serial in created {
            let jitter = (self.rng.uniform() * self.jitter_ms) as i64;
            let boot = tick_ms + self.boot_delay_ms + jitter;
            self.events.push(Reverse((boot, Event::Boot(serial))));
        }
        Ok(())
    }
}

/// The trace's own load (zero delay), sampled at the planner's ticks.
struct Offered {
    starts: Vec<i64>,
    ends: Vec<i64>,
    started: usize,
    ended: usize,
}

impl Offered {
    fn new(replays: &[Replayed]) -> Offered {
        let mut starts: Vec<i64> = replays.iter().map(|r| r.start_ms).collect();
        let mut ends: Vec<i64> = replays.iter().map(|r| r.start_ms + r.length_ms).collect();
        starts.sort_unstable();
        ends.sort_unstable();
        Offered {
            starts,
            ends,
            started: 0,
            ended: 0,
        }
    }

    /// Calls of the trace in progress at `tick_ms` (ticks only move on).
    fn at(&mut self, tick_ms: i64) -> u32 {
        while self.started < self.starts.len() && self.starts[self.started] <= tick_ms {
            self.started += 1;
        }
        while self.ended < self.ends.len() && self.ends[self.ended] <= tick_ms {
            self.ended += 1;
        }
        (self.started - self.ended) as u32
    }
}

/// What was paid for, minute by minute.
#[derive(Debug, Default)]
struct Paid {
    vcpu_minutes: u64,
    gateway_minutes: u64,
    offered_vcpu_minutes: u64,
    peak_gateways: u64,
}

/// Replays `calls` with the configuration's schedule and pool parameters.
pub fn simulate(config: &Config, calls: &[Call], settings: &Settings) -> Result<Simulation, Error> {
    simulate_showing(config, calls, settings, Progress::hidden())
}

/// [`simulate`], `progress` advanced by each simulated minute (its length:
/// the minutes from `from` to `to`) and dropped when the replay ends.
pub fn simulate_showing(
    config: &Config,
    calls: &[Call],
    settings: &Settings,
    progress: Progress,
) -> Result<Simulation, Error> {
    let mut window = window(config, calls, settings)?;
    progress.set_length((window.to - window.from).num_minutes().max(0) as u64);
    let mut replay = Replay::new(config, settings, std::mem::take(&mut window.replays));
    let mut offered = Offered::new(&replay.replays);
    let mut paid = Paid::default();
    let price = settings.vcpu_hour_price;
    let mut samples = Vec::new();
    let to_ms = millis(window.to);
    let mut tick_ms = millis(window.from);
    for minute in 0.. {
        replay.events_until(tick_ms);
        let done = tick_ms >= to_ms
            && replay.attempts_pending == 0
            && !(window.until_quiet && replay.in_progress > 0);
        if !done {
            replay.plan(tick_ms)?;
        }
        let offered_now = offered.at(tick_ms);
        samples.push(Sample {
            minute,
            offered: offered_now,
            calls: replay.in_progress,
            gateways: replay.world.observation.gateways.len() as u32,
            paid_gateways: replay.world.paid_gateways as u32,
            rejected: std::mem::take(&mut replay.minute_rejected),
            missed: std::mem::take(&mut replay.minute_missed),
            cost: paid.vcpu_minutes as f64 / 60.0 * price,
            lower_bound_cost: paid.offered_vcpu_minutes as f64 / 60.0 * price,
        });
        if done {
            break;
        }
        // The minute to come is paid for what exists after the planner acted.
        paid.vcpu_minutes += replay.world.vcpus;
        paid.offered_vcpu_minutes +=
            u64::from(offered_now) * u64::from(config.pool.cpu_per_gateway);
        paid.gateway_minutes += replay.world.paid_gateways;
        paid.peak_gateways = paid.peak_gateways.max(replay.world.paid_gateways);
        tick_ms += STEP_MS;
        progress.advance();
    }
    let summary = summarize(config, settings, &window, &replay, &paid, tick_ms);
    Ok(Simulation {
        summary,
        max_gateways: slot_caps(config, window.from, samples.len()),
        samples,
        from: window.from,
        timezone: config.schedule.timezone,
    })
}

/// The most calls of the trace in progress at once, and the zero-delay
/// lower bound's call-milliseconds, clipped to the run's end.
fn offered_peak(replays: &[Replayed], end_ms: i64) -> (u64, i64) {
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
    (peak_calls.max(0) as u64, offered_ms)
}

/// The figures of a finished replay that ended at `end_ms`.
fn summarize(
    config: &Config,
    settings: &Settings,
    window: &Window,
    replay: &Replay,
    paid: &Paid,
    end_ms: i64,
) -> Summary {
    let (peak_calls, offered_ms) = offered_peak(&replay.replays, end_ms);
    let cpu = f64::from(config.pool.cpu_per_gateway);
    let lower_bound = offered_ms as f64 / 3_600_000.0 * cpu;
    let vcpu_hours = paid.vcpu_minutes as f64 / 60.0;
    Summary {
        trace: None,
        from: window.from.to_rfc3339_opts(SecondsFormat::Secs, true),
        to: instant(end_ms).to_rfc3339_opts(SecondsFormat::Secs, true),
        timezone: config.schedule.timezone.name().to_string(),
        seed: settings.seed,
        boot_delay: crate::duration::HumanDuration(settings.boot_delay).to_string(),
        boot_jitter: crate::duration::HumanDuration(settings.boot_jitter).to_string(),
        vcpu_hour_price: settings.vcpu_hour_price,
        calls: replay.replays.len() as u64,
        dropped: window.dropped,
        skewed_lines: 0,
        duplicate_lines: 0,
        skipped_lines: 0,
        served: replay.served,
        rejected: replay.rejected,
        missed: replay.missed,
        missed_share: share(replay.missed, replay.replays.len() as u64),
        rejected_share: share(replay.rejected, replay.replays.len() as u64),
        peak_calls,
        peak_gateways: paid.peak_gateways,
        gateway_hours: round3(paid.gateway_minutes as f64 / 60.0),
        vcpu_hours: round3(vcpu_hours),
        lower_bound_vcpu_hours: round3(lower_bound),
        ratio: (lower_bound > 0.0).then(|| round3(vcpu_hours / lower_bound)),
        cost: round3(vcpu_hours * settings.vcpu_hour_price),
        created: replay.world.created,
        destroyed: replay.world.destroyed,
        svg: None,
        warnings: missed_warning(replay.missed, replay.replays.len() as u64)
            .into_iter()
            .collect(),
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

/// `simulate --reservations FILE`: the bookings to replay (the JSON of
/// `reserve list --format json`, or an .ics file expanded over the
/// trace's days), named in a note; a file that cannot be used exits 64.
fn read_reservations(
    args: &SimulateArgs,
    config: &Config,
    calls: &[Call],
    report: &mut Report,
) -> Result<Vec<crate::reservations::Booking>, Error> {
    let Some(path) = &args.reservations else {
        return Ok(Vec::new());
    };
    let first = calls.iter().map(|c| c.start).min().unwrap_or_default();
    let last = calls.iter().map(|c| c.end).max().unwrap_or_default();
    let from = args.from.unwrap_or(first) - chrono::Duration::days(1);
    let to = args.to.unwrap_or(last) + chrono::Duration::days(1);
    let zone = config.schedule.timezone;
    let default_gateways = config.reservations.default_gateways;
    let (bookings, notes) =
        crate::reservations::read_file(path, zone, default_gateways, (from, to))
            .map_err(Error::Usage)?;
    report.notes.push(format!(
        "{} reservation(s) replayed from {}",
        bookings.len(),
        path.display()
    ));
    report.notes.extend(notes);
    Ok(bookings)
}

/// `scaler simulate`: generates a trace, or replays one (its progress on
/// stderr as `show` says) and reports.
pub fn command(args: &SimulateArgs, config_path: &Path, show: Show) -> Result<Report, Error> {
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
        reservations: read_reservations(args, &config, &trace.calls, &mut report)?,
    };
    let progress = Progress::bar(show, "simulate", "simulated minutes");
    let mut simulation = simulate_showing(&config, &trace.calls, &settings, progress)?;
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
