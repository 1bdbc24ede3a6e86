//! One decision, two executors: one observation of a seeded Kamailio
//! database and a `local` cloud is carried out by the real pass (which acts
//! on that cloud and database) and by the simulator (on its simulated
//! cloud), and both give the same actions — kind, reason, instance type,
//! vCPUs and gateways — the same verdict and the same held-back notes
//! (instance ids and addresses aside).

mod common;

use common::*;
use scaler::decision::Memory;
use scaler::pass::{self, PassOptions, Steps};
use scaler::provider::InstanceState;
use scaler::report::{Action, Report};
use scaler::simulate::{self, World};
use std::path::Path;
use std::time::{Duration, Instant};

/// What an action is, without the instance it concerns.
fn shape(action: &Action) -> String {
    format!(
        "{:?} {:?} {} {:?} {:?} {:?}",
        action.kind,
        action.status,
        action.reason,
        action.instance_type,
        action.vcpus,
        action.gateways
    )
}

/// The pool's configuration, with a password file so this process can
/// observe the database itself.
fn config(ws: &Workspace, db: &Kamailio, slot: &str, limits: &str) -> String {
    let password = mysql::Opts::from_url(
        &std::env::var("SCALER_TEST_MYSQL")
            .unwrap_or_else(|_| "mysql://scaler:scaler@127.0.0.1:3306".into()),
    )
    .ok()
    .and_then(|o| o.get_pass().map(String::from))
    .unwrap_or_default();
    std::fs::write(ws.path("db-password"), password).unwrap();
    let path = sip_config(ws, db, "one", slot, "");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace(
            &format!("password_env = \"{DB_PASSWORD_ENV}\""),
            &format!("password_file = {:?}", ws.path("db-password")),
        )
        .replace(
            "[limits]\nscale_down_delay = \"0s\"\n",
            &format!("[limits]\n{limits}\n"),
        );
    ws.config(&text)
}

/// Observes once; the real pass (acting) and the simulator carry out the
/// decision on that one observation. Returns the real report and the
/// simulated actions, verdict and notes after checking they agree.
fn both(config: &str, memory: Memory) -> Report {
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
        deadline: Instant::now() + Duration::from_secs(3600),
        above_target_since: memory.above_target_since,
        pending_forgets: Vec::new(),
        reservations: Default::default(),
        crash_loop: memory.crash_loop.clone(),
    };
    let observed = pass::observe(
        &config,
        provider.as_mut(),
        source.as_deref_mut(),
        None,
        &options,
    )
    .unwrap();
    let real = pass::execute_observed(
        &config,
        provider.as_mut(),
        source.as_deref_mut(),
        observed.clone(),
        &options,
    );
    assert_eq!(real.exit_code, 0, "{}", real.to_json());

    let mut world = World::from_observation(&config, observed.observation);
    let slot = config.schedule.slot_at(now).unwrap();
    let params = config.decision_params();
    let minute = simulate::plan_minute(&mut world, &params, &slot.slot, memory, now);

    let real_actions: Vec<String> = real.actions.iter().map(shape).collect();
    let simulated: Vec<String> = minute.actions.iter().map(shape).collect();
    assert_eq!(real_actions, simulated);
    let verdict = minute.plan.verdict.as_ref().unwrap();
    let decision = real.decision.as_ref().unwrap();
    assert_eq!(
        (decision.target, decision.delta, &decision.reason),
        (verdict.target, verdict.delta, &verdict.reason)
    );
    assert_eq!(real.notes, minute.plan.notes);
    assert_eq!(real.held_back, minute.plan.held_back);
    assert_eq!(
        real.above_target_since,
        minute.plan.memory.above_target_since
    );
    real
}

fn kinds(report: &Report) -> Vec<String> {
    report
        .actions
        .iter()
        .map(|a| format!("{:?} {}", a.kind, a.reason))
        .collect()
}

#[test]
fn a_braked_scale_up_after_a_clean_up_is_the_same_in_both() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("one_up");
    ws.add_instance("one", "127.0.21.1", InstanceState::Active, 60, 8);
    ws.add_instance("one", "127.0.21.2", InstanceState::Error, 60, 4);
    db.register("127.0.21.1", 0, true, false);
    db.register("127.0.21.1", 1, true, false);
    let config = config(
        &ws,
        &db,
        "{ idle_min = 6, load_max = 1.0, max_gateways = 40 }",
        "scale_down_delay = \"0s\"\nmax_create_per_run = 1",
    );
    let real = both(&config, Memory::default());
    assert_eq!(kinds(&real), ["Destroy error_state", "Create scale_up"]);
    let reason = &real.decision.as_ref().unwrap().reason;
    assert!(
        reason.contains("3 instance(s) wanted, 1 planned (limits.max_create_per_run"),
        "{reason}"
    );
    assert!(
        real.notes
            .iter()
            .any(|n| n.contains("max_create_per_run (1) held back 2"))
    );
    // The real pass did act: the broken instance is gone, one c8 is building.
    let cloud = ws.cloud();
    assert_eq!(cloud.instances.len(), 2);
    assert!(
        cloud
            .instances
            .iter()
            .all(|i| i.state != InstanceState::Error)
    );
}

/// Four c8 instances of two gateways; the first has both in a call.
fn four_instances(ws: &Workspace, db: &mut Kamailio, subnet: u8) {
    for n in 1..=4 {
        let host = format!("127.0.{subnet}.{n}");
        ws.add_instance("one", &host, InstanceState::Active, 60 + i64::from(n), 8);
        db.register(&host, 0, n == 1, false);
        db.register(&host, 1, n == 1, false);
    }
}

#[test]
fn a_braked_scale_down_is_the_same_in_both() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("one_down");
    four_instances(&ws, &mut db, 22);
    let config = config(
        &ws,
        &db,
        "{ idle_min = 1, load_max = 1.0, max_gateways = 40 }",
        "scale_down_delay = \"0s\"\nmax_destroy_per_run = 1",
    );
    let real = both(&config, Memory::default());
    assert_eq!(kinds(&real), ["Drain scale_down", "Destroy drained"]);
    let reason = &real.decision.as_ref().unwrap().reason;
    assert!(
        reason.ends_with(
            "scale down, draining 2 gateway(s) on 1 whole idle instance(s); limits.max_destroy_per_run (1) holds back 1 more instance(s)"
        ),
        "{reason}"
    );
    assert_eq!(ws.instance_ids("one").len(), 3);
}

#[test]
fn a_delayed_scale_down_is_the_same_in_both_and_says_it_drains_nothing() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("one_delay");
    four_instances(&ws, &mut db, 23);
    let config = config(
        &ws,
        &db,
        "{ idle_min = 1, load_max = 1.0, max_gateways = 40 }",
        "scale_down_delay = \"5m\"",
    );
    let real = both(&config, Memory::default());
    assert!(real.actions.is_empty());
    let reason = &real.decision.as_ref().unwrap().reason;
    assert!(!reason.contains("draining"), "{reason}");
    assert!(
        reason.contains(
            "5 gateway(s) too many, but limits.scale_down_delay (5m) holds back the scale-down"
        ),
        "{reason}"
    );
    assert_eq!(real.held_back, [scaler::plan::Hold::ScaleDownDelay]);
    assert_eq!(ws.instance_ids("one").len(), 4);
    assert!(db.rows().iter().all(|(_, _, to_stop)| *to_stop == 0));
}
