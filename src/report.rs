//! The report of a command: the JSON object of DESIGN.md "Report" (stable field names,
//! `schema_version` 1) and its text rendering for people and cron mail.

pub mod simulation;
pub mod status;

use crate::decision::WhatIf;
use crate::plan::{GatewayCounts, Hold, InstanceCounts, ReplicaCounts};
use serde::Serialize;
use std::fmt::Write as _;

/// The JSON schema version; changes only on breaking changes.
pub const SCHEMA_VERSION: u32 = 1;

/// `pool` of the report.
#[derive(Debug, Clone, Serialize)]
pub struct PoolInfo {
    pub name: String,
    pub kind: String,
}

/// `slot` of the report.
#[derive(Debug, Clone, Serialize)]
pub struct SlotInfo {
    pub timeline: String,
    pub start: String,
    /// The `[schedule.dates]` entry that chose the timeline, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exception: Option<String>,
    pub idle_min: u32,
    pub load_max: f64,
    pub max_gateways: u32,
    pub min_gateways: u32,
    /// β of the square-root staffing term; left out when 0.
    #[serde(skip_serializing_if = "crate::model::is_zero")]
    pub sqrt_headroom: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_available: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_replicas: Option<u32>,
}

/// `observed` of the report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Observed {
    pub instances: InstanceCounts,
    pub gateways: GatewayCounts,
    /// Replica pools: what the status probes said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<ReplicaCounts>,
}

/// `decision` of the report.
#[derive(Debug, Clone, Serialize)]
pub struct DecisionInfo {
    pub target: u32,
    pub delta: i64,
    pub reason: String,
}

/// What an action is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionKind {
    Create,
    Drain,
    Destroy,
}

impl ActionKind {
    /// The name of the report.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Create => "create",
            ActionKind::Drain => "drain",
            ActionKind::Destroy => "destroy",
        }
    }
}

/// What became of an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionStatus {
    Done,
    Failed,
    Planned,
}

/// One entry of `actions`.
#[derive(Debug, Clone, Serialize)]
pub struct Action {
    pub kind: ActionKind,
    pub status: ActionStatus,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vcpus: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateways: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Action {
    /// An action with only its kind, status and reason set.
    pub fn new(kind: ActionKind, status: ActionStatus, reason: impl Into<String>) -> Action {
        Action {
            kind,
            status,
            reason: reason.into(),
            instance: None,
            ip: None,
            instance_type: None,
            vcpus: None,
            gateways: None,
            error: None,
        }
    }
}

impl Action {
    /// An action on an existing instance: its id, address, type and vCPUs.
    pub fn about(
        kind: ActionKind,
        status: ActionStatus,
        reason: &str,
        instance: &crate::model::Instance,
    ) -> Action {
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
}

/// One line of `check`.
#[derive(Debug, Clone, Serialize)]
pub struct CheckLine {
    pub name: String,
    pub ok: bool,
    /// Why it failed: the kind of the failure (`Fault::reason`: `dns`, `refused`,
    /// `timeout`, `auth`, `privilege`, `schema`, `secret`, `rejected`, `data`,
    /// `config` or `error`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub detail: String,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub command: String,
    /// Whether the command decided without acting (`plan`, `--dry-run`).
    pub dry_run: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool: Option<PoolInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slot: Option<SlotInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed: Option<Observed>,
    /// `plan --busy N`: the counts the decision used instead of `observed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub what_if: Option<WhatIf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<DecisionInfo>,
    /// The rules that held back an action the decision wanted (their
    /// stable names; the text's first line names them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub held_back: Vec<Hold>,
    pub actions: Vec<Action>,
    /// `status`: one row per pool instance, with what the next pass would
    /// do to it (absent when the pass could not observe).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instances: Option<Vec<status::InstanceRow>>,
    pub errors: Vec<String>,
    /// Failures that do not change the exit status (a status probe that
    /// failed: its instance is unknown, not dead).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Things worth knowing that are not failures (a drain lost to a call
    /// that started meanwhile, a draining host waiting for its calls).
    pub notes: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckLine>,
    /// `reserve`: the bookings concerned; a pass: the reservations in force.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reservations: Option<Vec<crate::reservations::Booking>>,
    /// `simulate`: the figures of DESIGN.md "Simulator", as top-level fields.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub simulation: Option<simulation::Outcome>,
    /// How long the phases of the pass took.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timings: Option<Timings>,
    /// `config import`, `schedule suggest`: the TOML the command made
    /// (text mode prints it as it is, the notes on stderr).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub toml: Option<String>,
    /// The file the TOML was written to (`--output`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Since when the pool has been above its target (kept in the state
    /// file for `limits.scale_down_delay`; not part of the report).
    #[serde(skip)]
    pub above_target_since: Option<chrono::DateTime<chrono::Utc>>,
    /// The busy count at opening of each reservation window in force
    /// (kept in the state file; not part of the report).
    #[serde(skip)]
    pub busy_at_open: std::collections::BTreeMap<String, u32>,
    /// A pass: the crash-loop memory it leaves (instances lost in a row
    /// without registering, the suspension of creation), kept in the state
    /// file and shown while it is not clear; `resume`: what it cleared.
    #[serde(skip_serializing_if = "no_crash_loop")]
    pub crash_loop: Option<crate::crash_loop::CrashLoop>,
    pub exit_code: u8,
}

fn no_crash_loop(crash_loop: &Option<crate::crash_loop::CrashLoop>) -> bool {
    crash_loop.as_ref().is_none_or(|c| c.is_clear())
}

/// Milliseconds spent in each phase of a pass (`timings` of the report).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    /// Listing the provider's instances.
    pub provider_ms: f64,
    /// Observing the gateways (database, Redis, probes).
    pub gateways_ms: f64,
    /// Deciding (pure planner).
    pub plan_ms: f64,
    /// The whole pass.
    pub total_ms: f64,
}

impl Report {
    /// An empty report for `command`.
    pub fn new(command: &str) -> Report {
        Report {
            schema_version: SCHEMA_VERSION,
            command: command.to_string(),
            dry_run: false,
            pool: None,
            at: None,
            slot: None,
            observed: None,
            what_if: None,
            decision: None,
            held_back: Vec::new(),
            actions: Vec::new(),
            instances: None,
            errors: Vec::new(),
            warnings: Vec::new(),
            notes: Vec::new(),
            checks: Vec::new(),
            reservations: None,
            simulation: None,
            timings: None,
            toml: None,
            output: None,
            above_target_since: None,
            busy_at_open: std::collections::BTreeMap::new(),
            crash_loop: None,
            exit_code: 0,
        }
    }

    /// Whether the report describes a change or a failure (what `-q` prints).
    pub fn is_eventful(&self) -> bool {
        !self.actions.is_empty()
            || !self.errors.is_empty()
            || !self.warnings.is_empty()
            || self.exit_code != 0
    }

    /// The JSON object, one line.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("the report serializes")
    }

    /// `simulate`'s text: the figures, then the notes (what the trace reader
    /// tolerated: skewed, duplicate and skipped lines).
    fn simulation_text(&self, simulation: &simulation::Outcome) -> String {
        let pool = self.pool.as_ref().map_or("scaler", |p| p.name.as_str());
        let mut out = format!("{pool} simulate: {}", simulation.to_text());
        for n in &self.notes {
            let _ = writeln!(out, "  note: {n}");
        }
        out
    }

    /// The text rendering: one line when nothing happened, else a header, one
    /// line per action, then errors and notes. The decision, notes (a brake
    /// that held actions back, a drain waiting for its calls) and errors (a
    /// suspension of creation) show even when no action ran: they are why
    /// none did.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if let Some(simulation) = &self.simulation {
            return self.simulation_text(simulation);
        }
        if !self.checks.is_empty() {
            for check in &self.checks {
                let status = match (&check.reason, check.ok) {
                    (_, true) => "ok".to_string(),
                    (Some(reason), false) => format!("FAILED ({reason})"),
                    (None, false) => "FAILED".to_string(),
                };
                let _ = writeln!(out, "{:<10} {status:<17} {}", check.name, check.detail);
            }
            return out;
        }
        if self.command == "reserve" {
            return self.reservations_text();
        }
        if self.command == "resume" {
            let pool = self.pool.as_ref().map_or("scaler", |p| p.name.as_str());
            for line in self.errors.iter().chain(&self.notes) {
                let _ = writeln!(out, "{pool} resume: {line}");
            }
            return out;
        }
        if let Some(rows) = &self.instances {
            return self.status_text(rows);
        }
        out.push_str(&self.headline());
        out.push('\n');
        self.push_tail(&mut out, true);
        out
    }

    /// What follows a pass's first line: the decision (when something is
    /// done or noted), the actions (`with_actions`), the reservations in
    /// force, the errors and the notes.
    fn push_tail(&self, out: &mut String, with_actions: bool) {
        if let Some(d) = &self.decision
            && (!self.actions.is_empty() || !self.notes.is_empty() || !self.errors.is_empty())
        {
            let _ = writeln!(out, "  decision: {}", d.reason);
        }
        for a in self.actions.iter().filter(|_| with_actions) {
            out.push_str(&a.to_text());
            out.push('\n');
        }
        for b in self.reservations.iter().flatten() {
            let _ = writeln!(out, "  reservation in force: {}", b.describe());
        }
        for e in &self.errors {
            let _ = writeln!(out, "  error: {e}");
        }
        for w in &self.warnings {
            let _ = writeln!(out, "  warning: {w}");
        }
        for n in &self.notes {
            let _ = writeln!(out, "  note: {n}");
        }
    }

    /// `reserve`'s text: one line per booking, then the notes.
    fn reservations_text(&self) -> String {
        let pool = self.pool.as_ref().map_or("scaler", |p| p.name.as_str());
        let bookings = self.reservations.as_deref().unwrap_or_default();
        let mut out = format!("{pool} reserve: {} reservation(s)\n", bookings.len());
        for b in bookings {
            let _ = write!(out, "  {}", b.describe());
            if let Some(note) = &b.note {
                let _ = write!(out, " ({note})");
            }
            out.push('\n');
        }
        for e in &self.errors {
            let _ = writeln!(out, "  error: {e}");
        }
        for n in &self.notes {
            let _ = writeln!(out, "  note: {n}");
        }
        out
    }

    /// The first line of a pass's text: counts, target and slot, or "no
    /// change".
    fn headline(&self) -> String {
        let pool = self.pool.as_ref().map_or("scaler", |p| p.name.as_str());
        // `plan` says so by its name; a `run` or `cleanup --dry-run` says it first.
        let dry = if self.dry_run && self.command != "plan" {
            "dry run: "
        } else {
            ""
        };
        let mut head = format!("{dry}{pool} {}:", self.command);
        match &self.observed {
            Some(Observed {
                replicas: Some(r),
                instances,
                ..
            }) => {
                let _ = write!(
                    head,
                    " {} resource(s) available ({} healthy, {} building, {} booting, {} unknown replica(s)); {} instance(s)",
                    r.available, r.healthy, r.building, r.pending, r.unknown, instances.total
                );
            }
            Some(o) => {
                let g = o.gateways;
                let _ = write!(
                    head,
                    " {} busy, {} idle, {} draining, {} pending; {} instance(s)",
                    g.busy, g.idle, g.draining, g.pending, o.instances.total
                );
            }
            None => {}
        }
        if let Some(w) = &self.what_if {
            let _ = write!(head, "; what if {} busy", w.busy);
        }
        if let Some(d) = &self.decision {
            let _ = write!(head, "; target {} ({:+})", d.target, d.delta);
        }
        if let Some(s) = &self.slot {
            let _ = write!(head, " [slot {} {}", s.timeline, s.start);
            if let Some(date) = &s.exception {
                let _ = write!(head, ", date {date}");
            }
            head.push(']');
        }
        if self.actions.is_empty() && self.errors.is_empty() {
            head.push_str(": no change");
        }
        head.push_str(&self.held_back_text());
        head
    }

    /// `, held back by <rules>` when a rule held back what the decision
    /// wanted (the end of the first line), else nothing.
    fn held_back_text(&self) -> String {
        if self.held_back.is_empty() {
            return String::new();
        }
        let rules: Vec<&str> = self.held_back.iter().map(|h| h.as_str()).collect();
        format!(", held back by {}", rules.join(", "))
    }
}

impl Action {
    /// One line of the text report (without its newline).
    fn to_text(&self) -> String {
        let status = match self.status {
            ActionStatus::Done => "done",
            ActionStatus::Failed => "FAILED",
            ActionStatus::Planned => "planned",
        };
        let kind = self.kind.as_str();
        let mut line = format!("  {kind:<8}{status:<8}");
        if let Some(i) = &self.instance {
            let _ = write!(line, " {i}");
        }
        if let Some(ip) = &self.ip {
            let _ = write!(line, " {ip}");
        }
        if let Some(t) = &self.instance_type {
            let _ = write!(line, " {t}");
        }
        if let Some(v) = self.vcpus {
            let _ = write!(line, " {v} vCPUs");
        }
        if let Some(g) = self.gateways {
            let _ = write!(line, " {g} gateway(s)");
        }
        let _ = write!(line, " ({})", self.reason);
        if let Some(e) = &self.error {
            let _ = write!(line, ": {e}");
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_report_is_one_line() {
        let mut r = Report::new("run");
        r.pool = Some(PoolInfo {
            name: "gw".into(),
            kind: "sip".into(),
        });
        r.observed = Some(Observed::default());
        r.decision = Some(DecisionInfo {
            target: 0,
            delta: 0,
            reason: "at target".into(),
        });
        let text = r.to_text();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.ends_with("no change\n"));
        assert!(!r.is_eventful());
    }

    #[test]
    fn notes_show_without_actions() {
        let mut r = Report::new("run");
        r.decision = Some(DecisionInfo {
            target: 3,
            delta: 3,
            reason: "scale up by 3 gateway(s)".into(),
        });
        r.notes
            .push("limits.max_create_per_run (0) held back 3 creation(s)".into());
        let text = r.to_text();
        assert!(
            text.lines().next().unwrap().ends_with("no change"),
            "{text}"
        );
        assert!(
            text.contains("\n  decision: scale up by 3 gateway(s)\n")
                && text
                    .contains("\n  note: limits.max_create_per_run (0) held back 3 creation(s)\n"),
            "{text}"
        );
    }

    #[test]
    fn the_decision_shows_with_an_error_and_no_action() {
        let mut r = Report::new("run");
        r.decision = Some(DecisionInfo {
            target: 1,
            delta: 1,
            reason: "scale up by 1 gateway(s); but creation is suspended".into(),
        });
        r.errors.push("creation is suspended since …".into());
        let text = r.to_text();
        assert!(
            text.contains("\n  decision: scale up by 1 gateway(s); but creation is suspended\n"),
            "{text}"
        );
    }

    #[test]
    fn json_has_the_stable_fields() {
        let mut r = Report::new("plan");
        r.actions.push(Action {
            instance: Some("i-1".into()),
            ..Action::new(ActionKind::Destroy, ActionStatus::Planned, "to_stop")
        });
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(v["schema_version"], 1);
        assert_eq!(v["command"], "plan");
        assert_eq!(v["actions"][0]["kind"], "destroy");
        assert_eq!(v["actions"][0]["status"], "planned");
        assert_eq!(v["exit_code"], 0);
        assert!(v["actions"][0].get("error").is_none());
        assert_eq!(v["dry_run"], false);
    }

    fn pass(command: &str) -> Report {
        let mut r = Report::new(command);
        r.pool = Some(PoolInfo {
            name: "gw".into(),
            kind: "sip".into(),
        });
        r.observed = Some(Observed::default());
        r.decision = Some(DecisionInfo {
            target: 2,
            delta: -2,
            reason: "2 gateway(s) too many, but no whole idle instance fits".into(),
        });
        r
    }

    #[test]
    fn the_one_line_names_the_rules_that_held_back() {
        let mut r = pass("run");
        r.held_back = vec![Hold::NoWholeIdleInstance];
        let text = r.to_text();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(
            text.ends_with(": no change, held back by no_whole_idle_instance\n"),
            "{text}"
        );
        assert!(!r.is_eventful(), "a rule holding back is no event for -q");
        r.held_back = vec![Hold::ScaleDownDelay, Hold::Deadline];
        r.errors
            .push("limits.deadline reached: 1 action(s) not started".into());
        let first = r.to_text().lines().next().unwrap().to_string();
        assert!(
            first.ends_with(", held back by limits.scale_down_delay, limits.deadline"),
            "{first}"
        );
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(
            v["held_back"],
            serde_json::json!(["limits.scale_down_delay", "limits.deadline"])
        );
        assert!(
            serde_json::from_str::<serde_json::Value>(&pass("run").to_json()).unwrap()["held_back"]
                .is_null()
        );
    }

    #[test]
    fn a_warning_is_no_error_line() {
        let mut r = pass("run");
        r.warnings
            .push("probe gw-1: no answer within the timeout".into());
        let text = r.to_text();
        assert!(
            text.contains("\n  warning: probe gw-1: no answer within the timeout"),
            "{text}"
        );
        assert!(!text.contains("error:"), "{text}");
        assert!(r.is_eventful(), "-q still shows a failed probe");
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(v["warnings"][0], "probe gw-1: no answer within the timeout");
        assert_eq!(v["errors"], serde_json::json!([]));
    }

    #[test]
    fn a_replica_pool_summary_speaks_of_resources() {
        let mut r = pass("run");
        r.observed = Some(Observed {
            replicas: Some(ReplicaCounts {
                healthy: 2,
                unknown: 1,
                building: 1,
                pending: 0,
                available: 7,
            }),
            ..Observed::default()
        });
        let text = r.to_text();
        assert!(
            text.starts_with(
                "gw run: 7 resource(s) available (2 healthy, 1 building, 0 booting, 1 unknown replica(s)); 0 instance(s); target 2"
            ),
            "{text}"
        );
        assert!(!text.contains("busy") && !text.contains("idle"), "{text}");
    }

    #[test]
    fn a_what_if_is_shown_beside_the_observation() {
        let mut r = pass("plan");
        r.what_if = Some(WhatIf {
            busy: 12,
            registered: 12,
        });
        let text = r.to_text();
        assert!(
            text.starts_with("gw plan: 0 busy, 0 idle, 0 draining, 0 pending; 0 instance(s); what if 12 busy; target 2"),
            "{text}"
        );
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(
            v["what_if"],
            serde_json::json!({"busy": 12, "registered": 12})
        );
        assert_eq!(v["observed"]["gateways"]["busy"], 0);
    }

    #[test]
    fn a_dry_run_says_so_first() {
        let mut r = Report::new("run");
        r.dry_run = true;
        assert!(
            r.to_text().starts_with("dry run: scaler run:"),
            "{}",
            r.to_text()
        );
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(v["dry_run"], true);
        let mut plan = Report::new("plan");
        plan.dry_run = true;
        assert!(
            plan.to_text().starts_with("scaler plan:"),
            "{}",
            plan.to_text()
        );
    }
}
