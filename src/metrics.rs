//! Metrics for Prometheus' node_exporter textfile collector: after each `run`
//! and `cleanup` pass (not dry runs), the report and the pool's persistent
//! state ([`crate::state`]) are rendered in the text exposition format and
//! written atomically to `--metrics-file` or `[metrics] textfile`. Every
//! series carries a `pool` label, so several pools can share a collector
//! directory (one file each).

use crate::config::Config;
pub use crate::config::MetricsSection;
use crate::exit::Exit;
use crate::plan::DestroyReason;
use crate::report::{ActionKind, ActionStatus, Report};
use crate::state::{self, State};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Escapes a label value (backslash, double quote, newline).
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A Unix timestamp in seconds, with milliseconds.
fn timestamp(at: DateTime<Utc>) -> String {
    format!("{:.3}", at.timestamp_millis() as f64 / 1000.0)
}

struct Writer {
    out: String,
    pool: String,
}

impl Writer {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        let mut set = format!("pool=\"{}\"", self.pool);
        for (k, v) in labels {
            let _ = write!(set, ",{k}=\"{}\"", label(v));
        }
        let _ = writeln!(self.out, "{name}{{{set}}} {value}");
    }

    fn one(&mut self, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }
}

/// Renders the metrics of a pass: its report, the state after it, and how
/// long it took.
pub fn render(report: &Report, state: &State, duration: Duration, now: DateTime<Utc>) -> String {
    let pool = report
        .pool
        .as_ref()
        .map_or_else(|| state.pool.clone(), |p| p.name.clone());
    let mut w = Writer {
        out: String::new(),
        pool: label(&pool),
    };
    w.family(
        "scaler_build_info",
        "gauge",
        "Always 1; the version of scaler that wrote this file.",
    );
    w.sample(
        "scaler_build_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
        1,
    );
    observed(&mut w, report);
    actions(&mut w, report);
    counters(&mut w, report, state, duration, now);
    crash_loop(&mut w, state);
    w.out
}

/// The crash-loop backoff as the state file keeps it after the pass.
fn crash_loop(w: &mut Writer, state: &State) {
    let memory = &state.crash_loop;
    let suspension = memory.suspension.as_ref();
    w.one(
        "scaler_creation_suspended",
        "gauge",
        "1 while creation is suspended after instances were lost in a row without registering (limits.crash_loop_after; scaler resume lifts it), else 0.",
        u8::from(suspension.is_some()),
    );
    w.one(
        "scaler_creation_suspended_until_timestamp_seconds",
        "gauge",
        "When the suspension of creation lets a trial instance be created (0: not suspended).",
        suspension.map_or_else(|| "0".to_string(), |s| timestamp(s.until)),
    );
    w.one(
        "scaler_instances_lost_unregistered",
        "gauge",
        "Instances lost in a row without registering (unregistered, or no_public_ip and error_state while booting, before any registration) since the last registration.",
        memory.lost,
    );
}

/// `scaler_instances_destroyed_total{reason}`: every destroy reason (zero
/// included), and `unknown` for destroys counted before the state file
/// kept their reason.
fn destroyed(w: &mut Writer, state: &State) {
    let name = "scaler_instances_destroyed_total";
    w.family(
        name,
        "counter",
        "Instances destroyed since the state file began, by reason.",
    );
    let by_reason = &state.counters.destroyed_by_reason;
    for reason in DestroyReason::ALL.map(DestroyReason::as_str) {
        let count = by_reason.get(reason).copied().unwrap_or(0);
        w.sample(name, &[("reason", reason)], count);
    }
    let known: u64 = by_reason.values().sum();
    let unknown = state.counters.destroyed_total.saturating_sub(known);
    if unknown > 0 {
        w.sample(name, &[("reason", "unknown")], unknown);
    }
}

/// What the pass observed and decided: gateways, instances, target, slot.
fn observed(w: &mut Writer, report: &Report) {
    if let Some(observed) = &report.observed {
        let g = observed.gateways;
        for (name, value, help) in [
            (
                "registered",
                g.registered,
                "Gateways registered and not draining.",
            ),
            ("busy", g.busy, "Gateways in a call."),
            ("idle", g.idle, "Registered gateways not in a call."),
            ("draining", g.draining, "Gateways marked to stop."),
            (
                "pending",
                g.pending,
                "Gateways expected from instances still booting or not yet registered.",
            ),
        ] {
            let help = format!("{help} Observed at the start of the last pass.");
            w.one(&format!("scaler_gateways_{name}"), "gauge", &help, value);
        }
        let i = observed.instances;
        w.family(
            "scaler_instances",
            "gauge",
            "The pool's instances at the provider, by state, at the start of the last pass.",
        );
        for (state, value) in [
            ("building", i.building),
            ("active", i.active),
            ("error", i.error),
        ] {
            w.sample("scaler_instances", &[("state", state)], value);
        }
        w.one(
            "scaler_instances_protected",
            "gauge",
            "Instances that are never destroyed (pool.protected).",
            i.protected,
        );
    }
    if let Some(decision) = &report.decision {
        w.one(
            "scaler_target_gateways",
            "gauge",
            "Gateways the last pass aimed for.",
            decision.target,
        );
    }
    if let Some(slot) = &report.slot {
        w.one(
            "scaler_slot_max_gateways",
            "gauge",
            "max_gateways of the schedule slot in force.",
            slot.max_gateways,
        );
    }
}

/// The pass's actions, by kind and status (zero included).
fn actions(w: &mut Writer, report: &Report) {
    w.family(
        "scaler_pass_actions",
        "gauge",
        "Actions of the last pass, by kind and status.",
    );
    for kind in [ActionKind::Create, ActionKind::Drain, ActionKind::Destroy] {
        for status in [ActionStatus::Done, ActionStatus::Failed] {
            let count = report
                .actions
                .iter()
                .filter(|a| a.kind == kind && a.status == status)
                .count();
            let kind = serde_json::to_value(kind).expect("serializes");
            let status = serde_json::to_value(status).expect("serializes");
            w.sample(
                "scaler_pass_actions",
                &[
                    ("kind", kind.as_str().unwrap_or_default()),
                    ("status", status.as_str().unwrap_or_default()),
                ],
                count,
            );
        }
    }
}

/// The state file's counters and the pass's own figures.
fn counters(
    w: &mut Writer,
    report: &Report,
    state: &State,
    duration: Duration,
    now: DateTime<Utc>,
) {
    w.one(
        "scaler_instances_created_total",
        "counter",
        "Instances created since the state file began.",
        state.counters.created_total,
    );
    destroyed(w, state);
    w.one(
        "scaler_passes_total",
        "counter",
        "Passes since the state file began.",
        state.counters.passes_total,
    );
    w.one(
        "scaler_state_start_timestamp_seconds",
        "gauge",
        "When the state file (and its counters) began.",
        timestamp(state.started_at),
    );
    w.one(
        "scaler_pass_duration_seconds",
        "gauge",
        "How long the last pass took.",
        format!("{:.3}", duration.as_secs_f64()),
    );
    w.one(
        "scaler_pass_exit_code",
        "gauge",
        "Exit status of the last pass (0 ok, 3 partial, 69 dependency unavailable...).",
        report.exit_code,
    );
    w.one(
        "scaler_last_pass_timestamp_seconds",
        "gauge",
        "When the last pass ended.",
        timestamp(now),
    );
    w.one(
        "scaler_last_success_timestamp_seconds",
        "gauge",
        "When the last pass that exited 0 ended (0: never).",
        state
            .counters
            .last_success_at
            .map_or_else(|| "0".to_string(), timestamp),
    );
}

/// What `run --every` counted since it started, for its own textfile
/// ([`every_textfile`]): a pass that exits before writing metrics (75, 78,
/// killed) still shows here.
#[derive(Debug, Clone)]
pub struct EveryCounts {
    /// The `--every` interval.
    pub interval: Duration,
    /// When the loop started.
    pub started_at: DateTime<Utc>,
    /// Passes by exit status (128 + N: killed by signal N).
    pub passes: BTreeMap<i32, u64>,
    /// Ticks skipped because a pass was still running.
    pub skipped: u64,
    /// Exit status of the last pass and when it ended.
    pub last: Option<(i32, DateTime<Utc>)>,
}

/// Renders the series of `run --every` for `pool`.
pub fn render_every(pool: &str, counts: &EveryCounts) -> String {
    let mut w = Writer {
        out: String::new(),
        pool: label(pool),
    };
    w.family(
        "scaler_every_passes_total",
        "counter",
        "Passes started by run --every since it started, by exit status (128 + N: killed by signal N).",
    );
    for (exit, count) in &counts.passes {
        w.sample(
            "scaler_every_passes_total",
            &[("exit", &exit.to_string())],
            count,
        );
    }
    w.one(
        "scaler_every_ticks_skipped_total",
        "counter",
        "Ticks of run --every skipped because the previous pass was still running.",
        counts.skipped,
    );
    w.one(
        "scaler_every_interval_seconds",
        "gauge",
        "The --every interval.",
        counts.interval.as_secs(),
    );
    w.one(
        "scaler_every_start_timestamp_seconds",
        "gauge",
        "When run --every started (its counters began).",
        timestamp(counts.started_at),
    );
    if let Some((exit, at)) = counts.last {
        w.one(
            "scaler_every_last_exit_code",
            "gauge",
            "Exit status of the last pass run --every started.",
            exit,
        );
        w.one(
            "scaler_every_last_pass_timestamp_seconds",
            "gauge",
            "When the last pass run --every started ended.",
            timestamp(at),
        );
    }
    w.out
}

/// The textfile of `run --every` beside the passes' one: `DIR/NAME.prom`
/// gives `DIR/NAME-every.prom` (node_exporter reads `*.prom`).
pub fn every_textfile(pass_file: &Path) -> PathBuf {
    let stem = pass_file
        .file_stem()
        .map_or_else(|| "scaler".into(), |s| s.to_string_lossy().into_owned());
    pass_file.with_file_name(format!("{stem}-every.prom"))
}

/// Where metrics go for this configuration: `--metrics-file` first, then
/// `[metrics] textfile`; `None` when neither is set.
pub fn textfile<'a>(config: &'a Config, flag: Option<&'a Path>) -> Option<&'a Path> {
    flag.or(config.metrics_textfile.as_deref())
}

/// After a `run` or `cleanup` pass that was not a dry run: updates the state
/// file and writes the metrics, when a textfile is configured. A failure is
/// added to the report's errors and turns exit 0 into 1 (monitoring is
/// broken); worse statuses are kept.
pub fn after_pass(
    config: &Config,
    flag: Option<&Path>,
    report: &mut Report,
    duration: Duration,
    now: DateTime<Utc>,
) {
    let Some(path) = textfile(config, flag) else {
        return;
    };
    let done = |kind: ActionKind| {
        report
            .actions
            .iter()
            .filter(|a| a.kind == kind && a.status == ActionStatus::Done)
            .count() as u64
    };
    let (created, destroyed) = (done(ActionKind::Create), done(ActionKind::Destroy));
    let mut by_reason: BTreeMap<String, u64> = BTreeMap::new();
    for action in &report.actions {
        if action.kind == ActionKind::Destroy && action.status == ActionStatus::Done {
            *by_reason.entry(action.reason.clone()).or_default() += 1;
        }
    }
    let success = report.exit_code == Exit::Ok.code();
    let result = state::update(&config.state_path, &config.pool.name, now, |s| {
        s.counters.created_total += created;
        s.counters.destroyed_total += destroyed;
        for (reason, count) in by_reason {
            *s.counters.destroyed_by_reason.entry(reason).or_default() += count;
        }
        s.counters.passes_total += 1;
        s.counters.last_pass_at = Some(now);
        if success {
            s.counters.last_success_at = Some(now);
        }
    })
    .map_err(|e| e.to_string())
    .and_then(|state| {
        let text = render(report, &state, duration, now);
        state::write_atomic(path, text.as_bytes())
            .map_err(|e| format!("metrics file {}: {e}", path.display()))
    });
    if let Err(e) = result {
        log::error!("{e}");
        report.errors.push(e);
        if report.exit_code == Exit::Ok.code() {
            report.exit_code = Exit::Internal.code();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{GatewayCounts, InstanceCounts};
    use crate::report::{Action, DecisionInfo, Observed, PoolInfo};

    fn report() -> Report {
        let mut r = Report::new("run");
        r.pool = Some(PoolInfo {
            name: "gw".into(),
            kind: "sip".into(),
        });
        r.observed = Some(Observed {
            instances: InstanceCounts {
                total: 3,
                building: 1,
                active: 2,
                error: 0,
                protected: 1,
            },
            gateways: GatewayCounts {
                registered: 6,
                busy: 2,
                idle: 4,
                draining: 1,
                pending: 2,
            },
            replicas: None,
        });
        r.decision = Some(DecisionInfo {
            target: 8,
            delta: 0,
            reason: "at target".into(),
        });
        r.actions.push(Action::new(
            ActionKind::Create,
            ActionStatus::Done,
            "scale_up",
        ));
        r
    }

    #[test]
    fn renders_every_family_with_the_pool_label() {
        let now = DateTime::parse_from_rfc3339("2026-11-23T07:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut state = State::new("gw", now);
        state.counters.created_total = 5;
        let text = render(&report(), &state, Duration::from_millis(1500), now);
        for line in [
            "scaler_gateways_busy{pool=\"gw\"} 2",
            "scaler_instances{pool=\"gw\",state=\"building\"} 1",
            "scaler_target_gateways{pool=\"gw\"} 8",
            "scaler_pass_actions{pool=\"gw\",kind=\"create\",status=\"done\"} 1",
            "scaler_instances_created_total{pool=\"gw\"} 5",
            "scaler_pass_duration_seconds{pool=\"gw\"} 1.500",
            "scaler_last_success_timestamp_seconds{pool=\"gw\"} 0",
            "scaler_state_start_timestamp_seconds{pool=\"gw\"} 1795417200.000",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        for line in text.lines().filter(|l| l.starts_with("# TYPE")) {
            let name = line.split(' ').nth(2).unwrap();
            assert_eq!(
                text.matches(&format!("# TYPE {name} ")).count(),
                1,
                "{name} declared twice"
            );
        }
    }

    #[test]
    fn destroys_by_reason_build_info_and_the_suspension_of_creation() {
        let now = DateTime::parse_from_rfc3339("2026-11-23T07:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut state = State::new("gw", now);
        let text = render(&report(), &state, Duration::ZERO, now);
        let version = env!("CARGO_PKG_VERSION");
        for line in [
            format!("scaler_build_info{{pool=\"gw\",version=\"{version}\"}} 1"),
            "scaler_instances_destroyed_total{pool=\"gw\",reason=\"unregistered\"} 0".into(),
            "scaler_instances_destroyed_total{pool=\"gw\",reason=\"drained\"} 0".into(),
            "scaler_creation_suspended{pool=\"gw\"} 0".into(),
            "scaler_creation_suspended_until_timestamp_seconds{pool=\"gw\"} 0".into(),
            "scaler_instances_lost_unregistered{pool=\"gw\"} 0".into(),
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        assert!(!text.contains("reason=\"unknown\""), "{text}");
        assert!(!text.contains("scaler_instances_destroyed_total{pool=\"gw\"}"));

        // Destroys counted before the reasons were kept are `unknown`.
        state.counters.destroyed_total = 7;
        state
            .counters
            .destroyed_by_reason
            .insert("unregistered".into(), 3);
        state.crash_loop.lost = 3;
        state.crash_loop.suspension = Some(crate::crash_loop::Suspension {
            since: now,
            until: now + chrono::TimeDelta::minutes(10),
            backoff_seconds: 600,
            trial_since: None,
        });
        let text = render(&report(), &state, Duration::ZERO, now);
        for line in [
            "scaler_instances_destroyed_total{pool=\"gw\",reason=\"unregistered\"} 3",
            "scaler_instances_destroyed_total{pool=\"gw\",reason=\"unknown\"} 4",
            "scaler_creation_suspended{pool=\"gw\"} 1",
            "scaler_creation_suspended_until_timestamp_seconds{pool=\"gw\"} 1795417800.000",
            "scaler_instances_lost_unregistered{pool=\"gw\"} 3",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }

    #[test]
    fn the_every_series_count_passes_by_exit_status() {
        let at = DateTime::parse_from_rfc3339("2026-11-23T07:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut counts = EveryCounts {
            interval: Duration::from_secs(60),
            started_at: at,
            passes: BTreeMap::new(),
            skipped: 0,
            last: None,
        };
        let text = render_every("gw", &counts);
        assert!(text.contains("scaler_every_ticks_skipped_total{pool=\"gw\"} 0"));
        assert!(!text.contains("scaler_every_last_exit_code"), "{text}");
        counts.passes.insert(0, 2);
        counts.passes.insert(78, 1);
        counts.skipped = 1;
        counts.last = Some((78, at));
        let text = render_every("gw", &counts);
        for line in [
            "scaler_every_passes_total{pool=\"gw\",exit=\"0\"} 2",
            "scaler_every_passes_total{pool=\"gw\",exit=\"78\"} 1",
            "scaler_every_ticks_skipped_total{pool=\"gw\"} 1",
            "scaler_every_interval_seconds{pool=\"gw\"} 60",
            "scaler_every_last_exit_code{pool=\"gw\"} 78",
            "scaler_every_last_pass_timestamp_seconds{pool=\"gw\"} 1795417200.000",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }

    #[test]
    fn the_every_textfile_sits_beside_the_pass_one() {
        assert_eq!(
            every_textfile(Path::new("/var/lib/node-exporter/scaler.prom")),
            Path::new("/var/lib/node-exporter/scaler-every.prom")
        );
        assert_eq!(
            every_textfile(Path::new("metrics.txt")),
            Path::new("metrics-every.prom")
        );
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
