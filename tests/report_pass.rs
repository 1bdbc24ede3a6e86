//! What the report of a real pass (a real MariaDB holding Kamailio's
//! schema, the local provider) says when a rule holds back what the
//! decision wants: the rule is named in `held_back` and on the text's first
//! line, and `decision.reason` never tells of a drain no action carried out
//! (the scale-down delay, no whole idle instance, the deadline reached
//! before the drains, a drain that finds a call). Also `plan --busy N`
//! (`what_if`, `observed` untouched) and `-v`'s step lines.

mod common;

use common::*;
use scaler::decision::Memory;
use scaler::pass::{self, PassOptions, Steps};
use scaler::provider::InstanceState;
use scaler::report::Report;
use std::path::Path;
use std::time::{Duration, Instant};

const TIGHT: &str = "{ idle_min = 0, load_max = 1.0, max_gateways = 40 }";

/// `n` c4 instances of one idle gateway each, on 127.0.`subnet`.1…
fn idle_pool(ws: &Workspace, db: &mut Kamailio, pool: &str, subnet: u8, n: u8) {
    for i in 1..=n {
        let host = format!("127.0.{subnet}.{i}");
        ws.add_instance(pool, &host, InstanceState::Active, 60, 4);
        db.register(&host, 0, false, false);
    }
}

fn with_delay(config: &str, delay: &str) -> String {
    let text = std::fs::read_to_string(config).unwrap().replace(
        "scale_down_delay = \"0s\"",
        &format!("scale_down_delay = \"{delay}\""),
    );
    std::fs::write(config, text).unwrap();
    config.to_string()
}

fn held_back(json: &serde_json::Value) -> Vec<String> {
    json["held_back"]
        .as_array()
        .map(|a| a.iter().map(|h| h.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

fn reason(json: &serde_json::Value) -> String {
    json["decision"]["reason"].as_str().unwrap().to_string()
}

#[test]
fn a_delayed_scale_down_names_its_rule_and_never_reads_as_draining() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("why_delay");
    idle_pool(&ws, &mut db, "wd", 31, 3);
    let config = with_delay(&sip_config(&ws, &db, "wd", TIGHT, ""), "5m");
    let json = run(&config, 0);
    assert_eq!(json["decision"]["delta"], -3);
    assert_eq!(json["actions"], serde_json::json!([]));
    let why = reason(&json);
    assert!(!why.contains("draining"), "{why}");
    assert!(
        why.contains("3 gateway(s) too many, but limits.scale_down_delay (5m) holds back"),
        "{why}"
    );
    assert_eq!(held_back(&json), ["limits.scale_down_delay"]);

    let text = scaler(&["-c", &config, "run"]).expect(0);
    let first = text.stdout.lines().next().unwrap();
    assert!(
        first.ends_with(": no change, held back by limits.scale_down_delay"),
        "{}",
        text.stdout
    );
    assert_eq!(db.rows().iter().filter(|r| r.2 == 1).count(), 0);
}

#[test]
fn no_whole_idle_instance_is_named_on_the_one_line() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("why_whole");
    // One c8: a busy gateway and an idle one; one gateway too many.
    ws.add_instance("ww", "127.0.32.1", InstanceState::Active, 60, 8);
    db.register("127.0.32.1", 0, true, false);
    db.register("127.0.32.1", 1, false, false);
    let config = sip_config(&ws, &db, "ww", TIGHT, "");
    let json = run(&config, 0);
    assert_eq!(json["decision"]["delta"], -1);
    assert_eq!(json["actions"], serde_json::json!([]));
    assert!(
        reason(&json).ends_with("1 gateway(s) too many, but no whole idle instance fits"),
        "{json}"
    );
    assert_eq!(held_back(&json), ["no_whole_idle_instance"]);
    let text = scaler(&["-c", &config, "run"]).expect(0);
    assert_eq!(text.stdout.lines().count(), 1, "{}", text.stdout);
    assert!(
        text.stdout
            .trim_end()
            .ends_with(": no change, held back by no_whole_idle_instance"),
        "{}",
        text.stdout
    );
}

/// Observes the pool of `config` once, runs `between`, then carries the
/// decision out with the pass's deadline at `deadline`.
fn observe_then_act(config: &str, deadline: Instant, between: impl FnOnce()) -> Report {
    let config = scaler::config::load(Path::new(config)).unwrap();
    let mut provider = scaler::provider_for(&config).unwrap();
    let mut source = scaler::source_for(&config).unwrap();
    let now = chrono::Utc::now();
    let options = PassOptions {
        command: "run",
        steps: Steps::Full,
        dry_run: false,
        now,
        at: now,
        busy_override: None,
        deadline,
        above_target_since: Memory::default().above_target_since,
        pending_forgets: Vec::new(),
        reservations: Default::default(),
        crash_loop: Default::default(),
    };
    let observed = pass::observe(
        &config,
        provider.as_mut(),
        source.as_deref_mut(),
        None,
        &options,
    )
    .unwrap();
    between();
    pass::execute_observed(
        &config,
        provider.as_mut(),
        source.as_deref_mut(),
        observed,
        &options,
    )
}

#[test]
fn a_deadline_reached_before_the_drains_leaves_a_reason_without_them() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("why_deadline");
    idle_pool(&ws, &mut db, "wl", 33, 2);
    let config = password_from_file(&ws, &sip_config(&ws, &db, "wl", TIGHT, ""));
    // The deadline has passed when the actions would start.
    let report = observe_then_act(&config, Instant::now(), || {});
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["exit_code"], 3);
    assert_eq!(json["actions"], serde_json::json!([]));
    let why = reason(&json);
    assert!(!why.contains("draining"), "{why}");
    assert!(
        why.ends_with(
            ": 2 gateway(s) too many, but limits.deadline was reached before 2 of 2 drain(s) started (the next pass continues)"
        ),
        "{why}"
    );
    assert_eq!(held_back(&json), ["limits.deadline"]);
    assert_eq!(ws.instance_ids("wl").len(), 2);
}

#[test]
fn a_drain_that_finds_a_call_leaves_a_reason_without_it() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("why_busy");
    idle_pool(&ws, &mut db, "wb", 34, 1);
    let config = password_from_file(&ws, &sip_config(&ws, &db, "wb", TIGHT, ""));
    let far = Instant::now() + Duration::from_secs(3600);
    // Between the observation and the drain, the gateway takes a call.
    let report = observe_then_act(&config, far, || {
        db.exec("UPDATE location SET locked = 1");
    });
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["exit_code"], 0, "{json}");
    assert_eq!(json["actions"], serde_json::json!([]));
    let why = reason(&json);
    assert!(!why.contains("draining"), "{why}");
    assert!(
        why.ends_with(
            ": 1 gateway(s) too many, but 1 of 1 drain(s) found a call in progress (see notes)"
        ),
        "{why}"
    );
    assert_eq!(held_back(&json), ["call_in_progress"]);
    assert!(json["notes"].to_string().contains("not drained"), "{json}");
    assert_eq!(ws.instance_ids("wb").len(), 1);
}

#[test]
fn a_what_if_keeps_the_observation_and_says_what_the_decision_used() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("why_whatif");
    idle_pool(&ws, &mut db, "wi", 35, 2);
    let idle1 = "{ idle_min = 1, load_max = 1.0, max_gateways = 40 }";
    let config = sip_config(&ws, &db, "wi", idle1, "");
    let plan = scaler(&["-c", &config, "--format", "json", "plan", "--busy", "5"]).expect(0);
    let json = plan.json();
    assert_eq!(json["observed"]["gateways"]["busy"], 0, "{json}");
    assert_eq!(json["observed"]["gateways"]["idle"], 2);
    assert_eq!(
        json["what_if"],
        serde_json::json!({"busy": 5, "registered": 5})
    );
    // 5 busy + 1 idle_min, on 5 registered (at least the busy ones).
    assert_eq!(json["decision"]["target"], 6);
    assert_eq!(json["decision"]["delta"], 1);
    let text = scaler(&["-c", &config, "plan", "--busy", "5"]).expect(0);
    assert!(
        text.stdout.contains("0 busy, 2 idle") && text.stdout.contains("; what if 5 busy;"),
        "{}",
        text.stdout
    );
    let plan = scaler(&["-c", &config, "--format", "json", "plan"]).expect(0);
    assert!(plan.json().get("what_if").is_none());
}

#[test]
fn verbose_logs_each_step_with_its_time() {
    let ws = Workspace::new();
    let db = Kamailio::new("why_verbose");
    let config = sip_config(
        &ws,
        &db,
        "wv",
        "{ idle_min = 2, load_max = 0.8, max_gateways = 40 }",
        "",
    );
    let quiet = scaler(&["-c", &config, "plan"]).expect(0);
    assert!(!quiet.stderr.contains("listing:"), "{}", quiet.stderr);
    let plan = scaler(&["-c", &config, "-v", "plan"]).expect(0);
    for step in [
        "listing: 0 instance(s) in ",
        "observation: 0 gateway(s), 0 unreadable record(s) in ",
        "decision: target 2 (+2), 1 step(s) in ",
        "create wv-",
    ] {
        assert!(plan.stderr.contains(step), "{step:?}:\n{}", plan.stderr);
    }
    assert!(
        plan.stderr.contains("(scale_up): planned"),
        "{}",
        plan.stderr
    );
    let run = scaler(&["-c", &config, "-v", "run"]).expect(0);
    let created = run
        .stderr
        .lines()
        .find(|l| l.contains("create wv-"))
        .unwrap_or_else(|| panic!("{}", run.stderr));
    assert!(
        created.contains(" c8 (scale_up): done in ") && created.ends_with(" ms"),
        "{created}"
    );
}

/// `sqrt_headroom` raises the target of `plan` by `ceil(β × √busy)` and is
/// named in the reason and in the report's `slot`; without it the slot and
/// the reason read as before.
#[test]
fn a_sqrt_headroom_raises_the_planned_target() {
    let ws = Workspace::new();
    let db = Kamailio::new("why_sqrt");
    let plan = |slot: &str, pool: &str| {
        let config = sip_config(&ws, &db, pool, slot, "");
        scaler(&[
            "-c",
            &config,
            "--format",
            "json",
            "plan",
            "--dry-run",
            "--busy",
            "100",
        ])
        .expect(0)
        .json()
    };
    let plain = plan(
        "{ idle_min = 1, load_max = 1.0, max_gateways = 400 }",
        "sq0",
    );
    assert_eq!(plain["decision"]["target"], 101, "{plain}");
    assert!(plain["slot"].get("sqrt_headroom").is_none(), "{plain}");
    assert!(!reason(&plain).contains('√'), "{plain}");
    let beta = plan(
        "{ idle_min = 1, load_max = 1.0, max_gateways = 400, sqrt_headroom = 1.5 }",
        "sq1",
    );
    // 101 + ceil(1.5 × √100) = 101 + 15.
    assert_eq!(beta["decision"]["target"], 116, "{beta}");
    assert_eq!(beta["slot"]["sqrt_headroom"], 1.5, "{beta}");
    assert!(
        reason(&beta).contains("+ ceil(1.5 × √100) = 15 within 0..400"),
        "{beta}"
    );
}
