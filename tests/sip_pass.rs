//! Whole passes of the real binary against a real MariaDB holding Kamailio's
//! schema and the local provider: scale up, scale down that drains only
//! fully idle hosts, clean-up reasons, configuration and database failures.

mod common;

use common::*;
use scaler::provider::InstanceState;

const IDLE2: &str = "{ idle_min = 2, load_max = 0.8, max_gateways = 40 }";
const TIGHT: &str = "{ idle_min = 0, load_max = 1.0, max_gateways = 40 }";

#[test]
fn scales_up_from_empty_and_never_twice() {
    let ws = Workspace::new();
    let db = Kamailio::new("up");
    let config = sip_config(&ws, &db, "up", IDLE2, "");
    let run = scaler(&["-c", &config, "--format", "json", "run"]).expect(0);
    let json = run.json();
    assert_eq!(json["decision"]["target"], 2);
    assert_eq!(json["decision"]["delta"], 2);
    assert_eq!(
        run.actions(),
        [("create".into(), "done".into(), "scale_up".into())]
    );
    assert_eq!(json["actions"][0]["instance_type"], "c8");
    assert_eq!(json["actions"][0]["gateways"], 2);
    assert_eq!(ws.instance_ids("up").len(), 1);

    // The next minute: the instance is building, its gateways pending.
    let run = scaler(&["-c", &config, "--format", "json", "run"]).expect(0);
    let json = run.json();
    assert_eq!(json["observed"]["gateways"]["pending"], 2);
    assert_eq!(json["decision"]["delta"], 0);
    assert!(run.actions().is_empty());
    assert_eq!(ws.instance_ids("up").len(), 1);

    // Text mode: one short line when nothing changes.
    let run = scaler(&["-c", &config, "run"]).expect(0);
    assert_eq!(run.stdout.trim().lines().count(), 1, "{}", run.stdout);
    assert!(run.stdout.contains("no change"));
    let run = scaler(&["-c", &config, "-q", "run"]).expect(0);
    assert_eq!(run.stdout, "");
}

#[test]
fn scale_down_drains_only_fully_idle_hosts() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("down");
    let idle = ws.add_instance("down", "127.0.1.1", InstanceState::Active, 60, 8);
    let with_call = ws.add_instance("down", "127.0.1.2", InstanceState::Active, 60, 8);
    let with_lock = ws.add_instance("down", "127.0.1.3", InstanceState::Active, 60, 8);
    db.register("127.0.1.1", 0, false, false);
    db.register("127.0.1.1", 1, false, false);
    let caller = db.register("127.0.1.2", 0, false, false);
    db.register("127.0.1.2", 1, false, false);
    db.call(&caller, "127.0.1.2", 5060);
    db.register("127.0.1.3", 0, true, false);
    db.register("127.0.1.3", 1, false, false);
    let config = sip_config(&ws, &db, "down", TIGHT, "");

    // busy 2 → target 2; 6 registered → 4 too many; only the idle host can go.
    let plan = scaler(&[
        "-c",
        &config,
        "--format",
        "json",
        "plan",
        "--detailed-exitcode",
    ])
    .expect(2);
    let json = plan.json();
    assert_eq!(json["observed"]["gateways"]["busy"], 2);
    assert_eq!(json["observed"]["gateways"]["idle"], 4);
    assert_eq!(json["decision"]["delta"], -4);
    assert_eq!(
        plan.actions(),
        [
            ("drain".into(), "planned".into(), "scale_down".into()),
            ("destroy".into(), "planned".into(), "drained".into())
        ]
    );
    assert_eq!(json["actions"][0]["instance"], idle.as_str());
    assert_eq!(ws.instance_ids("down").len(), 3, "plan changes nothing");
    assert!(db.rows().iter().all(|(_, _, to_stop)| *to_stop == 0));

    let run = scaler(&["-c", &config, "--format", "json", "run"]).expect(0);
    assert_eq!(run.actions().len(), 2);
    assert_eq!(
        ws.instance_ids("down"),
        [with_call.clone(), with_lock.clone()]
    );
    let rows = db.rows();
    // The destroyed host's registrations are deleted with it.
    assert_eq!(rows.len(), 4, "{rows:?}");
    for (username, _, to_stop) in &rows {
        assert!(!username.starts_with("127.0.1.1."), "{username} forgotten");
        assert_eq!(*to_stop, 0, "{username} must not be marked");
    }
    // The busy hosts keep their unlocked gateway unlocked.
    assert!(rows.contains(&("127.0.1.2.mediagw.1".to_string(), 0, 0)));
    assert!(rows.contains(&("127.0.1.3.mediagw.1".to_string(), 0, 0)));
}

#[test]
fn cleanup_destroys_to_stop_error_and_unregistered_instances_only() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("clean");
    let drained = ws.add_instance("clean", "127.0.1.1", InstanceState::Active, 60, 4);
    let draining_in_call = ws.add_instance("clean", "127.0.1.2", InstanceState::Active, 60, 4);
    let error = ws.add_instance("clean", "127.0.1.3", InstanceState::Error, 5, 4);
    let unregistered = ws.add_instance("clean", "127.0.1.4", InstanceState::Active, 30, 4);
    let young = ws.add_instance("clean", "127.0.1.5", InstanceState::Active, 2, 4);
    let protected = ws.add_instance("clean", "127.0.1.6", InstanceState::Error, 60, 4);
    let serving = ws.add_instance("clean", "127.0.1.7", InstanceState::Active, 60, 4);
    let other_pool = ws.add_instance("other", "127.0.1.8", InstanceState::Error, 60, 4);
    db.register("127.0.1.1", 0, true, true);
    let busy = db.register("127.0.1.2", 0, true, true);
    db.call(&busy, "127.0.1.2", 5060);
    db.register("127.0.1.7", 0, false, false);
    let config = sip_config(&ws, &db, "clean", IDLE2, "protected = [\"127.0.1.6\"]");

    let dry = scaler(&["-c", &config, "--format", "json", "cleanup", "--dry-run"]).expect(0);
    assert_eq!(dry.actions().len(), 3);
    assert_eq!(ws.cloud().instances.len(), 8);

    let run = scaler(&["-c", &config, "--format", "json", "cleanup"]).expect(0);
    let json = run.json();
    let destroyed: Vec<(String, String)> = json["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["instance"].as_str().unwrap().to_string(),
                a["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        destroyed,
        [
            (drained, "to_stop".into()),
            (error, "error_state".into()),
            (unregistered, "unregistered".into())
        ]
    );
    assert!(json.get("decision").is_none(), "cleanup does not scale");
    let left = ws
        .cloud()
        .instances
        .iter()
        .map(|i| i.id.clone())
        .collect::<Vec<_>>();
    assert_eq!(
        left,
        [draining_in_call, young, protected, serving, other_pool]
    );
    assert!(
        json["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("waiting for its calls"))
    );
}

#[test]
fn database_down_exits_69_and_destroys_nothing() {
    let ws = Workspace::new();
    let db = Kamailio::new("dbdown");
    ws.add_instance("dbdown", "127.0.1.1", InstanceState::Error, 60, 4);
    ws.add_instance("dbdown", "127.0.1.2", InstanceState::Active, 60, 4);
    let config = sip_config(&ws, &db, "dbdown", IDLE2, "");
    // Port 1 on loopback: connection refused.
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace(":3306/", ":1/");
    std::fs::write(&config, text).unwrap();
    let before = std::fs::read_to_string(ws.cloud_file()).unwrap();
    for command in ["run", "cleanup"] {
        let run = scaler(&["-c", &config, "--format", "json", command]).expect(69);
        let json = run.json();
        assert_eq!(json["exit_code"], 69);
        assert!(
            json["errors"][0]
                .as_str()
                .unwrap()
                .contains("Kamailio database"),
            "{json}"
        );
        assert!(run.actions().is_empty());
    }
    assert_eq!(std::fs::read_to_string(ws.cloud_file()).unwrap(), before);
}

#[test]
fn bad_configuration_exits_78_naming_the_key() {
    let ws = Workspace::new();
    let db = Kamailio::new("badcfg");
    let config = sip_config(&ws, &db, "badcfg", IDLE2, "idle_minimum = 3");
    let run = scaler(&["-c", &config, "plan"]).expect(78);
    assert!(
        run.stderr.contains("idle_minimum") && run.stderr.contains("line "),
        "{}",
        run.stderr
    );
    let run = scaler(&["-c", "/nonexistent/scaler.toml", "plan"]).expect(78);
    assert!(
        run.stderr.contains("/nonexistent/scaler.toml"),
        "{}",
        run.stderr
    );
    let run = scaler(&["-c", "/nonexistent/scaler.toml", "--format", "json", "run"]).expect(78);
    assert_eq!(run.json()["exit_code"], 78);
}

#[test]
fn missing_password_variable_is_a_configuration_error() {
    let ws = Workspace::new();
    let db = Kamailio::new("nopw");
    let config = sip_config(&ws, &db, "nopw", IDLE2, "");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace(DB_PASSWORD_ENV, "SCALER_TEST_UNSET_PASSWORD_VAR");
    std::fs::write(&config, text).unwrap();
    let run = scaler(&["-c", &config, "plan"]).expect(78);
    assert!(
        run.stderr.contains("SCALER_TEST_UNSET_PASSWORD_VAR"),
        "{}",
        run.stderr
    );
}

#[test]
fn usage_errors_exit_64_and_help_exits_0() {
    scaler(&["run", "--bogus"]).expect(64);
    scaler(&["plan", "--at", "25:99"]).expect(64);
    scaler(&["--help"]).expect(0);
    scaler(&["--version"]).expect(0);
}

#[test]
fn a_held_lock_makes_the_second_run_exit_75() {
    let ws = Workspace::new();
    let db = Kamailio::new("locked");
    let config = sip_config(&ws, &db, "locked", IDLE2, "");
    let lock = std::fs::File::create(ws.path("pass.lock")).unwrap();
    lock.try_lock().unwrap();
    let run = scaler(&["-c", &config, "--format", "json", "run"]).expect(75);
    assert_eq!(run.json()["exit_code"], 75);
    assert!(ws.instance_ids("locked").is_empty());
    // plan takes no lock.
    scaler(&["-c", &config, "plan"]).expect(0);
}

#[test]
fn plan_at_and_busy_what_if() {
    let ws = Workspace::new();
    let db = Kamailio::new("whatif");
    let path = sip_config(&ws, &db, "whatif", IDLE2, "");
    let config = ws.config(&std::fs::read_to_string(&path).unwrap().replace(
        "\"00:00\" = { idle_min = 2",
        "\"07:00\" = { idle_min = 9, load_max = 0.5, max_gateways = 100 }\n\"00:00\" = { idle_min = 2",
    ));
    let run = scaler(&[
        "-c",
        &config,
        "--format",
        "json",
        "plan",
        "--at",
        "2026-11-23T08:30:00+01:00",
        "--busy",
        "10",
    ])
    .expect(0);
    let json = run.json();
    assert_eq!(json["slot"]["start"], "07:00:00");
    assert_eq!(json["slot"]["timeline"], "default");
    assert_eq!(
        json["decision"]["target"], 20,
        "max(10 + 9, ceil(10 / 0.5))"
    );
    assert_eq!(json["at"], "2026-11-23T07:30:00Z");
    let run = scaler(&["-c", &config, "--format", "json", "plan", "--at", "06:59"]).expect(0);
    assert_eq!(run.json()["slot"]["start"], "00:00:00");
    assert!(ws.instance_ids("whatif").is_empty());
}

#[test]
fn check_reports_each_dependency() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("check");
    let config = sip_config(&ws, &db, "check", IDLE2, "");
    let run = scaler(&["-c", &config, "check"]).expect(0);
    assert!(
        run.stdout.contains("config") && run.stdout.contains("provider"),
        "{}",
        run.stdout
    );
    scaler(&["-c", &config, "check", "--offline"]).expect(0);
    db.exec("ALTER TABLE location DROP COLUMN to_stop");
    let run = scaler(&["-c", &config, "check"]).expect(69);
    assert!(run.stdout.contains("to_stop"), "{}", run.stdout);
}
