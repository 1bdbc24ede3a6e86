//! The crash-loop backoff (DESIGN.md "Decision" › "Crash-loop backoff"). An
//! image whose gateways never register would otherwise be destroyed as
//! `unregistered` and created again every `pool.register_timeout`, forever.
//! Once `limits.crash_loop_after` instances in a row are lost without ever
//! registering (see [`advance`]), creation is suspended for `limits.crash_loop_backoff`; when
//! that expires one trial instance may be created, and each trial that is
//! lost too doubles the suspension, up to `limits.crash_loop_backoff_max`.
//! A registration from an instance created since the losses began (replica
//! pools: a healthy probe), or `scaler resume`, clears it.
//!
//! Pure: the decision (`decision::decide`, which depends on this module)
//! calls [`advance`] with what it observed and the instances its clean-up
//! removes, then [`restrain`] on the creations it planned. The [`CrashLoop`] they return
//! is kept in the state file between passes.

use crate::duration::HumanDuration;
use crate::limits::Limits;
use crate::model::{GatewayState, Instance};
use crate::plan::{Assessment, DestroyReason, InstanceView, Observation, PoolParams, Removal};
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::time::Duration;

/// The crash-loop memory of a pool (the state file's `crash_loop` section).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrashLoop {
    /// Instances lost in a row without registering.
    #[serde(default)]
    pub lost: u32,
    /// When the first of them was created: an instance created since then
    /// that registers shows the pool's instances work again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    /// Ids of the lost instances the provider still lists, so that one
    /// whose destroy failed is counted once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub counted: Vec<String>,
    /// The suspension of creation, once `lost` reached
    /// `limits.crash_loop_after`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspension: Option<Suspension>,
}

/// Creation suspended after a crash loop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suspension {
    /// When creation was first suspended.
    pub since: DateTime<Utc>,
    /// Creation is held back until then; then one trial instance may be
    /// created.
    pub until: DateTime<Utc>,
    /// The backoff in force, in seconds.
    pub backoff_seconds: u64,
    /// When the trial instance was planned: creation stays held back until
    /// it registers or is lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trial_since: Option<DateTime<Utc>>,
}

impl CrashLoop {
    /// Whether there is nothing to remember (no loss, no suspension).
    pub fn is_clear(&self) -> bool {
        *self == CrashLoop::default()
    }
}

/// The suspension after one of `backoff`: doubled, at least `first` (the
/// configured backoff) and at most `max`.
pub fn next_backoff(backoff: Duration, (first, max): (Duration, Duration)) -> Duration {
    backoff.saturating_mul(2).max(first).min(max)
}

/// `at + duration`, saturating at the end of time instead of panicking.
fn later(at: DateTime<Utc>, duration: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(duration)
        .ok()
        .and_then(|d| at.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn seconds(seconds: u64) -> HumanDuration {
    HumanDuration(Duration::from_secs(seconds))
}

/// Whether an instance has shown that it works: a registered gateway (SIP
/// and media pools; one still `starting` does not count), or an answered
/// status probe (replica pools).
fn registered(view: &InstanceView, observation: &Observation, expects_gateways: bool) -> bool {
    if expects_gateways {
        view.gateways
            .iter()
            .any(|&g| observation.gateways[g].state != GatewayState::Starting)
    } else {
        observation.healthy.contains_key(&view.instance.id)
    }
}

/// Whether the clean-up destroys an instance that never registered:
/// `unregistered`; `no_public_ip` without a registered gateway (a healthy
/// probe, for replicas); `error_state` without one, when the instance is no
/// older than `pool.register_timeout` — it failed while booting, whereas
/// an older one may have served before its registrations expired (a
/// hypervisor failure is no crash loop). Drained, `to_stop` and
/// `termination_requested` instances served, or at least answered.
fn lost_without_registering(
    removal: &Removal,
    (assessment, observation): (&Assessment, &Observation),
    pool: &PoolParams,
    now: DateTime<Utc>,
) -> bool {
    let view = &assessment.instances[removal.instance];
    let never = || !registered(view, observation, pool.expects_gateways);
    let booting = (now - view.instance.created_at)
        .to_std()
        .map_or(true, |age| age <= pool.register_timeout);
    match removal.reason {
        DestroyReason::Unregistered => true,
        DestroyReason::NoPublicIp => never(),
        DestroyReason::ErrorState => booting && never(),
        DestroyReason::ToStop | DestroyReason::Drained | DestroyReason::TerminationRequested => {
            false
        }
    }
}

/// An instance created since the losses began that has registered: the
/// proof that ends the streak (adopted instances prove nothing about what
/// scaler creates).
fn proof<'a>(
    memory: &CrashLoop,
    assessment: &'a Assessment,
    observation: &Observation,
    expects_gateways: bool,
) -> Option<&'a Instance> {
    if memory.lost == 0 && memory.suspension.is_none() {
        return None;
    }
    assessment
        .instances
        .iter()
        .filter(|view| !view.instance.adopted)
        .filter(|view| memory.since.is_none_or(|s| view.instance.created_at >= s))
        .find(|view| registered(view, observation, expects_gateways))
        .map(|view| view.instance)
}

/// What one pass makes of the crash-loop memory, before scaling: a proof of
/// registration clears it; the instances the clean-up removes without their
/// ever registering are counted (once each); `limits.crash_loop_after` of
/// them suspend creation; a trial instance that is lost (or has not
/// registered within twice `pool.register_timeout`: its creation failed, or
/// it vanished) doubles the backoff. Returns the memory to keep and the
/// notes saying what changed.
pub fn advance(
    memory: &CrashLoop,
    (assessment, observation): (&Assessment, &Observation),
    removals: &[Removal],
    (pool, limits): (&PoolParams, &Limits),
    now: DateTime<Utc>,
) -> (CrashLoop, Vec<String>) {
    let mut notes = Vec::new();
    if limits.crash_loop_after == 0 {
        if memory.suspension.is_some() {
            notes.push(
                "limits.crash_loop_after is 0: the crash-loop suspension of creation is lifted"
                    .into(),
            );
        }
        return (CrashLoop::default(), notes);
    }
    let mut state = memory.clone();
    // Usually nothing is counted: no set of every id at every pass (a
    // replay decides once a simulated minute).
    if !state.counted.is_empty() {
        let listed: HashSet<&str> = observation
            .instances
            .iter()
            .map(|i| i.id.as_str())
            .collect();
        state.counted.retain(|id| listed.contains(id.as_str()));
    }
    if let Some(instance) = proof(&state, assessment, observation, pool.expects_gateways) {
        notes.push(cleared(&state, instance, pool.expects_gateways));
        state = CrashLoop::default();
    }
    let lost: Vec<&Instance> = removals
        .iter()
        .filter(|r| lost_without_registering(r, (assessment, observation), pool, now))
        .map(|r| assessment.instances[r.instance].instance)
        .filter(|i| !state.counted.contains(&i.id))
        .collect();
    for instance in &lost {
        state.lost = state.lost.saturating_add(1);
        let first = state
            .since
            .map_or(instance.created_at, |s| s.min(instance.created_at));
        state.since = Some(first);
        state.counted.push(instance.id.clone());
    }
    transition(
        &mut state,
        !lost.is_empty(),
        (pool, limits),
        now,
        &mut notes,
    );
    (state, notes)
}

/// The suspension's step of [`advance`], once this pass's losses
/// (`lost_now`) are counted: suspends creation at `limits.crash_loop_after`
/// losses; doubles the backoff when a trial instance is lost or late.
fn transition(
    state: &mut CrashLoop,
    lost_now: bool,
    (pool, limits): (&PoolParams, &Limits),
    now: DateTime<Utc>,
    notes: &mut Vec<String>,
) {
    let overdue = pool.register_timeout.saturating_mul(2);
    match state.suspension.as_mut() {
        None if state.lost >= limits.crash_loop_after => {
            let backoff = limits.crash_loop_backoff.0.min(limits.crash_loop_backoff_max.0);
            let until = later(now, backoff);
            state.suspension = Some(Suspension {
                since: now,
                until,
                backoff_seconds: backoff.as_secs(),
                trial_since: None,
            });
            notes.push(format!(
                "{} instance(s) lost in a row without registering (limits.crash_loop_after {}): creation is suspended for {}, until {}",
                state.lost,
                limits.crash_loop_after,
                HumanDuration(backoff),
                stamp(until)
            ));
        }
        None if lost_now => notes.push(format!(
            "{} instance(s) lost in a row without registering: creation is suspended at {} (limits.crash_loop_after)",
            state.lost, limits.crash_loop_after
        )),
        Some(suspension) => {
            let late = suspension
                .trial_since
                .is_some_and(|t| (now - t).to_std().is_ok_and(|waited| waited >= overdue));
            if suspension.trial_since.is_some() && (lost_now || late) {
                let range = (limits.crash_loop_backoff.0, limits.crash_loop_backoff_max.0);
                let backoff = next_backoff(Duration::from_secs(suspension.backoff_seconds), range);
                suspension.backoff_seconds = backoff.as_secs();
                suspension.until = later(now, backoff);
                suspension.trial_since = None;
                let what = if lost_now {
                    "an instance was lost without registering during the trial".to_string()
                } else {
                    format!(
                        "the trial instance has not registered within twice pool.register_timeout ({})",
                        HumanDuration(overdue)
                    )
                };
                notes.push(format!(
                    "{what}: creation is suspended for {} (limits.crash_loop_backoff_max {}), until {}",
                    HumanDuration(backoff),
                    limits.crash_loop_backoff_max,
                    stamp(suspension.until)
                ));
            }
        }
        None => {}
    }
}

/// The note of a proof of registration that clears the memory.
fn cleared(memory: &CrashLoop, instance: &Instance, expects_gateways: bool) -> String {
    let how = if expects_gateways {
        "registered a gateway"
    } else {
        "answered its status probe"
    };
    match &memory.suspension {
        Some(_) => format!(
            "{} {how}: creation resumes (suspended after {} instance(s) lost in a row without registering)",
            instance.name, memory.lost
        ),
        None => format!(
            "{} {how}: the count of instances lost in a row without registering ({}) starts again",
            instance.name, memory.lost
        ),
    }
}

/// What the suspension makes of the creations a pass planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restraint {
    /// How many of the planned creations are kept (the first ones).
    pub keep: usize,
    /// How many are held back.
    pub held: usize,
    /// Why, for the verdict's reason, when some are held back.
    pub why: Option<String>,
    /// The note, when the pass starts a trial.
    pub note: Option<String>,
}

/// The creations a suspension allows out of `wanted`: none while it runs
/// or while a trial instance has neither registered nor been lost, one
/// (the trial, marked in `memory`) once the backoff has expired. `None`
/// when creation is not suspended.
pub fn restrain(memory: &mut CrashLoop, wanted: usize, now: DateTime<Utc>) -> Option<Restraint> {
    let suspension = memory.suspension.as_mut()?;
    let trial = suspension.trial_since.is_none() && now >= suspension.until;
    let keep = usize::from(trial).min(wanted);
    let held = wanted - keep;
    let mut note = None;
    if keep > 0 {
        suspension.trial_since = Some(now);
        note = Some(
            "the crash-loop backoff has expired: one trial instance is created; creation stays suspended until it registers"
                .to_string(),
        );
    }
    let lost = format!(
        "creation is suspended after {} instance(s) lost in a row without registering",
        memory.lost
    );
    let why = (held > 0).then(|| {
        if keep > 0 {
            format!("{lost}: 1 trial instance, {held} creation(s) held back")
        } else {
            format!("{lost} (limits.crash_loop_after)")
        }
    });
    Some(Restraint {
        keep,
        held,
        why,
        note,
    })
}

/// The sentence a pass reports (in `errors`, exit 3) while creation is
/// suspended; `None` when it is not.
pub fn suspended(memory: &CrashLoop, now: DateTime<Utc>) -> Option<String> {
    let suspension = memory.suspension.as_ref()?;
    let phase = match suspension.trial_since {
        Some(trial) => format!(
            "waiting for the trial instance planned at {} to register",
            stamp(trial)
        ),
        None if now < suspension.until => format!(
            "the next creation is a trial instance, at {} (backoff {})",
            stamp(suspension.until),
            seconds(suspension.backoff_seconds)
        ),
        None => "the backoff has expired: the next creation is a trial instance".to_string(),
    };
    Some(format!(
        "creation is suspended since {}: {} instance(s) lost in a row without registering; {phase}; `scaler resume` lifts it",
        stamp(suspension.since),
        memory.lost
    ))
}

/// What `scaler resume` clears, in a sentence (`None`: nothing to clear).
pub fn describe(memory: &CrashLoop) -> Option<String> {
    if memory.is_clear() {
        return None;
    }
    let lost = format!(
        "{} instance(s) lost in a row without registering",
        memory.lost
    );
    Some(match &memory.suspension {
        Some(s) => format!(
            "the suspension of creation since {} (backoff {}, until {}) after {lost}",
            stamp(s.since),
            seconds(s.backoff_seconds),
            stamp(s.until)
        ),
        None => format!("the count of {lost} (creation was not suspended)"),
    })
}

#[cfg(test)]
mod tests;
