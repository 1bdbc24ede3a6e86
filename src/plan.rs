//! The decision, as pure functions of an observation: which instances to
//! clean up, how many gateways the slot wants, what to create and which
//! whole idle instances to drain. No I/O happens here, so every rule of
//! DESIGN.md "Decision" is unit-tested directly.

use crate::model::{Gateway, GatewayState, Instance, InstanceState, Slot};
use chrono::{DateTime, Utc};
use serde::Serialize;
use smallvec::SmallVec;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::time::Duration;

/// The pool settings the decision depends on.
#[derive(Debug, Clone)]
pub struct PoolParams {
    /// vCPUs one gateway needs.
    pub cpu_per_gateway: u32,
    /// Instance type name to vCPUs.
    pub instance_types: BTreeMap<String, u32>,
    /// IPs or instance ids never destroyed.
    pub protected: Vec<String>,
    /// How long an active instance may go without registering a gateway.
    pub register_timeout: Duration,
    /// How long an active instance may go without a public IP (`None`: no limit).
    pub no_public_ip_timeout: Option<Duration>,
    /// Whether an instance without any registered gateway is cleaned up after
    /// `register_timeout` (false for pools without gateways).
    pub expects_gateways: bool,
    /// How long a drained host is left to stop before it is destroyed, when
    /// the source records drain times ([`Observation::draining_since`]).
    pub drain_timeout: Duration,
    /// Budget cap: total vCPUs of the pool's instances (running + building).
    pub max_vcpus: Option<u32>,
}

/// Keeps the creations that fit under `max_vcpus` given the vCPUs the pool's
/// live instances already have; returns the vCPUs held back.
fn within_budget<'a>(
    creates: &mut Vec<PlannedCreate>,
    instances: impl Iterator<Item = &'a Instance>,
    max_vcpus: Option<u32>,
) -> u32 {
    let Some(max) = max_vcpus else { return 0 };
    let mut used: u64 = instances
        .filter(|i| i.state != InstanceState::Error)
        .map(|i| u64::from(i.vcpus))
        .sum();
    let mut held = 0;
    creates.retain(|c| {
        if used + u64::from(c.vcpus) <= u64::from(max) {
            used += u64::from(c.vcpus);
            true
        } else {
            held += c.vcpus;
            false
        }
    });
    held
}

/// Everything observed, as input to the decision.
#[derive(Debug, Clone, Default)]
pub struct Observation {
    /// The pool's instances.
    pub instances: Vec<Instance>,
    /// The pool's gateways, including static ones on hosts that are not instances.
    pub gateways: Vec<Gateway>,
    /// Hosts with bad records: never counted idle, never drained.
    pub tainted_hosts: HashSet<IpAddr>,
    /// Instances (by id) whose status endpoint asks for termination.
    pub termination_requested: HashSet<String>,
    /// When draining gateways (by id) were marked, where the source records
    /// it (media); a gateway without an entry has waited long enough.
    pub draining_since: HashMap<String, DateTime<Utc>>,
    /// Records that cannot be read or tied to one host: while there is one,
    /// nothing of the pool is drained or destroyed ([`suspended`]).
    pub doubts: Vec<String>,
    /// Hosts with a call in progress that no registered gateway accounts
    /// for: never drained, never destroyed.
    pub busy_hosts: HashSet<IpAddr>,
    /// Replica pools: instances (by id) whose status probe answered, with
    /// the capacity they reported.
    pub healthy: HashMap<String, u32>,
    /// Calls that found no free gateway within the last pass interval
    /// (`sip.turned_away`; the simulator's rejected attempts): demand the
    /// busy count does not show, added to the target.
    pub turned_away: u32,
}

// When in doubt, the pool is busy. These two checks gate every drain and
// every destroy the decision makes; creation is never gated by them.

/// Why nothing of the pool may be drained or destroyed this pass: a record
/// that cannot be read or tied to exactly one host could be any host's.
pub fn suspended(observation: &Observation) -> Option<String> {
    let n = observation.doubts.len();
    (n > 0).then(|| {
        format!(
            "{n} record(s) cannot be read or tied to one host (see errors): no drain or destroy in this pass"
        )
    })
}

/// Whether a bad record names one of an instance's addresses: it is then
/// kept whatever else holds (never drained, never destroyed).
fn tainted(instance: &Instance, observation: &Observation) -> bool {
    !observation.tainted_hosts.is_empty()
        && [instance.private_ip, instance.public_ip]
            .into_iter()
            .flatten()
            .any(|ip| observation.tainted_hosts.contains(&ip))
}

/// Whether a call no registered gateway accounts for is on an instance.
fn call_on_host(instance: &Instance, observation: &Observation) -> bool {
    !observation.busy_hosts.is_empty()
        && [instance.private_ip, instance.public_ip]
            .into_iter()
            .flatten()
            .any(|ip| observation.busy_hosts.contains(&ip))
}

/// One instance with what is known about it (borrowed from the
/// observation: the decision runs once a minute in a replay, and copying
/// every instance twice a minute was most of a replay's time).
#[derive(Debug, Clone)]
pub struct InstanceView<'a> {
    /// The instance.
    pub instance: &'a Instance,
    /// Indices into [`Observation::gateways`] of the gateways it hosts
    /// (kept inline up to four: no allocation per instance and per pass).
    pub gateways: SmallVec<[usize; 4]>,
    /// Never destroyed.
    pub protected: bool,
    /// Gateways expected from it that have not registered yet.
    pub pending: u32,
}

/// Instance counts of the report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct InstanceCounts {
    pub total: u32,
    pub building: u32,
    pub active: u32,
    pub error: u32,
    pub protected: u32,
}

/// Gateway counts of the report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct GatewayCounts {
    pub registered: u32,
    pub busy: u32,
    pub idle: u32,
    pub draining: u32,
    pub pending: u32,
}

/// The observation grouped per instance, with the counts.
#[derive(Debug, Clone)]
pub struct Assessment<'a> {
    /// Pool instances, in observation order.
    pub instances: Vec<InstanceView<'a>>,
    /// Indices of gateways on hosts that are not pool instances.
    pub static_gateways: Vec<usize>,
    /// Instance counts.
    pub instance_counts: InstanceCounts,
    /// Gateway counts.
    pub gateway_counts: GatewayCounts,
}

fn expected_gateways(instance: &Instance, cpu_per_gateway: u32) -> u32 {
    instance.vcpus / cpu_per_gateway.max(1)
}

fn age(instance: &Instance, now: DateTime<Utc>) -> Duration {
    (now - instance.created_at)
        .to_std()
        .unwrap_or(Duration::ZERO)
}

/// Whether `protected` (the entries of `pool.protected`, and those of them
/// that are addresses, parsed once) names the instance.
fn is_protected(instance: &Instance, protected: &[String], protected_ips: &[IpAddr]) -> bool {
    protected
        .iter()
        .any(|p| *p == instance.id || *p == instance.name)
        || protected_ips.iter().any(|&ip| instance.has_address(ip))
}

/// The entries of `pool.protected` that are addresses.
fn protected_addresses(protected: &[String]) -> Vec<IpAddr> {
    protected.iter().filter_map(|p| p.parse().ok()).collect()
}

/// Which instance has an address: the first one listed with it. Built at
/// every pass (a replay builds it once a simulated minute), as two sorted
/// lists of integers, which build and search faster than a hash map of
/// addresses.
struct Owners {
    v4: Vec<(u32, usize)>,
    v6: Vec<(u128, usize)>,
}

impl Owners {
    fn new(instances: &[Instance]) -> Owners {
        let mut owners = Owners {
            v4: Vec::with_capacity(2 * instances.len()),
            v6: Vec::new(),
        };
        // Private addresses first, then public ones: instances listed in
        // creation order often have increasing addresses, and a sorted run
        // is what the sort below goes through fastest.
        let private = instances.iter().map(|i| i.private_ip);
        let public = instances.iter().map(|i| i.public_ip);
        let indices = (0..instances.len()).chain(0..instances.len());
        for (ip, index) in private.chain(public).zip(indices) {
            match ip {
                Some(IpAddr::V4(ip)) => owners.v4.push((ip.to_bits(), index)),
                Some(IpAddr::V6(ip)) => owners.v6.push((ip.to_bits(), index)),
                None => {}
            }
        }
        // (address, index) pairs are distinct: once sorted, each address
        // comes first with its first instance.
        owners.v4.sort_unstable();
        owners.v4.dedup_by_key(|(ip, _)| *ip);
        owners.v6.sort_unstable();
        owners.v6.dedup_by_key(|(ip, _)| *ip);
        owners
    }

    fn of(&self, host: IpAddr) -> Option<usize> {
        fn find<K: Ord + Copy>(list: &[(K, usize)], key: K) -> Option<usize> {
            let at = list.binary_search_by_key(&key, |&(k, _)| k).ok()?;
            Some(list[at].1)
        }
        match host {
            IpAddr::V4(ip) => find(&self.v4, ip.to_bits()),
            IpAddr::V6(ip) => find(&self.v6, ip.to_bits()),
        }
    }
}

/// Registered, busy, idle and draining gateways (`pending` is counted per
/// instance by [`assess`]). A gateway on a host with a bad record is never
/// counted idle.
fn gateway_counts(observation: &Observation) -> GatewayCounts {
    count_gateways(observation.gateways.iter(), observation)
}

/// The counts of [`gateway_counts`] over some of the observation's
/// gateways (those of one instance, for `status`), by the same rule;
/// `pending` is left at 0 ([`InstanceView::pending`] has it).
pub fn count_gateways<'a>(
    some: impl Iterator<Item = &'a Gateway>,
    observation: &Observation,
) -> GatewayCounts {
    let mut gateways = GatewayCounts::default();
    for gateway in some {
        let tainted = observation.tainted_hosts.contains(&gateway.host);
        match gateway.state {
            GatewayState::Idle if tainted => gateways.registered += 1,
            GatewayState::Idle => {
                gateways.registered += 1;
                gateways.idle += 1;
            }
            GatewayState::Busy => {
                gateways.registered += 1;
                gateways.busy += 1;
            }
            GatewayState::Draining => gateways.draining += 1,
            GatewayState::Starting => {}
        }
    }
    gateways
}

/// Which active instances are young enough to be still registering their
/// gateways (`age <= register_timeout`), decided by comparing creation
/// times with one instant rather than by computing each age.
struct Registering {
    now: DateTime<Utc>,
    timeout: Duration,
    /// `now − register_timeout`, when in range.
    since: Option<DateTime<Utc>>,
}

impl Registering {
    fn new(now: DateTime<Utc>, timeout: Duration) -> Registering {
        let since = chrono::TimeDelta::from_std(timeout)
            .ok()
            .and_then(|t| now.checked_sub_signed(t));
        Registering {
            now,
            timeout,
            since,
        }
    }

    /// `age(instance, now) <= timeout` (an age is never negative).
    fn holds(&self, instance: &Instance) -> bool {
        match self.since {
            Some(since) => instance.created_at >= since,
            None => age(instance, self.now) <= self.timeout,
        }
    }
}

/// Gateways expected from an instance that have not registered yet.
fn pending(
    view: &InstanceView,
    observation: &Observation,
    params: &PoolParams,
    registering: &Registering,
) -> u32 {
    let instance = view.instance;
    let starting = view
        .gateways
        .iter()
        .filter(|&&g| observation.gateways[g].state == GatewayState::Starting)
        .count() as u32;
    let settled = view.gateways.len() as u32 - starting;
    let expected = expected_gateways(instance, params.cpu_per_gateway);
    match instance.state {
        InstanceState::Building => expected.max(starting),
        InstanceState::Active if registering.holds(instance) => {
            expected.saturating_sub(settled).max(starting)
        }
        InstanceState::Active => starting,
        InstanceState::Error => 0,
    }
}

/// Groups gateways by instance and counts everything (DESIGN.md "Decision" › "Counts").
pub fn assess<'a>(
    observation: &'a Observation,
    params: &PoolParams,
    now: DateTime<Utc>,
) -> Assessment<'a> {
    let owners = Owners::new(&observation.instances);
    let protected_ips = protected_addresses(&params.protected);
    let mut views: Vec<InstanceView> = observation
        .instances
        .iter()
        .map(|instance| InstanceView {
            instance,
            gateways: SmallVec::new(),
            protected: is_protected(instance, &params.protected, &protected_ips),
            pending: 0,
        })
        .collect();
    let mut static_gateways = Vec::new();
    // A host's gateways usually come one after another: look each host up once.
    let mut last: Option<(IpAddr, Option<usize>)> = None;
    for (index, gateway) in observation.gateways.iter().enumerate() {
        let instance = match last {
            Some((host, instance)) if host == gateway.host => instance,
            _ => owners.of(gateway.host),
        };
        last = Some((gateway.host, instance));
        match instance {
            Some(i) => views[i].gateways.push(index),
            None => static_gateways.push(index),
        }
    }

    let mut gateways = gateway_counts(observation);

    let registering = Registering::new(now, params.register_timeout);
    let mut instances = InstanceCounts::default();
    for view in &mut views {
        let instance = view.instance;
        instances.total += 1;
        match instance.state {
            InstanceState::Building => instances.building += 1,
            InstanceState::Active => instances.active += 1,
            InstanceState::Error => instances.error += 1,
        }
        if view.protected {
            instances.protected += 1;
        }
        view.pending = pending(view, observation, params, &registering);
        gateways.pending += view.pending;
    }
    // Starting gateways on hosts that are not instances still count as pending.
    gateways.pending += static_gateways
        .iter()
        .filter(|&&g| observation.gateways[g].state == GatewayState::Starting)
        .count() as u32;

    Assessment {
        instances: views,
        static_gateways,
        instance_counts: instances,
        gateway_counts: gateways,
    }
}

/// Why an instance is destroyed (the stable `reason` of a destroy action).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DestroyReason {
    /// All its gateways were marked to stop.
    ToStop,
    /// Drained by this pass's scale-down.
    Drained,
    /// The provider reports it in error.
    ErrorState,
    /// Its status endpoint asks for termination.
    TerminationRequested,
    /// Active without a public IP for too long.
    NoPublicIp,
    /// Active without any registered gateway for too long.
    Unregistered,
}

impl DestroyReason {
    /// Every reason, in the report's order.
    pub const ALL: [DestroyReason; 6] = [
        DestroyReason::ToStop,
        DestroyReason::Drained,
        DestroyReason::ErrorState,
        DestroyReason::TerminationRequested,
        DestroyReason::NoPublicIp,
        DestroyReason::Unregistered,
    ];

    /// The stable name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            DestroyReason::ToStop => "to_stop",
            DestroyReason::Drained => "drained",
            DestroyReason::ErrorState => "error_state",
            DestroyReason::TerminationRequested => "termination_requested",
            DestroyReason::NoPublicIp => "no_public_ip",
            DestroyReason::Unregistered => "unregistered",
        }
    }
}

/// A rule that held back an action the decision (or, for the deadline and
/// a drain that found a call, the executor) wanted this pass: the report's
/// `held_back`, named in the text report's first line (DESIGN.md "Report").
/// The name is the configuration key where there is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Hold {
    /// The excess has not lasted `limits.scale_down_delay` yet.
    ScaleDownDelay,
    /// More creations wanted than `limits.max_create_per_run`.
    MaxCreatePerRun,
    /// More destructions wanted than `limits.max_destroy_per_run`.
    MaxDestroyPerRun,
    /// Creations beyond `pool.max_vcpus`.
    MaxVcpus,
    /// Replicas wanted beyond the slot's `max_replicas`.
    MaxReplicas,
    /// Too many gateways, but no instance whose gateways are all idle fits
    /// the excess (drains take whole instances).
    NoWholeIdleInstance,
    /// A host that must go (draining, in error, asking for termination) or
    /// a host being drained has a call in progress.
    CallInProgress,
    /// A drained host waits for `pool.drain_timeout` before it is destroyed.
    DrainTimeout,
    /// A record that cannot be read or tied to one host suspends every
    /// drain and destroy.
    UnreadableRecord,
    /// An adopted instance that never registered a gateway is never destroyed.
    UnprovenAdoption,
    /// Creation is suspended after `limits.crash_loop_after` instances in a
    /// row were lost without registering (DESIGN.md "Decision" ›
    /// "Crash-loop backoff").
    CrashLoop,
    /// `limits.deadline` was reached before the action started.
    Deadline,
}

impl Hold {
    /// The stable name of the report.
    pub fn as_str(self) -> &'static str {
        match self {
            Hold::ScaleDownDelay => "limits.scale_down_delay",
            Hold::MaxCreatePerRun => "limits.max_create_per_run",
            Hold::MaxDestroyPerRun => "limits.max_destroy_per_run",
            Hold::MaxVcpus => "pool.max_vcpus",
            Hold::MaxReplicas => "max_replicas",
            Hold::NoWholeIdleInstance => "no_whole_idle_instance",
            Hold::CallInProgress => "call_in_progress",
            Hold::DrainTimeout => "pool.drain_timeout",
            Hold::UnreadableRecord => "unreadable_record",
            Hold::UnprovenAdoption => "unproven_adoption",
            Hold::CrashLoop => "limits.crash_loop_after",
            Hold::Deadline => "limits.deadline",
        }
    }
}

impl Serialize for Hold {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// An instance the clean-up step removes.
#[derive(Debug, Clone, PartialEq)]
pub struct Removal {
    /// Index into [`Assessment::instances`].
    pub instance: usize,
    /// Why.
    pub reason: DestroyReason,
    /// Whether its idle gateways must be drained first (termination requested
    /// by an instance that still has registered gateways).
    pub drain_first: bool,
}

/// Instances that must go (DESIGN.md "Decision" › "Clean-up"), notes on
/// those kept back, and the rules that kept back one that would otherwise
/// go (a call in progress, `pool.drain_timeout`, a doubt).
pub fn cleanup(
    assessment: &Assessment,
    observation: &Observation,
    params: &PoolParams,
    now: DateTime<Utc>,
) -> (Vec<Removal>, Vec<String>, Vec<Hold>) {
    let mut removals = Vec::new();
    let mut notes = Vec::new();
    let mut held = Vec::new();
    let mut fates = assessment
        .instances
        .iter()
        .map(|view| fate(view, observation, params, now));
    if let Some(why) = suspended(observation) {
        if fates.any(|f| matches!(f, Fate::Removed(..))) {
            held.push(Hold::UnreadableRecord);
        }
        return (removals, vec![why], held);
    }
    for (index, fate) in fates.enumerate() {
        match fate {
            Fate::Kept => {}
            Fate::Noted(note, hold) => {
                notes.push(note);
                held.extend(hold);
            }
            Fate::Removed(reason, drain_first) => removals.push(Removal {
                instance: index,
                reason,
                drain_first,
            }),
        }
    }
    (removals, notes, held)
}

/// What the clean-up makes of one instance.
enum Fate {
    /// Nothing to do.
    Kept,
    /// Kept, with a note saying why and the rule that kept it when it
    /// would otherwise go.
    Noted(String, Option<Hold>),
    /// Removed for this reason, draining first when set.
    Removed(DestroyReason, bool),
}

/// The clean-up rule for one instance (see [`cleanup`]).
fn fate(
    view: &InstanceView,
    observation: &Observation,
    params: &PoolParams,
    now: DateTime<Utc>,
) -> Fate {
    let instance = view.instance;
    if view.protected {
        return Fate::Kept;
    }
    if tainted(instance, observation) {
        return Fate::Noted(
            format!("{} has a record that cannot be read: kept", instance.name),
            None,
        );
    }
    // Iterated, not collected: this runs for every instance at every pass.
    let gateways = || view.gateways.iter().map(|&g| &observation.gateways[g]);
    let in_call = call_on_host(instance, observation)
        || gateways().any(|g| g.in_call || g.state == GatewayState::Busy);
    let old = |limit: Duration| age(instance, now) > limit;
    let kept = |why: &str| {
        Fate::Noted(
            format!("{} {why}", instance.name),
            Some(Hold::CallInProgress),
        )
    };
    if instance.state == InstanceState::Error {
        return if in_call {
            kept("is in error but has a call in progress: kept")
        } else {
            Fate::Removed(DestroyReason::ErrorState, false)
        };
    }
    if !view.gateways.is_empty() && gateways().all(|g| g.state == GatewayState::Draining) {
        let gateways: Vec<&Gateway> = gateways().collect();
        return draining_fate(instance, &gateways, in_call, observation, params, now);
    }
    if observation.termination_requested.contains(&instance.id) {
        return if in_call {
            kept("asks for termination but has a call in progress: kept")
        } else {
            let drain_first = gateways().any(|g| g.state != GatewayState::Draining);
            Fate::Removed(DestroyReason::TerminationRequested, drain_first)
        };
    }
    if instance.state != InstanceState::Active {
        return Fate::Kept;
    }
    if let Some(limit) = params.no_public_ip_timeout
        && instance.public_ip.is_none()
        && old(limit)
        && !in_call
    {
        return Fate::Removed(DestroyReason::NoPublicIp, false);
    }
    if params.expects_gateways
        && view.gateways.is_empty()
        && !in_call
        && old(params.register_timeout)
    {
        return Fate::Removed(DestroyReason::Unregistered, false);
    }
    Fate::Kept
}

/// An instance whose gateways are all draining: destroyed once its calls
/// are over and, where the source records drain times, `drain_timeout` has
/// passed since the latest drain.
fn draining_fate(
    instance: &Instance,
    gateways: &[&Gateway],
    in_call: bool,
    observation: &Observation,
    params: &PoolParams,
    now: DateTime<Utc>,
) -> Fate {
    let latest_drain = gateways
        .iter()
        .filter_map(|g| observation.draining_since.get(&g.id))
        .max();
    let waiting = latest_drain.filter(|since| {
        (now - **since)
            .to_std()
            .is_ok_and(|waited| waited < params.drain_timeout)
            || **since > now
    });
    if in_call {
        Fate::Noted(
            format!(
                "{} is draining: waiting for its calls to end",
                instance.name
            ),
            Some(Hold::CallInProgress),
        )
    } else if let Some(since) = waiting {
        Fate::Noted(
            format!(
                "{} is draining since {}: destroyed once drain_timeout has passed",
                instance.name,
                since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            Some(Hold::DrainTimeout),
        )
    } else {
        Fate::Removed(DestroyReason::ToStop, false)
    }
}

/// Draining gateways whose host is not one of the pool's instances (any
/// more), grouped by host: what is left of destroyed instances, for the
/// source to forget. Hosts that are protected or have bad records are left
/// alone, and so are gateways in a call.
pub fn stale_gateways(
    assessment: &Assessment,
    observation: &Observation,
    params: &PoolParams,
) -> Vec<(IpAddr, Vec<usize>)> {
    let mut by_host: BTreeMap<IpAddr, Vec<usize>> = BTreeMap::new();
    if suspended(observation).is_some() || assessment.static_gateways.is_empty() {
        return Vec::new();
    }
    let protected_ips = protected_addresses(&params.protected);
    for &index in &assessment.static_gateways {
        let gateway = &observation.gateways[index];
        let protected = protected_ips.contains(&gateway.host);
        if gateway.state == GatewayState::Draining
            && !gateway.in_call
            && !protected
            && !observation.tainted_hosts.contains(&gateway.host)
            && !observation.busy_hosts.contains(&gateway.host)
        {
            by_host.entry(gateway.host).or_default().push(index);
        }
    }
    by_host.into_iter().collect()
}

/// One instance the scale-up creates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedCreate {
    /// Instance type.
    pub instance_type: String,
    /// Its vCPUs.
    pub vcpus: u32,
    /// Gateways it will run.
    pub gateways: u32,
}

/// The scaling decision of one pass.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Gateways wanted.
    pub target: u32,
    /// `target − (registered + pending)`.
    pub delta: i64,
    /// How the target and what the pool has were counted: the start of
    /// `reason`, which the pass decision rewrites after it when a brake or
    /// the scale-down delay holds the verdict back.
    pub basis: String,
    /// One human sentence.
    pub reason: String,
    /// Instances to create.
    pub creates: Vec<PlannedCreate>,
    /// Indices into [`Assessment::instances`] to drain then destroy.
    pub drains: Vec<usize>,
    /// Creations wanted beyond the cap the decision was given (the pass's
    /// creation budget): never planned, left to the next pass.
    pub held_creates: u32,
    /// The rules that held back some of what the target wants.
    pub held: Vec<Hold>,
}

/// `clamp(max(busy + idle_min, ceil(busy / load_max)) + ceil(sqrt_headroom × √busy), min_gateways, max_gateways)`.
pub fn target(busy: u32, slot: &Slot) -> u32 {
    let by_idle = busy.saturating_add(slot.idle_min);
    let by_load = if slot.load_max > 0.0 {
        (f64::from(busy) / slot.load_max).ceil() as u32
    } else {
        u32::MAX
    };
    by_idle
        .max(by_load)
        .saturating_add(sqrt_term(busy, slot))
        .clamp(slot.min_gateways, slot.max_gateways.max(slot.min_gateways))
}

/// Below this, the part of `β × √busy` above an integer is rounding error
/// of the product (0.3 × √100 is 3.0000000000000004), not a gateway.
const SQRT_ROUNDING: f64 = 1e-9;

/// The square-root staffing term of [`target`]: `ceil(sqrt_headroom × √busy)`
/// gateways for the random fluctuation of the arrivals, which grows as the
/// square root of the load; 0 when `sqrt_headroom` is 0 or nobody is busy.
pub fn sqrt_term(busy: u32, slot: &Slot) -> u32 {
    let beta = slot.sqrt_headroom;
    if beta.is_nan() || beta <= 0.0 || busy == 0 {
        return 0;
    }
    (beta * f64::from(busy).sqrt() - SQRT_ROUNDING)
        .ceil()
        .max(0.0) as u32
}

/// [`target`] plus the calls turned away since the last pass: each found
/// no gateway and will be back (clients retry), so each is one more gateway
/// wanted beyond the headroom; `max_gateways` still bounds the whole.
pub fn target_with(busy: u32, turned_away: u32, slot: &Slot) -> u32 {
    if turned_away == 0 {
        return target(busy, slot);
    }
    let unbounded = Slot {
        min_gateways: 0,
        max_gateways: u32::MAX,
        ..slot.clone()
    };
    target(busy, &unbounded)
        .saturating_add(turned_away)
        .clamp(slot.min_gateways, slot.max_gateways.max(slot.min_gateways))
}

/// Packs `vcpus` over the instance types: the largest type while it fits,
/// the remainder on the smallest type that covers it, at most
/// `max_instances` instances (the first ones of that packing: nothing beyond
/// the cap is ever built, however many are wanted). Types smaller than one
/// gateway are never used. Empty when no type can hold a gateway.
pub fn pack(
    vcpus: u32,
    cpu_per_gateway: u32,
    types: &BTreeMap<String, u32>,
    max_instances: u32,
) -> Vec<PlannedCreate> {
    let mut usable: Vec<(&String, u32)> = types
        .iter()
        .map(|(name, v)| (name, *v))
        .filter(|(_, v)| *v >= cpu_per_gateway.max(1))
        .collect();
    usable.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let Some(&(largest_name, largest)) = usable.first() else {
        return Vec::new();
    };
    let planned = |name: &String, v: u32| PlannedCreate {
        instance_type: name.clone(),
        vcpus: v,
        gateways: v / cpu_per_gateway.max(1),
    };
    let whole = vcpus / largest;
    let mut out = vec![planned(largest_name, largest); whole.min(max_instances) as usize];
    let remaining = vcpus % largest;
    if remaining > 0
        && whole < max_instances
        && let Some(&(name, v)) = usable.iter().rev().find(|(_, v)| *v >= remaining)
    {
        out.push(planned(name, v));
    }
    out
}

/// How many instances [`pack`] would plan for `vcpus` without a cap.
pub fn packed_count(vcpus: u32, cpu_per_gateway: u32, types: &BTreeMap<String, u32>) -> u32 {
    let usable = || {
        types
            .values()
            .copied()
            .filter(|v| *v >= cpu_per_gateway.max(1))
    };
    let Some(largest) = usable().max() else {
        return 0;
    };
    let remaining = vcpus % largest;
    let remainder = remaining > 0 && usable().any(|v| v >= remaining);
    vcpus / largest + u32::from(remainder)
}

/// How the target and what the pool has were counted: the start of the
/// decision's reason. `(target, have, registered)` as [`decide`] counted
/// them; the √ term is named only when `sqrt_headroom` is above 0.
fn basis(
    busy: u32,
    (target, have, registered): (u32, i64, u32),
    turned_away: u32,
    pending: u32,
    slot: &Slot,
) -> String {
    let by_load = if slot.load_max > 0.0 {
        (f64::from(busy) / slot.load_max).ceil()
    } else {
        f64::INFINITY
    };
    let demand = if turned_away > 0 {
        format!(" + {turned_away} turned away")
    } else {
        String::new()
    };
    let sqrt = if slot.sqrt_headroom > 0.0 {
        format!(
            " + ceil({} × √{busy}) = {}",
            slot.sqrt_headroom,
            sqrt_term(busy, slot)
        )
    } else {
        String::new()
    };
    format!(
        "target {target} = max({busy} busy + {} idle_min, ceil({busy} / {}) = {by_load}){sqrt}{demand} within {}..{}; have {have} ({registered} registered + {pending} pending)",
        slot.idle_min, slot.load_max, slot.min_gateways, slot.max_gateways
    )
}

/// The scaling decision (DESIGN.md "Decision" › "Target", "Scale up and packing", "Scale down and drains") for a sip/media pool.
/// `busy_override` is the `plan --busy N` what-if; `max_creates` caps the
/// instances planned (the pass's creation budget), the others are counted in
/// [`Decision::held_creates`].
pub fn decide(
    assessment: &Assessment,
    observation: &Observation,
    slot: &Slot,
    params: &PoolParams,
    busy_override: Option<u32>,
    max_creates: u32,
) -> Decision {
    let counts = assessment.gateway_counts;
    let busy = busy_override.unwrap_or(counts.busy);
    let registered = counts.registered.max(busy);
    let have = i64::from(registered) + i64::from(counts.pending);
    let turned_away = observation.turned_away;
    let target = target_with(busy, turned_away, slot);
    let delta = i64::from(target) - have;
    let why = basis(
        busy,
        (target, have, registered),
        turned_away,
        counts.pending,
        slot,
    );
    if delta > 0 {
        return scale_up(assessment, params, (target, delta), &why, max_creates);
    }
    if delta == 0 {
        return Decision {
            target,
            delta,
            reason: format!("{why}: at target"),
            basis: why,
            creates: Vec::new(),
            drains: Vec::new(),
            held_creates: 0,
            held: Vec::new(),
        };
    }
    let doubt = suspended(observation);
    let drains = match doubt {
        Some(_) => Vec::new(),
        None => choose_drains(assessment, observation, delta.unsigned_abs()),
    };
    let mut held = Vec::new();
    let reason = if let Some(doubt) = doubt {
        held.push(Hold::UnreadableRecord);
        format!(
            "{why}: {} gateway(s) too many, but {doubt}",
            delta.unsigned_abs()
        )
    } else if drains.is_empty() {
        held.push(Hold::NoWholeIdleInstance);
        format!(
            "{why}: {} gateway(s) too many, but no whole idle instance fits",
            delta.unsigned_abs()
        )
    } else {
        format!(
            "{why}: {}",
            scale_down_verdict(assessment, observation, &drains)
        )
    };
    Decision {
        target,
        delta,
        basis: why,
        reason,
        creates: Vec::new(),
        drains,
        held_creates: 0,
        held,
    }
}

/// "scale down, draining N gateway(s) on M whole idle instance(s)" for the
/// instances (indices into [`Assessment::instances`]) that will be drained.
pub fn scale_down_verdict(
    assessment: &Assessment,
    observation: &Observation,
    drains: &[usize],
) -> String {
    let drained: u64 = drains
        .iter()
        .map(|&i| u64::from(idle_on(&assessment.instances[i], observation)))
        .sum();
    format!(
        "scale down, draining {drained} gateway(s) on {} whole idle instance(s)",
        drains.len()
    )
}

/// The scale-up part of [`decide`]: `delta` more gateways packed into at
/// most `max_creates` instances, within `pool.max_vcpus`.
fn scale_up(
    assessment: &Assessment,
    params: &PoolParams,
    (target, delta): (u32, i64),
    why: &str,
    max_creates: u32,
) -> Decision {
    let vcpus = u32::try_from(delta)
        .unwrap_or(u32::MAX)
        .saturating_mul(params.cpu_per_gateway);
    let types = &params.instance_types;
    let wanted = packed_count(vcpus, params.cpu_per_gateway, types);
    let mut creates = pack(vcpus, params.cpu_per_gateway, types, max_creates);
    let held_creates = wanted - creates.len() as u32;
    let live = assessment.instances.iter().map(|v| v.instance);
    let held = within_budget(&mut creates, live, params.max_vcpus);
    // What the pass will do: "scale up" only when something is created.
    let wants = if creates.is_empty() {
        format!("{delta} gateway(s) short")
    } else {
        format!("scale up by {delta} gateway(s)")
    };
    let mut reason = if held > 0 {
        format!(
            "{why}: {wants}, but pool.max_vcpus ({}) holds back {held} of {vcpus} vCPUs",
            params.max_vcpus.unwrap_or(0)
        )
    } else if wanted == 0 {
        format!(
            "{why}: {delta} more gateway(s) needed but no instance type has {} vCPUs",
            params.cpu_per_gateway
        )
    } else if creates.is_empty() {
        format!(
            "{why}: {wants}, but limits.max_create_per_run ({max_creates}) holds back all {wanted} creation(s) this pass"
        )
    } else {
        format!("{why}: {wants}, {vcpus} vCPUs on {wanted} instance(s)")
    };
    if held_creates > 0 && !(creates.is_empty() && held == 0) {
        reason.push_str(&held_by_budget(wanted, max_creates, "instance(s)"));
    }
    let mut holds = Vec::new();
    if held > 0 {
        holds.push(Hold::MaxVcpus);
    }
    if held_creates > 0 {
        holds.push(Hold::MaxCreatePerRun);
    }
    Decision {
        target,
        delta,
        basis: why.to_string(),
        reason,
        creates,
        drains: Vec::new(),
        held_creates,
        held: holds,
    }
}

/// The end of a reason when the creation budget held some back.
fn held_by_budget(wanted: u32, planned: u32, what: &str) -> String {
    format!(
        "; {wanted} {what} wanted, {planned} planned (limits.max_create_per_run: the next pass continues)"
    )
}

fn idle_on(view: &InstanceView, observation: &Observation) -> u32 {
    view.gateways
        .iter()
        .filter(|&&g| observation.gateways[g].state == GatewayState::Idle)
        .count() as u32
}

/// Whole instances whose gateways are all idle, never protected or pending,
/// adding up to at most `excess` gateways (largest first).
fn choose_drains(assessment: &Assessment, observation: &Observation, excess: u64) -> Vec<usize> {
    let mut candidates: Vec<(usize, u32)> = assessment
        .instances
        .iter()
        .enumerate()
        .filter(|(_, view)| {
            let instance = view.instance;
            let gateways = || view.gateways.iter().map(|&g| &observation.gateways[g]);
            !view.protected
                && view.pending == 0
                && instance.state == InstanceState::Active
                && !view.gateways.is_empty()
                && gateways().all(|g| {
                    !g.in_call && matches!(g.state, GatewayState::Idle | GatewayState::Draining)
                })
                && gateways().all(|g| !observation.tainted_hosts.contains(&g.host))
                && !tainted(instance, observation)
                && !call_on_host(instance, observation)
        })
        .map(|(i, view)| (i, idle_on(view, observation)))
        .filter(|(_, idle)| *idle > 0)
        .collect();
    candidates.sort_by(|a, b| {
        b.1.cmp(&a.1).then_with(|| {
            assessment.instances[b.0]
                .instance
                .created_at
                .cmp(&assessment.instances[a.0].instance.created_at)
        })
    });
    let mut left = excess;
    let mut chosen = Vec::new();
    for (index, idle) in candidates {
        if u64::from(idle) <= left {
            left -= u64::from(idle);
            chosen.push(index);
        }
    }
    chosen
}

/// Replica pools (SimpleScaleVM): replicas to create so that the available
/// resources reach `min_available`. `available` is Σ capacity of healthy
/// replicas plus `replica_capacity` per building replica; `replicas` is the
/// current count, capped by `max_replicas`.
pub fn replicas_to_create(
    available: u64,
    replica_capacity: u32,
    min_available: u32,
    replicas: u32,
    max_replicas: u32,
) -> u32 {
    let short = u64::from(min_available).saturating_sub(available);
    if short == 0 || replica_capacity == 0 {
        return 0;
    }
    let wanted = short.div_ceil(u64::from(replica_capacity));
    let room = u64::from(max_replicas.saturating_sub(replicas));
    wanted.min(room) as u32
}

#[cfg(test)]
mod assess_tests;
#[cfg(test)]
mod tests;

/// Scale-down stabilization (`limits.scale_down_delay`): whether a
/// scale-down (`delta < 0`) may drain now, and since when the pool has been
/// above its target. The time is kept across passes; it is cleared as soon as
/// a pass wants no scale-down, so only an uninterrupted excess counts.
pub fn scale_down_gate(
    delta: i64,
    above_target_since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    delay: Duration,
) -> (bool, Option<DateTime<Utc>>) {
    if delta >= 0 {
        return (true, None);
    }
    let since = above_target_since.filter(|s| *s <= now).unwrap_or(now);
    let waited = (now - since).to_std().unwrap_or(Duration::ZERO);
    (delay.is_zero() || waited >= delay, Some(since))
}

/// Replica counts of the report (`observed.replicas`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ReplicaCounts {
    /// Active replicas that answered their probe (and do not ask for termination).
    pub healthy: u32,
    /// Active replicas with no usable answer, past `register_timeout`: not counted.
    pub unknown: u32,
    /// Building replicas, counted at `replica_capacity` each.
    pub building: u32,
    /// Active replicas not answering yet, younger than `register_timeout`,
    /// counted at `replica_capacity` each (they are still booting).
    pub pending: u32,
    /// Resources: Σ healthy capacity + `replica_capacity` × (building + pending).
    pub available: u64,
}

/// The replicas not `gone`, counted by state (capacity of the healthy
/// ones in `available`), and how many there are.
fn count_replicas(
    instances: &[Instance],
    healthy: &HashMap<String, u32>,
    gone: &HashSet<String>,
    params: &PoolParams,
    now: DateTime<Utc>,
) -> (ReplicaCounts, u32) {
    let mut counts = ReplicaCounts::default();
    let mut replicas = 0u32;
    for instance in instances.iter().filter(|i| !gone.contains(&i.id)) {
        replicas += 1;
        match instance.state {
            InstanceState::Building => counts.building += 1,
            InstanceState::Active => match healthy.get(&instance.id) {
                Some(capacity) => {
                    counts.healthy += 1;
                    counts.available += u64::from(*capacity);
                }
                None if age(instance, now) <= params.register_timeout => counts.pending += 1,
                None => counts.unknown += 1,
            },
            InstanceState::Error => {}
        }
    }
    (counts, replicas)
}

/// The replica-pool decision (SimpleScaleVM): create
/// `ceil((min_available − available) / replica_capacity)` replicas, capped by
/// `max_replicas`. `healthy` maps instance ids to the capacity they reported;
/// `gone` are instances the clean-up removes. Replicas are never drained: they
/// leave by asking for termination. `max_creates` caps the replicas planned
/// (the pass's creation budget), as in [`decide`].
#[allow(clippy::too_many_arguments)]
pub fn decide_replicas(
    instances: &[Instance],
    healthy: &HashMap<String, u32>,
    gone: &HashSet<String>,
    replica_capacity: u32,
    slot: &Slot,
    params: &PoolParams,
    instance_type: (&str, u32),
    now: DateTime<Utc>,
    max_creates: u32,
) -> (ReplicaCounts, Decision) {
    let (mut counts, replicas) = count_replicas(instances, healthy, gone, params, now);
    counts.available += u64::from(replica_capacity) * u64::from(counts.building + counts.pending);
    let min_available = slot.min_available.unwrap_or(0);
    let max_replicas = slot.max_replicas.unwrap_or(slot.max_gateways);
    let create = replicas_to_create(
        counts.available,
        replica_capacity,
        min_available,
        replicas,
        max_replicas,
    );
    let short = i64::from(min_available) - counts.available.min(i64::MAX as u64) as i64;
    let why = format!(
        "{} available ({} healthy, {} building and {} booting at {replica_capacity} each), min_available {min_available}",
        counts.available, counts.healthy, counts.building, counts.pending
    );
    let (name, vcpus) = instance_type;
    let planned = create.min(max_creates);
    let mut creates: Vec<PlannedCreate> = (0..planned)
        .map(|_| PlannedCreate {
            instance_type: name.to_string(),
            vcpus,
            gateways: 0,
        })
        .collect();
    let live = instances.iter().filter(|i| !gone.contains(&i.id));
    let held_vcpus = within_budget(&mut creates, live, params.max_vcpus);
    let wanted = if short > 0 && replica_capacity > 0 {
        short.unsigned_abs().div_ceil(u64::from(replica_capacity))
    } else {
        0
    };
    let (reason, held) = replica_reason(
        &why,
        short,
        ReplicaCreations {
            wanted,
            create,
            planned,
            held_vcpus,
        },
        params.max_vcpus,
        max_replicas,
    );
    let decision = Decision {
        target: min_available,
        delta: short,
        basis: why,
        reason,
        creates,
        drains: Vec::new(),
        held_creates: create - planned,
        held,
    };
    (counts, decision)
}

/// How many replicas a replica-pool decision wanted, and what each rule
/// left of them.
struct ReplicaCreations {
    /// To reach `min_available`.
    wanted: u64,
    /// Within `max_replicas`.
    create: u32,
    /// Within the creation budget.
    planned: u32,
    /// vCPUs `pool.max_vcpus` held back.
    held_vcpus: u32,
}

/// The replica-pool verdict after `why`, and the rules that held creations back.
fn replica_reason(
    why: &str,
    short: i64,
    n: ReplicaCreations,
    max_vcpus: Option<u32>,
    max_replicas: u32,
) -> (String, Vec<Hold>) {
    let mut held = Vec::new();
    if u64::from(n.create) < n.wanted {
        held.push(Hold::MaxReplicas);
    }
    let mut reason = if n.held_vcpus > 0 {
        held.push(Hold::MaxVcpus);
        format!(
            "{why}: {short} short, but pool.max_vcpus ({}) holds back {} vCPUs",
            max_vcpus.unwrap_or(0),
            n.held_vcpus
        )
    } else if short <= 0 {
        format!("{why}: enough")
    } else if n.create == 0 {
        format!("{why}: {short} short but max_replicas ({max_replicas}) is reached")
    } else if n.planned == 0 {
        format!(
            "{why}: {short} short, but limits.max_create_per_run (0) holds back all {} creation(s) this pass",
            n.create
        )
    } else if u64::from(n.create) < n.wanted {
        format!(
            "{why}: {short} short, create {} of {} replica(s): max_replicas ({max_replicas}) holds back the rest",
            n.create, n.wanted
        )
    } else {
        format!(
            "{why}: {short} short, create {} replica(s) (max_replicas {max_replicas})",
            n.create
        )
    };
    if n.planned < n.create {
        held.push(Hold::MaxCreatePerRun);
        if n.planned > 0 || n.held_vcpus > 0 {
            reason.push_str(&held_by_budget(n.create, n.planned, "replica(s)"));
        }
    }
    (reason, held)
}
