//! One pass, the real executor of the decision: observe the provider, the
//! gateways and the probes, take the decision ([`crate::decision::decide`]),
//! carry its steps out in order and fill the report. Observation failures
//! stop the pass before anything is changed (exit 69); action failures are
//! recorded and the pass goes on (exit 3); so do drains that find a gateway
//! busy (a note). The deadline is wall time, so it lives here: no action
//! starts after it. `plan` and `--dry-run` run the same code with acting
//! replaced by recording `planned` actions.

use crate::config::Config;
use crate::decision::{self, Input, Memory, Plan, Step};
use crate::exit::Exit;
use crate::plan::Observation;
use crate::pool::GatewayObservation;
use crate::pool::{DrainOutcome, Gateway, GatewaySource};
use crate::probe::Prober;
use crate::provider::{CreateRequest, Instance, Provider, instance_name};
use crate::report::{
    Action, ActionKind, ActionStatus, DecisionInfo, Observed as ObservedCounts, PoolInfo, Report,
    SlotInfo, Timings,
};
use crate::schedule::ActiveSlot;
use chrono::{DateTime, SecondsFormat, Utc};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::time::Instant;

fn ms_since(start: Instant) -> f64 {
    (start.elapsed().as_secs_f64() * 1e6).round() / 1e3
}

/// Which steps a pass runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Steps {
    /// Clean up, then scale (`run`, `plan`).
    Full,
    /// Clean up only (`cleanup`).
    CleanupOnly,
}

/// How a pass runs.
#[derive(Debug, Clone)]
pub struct PassOptions {
    /// The command name for the report.
    pub command: &'static str,
    /// Which steps.
    pub steps: Steps,
    /// Record actions as `planned` instead of doing them.
    pub dry_run: bool,
    /// The real time (instance ages, names).
    pub now: DateTime<Utc>,
    /// The time the schedule is evaluated at (`plan --at`).
    pub at: DateTime<Utc>,
    /// `plan --busy N`.
    pub busy_override: Option<u32>,
    /// When the pass stops starting new actions.
    pub deadline: Instant,
    /// Since when the pool has been above its target (from the state file),
    /// for `limits.scale_down_delay`.
    pub above_target_since: Option<DateTime<Utc>>,
}

/// What the pass observed, as the decision's input, with what it found
/// wrong on the way (bad records, failed probes) and how long it took.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// The decision's input.
    pub observation: Observation,
    /// Problems with individual records or probes (reported, not fatal).
    pub errors: Vec<String>,
    /// `provider_ms` and `gateways_ms`.
    pub timings: Timings,
}

/// Observes the provider, the gateway source and the status probes. Any
/// failure to list or to observe stops the pass before anything changes:
/// the error, for the report, and exit 69.
pub fn observe(
    provider: &mut dyn Provider,
    source: Option<&mut (dyn GatewaySource + '_)>,
    prober: Option<&Prober>,
) -> Result<Observed, String> {
    let started = Instant::now();
    let mut timings = Timings::default();
    let instances = provider.list().map_err(|e| format!("provider: {e}"))?;
    timings.provider_ms = ms_since(started);
    let observing = Instant::now();
    let gateways = match source.map(|s| s.observe()) {
        None => GatewayObservation::default(),
        Some(Ok(g)) => g,
        Some(Err(e)) => return Err(e.0),
    };
    let mut errors = gateways.errors.clone();
    // Probes: unknown is not dead, so a failed probe only reports.
    let mut termination_requested = HashSet::new();
    let mut healthy: HashMap<String, u32> = HashMap::new();
    for (id, result) in prober.map(|p| p.probe_all(&instances)).unwrap_or_default() {
        match result {
            Ok(status) if status.termination => {
                termination_requested.insert(id);
            }
            Ok(status) => {
                healthy.insert(id, status.capacity.unwrap_or(0));
            }
            Err(e) => {
                let name = instances
                    .iter()
                    .find(|i| i.id == id)
                    .map_or(id.as_str(), |i| i.name.as_str());
                errors.push(format!("probe {name}: {e}"));
            }
        }
    }
    timings.gateways_ms = ms_since(observing);
    let observation = Observation {
        instances,
        gateways: gateways.gateways,
        tainted_hosts: gateways.tainted_hosts.into_iter().collect(),
        termination_requested,
        draining_since: gateways.draining_since,
        healthy,
    };
    Ok(Observed {
        observation,
        errors,
        timings,
    })
}

/// The report's header: pool, time and the slot in force (`None` when the
/// schedule has no slot for the time).
fn header(config: &Config, options: &PassOptions) -> (Report, Option<ActiveSlot>) {
    let mut report = Report::new(options.command);
    report.pool = Some(PoolInfo {
        name: config.pool.name.clone(),
        kind: config.pool.kind.as_str().to_string(),
    });
    report.at = Some(options.at.to_rfc3339_opts(SecondsFormat::Secs, true));
    let active = config.schedule.slot_at(options.at);
    report.slot = active.as_ref().map(|active| SlotInfo {
        timeline: active.timeline.clone(),
        start: active.start.format("%H:%M:%S").to_string(),
        exception: active.exception.clone(),
        idle_min: active.slot.idle_min,
        load_max: active.slot.load_max,
        max_gateways: active.slot.max_gateways,
        min_gateways: active.slot.min_gateways,
        min_available: active.slot.min_available,
        max_replicas: active.slot.max_replicas,
    });
    (report, active)
}

/// Runs one pass and returns its report (with `exit_code` set): observes,
/// then carries out the decision on what it saw ([`execute_observed`]).
pub fn execute(
    config: &Config,
    provider: &mut dyn Provider,
    mut source: Option<&mut (dyn GatewaySource + '_)>,
    prober: Option<&Prober>,
    options: &PassOptions,
) -> Report {
    if config.schedule.slot_at(options.at).is_none() {
        let (mut report, _) = header(config, options);
        report
            .errors
            .push("the schedule has no slot for this time".into());
        return finish(report, Exit::Internal);
    }
    match observe(provider, source.as_deref_mut(), prober) {
        Ok(observed) => execute_observed(config, provider, source, observed, options),
        Err(e) => {
            let (mut report, _) = header(config, options);
            report.errors.push(e);
            finish(report, Exit::Unavailable)
        }
    }
}

/// The pass after its observation: takes the decision on `observed`,
/// carries its steps out in order against `provider` and `source`, and
/// reports.
pub fn execute_observed(
    config: &Config,
    provider: &mut dyn Provider,
    source: Option<&mut (dyn GatewaySource + '_)>,
    observed: Observed,
    options: &PassOptions,
) -> Report {
    let started = Instant::now();
    let (mut report, active) = header(config, options);
    let Some(active) = active else {
        report
            .errors
            .push("the schedule has no slot for this time".into());
        return finish(report, Exit::Internal);
    };
    report.errors.extend(observed.errors);
    let mut timings = observed.timings;
    let params = config.decision_params();
    let plan = decision::decide(&Input {
        observation: &observed.observation,
        params: &params,
        slot: &active.slot,
        memory: Memory {
            above_target_since: options.above_target_since,
        },
        now: options.now,
        scale: options.steps == Steps::Full,
        busy_override: options.busy_override,
    });
    timings.plan_ms = ms_since(started);
    record(&mut report, &plan);
    let mut acting = Acting {
        provider,
        source: source.map(|s| s as &mut dyn GatewaySource),
        dry_run: options.dry_run,
        report: &mut report,
        deadline: options.deadline,
        past_deadline: 0,
    };
    acting.carry_out(&plan.steps, config, options);
    let exit = acting.settle_and_exit();
    timings.total_ms = timings.provider_ms + timings.gateways_ms + ms_since(started);
    report.timings = Some(timings);
    finish(report, exit)
}

/// The decision's counts, verdict, notes and memory, into the report.
fn record(report: &mut Report, plan: &Plan) {
    report.observed = Some(ObservedCounts {
        instances: plan.instances,
        gateways: plan.gateways,
        replicas: plan.replicas,
    });
    report.decision = plan.verdict.as_ref().map(|v| DecisionInfo {
        target: v.target,
        delta: v.delta,
        reason: v.reason.clone(),
    });
    report.notes.extend(plan.notes.iter().cloned());
    report.above_target_since = plan.memory.above_target_since;
}

fn finish(mut report: Report, exit: Exit) -> Report {
    report.exit_code = exit.code();
    report
}

/// Carries out (or records) the steps of a plan and their outcomes.
struct Acting<'a> {
    provider: &'a mut dyn Provider,
    source: Option<&'a mut dyn GatewaySource>,
    dry_run: bool,
    report: &'a mut Report,
    /// When the pass stops starting actions (wall time: the executor's).
    deadline: Instant,
    /// Actions not started because of the deadline.
    past_deadline: u32,
}

impl Acting<'_> {
    fn status(&self) -> ActionStatus {
        if self.dry_run {
            ActionStatus::Planned
        } else {
            ActionStatus::Done
        }
    }

    /// Provider housekeeping after the actions (OpenStack floating IPs),
    /// skipped in dry runs; then the exit status of the whole.
    fn settle_and_exit(&mut self) -> Exit {
        let mut exit = self.exit();
        if !self.dry_run {
            let settled = self.provider.settle();
            self.report.notes.extend(settled.notes);
            if !settled.errors.is_empty() {
                let errors = settled.errors.into_iter().map(|e| format!("provider: {e}"));
                self.report.errors.extend(errors);
                exit = Exit::Partial;
            }
        }
        exit
    }

    fn exit(&mut self) -> Exit {
        if self.past_deadline > 0 {
            self.report.errors.push(format!(
                "limits.deadline reached: {} action(s) not started; the next pass continues",
                self.past_deadline
            ));
            return Exit::Partial;
        }
        if self
            .report
            .actions
            .iter()
            .any(|a| a.status == ActionStatus::Failed)
        {
            Exit::Partial
        } else {
            Exit::Ok
        }
    }

    /// Whether the deadline still allows starting an action (counting it if not).
    fn in_time(&mut self) -> bool {
        if Instant::now() >= self.deadline {
            self.past_deadline += 1;
            return false;
        }
        true
    }

    /// Carries the steps out in order; a destroy waits for its drain.
    fn carry_out(&mut self, steps: &[Step], config: &Config, options: &PassOptions) {
        let mut created = 0;
        for step in steps {
            match step {
                Step::ForgetStale { host, gateways } => self.forget_stale(*host, gateways),
                _ if !self.in_time() => {}
                Step::Create {
                    create,
                    with_gateways,
                } => {
                    let request = CreateRequest {
                        name: instance_name(&config.pool.name, options.now, created),
                        instance_type: create.instance_type.clone(),
                        vcpus: create.vcpus,
                    };
                    created += 1;
                    self.create(&request, with_gateways.then_some(create.gateways));
                }
                Step::Destroy {
                    instance,
                    gateways,
                    reason,
                    drain,
                } => {
                    if drain.is_none_or(|why| self.drain(instance, gateways, why)) {
                        self.destroy(instance, gateways, reason.as_str());
                    }
                }
            }
        }
    }

    /// What is left of an instance that is gone: the source forgets it.
    fn forget_stale(&mut self, host: IpAddr, gateways: &[Gateway]) {
        if !self.dry_run
            && let Some(source) = self.source.as_deref_mut()
            && let Err(e) = source.forget_stale(host, gateways)
        {
            self.report
                .errors
                .push(format!("forget stale gateways of {host}: {e}"));
        }
    }

    fn create(&mut self, request: &CreateRequest, gateways: Option<u32>) {
        let mut action = Action {
            instance_type: Some(request.instance_type.clone()),
            vcpus: Some(request.vcpus),
            gateways,
            ..Action::new(ActionKind::Create, self.status(), "scale_up")
        };
        if !self.dry_run {
            match self.provider.create(request) {
                Ok(instance) => {
                    log::info!("created {} ({})", instance.name, instance.id);
                    action.instance = Some(instance.id.clone());
                    action.ip = instance
                        .public_ip
                        .or(instance.private_ip)
                        .map(|ip| ip.to_string());
                }
                Err(e) => {
                    log::warn!("creating {}: {e}", request.name);
                    action.status = ActionStatus::Failed;
                    action.error = Some(e.message.clone());
                    self.report
                        .errors
                        .push(format!("create {}: {e}", request.name));
                }
            }
        }
        self.report.actions.push(action);
    }

    /// Drains a host; true when every gateway is now marked (or would be, in a dry run).
    fn drain(&mut self, instance: &Instance, gateways: &[Gateway], reason: &str) -> bool {
        let mut action = Action::about(ActionKind::Drain, self.status(), reason, instance);
        action.gateways = Some(gateways.len() as u32);
        let Some(host) = gateways.first().map(|g| g.host) else {
            return true;
        };
        if self.dry_run {
            self.report.actions.push(action);
            return true;
        }
        let Some(source) = self.source.as_deref_mut() else {
            return false;
        };
        match source.drain(host, gateways) {
            Ok(DrainOutcome::Drained) => {
                log::info!("drained {} ({host})", instance.name);
                self.report.actions.push(action);
                true
            }
            Ok(DrainOutcome::Busy(why)) => {
                self.report
                    .notes
                    .push(format!("{} not drained: {why}", instance.name));
                false
            }
            Err(e) => {
                action.status = ActionStatus::Failed;
                action.error = Some(e.0.clone());
                self.report
                    .errors
                    .push(format!("drain {}: {e}", instance.name));
                self.report.actions.push(action);
                false
            }
        }
    }

    fn destroy(&mut self, instance: &Instance, gateways: &[Gateway], reason: &str) {
        let mut action = Action::about(ActionKind::Destroy, self.status(), reason, instance);
        if !self.dry_run {
            match self.provider.destroy(instance) {
                Ok(()) => {
                    log::info!("destroyed {} ({reason})", instance.name);
                    if let Some(host) = gateways.first().map(|g| g.host)
                        && let Some(source) = self.source.as_deref_mut()
                        && let Err(e) = source.forget(host, gateways)
                    {
                        self.report
                            .errors
                            .push(format!("forget gateways of {}: {e}", instance.name));
                    }
                }
                Err(e) => {
                    log::warn!("destroying {}: {e}", instance.name);
                    action.status = ActionStatus::Failed;
                    action.error = Some(e.message.clone());
                    self.report
                        .errors
                        .push(format!("destroy {}: {e}", instance.name));
                }
            }
        }
        self.report.actions.push(action);
    }
}
