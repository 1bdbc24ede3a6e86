//! One pass, the real executor of the decision: observe the provider, the
//! gateways and the probes, take the decision ([`crate::decision::decide`]),
//! carry its steps out in order and fill the report. Observation failures
//! stop the pass before anything is changed (exit 69); action failures are
//! recorded and the pass goes on (exit 3); so do drains that find a gateway
//! busy (a note). A pass that ends with creation suspended by the
//! crash-loop backoff says so in `errors` and exits 3 too. The deadline is wall time, so it lives here: no action
//! starts after it. `plan` and `--dry-run` run the same code with acting
//! replaced by recording `planned` actions.

use crate::config::Config;
use crate::crash_loop::{self, CrashLoop};
use crate::decision::{self, Input, Memory, Plan, Step};
use crate::exit::Exit;
use crate::forget::{self, Ledger};
use crate::plan::{DestroyReason, Hold, Observation};
use crate::pool::GatewayObservation;
use crate::pool::{DrainOutcome, Gateway, GatewaySource};
use crate::probe::Prober;
use crate::provider::{CreateRequest, Instance, Provider, instance_name};
use crate::report::{
    Action, ActionKind, ActionStatus, DecisionInfo, Observed as ObservedCounts, PoolInfo, Report,
    SlotInfo, Timings,
};
use crate::schedule::ActiveSlot;
use crate::state::PendingForget;
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
    /// Forgets a killed pass left in the state file, completed before the
    /// gateways are observed.
    pub pending_forgets: Vec<PendingForget>,
    /// The reservations in force at `at`, with their windows' busy count
    /// at opening (from the state file).
    pub reservations: decision::Reservations,
    /// Instances lost in a row without registering and the suspension of
    /// creation (from the state file).
    pub crash_loop: CrashLoop,
}

/// What the pass observed, as the decision's input, with what it found
/// wrong on the way (bad records, failed probes, pending forgets) and how
/// long it took.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// The decision's input.
    pub observation: Observation,
    /// Problems with pending forgets or individual records (reported, not
    /// fatal).
    pub errors: Vec<String>,
    /// Failed status probes: their instances are unknown, the exit status
    /// does not change.
    pub warnings: Vec<String>,
    /// What completing the pending forgets did or left.
    pub notes: Vec<String>,
    /// The source reported records it could not read (the pass exits 3).
    pub bad_records: bool,
    /// A pending forget failed (the pass exits 3).
    pub forgets_failed: bool,
    /// `sip.turned_away` is on but its table cannot be read: a
    /// configuration error (the pass still scales up, then exits 78).
    pub demand_unknown: bool,
    /// `provider_ms` and `gateways_ms`.
    pub timings: Timings,
}

/// Observes the provider, completes the forgets a killed pass left (before
/// the gateways are observed), then observes the gateway source and the
/// status probes. Any failure to list or to observe stops the pass before
/// anything changes: the error, for the report, and exit 69.
pub fn observe(
    config: &Config,
    provider: &mut dyn Provider,
    mut source: Option<&mut (dyn GatewaySource + '_)>,
    prober: Option<&Prober>,
    options: &PassOptions,
) -> Result<Observed, String> {
    let started = Instant::now();
    let mut observed = Observed::default();
    let instances = provider.list().map_err(|e| {
        log::error!("provider: {e}");
        format!("provider: {e}")
    })?;
    observed.timings.provider_ms = ms_since(started);
    log::info!(
        "listing: {} instance(s) in {} ms",
        instances.len(),
        observed.timings.provider_ms
    );
    let ledger = Ledger::new(&config.state_path, &config.pool.name, options.now);
    let pending = forget::complete(
        &ledger,
        &options.pending_forgets,
        &instances,
        source.as_deref_mut().map(|s| s as &mut dyn GatewaySource),
        options.dry_run,
    );
    observed.notes = pending.notes;
    observed.forgets_failed = !pending.errors.is_empty();
    observed.errors = pending.errors;
    let observing = Instant::now();
    let hosts = crate::pool::Hosts::new(&instances);
    let gateways = match source.map(|s| s.observe(&hosts)) {
        None => GatewayObservation::default(),
        Some(Ok(g)) => {
            log::info!(
                "observation: {} gateway(s), {} unreadable record(s) in {} ms",
                g.gateways.len(),
                g.errors.len(),
                ms_since(observing)
            );
            g
        }
        Some(Err(e)) => {
            log::error!("{e}");
            return Err(e.to_string());
        }
    };
    observed.bad_records = !gateways.errors.is_empty();
    observed.demand_unknown = gateways.turned_away_error.is_some();
    observed.errors.extend(gateways.errors.iter().cloned());
    let probing = Instant::now();
    let (termination_requested, healthy) = probe(prober, &instances, &mut observed.warnings);
    if prober.is_some() {
        log::info!(
            "probes: {} answered, {} asked for termination, {} failed in {} ms",
            healthy.len(),
            termination_requested.len(),
            observed.warnings.len(),
            ms_since(probing)
        );
    }
    observed.timings.gateways_ms = ms_since(observing);
    observed.observation = Observation {
        instances,
        gateways: gateways.gateways,
        tainted_hosts: gateways.tainted_hosts.into_iter().collect(),
        termination_requested,
        draining_since: gateways.draining_since,
        doubts: gateways.doubts,
        busy_hosts: gateways.busy_hosts.into_iter().collect(),
        healthy,
        turned_away: gateways.turned_away,
    };
    Ok(observed)
}

/// The status probes: instances asking for termination, and the capacity
/// the others reported. Unknown is not dead, so a failed probe is only a
/// warning (on stderr and in the report).
fn probe(
    prober: Option<&Prober>,
    instances: &[Instance],
    warnings: &mut Vec<String>,
) -> (HashSet<String>, HashMap<String, u32>) {
    let mut termination_requested = HashSet::new();
    let mut healthy = HashMap::new();
    for (id, result) in prober.map(|p| p.probe_all(instances)).unwrap_or_default() {
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
                log::warn!("probe {name}: {e}");
                warnings.push(format!("probe {name}: {e}"));
            }
        }
    }
    (termination_requested, healthy)
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
        sqrt_headroom: active.slot.sqrt_headroom,
        min_available: active.slot.min_available,
        max_replicas: active.slot.max_replicas,
    });
    (report, active)
}

/// What a pass decided and on what: the observation, the decision's
/// parameters and time, and the plan it carried out (or recorded). `status`
/// maps the plan onto the instances; nothing decides again.
#[derive(Debug, Clone)]
pub struct Decided {
    /// What the decision was taken on.
    pub observation: Observation,
    /// The parameters it was taken with.
    pub params: decision::Params,
    /// The time it was taken at (instance ages).
    pub now: DateTime<Utc>,
    /// The decision.
    pub plan: Plan,
}

/// A pass's report, with its decision when it got that far (not when the
/// observation failed or the schedule has no slot).
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The report (with `exit_code` set).
    pub report: Report,
    /// What was decided, on what.
    pub decided: Option<Decided>,
}

/// Runs one pass and returns its report (with `exit_code` set): observes,
/// then carries out the decision on what it saw ([`execute_observed`]).
pub fn execute(
    config: &Config,
    provider: &mut dyn Provider,
    source: Option<&mut (dyn GatewaySource + '_)>,
    prober: Option<&Prober>,
    options: &PassOptions,
) -> Report {
    run(config, provider, source, prober, options).report
}

/// [`execute`], keeping the decision with the report.
pub fn run(
    config: &Config,
    provider: &mut dyn Provider,
    mut source: Option<&mut (dyn GatewaySource + '_)>,
    prober: Option<&Prober>,
    options: &PassOptions,
) -> Outcome {
    if config.schedule.slot_at(options.at).is_none() {
        return undecided(no_slot(config, options));
    }
    match observe(config, provider, source.as_deref_mut(), prober, options) {
        Ok(observed) => run_observed(config, provider, source, observed, options),
        Err(e) => {
            let (mut report, _) = header(config, options);
            report.errors.push(e);
            undecided(finish(report, Exit::Unavailable))
        }
    }
}

fn undecided(report: Report) -> Outcome {
    Outcome {
        report,
        decided: None,
    }
}

/// The report of a pass whose schedule has no slot for its time (exit 1).
fn no_slot(config: &Config, options: &PassOptions) -> Report {
    let (mut report, _) = header(config, options);
    report
        .errors
        .push("the schedule has no slot for this time".into());
    finish(report, Exit::Internal)
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
    run_observed(config, provider, source, observed, options).report
}

/// [`execute_observed`], keeping the decision with the report.
pub fn run_observed(
    config: &Config,
    provider: &mut dyn Provider,
    source: Option<&mut (dyn GatewaySource + '_)>,
    observed: Observed,
    options: &PassOptions,
) -> Outcome {
    let started = Instant::now();
    let (mut report, active) = header(config, options);
    let Some(active) = active else {
        return undecided(no_slot(config, options));
    };
    report.notes.extend(observed.notes);
    report.errors.extend(observed.errors);
    report.warnings.extend(observed.warnings);
    let mut timings = observed.timings;
    let params = config.decision_params();
    let plan = decision::decide(&Input {
        observation: &observed.observation,
        params: &params,
        slot: &active.slot,
        memory: Memory {
            above_target_since: options.above_target_since,
            crash_loop: options.crash_loop.clone(),
        },
        now: options.now,
        scale: options.steps == Steps::Full,
        busy_override: options.busy_override,
        reservations: &options.reservations,
    });
    timings.plan_ms = ms_since(started);
    log_decision(&plan, timings.plan_ms);
    record(&mut report, &plan);
    let mut acting = Acting {
        provider,
        source: source.map(|s| s as &mut dyn GatewaySource),
        dry_run: options.dry_run,
        report: &mut report,
        deadline: options.deadline,
        bad_records: observed.bad_records,
        ledger: Ledger::new(&config.state_path, &config.pool.name, options.now),
        forgets_failed: observed.forgets_failed,
        cut: Cut::default(),
    };
    acting.carry_out(&plan.steps, config, options);
    let suspended = crash_loop::suspended(&plan.memory.crash_loop, options.now);
    let cut = acting.cut;
    let exit = match acting.settle_and_exit() {
        _ if observed.demand_unknown => Exit::Config,
        Exit::Ok if suspended.is_some() => Exit::Partial,
        exit => exit,
    };
    report.errors.extend(suspended);
    explain_cut(&mut report, &plan, &cut);
    timings.total_ms = timings.provider_ms + timings.gateways_ms + ms_since(started);
    report.timings = Some(timings);
    Outcome {
        report: finish(report, exit),
        decided: Some(Decided {
            observation: observed.observation,
            params,
            now: options.now,
            plan,
        }),
    }
}

/// `-v`: the decision, its steps and how long it took.
fn log_decision(plan: &Plan, ms: f64) {
    match &plan.verdict {
        Some(v) => log::info!(
            "decision: target {} ({:+}), {} step(s) in {ms} ms: {}",
            v.target,
            v.delta,
            plan.steps.len(),
            v.reason
        ),
        None => log::info!(
            "decision: clean-up, {} step(s) in {ms} ms",
            plan.steps.len()
        ),
    }
}

/// The steps the executor could not carry out for a reason that is not a
/// failure (no action in the report says so): the deadline, or a drain
/// that found a call.
#[derive(Debug, Clone, Copy, Default)]
struct Cut {
    /// Scaling steps (creations, scale-down drains) in the plan.
    scaling: u32,
    /// Steps not started because of `limits.deadline`.
    late: u32,
    /// Of which scaling ones.
    late_scaling: u32,
    /// Drains that found a gateway busy.
    busy: u32,
    /// Of which scale-down ones.
    busy_scaling: u32,
}

/// After the steps: the rules that stopped some of them join `held_back`,
/// and the decision's reason says what became of its scaling steps, so it
/// never tells of a scale-down no action carried out.
fn explain_cut(report: &mut Report, plan: &Plan, cut: &Cut) {
    if cut.late > 0 {
        report.held_back.push(Hold::Deadline);
    }
    if cut.busy > 0 {
        report.held_back.push(Hold::CallInProgress);
    }
    report.held_back.sort();
    report.held_back.dedup();
    let (Some(mut verdict), Some(decision)) = (plan.verdict.clone(), report.decision.as_mut())
    else {
        return;
    };
    if cut.late_scaling + cut.busy_scaling == 0 {
        return;
    }
    let what = if verdict.delta > 0 {
        "creation(s)"
    } else {
        "drain(s)"
    };
    let mut why = Vec::new();
    if cut.late_scaling > 0 {
        why.push(format!(
            "limits.deadline was reached before {} of {} {what} started (the next pass continues)",
            cut.late_scaling, cut.scaling
        ));
    }
    if cut.busy_scaling > 0 {
        why.push(format!(
            "{} of {} drain(s) found a call in progress (see notes)",
            cut.busy_scaling, cut.scaling
        ));
    }
    let none_done = cut.late_scaling + cut.busy_scaling == cut.scaling;
    verdict.cut_short(none_done, &why.join("; "));
    decision.reason = verdict.reason;
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
    report.what_if = plan.what_if;
    report.held_back = plan.held_back.clone();
    report.notes.extend(plan.notes.iter().cloned());
    report.above_target_since = plan.memory.above_target_since;
    report.busy_at_open = plan.busy_at_open.clone();
    report.crash_loop = Some(plan.memory.crash_loop.clone());
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
    /// The source reported records it could not read (exit 3).
    bad_records: bool,
    /// Where the registrations of a host are kept until they are deleted.
    ledger: Ledger,
    /// A forget failed: registrations of a destroyed host are left (exit 3).
    forgets_failed: bool,
    /// What was not carried out, and not as a failure.
    cut: Cut,
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
        if self.cut.late > 0 {
            self.report.errors.push(format!(
                "limits.deadline reached: {} action(s) not started; the next pass continues",
                self.cut.late
            ));
            return Exit::Partial;
        }
        if self.bad_records || self.forgets_failed {
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
            self.cut.late += 1;
            return false;
        }
        true
    }

    /// Carries the steps out in order; a destroy waits for its drain.
    fn carry_out(&mut self, steps: &[Step], config: &Config, options: &PassOptions) {
        let mut created = 0;
        for step in steps {
            let scaling = matches!(
                step,
                Step::Create { .. }
                    | Step::Destroy {
                        reason: DestroyReason::Drained,
                        ..
                    }
            );
            self.cut.scaling += u32::from(scaling);
            match step {
                Step::ForgetStale { host, gateways } => self.forget_stale(*host, gateways),
                _ if !self.in_time() => self.cut.late_scaling += u32::from(scaling),
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
                    let busy = self.cut.busy;
                    if drain.is_none_or(|why| self.drain(instance, gateways, why)) {
                        self.destroy(instance, gateways, reason.as_str());
                    } else if self.cut.busy > busy {
                        self.cut.busy_scaling += u32::from(scaling);
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
            self.forgets_failed = true;
            self.report
                .errors
                .push(format!("forget stale gateways of {host}: {e}"));
        }
    }

    /// Records an action with its line on stderr: `-v` shows each action
    /// and how long it took; a failure is a warning at any verbosity (once
    /// on stderr, once in the report: the failed action).
    fn push(&mut self, action: Action, name: &str, began: Instant) {
        let ms = ms_since(began);
        let what = format!("{} {name} ({})", action.kind.as_str(), action.reason);
        match (action.status, &action.error) {
            (ActionStatus::Failed, error) => log::warn!(
                "{what}: failed after {ms} ms: {}",
                error.as_deref().unwrap_or("no detail")
            ),
            (ActionStatus::Planned, _) => log::info!("{what}: planned"),
            (ActionStatus::Done, _) => log::info!("{what}: done in {ms} ms"),
        }
        self.report.actions.push(action);
    }

    fn create(&mut self, request: &CreateRequest, gateways: Option<u32>) {
        let began = Instant::now();
        let mut action = Action {
            instance_type: Some(request.instance_type.clone()),
            vcpus: Some(request.vcpus),
            gateways,
            ..Action::new(ActionKind::Create, self.status(), "scale_up")
        };
        if !self.dry_run {
            match self.provider.create(request) {
                Ok(instance) => {
                    action.instance = Some(instance.id.clone());
                    action.ip = instance
                        .public_ip
                        .or(instance.private_ip)
                        .map(|ip| ip.to_string());
                }
                Err(e) => {
                    action.status = ActionStatus::Failed;
                    action.error = Some(e.to_string());
                }
            }
        }
        let name = format!("{} {}", request.name, request.instance_type);
        self.push(action, &name, began);
    }

    /// Drains a host; true when every gateway is now marked (or would be, in a dry run).
    fn drain(&mut self, instance: &Instance, gateways: &[Gateway], reason: &str) -> bool {
        let began = Instant::now();
        let mut action = Action::about(ActionKind::Drain, self.status(), reason, instance);
        action.gateways = Some(gateways.len() as u32);
        let Some(host) = gateways.first().map(|g| g.host) else {
            return true;
        };
        if self.dry_run {
            self.push(action, &instance.name, began);
            return true;
        }
        let Some(source) = self.source.as_deref_mut() else {
            return false;
        };
        match source.drain(host, gateways) {
            Ok(DrainOutcome::Drained) => {
                self.push(action, &format!("{} {host}", instance.name), began);
                true
            }
            Ok(DrainOutcome::Busy(why)) => {
                log::info!("drain {}: a gateway is busy: {why}", instance.name);
                self.cut.busy += 1;
                self.report
                    .notes
                    .push(format!("{} not drained: {why}", instance.name));
                false
            }
            Err(e) => {
                action.status = ActionStatus::Failed;
                action.error = Some(e.to_string());
                self.push(action, &format!("{} {host}", instance.name), began);
                false
            }
        }
    }

    fn destroy(&mut self, instance: &Instance, gateways: &[Gateway], reason: &str) {
        let began = Instant::now();
        let mut action = Action::about(ActionKind::Destroy, self.status(), reason, instance);
        if !self.dry_run {
            let destroyed = self
                .keep_forget(instance, gateways)
                .and_then(|()| self.provider.destroy(instance).map_err(|e| e.to_string()));
            match destroyed {
                Ok(()) => self.forget(instance, gateways),
                Err(e) => {
                    action.status = ActionStatus::Failed;
                    action.error = Some(e);
                }
            }
        }
        self.push(action, &instance.name, began);
    }

    /// Before a destroy: the host's registrations go to the state file, so
    /// that a pass killed before [`Acting::forget`] leaves them to the next.
    fn keep_forget(&mut self, instance: &Instance, gateways: &[Gateway]) -> Result<(), String> {
        let (Some(host), Some(source)) = (gateways.first().map(|g| g.host), self.source.as_deref())
        else {
            return Ok(());
        };
        self.ledger
            .before_destroy(source, instance, host, gateways)
            .map_err(|e| format!("not destroyed: keeping its registrations failed: {e}"))
    }

    /// After a destroy: deletes the host's registrations, then their entry
    /// in the state file. A failure leaves the entry for the next pass and
    /// makes this one partial.
    fn forget(&mut self, instance: &Instance, gateways: &[Gateway]) {
        let (Some(host), Some(source)) =
            (gateways.first().map(|g| g.host), self.source.as_deref_mut())
        else {
            return;
        };
        let forgotten = source
            .forget(host, gateways)
            .map_err(|e| e.to_string())
            .and_then(|()| {
                (self.ledger.forgotten(&instance.id)).map_err(|e| format!("state: {e}"))
            });
        if let Err(e) = forgotten {
            self.forgets_failed = true;
            self.report.errors.push(format!(
                "forget gateways of {}: {e} (the next pass retries)",
                instance.name
            ));
        }
    }
}
