//! The whole decision of one pass, as one pure function: from what was
//! observed, the pool's parameters, the state kept between passes and the
//! time, [`decide`] returns the actions to carry out in order, the notes
//! saying what is held back and why, and the state to keep. The clean-up,
//! the target, packing, the budget (`pool.max_vcpus`), drains, the brakes
//! (`limits.max_create_per_run`, `limits.max_destroy_per_run`), the
//! scale-down delay, the reservations in force, the crash-loop backoff
//! ([`crate::crash_loop`]) and the replica rule all apply here, built on the
//! single rules of [`crate::plan`].
//!
//! Two executors carry a [`Plan`] out and report what became of each step:
//! the pass (`run`, `plan`, `cleanup`) against the real provider and
//! gateway source, and the simulator (`simulate`, `schedule suggest`)
//! against its simulated cloud. Neither decides anything; what only
//! execution can tell (a drain that finds a gateway busy, a failed
//! creation, the wall-clock deadline) is theirs to report.

use crate::crash_loop::{self, CrashLoop};
use crate::limits::Limits;
use crate::model::{Gateway, Instance, Slot};
use crate::plan::{
    self, Assessment, DestroyReason, GatewayCounts, Hold, InstanceCounts, Observation,
    PlannedCreate, PoolParams, ReplicaCounts,
};
use crate::reservations::Booking;
use chrono::{DateTime, SecondsFormat, Utc};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;

/// How the pool's kind sizes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// SIP and media pools: gateways on whole instances, drained when idle.
    Gateways,
    /// Replica pools: `min_available` resources from replicas of one type,
    /// never drained (they leave by asking for termination).
    Replicas {
        /// Resources one booting replica is counted for.
        capacity: u32,
        /// The replica instance type.
        instance_type: String,
        /// Its vCPUs.
        vcpus: u32,
    },
}

/// Everything of the configuration the decision depends on.
#[derive(Debug, Clone)]
pub struct Params {
    /// The pool settings of the planner's rules.
    pub pool: PoolParams,
    /// How the pool is sized.
    pub rule: Rule,
    /// The brakes and the scale-down delay (`[limits]`; `deadline` is the
    /// executor's).
    pub limits: Limits,
}

/// What one pass leaves to the next (kept in the state file).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Memory {
    /// Since when the pool has been above its target without interruption
    /// (`limits.scale_down_delay`).
    pub above_target_since: Option<DateTime<Utc>>,
    /// Instances lost in a row without registering, and the suspension of
    /// creation they led to (`limits.crash_loop_after`).
    pub crash_loop: CrashLoop,
}

/// The reservations a decision takes into account.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reservations {
    /// The bookings in force at the decision's time (from `start − lead`
    /// until `end`).
    pub in_force: Vec<Booking>,
    /// The busy count when each window opened, by booking key (kept in the
    /// state file); a window not listed opens now, at the busy count now.
    pub busy_at_open: BTreeMap<String, u32>,
}

/// The input of one decision.
#[derive(Debug, Clone)]
pub struct Input<'a> {
    /// What was observed.
    pub observation: &'a Observation,
    /// The pool's parameters.
    pub params: &'a Params,
    /// The schedule's slot in force.
    pub slot: &'a Slot,
    /// What the previous pass kept.
    pub memory: Memory,
    /// The time (instance ages, the scale-down delay).
    pub now: DateTime<Utc>,
    /// Whether to scale after the clean-up (`false`: `cleanup`).
    pub scale: bool,
    /// `plan --busy N`: the busy count to decide on instead of the observed one.
    pub busy_override: Option<u32>,
    /// The reservations in force.
    pub reservations: &'a Reservations,
}

/// One step of a plan, in the order the executor carries them out.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Destroy an instance, first draining its gateways when `drain` gives
    /// the drain's reason (the destroy waits for a successful drain).
    Destroy {
        /// The instance.
        instance: Instance,
        /// Its gateways (to drain, then to forget).
        gateways: Vec<Gateway>,
        /// Why (the destroy action's reason).
        reason: DestroyReason,
        /// The drain action's reason, when it drains first.
        drain: Option<&'static str>,
    },
    /// Create an instance (`scale_up`).
    Create {
        /// What to create.
        create: PlannedCreate,
        /// Whether the action reports the gateways it brings (not for replicas).
        with_gateways: bool,
    },
    /// Forget the draining gateways left on a host that is no longer one of
    /// the pool's instances (not an action of the report).
    ForgetStale {
        /// The host.
        host: IpAddr,
        /// Its gateways.
        gateways: Vec<Gateway>,
    },
}

/// The scaling verdict: the report's `decision`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Gateways (or resources, for replicas) wanted.
    pub target: u32,
    /// `target − have`.
    pub delta: i64,
    /// What will be done and why, including what the brakes hold back.
    pub reason: String,
    /// How the target and what the pool has were counted: the start of
    /// `reason`, for an executor that could not carry the verdict out
    /// ([`Verdict::cut_short`]).
    pub basis: String,
    /// What the target asks for, without saying what is done about it
    /// ("3 gateway(s) too many"): for [`Verdict::cut_short`].
    pub wants: String,
}

impl Verdict {
    /// The reason once the executor could not carry out all of the
    /// verdict's scaling steps (`limits.deadline`, a drain that found a
    /// call): when none was carried out the reason no longer says what the
    /// decision would have done, only what it wanted and `why` not;
    /// otherwise `why` follows what was decided.
    pub fn cut_short(&mut self, none_done: bool, why: &str) {
        if none_done {
            self.reason = format!("{}: {}, but {why}", self.basis, self.wants);
        } else {
            self.reason = format!("{}; but {why}", self.reason);
        }
    }
}

/// `plan --busy N`: the counts the decision used in place of the observed
/// ones (the report's `what_if`; `observed` stays what was observed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct WhatIf {
    /// The busy gateways given.
    pub busy: u32,
    /// Registered gateways: the observed ones, at least `busy`.
    pub registered: u32,
}

/// The decision of one pass.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Instance counts of the observation.
    pub instances: InstanceCounts,
    /// Gateway counts of the observation.
    pub gateways: GatewayCounts,
    /// Replica pools: what the probes said.
    pub replicas: Option<ReplicaCounts>,
    /// The verdict (none for a clean-up only pass).
    pub verdict: Option<Verdict>,
    /// What to do, in order.
    pub steps: Vec<Step>,
    /// What is held back and why.
    pub notes: Vec<String>,
    /// What to keep for the next pass.
    pub memory: Memory,
    /// The busy count at opening of each reservation window in force, to
    /// keep for the next pass (the windows that closed are gone).
    pub busy_at_open: BTreeMap<String, u32>,
    /// The rules that held back something the decision wanted, in
    /// [`Hold`] order, each once.
    pub held_back: Vec<Hold>,
    /// `plan --busy N`: what the decision used instead of the observation.
    pub what_if: Option<WhatIf>,
}

/// The per-pass brakes: what they still allow, and what they held back.
struct Brakes {
    create_cap: u32,
    destroy_cap: u32,
    creates_left: u32,
    destroys_left: u32,
    held_creates: u32,
    held_destroys: u32,
}

impl Brakes {
    fn new(limits: &Limits, instances: usize) -> Brakes {
        let instances = u32::try_from(instances).unwrap_or(u32::MAX);
        let create_cap = limits.create_budget(instances);
        let destroy_cap = limits.destroy_budget(instances);
        Brakes {
            create_cap,
            destroy_cap,
            creates_left: create_cap,
            destroys_left: destroy_cap,
            held_creates: 0,
            held_destroys: 0,
        }
    }

    /// Keeps the first items the budget allows; returns how many it held back.
    fn keep<T>(left: &mut u32, held_total: &mut u32, items: &mut Vec<T>) -> u32 {
        let allowed = (*left as usize).min(items.len());
        let held = (items.len() - allowed) as u32;
        items.truncate(allowed);
        *left -= allowed as u32;
        *held_total += held;
        held
    }

    fn destroys<T>(&mut self, items: &mut Vec<T>) -> u32 {
        Self::keep(&mut self.destroys_left, &mut self.held_destroys, items)
    }

    /// The rules that held something back.
    fn holds(&self) -> Vec<Hold> {
        let mut holds = Vec::new();
        if self.held_creates > 0 {
            holds.push(Hold::MaxCreatePerRun);
        }
        if self.held_destroys > 0 {
            holds.push(Hold::MaxDestroyPerRun);
        }
        holds
    }

    /// The notes for what was held back.
    fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if self.held_creates > 0 {
            notes.push(format!(
                "limits.max_create_per_run ({}) held back {} creation(s); the next pass continues",
                self.create_cap, self.held_creates
            ));
        }
        if self.held_destroys > 0 {
            notes.push(format!(
                "limits.max_destroy_per_run ({}) held back {} destruction(s); the next pass continues",
                self.destroy_cap, self.held_destroys
            ));
        }
        notes
    }
}

/// The decision of one pass (see the module documentation).
pub fn decide(input: &Input) -> Plan {
    let params = input.params;
    let observation = input.observation;
    let assessment = plan::assess(observation, &params.pool, input.now);
    let (mut removals, mut notes, mut held_back) =
        plan::cleanup(&assessment, observation, &params.pool, input.now);
    if hold_unproven_adoptions(&assessment, observation, &mut removals, &mut notes) {
        held_back.push(Hold::UnprovenAdoption);
    }
    let mut brakes = Brakes::new(&params.limits, observation.instances.len());
    brakes.destroys(&mut removals);
    let (crash_loop, crash_notes) = crash_loop::advance(
        &input.memory.crash_loop,
        (&assessment, observation),
        &removals,
        (&params.pool, &params.limits),
        input.now,
    );
    notes.extend(crash_notes);
    let mut steps: Vec<Step> = removals
        .iter()
        .map(|r| removal_step(&assessment, observation, r))
        .collect();
    for (host, indices) in plan::stale_gateways(&assessment, observation, &params.pool) {
        let gateways = indices
            .iter()
            .map(|&g| observation.gateways[g].clone())
            .collect();
        steps.push(Step::ForgetStale { host, gateways });
    }
    let mut plan = Plan {
        instances: assessment.instance_counts,
        gateways: assessment.gateway_counts,
        replicas: None,
        verdict: None,
        steps,
        notes,
        memory: Memory {
            crash_loop,
            ..input.memory.clone()
        },
        busy_at_open: still_open(input.reservations),
        held_back,
        what_if: None,
    };
    if input.scale {
        let removed: HashSet<usize> = removals.iter().map(|r| r.instance).collect();
        match &params.rule {
            Rule::Gateways => scale_gateways(input, &assessment, &removed, &mut brakes, &mut plan),
            Rule::Replicas { .. } => {
                scale_replicas(input, &assessment, &removed, &mut brakes, &mut plan)
            }
        }
        hold_for_crash_loop(&mut plan, &mut brakes, input.now);
    }
    plan.notes.extend(brakes.notes());
    plan.held_back.extend(brakes.holds());
    plan.held_back.sort();
    plan.held_back.dedup();
    plan
}

/// The crash-loop backoff on the planned creations (DESIGN.md "Decision" ›
/// "Crash-loop backoff"): while creation is suspended none is kept, once
/// the backoff has expired one trial instance; the verdict's reason, a note
/// and `held_back` say so, and what the suspension holds back is not the
/// create brake's.
fn hold_for_crash_loop(plan: &mut Plan, brakes: &mut Brakes, now: DateTime<Utc>) {
    let wanted = plan
        .steps
        .iter()
        .filter(|s| matches!(s, Step::Create { .. }))
        .count();
    let Some(restraint) = crash_loop::restrain(&mut plan.memory.crash_loop, wanted, now) else {
        return;
    };
    brakes.held_creates = 0;
    let mut keep = restraint.keep;
    plan.steps.retain(|step| {
        if !matches!(step, Step::Create { .. }) {
            return true;
        }
        let kept = keep > 0;
        keep = keep.saturating_sub(1);
        kept
    });
    if let (Some(verdict), Some(why)) = (plan.verdict.as_mut(), restraint.why) {
        verdict.cut_short(restraint.keep == 0, &why);
    }
    if restraint.held > 0 {
        plan.held_back.retain(|h| *h != Hold::MaxCreatePerRun);
        plan.held_back.push(Hold::CrashLoop);
    }
    plan.notes.extend(restraint.note);
}

/// The adoption gate (DESIGN.md "Decision" › "Clean-up"): an adopted
/// instance (one that matched the membership filter without the
/// `scaler-pool` marker) is destroyed only once it has shown it is one of
/// the pool's gateways: a gateway registered from one of its addresses, or
/// (replica pools) an answered status probe asking for termination. Until
/// then it may be any machine that shares the filter's security group or
/// metadata, so no other reason (`unregistered`, `no_public_ip`,
/// `error_state`) proves it is the pool's: it is kept, with a note.
/// Returns whether it kept one.
fn hold_unproven_adoptions(
    assessment: &Assessment,
    observation: &Observation,
    removals: &mut Vec<plan::Removal>,
    notes: &mut Vec<String>,
) -> bool {
    let before = removals.len();
    removals.retain(|removal| {
        let view = &assessment.instances[removal.instance];
        let instance = &view.instance;
        let proven =
            !view.gateways.is_empty() || observation.termination_requested.contains(&instance.id);
        if instance.adopted && !proven {
            notes.push(format!(
                "{} ({}) is adopted and has never registered a gateway: kept (would be {})",
                instance.name,
                instance.id,
                removal.reason.as_str()
            ));
            return false;
        }
        true
    });
    removals.len() < before
}

fn gateways_of(assessment: &Assessment, observation: &Observation, index: usize) -> Vec<Gateway> {
    assessment.instances[index]
        .gateways
        .iter()
        .map(|&g| observation.gateways[g].clone())
        .collect()
}

fn removal_step(
    assessment: &Assessment,
    observation: &Observation,
    removal: &plan::Removal,
) -> Step {
    Step::Destroy {
        instance: assessment.instances[removal.instance].instance.clone(),
        gateways: gateways_of(assessment, observation, removal.instance),
        reason: removal.reason,
        drain: removal.drain_first.then(|| removal.reason.as_str()),
    }
}

/// The observation without the removed instances and their gateways.
fn without<'a>(
    observation: &'a Observation,
    assessment: &Assessment,
    removed: &HashSet<usize>,
) -> Cow<'a, Observation> {
    if removed.is_empty() {
        return Cow::Borrowed(observation);
    }
    let gone: HashSet<usize> = removed
        .iter()
        .flat_map(|&i| assessment.instances[i].gateways.iter().copied())
        .collect();
    Cow::Owned(Observation {
        instances: assessment
            .instances
            .iter()
            .enumerate()
            .filter(|(i, _)| !removed.contains(i))
            .map(|(_, v)| v.instance.clone())
            .collect(),
        gateways: observation
            .gateways
            .iter()
            .enumerate()
            .filter(|(i, _)| !gone.contains(i))
            .map(|(_, g)| g.clone())
            .collect(),
        ..observation.clone()
    })
}

/// The creations the planner made within the creation budget it was
/// given (`creates_left`) become steps; those it left out count as held back.
fn take_creates(
    decision: &plan::Decision,
    brakes: &mut Brakes,
    with_gateways: bool,
    steps: &mut Vec<Step>,
) {
    let planned = u32::try_from(decision.creates.len()).unwrap_or(u32::MAX);
    brakes.creates_left = brakes.creates_left.saturating_sub(planned);
    brakes.held_creates += decision.held_creates;
    steps.extend(decision.creates.iter().map(|create| Step::Create {
        create: create.clone(),
        with_gateways,
    }));
}

/// The windows of `reservations` already open, with their busy count at
/// opening (a clean-up only pass opens none).
fn still_open(reservations: &Reservations) -> BTreeMap<String, u32> {
    reservations
        .in_force
        .iter()
        .filter_map(|b| {
            let key = b.key();
            reservations.busy_at_open.get(&key).map(|n| (key, *n))
        })
        .collect()
}

/// The reservation rule: while bookings are in force, the target is at
/// least `busy_at_open + idle_min + ΣN`, where `busy_at_open` is the busy
/// count when the earliest of the windows in force opened (later ones
/// opened on a count that already holds its calls) and `ΣN` adds the
/// overlapping bookings, within `max_gateways` and what `pool.max_vcpus`
/// can hold. Returns the raised slot, the windows with their busy count at
/// opening, and the notes naming the bookings and any cap that cuts them.
pub fn reserve(
    slot: &Slot,
    reservations: &Reservations,
    busy: u32,
    pool: &plan::PoolParams,
) -> (Slot, BTreeMap<String, u32>, Vec<String>) {
    let mut slot = slot.clone();
    let mut open = BTreeMap::new();
    if reservations.in_force.is_empty() {
        return (slot, open, Vec::new());
    }
    for booking in &reservations.in_force {
        let key = booking.key();
        let at_open = reservations.busy_at_open.get(&key).copied().unwrap_or(busy);
        open.insert(key, at_open);
    }
    let at_open = open.values().copied().min().unwrap_or(busy);
    let booked = reservations
        .in_force
        .iter()
        .fold(0u32, |sum, b| sum.saturating_add(b.gateways));
    let wanted = at_open.saturating_add(slot.idle_min).saturating_add(booked);
    let names: Vec<String> = reservations
        .in_force
        .iter()
        .map(|b| format!("{} ({})", b.name, b.gateways))
        .collect();
    let mut notes = vec![format!(
        "reservations in force: {}: target at least {at_open} busy at opening + {} idle_min + {booked} booked = {wanted}",
        names.join(", "),
        slot.idle_min
    )];
    let mut floor = wanted;
    let max = slot.max_gateways.max(slot.min_gateways);
    if floor > max {
        notes.push(format!(
            "max_gateways ({max}) cuts the reservations: {max} of {wanted} gateway(s)"
        ));
        floor = max;
    }
    if let Some(vcpus) = pool.max_vcpus {
        let fits = vcpus / pool.cpu_per_gateway.max(1);
        if floor > fits {
            notes.push(format!(
                "pool.max_vcpus ({vcpus}) cuts the reservations: room for {fits} of {wanted} gateway(s)"
            ));
            floor = fits;
        }
    }
    slot.min_gateways = slot.min_gateways.max(floor);
    (slot, open, notes)
}

/// Sip and media pools: target, packing, budget, the scale-down delay and
/// the brakes, on what the clean-up leaves.
fn scale_gateways(
    input: &Input,
    assessment: &Assessment,
    removed: &HashSet<usize>,
    brakes: &mut Brakes,
    plan: &mut Plan,
) {
    let params = input.params;
    let remaining = without(input.observation, assessment, removed);
    // Nothing removed: the same observation, so the same assessment.
    let assessment = match &remaining {
        Cow::Borrowed(_) => Cow::Borrowed(assessment),
        Cow::Owned(remaining) => Cow::Owned(plan::assess(remaining, &params.pool, input.now)),
    };
    let busy = input
        .busy_override
        .unwrap_or(assessment.gateway_counts.busy);
    let (slot, open, notes) = reserve(input.slot, input.reservations, busy, &params.pool);
    plan.busy_at_open = open;
    plan.notes.extend(notes);
    let mut decision = plan::decide(
        &assessment,
        &remaining,
        &slot,
        &params.pool,
        input.busy_override,
        brakes.creates_left,
    );
    plan.held_back.extend(decision.held.iter().copied());
    plan.what_if = input.busy_override.map(|busy| WhatIf {
        busy,
        registered: assessment.gateway_counts.registered.max(busy),
    });
    let excess = decision.delta.unsigned_abs();
    let mut reason =
        delay_scale_down(input, &mut decision, plan).unwrap_or_else(|| decision.reason.clone());
    let mut drains = std::mem::take(&mut decision.drains);
    let planned = drains.len();
    let held = brakes.destroys(&mut drains);
    if held > 0 {
        let cap = brakes.destroy_cap;
        reason = if drains.is_empty() {
            format!(
                "{}: {excess} gateway(s) too many, but limits.max_destroy_per_run ({cap}) holds back all {planned} drain(s) this pass",
                decision.basis
            )
        } else {
            let verdict = plan::scale_down_verdict(&assessment, &remaining, &drains);
            format!(
                "{}: {verdict}; limits.max_destroy_per_run ({cap}) holds back {held} more instance(s)",
                decision.basis
            )
        };
    }
    take_creates(&decision, brakes, true, &mut plan.steps);
    for index in drains {
        plan.steps.push(Step::Destroy {
            instance: assessment.instances[index].instance.clone(),
            gateways: gateways_of(&assessment, &remaining, index),
            reason: DestroyReason::Drained,
            drain: Some("scale_down"),
        });
    }
    plan.verdict = Some(Verdict {
        target: decision.target,
        delta: decision.delta,
        reason,
        wants: match decision.delta {
            d if d < 0 => format!("{} gateway(s) too many", d.unsigned_abs()),
            d => format!("{d} gateway(s) short"),
        },
        basis: decision.basis,
    });
}

/// The scale-down gate (DESIGN.md "Decision" › "Scale-down gate"): keeps
/// since when the pool has been above its target and, while that has not
/// lasted `limits.scale_down_delay`, clears the drains and returns the
/// reason saying so.
fn delay_scale_down(
    input: &Input,
    decision: &mut plan::Decision,
    plan: &mut Plan,
) -> Option<String> {
    let delay = input.params.limits.scale_down_delay;
    let (allowed, since) = plan::scale_down_gate(
        decision.delta,
        input.memory.above_target_since,
        input.now,
        delay.0,
    );
    plan.memory.above_target_since = since;
    if allowed || decision.drains.is_empty() {
        return None;
    }
    let since = since.map_or(String::new(), |s| {
        s.to_rfc3339_opts(SecondsFormat::Secs, true)
    });
    let held = format!(
        "limits.scale_down_delay ({delay}) holds back the scale-down: above target since {since}"
    );
    let reason = format!(
        "{}: {} gateway(s) too many, but {held}",
        decision.basis,
        decision.delta.unsigned_abs()
    );
    plan.notes.push(held);
    plan.held_back.push(Hold::ScaleDownDelay);
    decision.drains.clear();
    Some(reason)
}

/// Replica pools: `min_available` from the healthy replicas the clean-up
/// leaves, within the budget and the create brake.
fn scale_replicas(
    input: &Input,
    assessment: &Assessment,
    removed: &HashSet<usize>,
    brakes: &mut Brakes,
    plan: &mut Plan,
) {
    let Rule::Replicas {
        capacity,
        instance_type,
        vcpus,
    } = &input.params.rule
    else {
        return;
    };
    if !input.reservations.in_force.is_empty() {
        plan.notes
            .push("reservations are not applied to a replica pool (min_available sizes it)".into());
    }
    if input.busy_override.is_some() {
        plan.notes
            .push("--busy does not apply to a replica pool (min_available sizes it)".into());
    }
    let gone: HashSet<String> = removed
        .iter()
        .map(|&i| assessment.instances[i].instance.id.clone())
        .collect();
    let (counts, decision) = plan::decide_replicas(
        &input.observation.instances,
        &input.observation.healthy,
        &gone,
        *capacity,
        input.slot,
        &input.params.pool,
        (instance_type, *vcpus),
        input.now,
        brakes.creates_left,
    );
    plan.replicas = Some(counts);
    plan.held_back.extend(decision.held.iter().copied());
    take_creates(&decision, brakes, false, &mut plan.steps);
    plan.verdict = Some(Verdict {
        target: decision.target,
        delta: decision.delta,
        reason: decision.reason,
        wants: format!("{} short", decision.delta),
        basis: decision.basis,
    });
}

#[cfg(test)]
mod crash_loop_tests;
#[cfg(test)]
mod held_tests;
#[cfg(test)]
mod reservation_tests;
#[cfg(test)]
mod tests;
