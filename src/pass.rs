//! One pass: observe the provider and the gateways, clean up, decide, act,
//! and fill the report. Observation failures stop the pass before anything
//! is changed (exit 69); action failures are recorded and the pass goes on
//! (exit 3). `plan` and `--dry-run` run the same code with acting replaced
//! by recording `planned` actions.

use crate::config::{Config, PoolKind};
use crate::exit::Exit;
use crate::forget::{self, Ledger};
use crate::plan::{self, Assessment, Observation, PoolParams, Removal};
use crate::pool::GatewayObservation;
use crate::pool::{DrainOutcome, Gateway, GatewaySource};
use crate::probe::Prober;
use crate::provider::{CreateRequest, Instance, Provider, instance_name};
use crate::report::{
    Action, ActionKind, ActionStatus, DecisionInfo, Observed, PoolInfo, Report, SlotInfo, Timings,
};
use crate::state::PendingForget;
use chrono::{DateTime, SecondsFormat, Utc};
use std::collections::{HashMap, HashSet};
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
}

/// The decision parameters of a configuration ([`Config::pool_params`]).
pub fn params(config: &Config) -> PoolParams {
    config.pool_params()
}

/// Runs one pass and returns its report (with `exit_code` set).
pub fn execute(
    config: &Config,
    provider: &mut dyn Provider,
    mut source: Option<&mut (dyn GatewaySource + '_)>,
    prober: Option<&Prober>,
    options: &PassOptions,
) -> Report {
    let mut report = Report::new(options.command);
    report.pool = Some(PoolInfo {
        name: config.pool.name.clone(),
        kind: config.pool.kind.as_str().to_string(),
    });
    report.at = Some(options.at.to_rfc3339_opts(SecondsFormat::Secs, true));
    let Some(active) = config.schedule.slot_at(options.at) else {
        report
            .errors
            .push("the schedule has no slot for this time".into());
        return finish(report, Exit::Internal);
    };
    report.slot = Some(SlotInfo {
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

    // Observe everything first; any failure stops the pass here.
    let started = Instant::now();
    let mut timings = Timings::default();
    let instances = match provider.list() {
        Ok(instances) => instances,
        Err(e) => {
            report.errors.push(format!("provider: {e}"));
            return finish(report, Exit::Unavailable);
        }
    };
    timings.provider_ms = ms_since(started);
    let ledger = Ledger::new(&config.state_path, &config.pool.name, options.now);
    let pending = forget::complete(
        &ledger,
        &options.pending_forgets,
        &instances,
        source.as_deref_mut().map(|s| s as &mut dyn GatewaySource),
        options.dry_run,
    );
    report.notes.extend(pending.notes);
    let forgets_failed = !pending.errors.is_empty();
    report.errors.extend(pending.errors);
    let observing = Instant::now();
    let hosts = crate::pool::Hosts::new(&instances);
    let gateways = match source.as_deref_mut().map(|s| s.observe(&hosts)) {
        None => GatewayObservation::default(),
        Some(Ok(g)) => g,
        Some(Err(e)) => {
            report.errors.push(e.0);
            return finish(report, Exit::Unavailable);
        }
    };
    timings.gateways_ms = ms_since(observing);
    report.errors.extend(gateways.errors.iter().cloned());
    // Probes: unknown is not dead, so a failed probe only reports.
    let mut termination_requested = HashSet::new();
    let mut healthy: HashMap<String, u32> = HashMap::new();
    if let Some(prober) = prober {
        for (id, result) in prober.probe_all(&instances) {
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
                    report.errors.push(format!("probe {name}: {e}"));
                }
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
        doubts: gateways.doubts,
        busy_hosts: gateways.busy_hosts.into_iter().collect(),
        turned_away: gateways.turned_away,
    };
    let planning = Instant::now();
    let params = params(config);
    let assessment = plan::assess(&observation, &params, options.now);
    report.observed = Some(Observed {
        instances: assessment.instance_counts,
        gateways: assessment.gateway_counts,
        replicas: None,
    });

    // Step 4: clean up.
    let (removals, notes) = plan::cleanup(&assessment, &observation, &params, options.now);
    report.notes.extend(notes);
    timings.plan_ms = ms_since(planning);
    let mut acting = Acting {
        provider,
        source: source.map(|s| s as &mut dyn GatewaySource),
        dry_run: options.dry_run,
        report: &mut report,
        brakes: Brakes::new(config, observation.instances.len(), options.deadline),
        bad_records: !gateways.errors.is_empty(),
        demand_unknown: gateways.turned_away_error.is_some(),
        ledger,
        forgets_failed,
    };
    for removal in &removals {
        acting.remove(&assessment, &observation, removal);
    }
    // What is left of instances that are gone: the source forgets it.
    for (host, indices) in plan::stale_gateways(&assessment, &observation, &params) {
        let stale: Vec<Gateway> = indices
            .iter()
            .map(|&g| observation.gateways[g].clone())
            .collect();
        if !acting.dry_run
            && let Some(source) = acting.source.as_deref_mut()
            && let Err(e) = source.forget_stale(host, &stale)
        {
            acting.forgets_failed = true;
            acting
                .report
                .errors
                .push(format!("forget stale gateways of {host}: {e}"));
        }
    }
    if options.steps == Steps::CleanupOnly {
        let exit = acting.settle_and_exit();
        timings.total_ms = ms_since(started);
        report.timings = Some(timings);
        return finish(report, exit);
    }

    // Steps 5 and 6: decide on what remains, then act.
    let removed: HashSet<usize> = removals.iter().map(|r| r.instance).collect();
    if config.pool.kind == PoolKind::Replicas {
        let planning = Instant::now();
        let gone: HashSet<String> = removed
            .iter()
            .map(|&i| assessment.instances[i].instance.id.clone())
            .collect();
        let (name, vcpus) = config.replica_type().unwrap_or_default();
        let capacity = config.replicas.as_ref().map_or(1, |r| r.replica_capacity);
        let (counts, decision) = plan::decide_replicas(
            &observation.instances,
            &healthy,
            &gone,
            capacity,
            &active.slot,
            &params,
            (&name, vcpus),
            options.now,
            acting.brakes.creates_left,
        );
        timings.plan_ms += ms_since(planning);
        if let Some(observed) = acting.report.observed.as_mut() {
            observed.replicas = Some(counts);
        }
        acting.scale_up(config, options, &decision, false);
        let exit = acting.settle_and_exit();
        timings.total_ms = ms_since(started);
        report.timings = Some(timings);
        return finish(report, exit);
    }
    let planning = Instant::now();
    let remaining = without(&observation, &assessment, &removed);
    let assessment = plan::assess(&remaining, &params, options.now);
    let mut decision = plan::decide(
        &assessment,
        &remaining,
        &active.slot,
        &params,
        options.busy_override,
        acting.brakes.creates_left,
    );
    let delay = config.limits.scale_down_delay;
    let (allowed, since) = plan::scale_down_gate(
        decision.delta,
        options.above_target_since,
        options.now,
        delay.0,
    );
    acting.report.above_target_since = since;
    if !allowed && !decision.drains.is_empty() {
        let since = since.map_or(String::new(), |s| {
            s.to_rfc3339_opts(SecondsFormat::Secs, true)
        });
        acting.report.notes.push(format!(
            "limits.scale_down_delay ({delay}) holds back the scale-down: above target since {since}"
        ));
        decision.drains.clear();
    }
    timings.plan_ms += ms_since(planning);
    acting.scale_up(config, options, &decision, true);
    for &index in &decision.drains {
        let view = &assessment.instances[index];
        let gateways: Vec<Gateway> = view
            .gateways
            .iter()
            .map(|&g| remaining.gateways[g].clone())
            .collect();
        if !acting.brakes.may_destroy() {
            continue;
        }
        if acting.drain(&view.instance, &gateways, "scale_down") {
            acting.destroy(&view.instance, &gateways, "drained");
        }
    }
    let exit = acting.settle_and_exit();
    timings.total_ms = ms_since(started);
    report.timings = Some(timings);
    finish(report, exit)
}

fn finish(mut report: Report, exit: Exit) -> Report {
    report.exit_code = exit.code();
    report
}

/// The observation without the removed instances and their gateways.
fn without(
    observation: &Observation,
    assessment: &Assessment,
    removed: &HashSet<usize>,
) -> Observation {
    let gone: HashSet<usize> = removed
        .iter()
        .flat_map(|&i| assessment.instances[i].gateways.iter().copied())
        .collect();
    Observation {
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
        tainted_hosts: observation.tainted_hosts.clone(),
        termination_requested: observation.termination_requested.clone(),
        draining_since: observation.draining_since.clone(),
        doubts: observation.doubts.clone(),
        busy_hosts: observation.busy_hosts.clone(),
        turned_away: observation.turned_away,
    }
}

/// Carries out (or records) actions and their outcomes.
struct Acting<'a> {
    provider: &'a mut dyn Provider,
    source: Option<&'a mut dyn GatewaySource>,
    dry_run: bool,
    report: &'a mut Report,
    brakes: Brakes,
    /// The source reported records it could not read (exit 3).
    bad_records: bool,
    /// `sip.turned_away` is on but its table cannot be read: a
    /// configuration error (exit 78) for the pass that still scales up.
    demand_unknown: bool,
    /// Where the registrations of a host are kept until they are deleted.
    ledger: Ledger,
    /// A forget failed: registrations of a destroyed host are left (exit 3).
    forgets_failed: bool,
}

/// What the limits still allow, and what they held back.
struct Brakes {
    deadline: Instant,
    creates_left: u32,
    destroys_left: u32,
    create_cap: u32,
    destroy_cap: u32,
    held_creates: u32,
    held_destroys: u32,
    past_deadline: u32,
}

/// Takes one from a budget, or counts one held back when it is spent.
fn take(left: &mut u32, held: &mut u32) -> bool {
    if *left == 0 {
        *held += 1;
        return false;
    }
    *left -= 1;
    true
}

impl Brakes {
    fn new(config: &Config, instances: usize, deadline: Instant) -> Brakes {
        let instances = u32::try_from(instances).unwrap_or(u32::MAX);
        let create_cap = config.limits.create_budget(instances);
        let destroy_cap = config.limits.destroy_budget(instances);
        Brakes {
            deadline,
            creates_left: create_cap,
            destroys_left: destroy_cap,
            create_cap,
            destroy_cap,
            held_creates: 0,
            held_destroys: 0,
            past_deadline: 0,
        }
    }

    fn in_time(&mut self) -> bool {
        if Instant::now() >= self.deadline {
            self.past_deadline += 1;
            return false;
        }
        true
    }

    /// Whether one more instance may be destroyed (counting it if so).
    fn may_destroy(&mut self) -> bool {
        self.in_time() && take(&mut self.destroys_left, &mut self.held_destroys)
    }

    /// Whether one more instance may be created (counting it if so).
    fn may_create(&mut self) -> bool {
        self.in_time() && take(&mut self.creates_left, &mut self.held_creates)
    }

    /// Notes and errors for what was held back.
    fn report(&self, report: &mut Report) {
        if self.held_creates > 0 {
            report.notes.push(format!(
                "limits.max_create_per_run ({}) held back {} creation(s); the next pass continues",
                self.create_cap, self.held_creates
            ));
        }
        if self.held_destroys > 0 {
            report.notes.push(format!(
                "limits.max_destroy_per_run ({}) held back {} destruction(s); the next pass continues",
                self.destroy_cap, self.held_destroys
            ));
        }
        if self.past_deadline > 0 {
            report.errors.push(format!(
                "limits.deadline reached: {} action(s) not started; the next pass continues",
                self.past_deadline
            ));
        }
    }
}

fn described(kind: ActionKind, status: ActionStatus, reason: &str, instance: &Instance) -> Action {
    Action {
        instance: Some(instance.id.clone()),
        ip: instance
            .public_ip
            .or(instance.private_ip)
            .map(|ip| ip.to_string()),
        instance_type: instance.instance_type.clone(),
        vcpus: (instance.vcpus > 0).then_some(instance.vcpus),
        ..Action::new(kind, status, reason)
    }
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
        self.brakes.report(self.report);
        if self.demand_unknown {
            return Exit::Config;
        }
        if self.brakes.past_deadline > 0 || self.bad_records || self.forgets_failed {
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

    fn remove(&mut self, assessment: &Assessment, observation: &Observation, removal: &Removal) {
        let view = &assessment.instances[removal.instance];
        let gateways: Vec<Gateway> = view
            .gateways
            .iter()
            .map(|&g| observation.gateways[g].clone())
            .collect();
        let reason = removal.reason.as_str();
        if !self.brakes.may_destroy() {
            return;
        }
        if removal.drain_first && !self.drain(&view.instance, &gateways, reason) {
            return;
        }
        self.destroy(&view.instance, &gateways, reason);
    }

    /// Records the decision and creates what it asks for, within the brakes.
    /// `with_gateways`: report the gateways each instance brings (not for
    /// replica pools).
    fn scale_up(
        &mut self,
        config: &Config,
        options: &PassOptions,
        decision: &plan::Decision,
        with_gateways: bool,
    ) {
        self.report.decision = Some(DecisionInfo {
            target: decision.target,
            delta: decision.delta,
            reason: decision.reason.clone(),
        });
        // The decision planned no more than the budget: what it left out is held back.
        self.brakes.held_creates += decision.held_creates;
        for (n, create) in decision.creates.iter().enumerate() {
            let request = CreateRequest {
                name: instance_name(&config.pool.name, options.now, n),
                instance_type: create.instance_type.clone(),
                vcpus: create.vcpus,
            };
            if self.brakes.may_create() {
                self.create(&request, with_gateways.then_some(create.gateways));
            }
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
        let mut action = described(ActionKind::Drain, self.status(), reason, instance);
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
        let mut action = described(ActionKind::Destroy, self.status(), reason, instance);
        if !self.dry_run {
            let destroyed = self
                .keep_forget(instance, gateways)
                .and_then(|()| self.provider.destroy(instance).map_err(|e| e.message));
            match destroyed {
                Ok(()) => {
                    log::info!("destroyed {} ({reason})", instance.name);
                    self.forget(instance, gateways);
                }
                Err(e) => {
                    log::warn!("destroying {}: {e}", instance.name);
                    self.report
                        .errors
                        .push(format!("destroy {}: {e}", instance.name));
                    action.status = ActionStatus::Failed;
                    action.error = Some(e);
                }
            }
        }
        self.report.actions.push(action);
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
