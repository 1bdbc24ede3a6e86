//! `scaler status`: the pass of `plan` (the same observation and the same
//! decision, changing nothing, taking no lock), mapped onto the pool's
//! instances: one row each with its addresses, its gateways (replica pools:
//! its reported capacity) and what the next pass would do to it, read from
//! the plan's steps. Nothing here decides: an instance no step names is
//! kept.

use crate::decision::{Plan, Rule, Step};
use crate::model::Instance;
use crate::pass::{Decided, Outcome};
use crate::plan::{self, InstanceView};
use crate::report::Report;
use crate::report::status::{InstanceRow, Next, NextAction};
use chrono::SecondsFormat;

/// The command's name in the report.
pub const NAME: &str = "status";

/// The report of `plan` with one row per instance (none when the pass
/// did not get as far as deciding: its errors say why).
pub fn report(outcome: Outcome) -> Report {
    let mut report = outcome.report;
    if let Some(decided) = &outcome.decided {
        report.instances = Some(rows(decided));
    }
    report
}

/// One row per instance of the observation, sorted by name.
pub fn rows(decided: &Decided) -> Vec<InstanceRow> {
    let observation = &decided.observation;
    let assessment = plan::assess(observation, &decided.params.pool, decided.now);
    let replica_capacity = match &decided.params.rule {
        Rule::Replicas { capacity, .. } => Some(*capacity),
        Rule::Gateways => None,
    };
    let mut rows: Vec<InstanceRow> = assessment
        .instances
        .iter()
        .map(|view| {
            let instance = &view.instance;
            let age = (decided.now - instance.created_at).num_seconds().max(0);
            let mut row = InstanceRow {
                id: instance.id.clone(),
                name: instance.name.clone(),
                instance_type: instance.instance_type.clone(),
                vcpus: instance.vcpus,
                state: instance.state,
                created_at: instance
                    .created_at
                    .to_rfc3339_opts(SecondsFormat::Secs, true),
                age_seconds: u64::try_from(age).unwrap_or(0),
                private_ip: instance.private_ip.map(|ip| ip.to_string()),
                public_ip: instance.public_ip.map(|ip| ip.to_string()),
                gateways: None,
                capacity: None,
                used: None,
                protected: view.protected,
                next: next(&decided.plan, instance, view.protected),
            };
            match replica_capacity {
                Some(per_replica) => {
                    row.capacity = observation.healthy.get(&instance.id).copied();
                    row.used = row.capacity.map(|free| per_replica.saturating_sub(free));
                }
                None => row.gateways = Some(gateways(view, decided)),
            }
            row
        })
        .collect();
    rows.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
    rows
}

/// The instance's gateways, counted by the rule of the pool's counts.
fn gateways(view: &InstanceView, decided: &Decided) -> plan::GatewayCounts {
    let observation = &decided.observation;
    let on_it = view.gateways.iter().map(|&g| &observation.gateways[g]);
    let mut counts = plan::count_gateways(on_it, observation);
    counts.pending = view.pending;
    counts
}

/// What the plan's steps do to `instance`: a destroy, first draining when
/// the step says so; else it is kept (protected ones say so).
fn next(plan: &Plan, instance: &Instance, protected: bool) -> Next {
    let step = plan.steps.iter().find_map(|step| match step {
        Step::Destroy {
            instance: target,
            reason,
            drain,
            ..
        } if target.id == instance.id => Some((*reason, *drain)),
        _ => None,
    });
    match step {
        Some((_, Some(why))) => Next {
            action: NextAction::Drain,
            reason: Some(why.to_string()),
        },
        Some((reason, None)) => Next {
            action: NextAction::Destroy,
            reason: Some(reason.as_str().to_string()),
        },
        None => Next {
            action: NextAction::Keep,
            reason: protected.then(|| "protected".to_string()),
        },
    }
}
