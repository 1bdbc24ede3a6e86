//! Hostile state, with the real binary, MariaDB with Kamailio's schema and
//! the `local` provider: a state file that is corrupt, empty, newer or
//! unknown in part stops the pass (exit 78) before anything is changed; an
//! older one is migrated; a forget the database refuses (an account of the
//! test without DELETE) makes the pass partial (exit 3) and stays pending,
//! and its rows are never taken for a new instance on the same address, nor
//! deleted once a call has taken them; instances a killed pass created are
//! listed and counted by the next, under names that are unique per creation.
//! (A host whose registrations cannot be written down is not destroyed:
//! tests/convergence.rs, which can pause a pass.)

mod common;

use common::*;
use scaler::provider::InstanceState;
use std::fs::File;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const IDLE0: &str = "{ idle_min = 0, load_max = 1.0, max_gateways = 10 }";
const IDLE1: &str = "{ idle_min = 1, load_max = 1.0, max_gateways = 10 }";

fn json_file(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// An account of the test that may read and mark registrations but not
/// delete them, and the configuration `text` using it; run with [`restricted`].
fn without_delete(db: &Kamailio, tag: &str, text: &str, ws: &Workspace) -> (Account, String) {
    let grants = ["SELECT, UPDATE ON DB.location", "SELECT ON DB.dialog"];
    let account = Account::new(db, tag, &grants);
    assert!(text.contains("mysql://scaler@"), "{text}");
    let text = text.replace("mysql://scaler@", &format!("mysql://{}@", account.name));
    (account, ws.config(&text))
}

/// Runs `scaler` with the restricted account's password.
fn restricted(args: &[&str]) -> Run {
    scaler_with_env(args, &[(DB_PASSWORD_ENV, "restricted")])
}

#[test]
fn a_forget_the_database_refuses_exits_3_and_stays_pending() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("hs_nodelete");
    let old = ws.add_instance("hsnodel", "127.0.1.1", InstanceState::Active, 60, 4);
    let username = db.register("127.0.1.1", 0, false, false);
    let full = sip_config(&ws, &db, "hsnodel", IDLE0, "");
    let full = std::fs::read_to_string(full).unwrap();
    let (_account, config) = without_delete(&db, "hsnodel", &full, &ws);

    // Drained and destroyed, but its registration cannot be deleted.
    let run = restricted(&["-c", &config, "--format", "json", "run"]).expect(3);
    let kinds: Vec<String> = run
        .actions()
        .into_iter()
        .map(|(k, s, _)| k + ":" + &s)
        .collect();
    assert_eq!(kinds, ["drain:done", "destroy:done"], "{}", run.stdout);
    let errors = run.json()["errors"].to_string();
    assert!(errors.contains("forget gateways of"), "{errors}");
    assert!(errors.contains("DELETE command denied"), "{errors}");
    assert!(ws.instance_ids("hsnodel").is_empty());
    assert_eq!(db.rows(), [(username.clone(), 1, 1)]);
    let state = json_file(&ws.path("state.json"));
    assert_eq!(
        state["pending_forgets"][0]["instance"],
        old.as_str(),
        "{state}"
    );

    // A new instance on the same address: the next pass cannot delete the
    // old row either, so it leaves it out instead of destroying the new one.
    let new = ws.add_instance("hsnodel", "127.0.1.1", InstanceState::Building, 0, 4);
    let text = std::fs::read_to_string(&config).unwrap();
    let config = ws.config(&text.replace(IDLE0, IDLE1));
    let run = restricted(&["-c", &config, "--format", "json", "run"]).expect(3);
    assert!(
        run.actions().iter().all(|(kind, _, _)| kind != "destroy"),
        "{}",
        run.stdout
    );
    let json = run.json();
    assert!(
        json["errors"].to_string().contains("pending forget"),
        "{json}"
    );
    assert_eq!(json["observed"]["gateways"]["draining"], 0, "{json}");
    assert_eq!(ws.instance_ids("hsnodel"), std::slice::from_ref(&new));

    // With the privilege back, the forget completes and the pass is clean.
    let config = ws.config(&full.replace(IDLE0, IDLE1));
    scaler(&["-c", &config, "--format", "json", "run"]).expect(0);
    assert!(db.rows().is_empty());
    assert_eq!(
        json_file(&ws.path("state.json"))["pending_forgets"],
        serde_json::json!([])
    );
    assert_eq!(ws.instance_ids("hsnodel"), [new]);
}

#[test]
fn a_pending_forget_leaves_a_row_a_new_call_has_taken() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("hs_taken");
    ws.add_instance("hstaken", "127.0.1.1", InstanceState::Active, 60, 4);
    let username = db.register("127.0.1.1", 0, false, false);
    let full = std::fs::read_to_string(sip_config(&ws, &db, "hstaken", IDLE0, "")).unwrap();
    let (_account, config) = without_delete(&db, "hstaken", &full, &ws);
    restricted(&["-c", &config, "run"]).expect(3);
    assert_eq!(db.rows(), [(username.clone(), 1, 1)]);

    // A new instance on the address; its gateway re-registered into the row
    // and was given a call (locked, no longer to_stop).
    let new = ws.add_instance("hstaken", "127.0.1.1", InstanceState::Active, 0, 4);
    db.exec(&format!(
        "UPDATE location SET to_stop = 0 WHERE username = '{username}'"
    ));
    let config = ws.config(&full.replace(IDLE0, IDLE1));
    let run = scaler(&["-c", &config, "--format", "json", "run"]).expect(0);
    let json = run.json();
    assert_eq!(db.rows(), [(username, 1, 0)], "the row in use is left");
    assert_eq!(json["observed"]["gateways"]["busy"], 1, "{json}");
    assert!(
        run.actions().iter().all(|(kind, _, _)| kind != "destroy"),
        "{json}"
    );
    assert!(ws.instance_ids("hstaken").contains(&new));
    assert_eq!(
        json_file(&ws.path("state.json"))["pending_forgets"],
        serde_json::json!([])
    );
}

#[test]
fn an_unusable_state_file_stops_the_pass_before_anything_changes() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("hs_badstate");
    let id = ws.add_instance("hsbad", "127.0.1.1", InstanceState::Active, 60, 4);
    // A drained host: any pass that got as far as acting would destroy it.
    db.register("127.0.1.1", 0, true, true);
    let config = sip_config(&ws, &db, "hsbad", IDLE0, "");
    let state = ws.path("state.json");
    let cases = [
        ("{ not json", "state.json"),
        ("", "the file is empty"),
        (
            r#"{"schema_version":5,"pool":"hsbad","started_at":"2026-11-23T07:00:00Z"}"#,
            "newer scaler",
        ),
        (
            r#"{"schema_version":2,"pool":"hsbad","started_at":"2026-11-23T07:00:00Z","forecast":{}}"#,
            "unknown field `forecast`",
        ),
        (
            r#"{"schema_version":2,"pool":"other","started_at":"2026-11-23T07:00:00Z"}"#,
            "belongs to pool \"other\"",
        ),
    ];
    for (text, says) in cases {
        std::fs::write(&state, text).unwrap();
        for command in ["run", "plan", "cleanup"] {
            let run = scaler(&["-c", &config, command]).expect(78);
            assert!(
                run.stderr.contains(says),
                "{text:?} {command}: {}",
                run.stderr
            );
            assert!(run.stderr.contains("state.json"), "{}", run.stderr);
        }
        // `check` says so too.
        let check = scaler(&["-c", &config, "--format", "json", "check"]).expect(69);
        let line = check.json()["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["name"] == "state")
            .cloned()
            .unwrap_or_else(|| panic!("no state line: {}", check.stdout));
        assert_eq!(line["ok"], false, "{line}");
        assert!(line["detail"].as_str().unwrap().contains(says), "{line}");
        assert_eq!(
            std::fs::read_to_string(&state).unwrap(),
            text,
            "left as it is"
        );
        assert_eq!(ws.instance_ids("hsbad"), std::slice::from_ref(&id));
        assert_eq!(db.rows().len(), 1);
    }
    // A directory where the file should be.
    std::fs::remove_file(&state).unwrap();
    std::fs::create_dir(&state).unwrap();
    let run = scaler(&["-c", &config, "run"]).expect(78);
    assert!(run.stderr.contains("state.json"), "{}", run.stderr);
    assert_eq!(ws.instance_ids("hsbad"), [id]);
}

#[test]
fn a_version_1_state_file_is_migrated_and_keeps_its_counters() {
    let ws = Workspace::new();
    let db = Kamailio::new("hs_v1");
    let config = sip_config(&ws, &db, "hsv1", IDLE1, "");
    let state = ws.path("state.json");
    std::fs::write(
        &state,
        r#"{"version":1,"pool":"hsv1","started_at":"2026-11-23T07:00:00Z","created_total":5,
           "destroyed_total":3,"passes_total":9,"last_pass_at":null,"last_success_at":null,
           "above_target_since":null}"#,
    )
    .unwrap();
    let textfile = ws.path("scaler.prom");
    let flag = textfile.to_string_lossy().into_owned();
    scaler(&["-c", &config, "--metrics-file", &flag, "run"]).expect(0);
    let migrated = json_file(&state);
    assert_eq!(migrated["schema_version"], 4, "{migrated}");
    assert_eq!(migrated["started_at"], "2026-11-23T07:00:00Z");
    assert_eq!(migrated["counters"]["created_total"], 6, "{migrated}");
    assert_eq!(migrated["counters"]["destroyed_total"], 3);
    assert_eq!(migrated["counters"]["passes_total"], 10);
    assert!(migrated.get("version").is_none(), "{migrated}");
    let metrics = std::fs::read_to_string(&textfile).unwrap();
    assert!(
        metrics.contains("scaler_instances_created_total{pool=\"hsv1\"} 6"),
        "{metrics}"
    );
}

/// Whether process `pid` waits for a `flock` (a `->` line of /proc/locks).
fn waits_for_a_flock(pid: u32) -> bool {
    let locks = std::fs::read_to_string("/proc/locks").unwrap_or_default();
    locks.lines().any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        fields.get(1) == Some(&"->")
            && fields.get(2) == Some(&"FLOCK")
            && fields.get(5) == Some(&pid.to_string().as_str())
    })
}

#[test]
fn instances_a_killed_pass_created_are_counted_by_the_next() {
    let ws = Workspace::new();
    let db = Kamailio::new("hs_killed");
    let config = sip_config(
        &ws,
        &db,
        "hskilled",
        "{ idle_min = 3, load_max = 1.0, max_gateways = 10 }",
        "",
    );
    // The scale-down clock makes the pass write the state file after acting;
    // holding its lock stops the pass there, after the creations.
    let text = std::fs::read_to_string(&config).unwrap();
    let config = ws.config(&text.replace("scale_down_delay = \"0s\"", "scale_down_delay = \"5m\""));
    let lock = File::create(ws.path("state.json.lock")).unwrap();
    lock.lock().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_scaler"))
        .args(["-c", &config, "--format", "json", "run"])
        .env(DB_PASSWORD_ENV, "scaler")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !waits_for_a_flock(child.id()) {
        assert!(child.try_wait().unwrap().is_none(), "the pass ended");
        assert!(
            Instant::now() < deadline,
            "the pass never reached the state lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    drop(lock);
    let created: Vec<String> = ws
        .cloud()
        .instances
        .iter()
        .map(|i| i.name.clone())
        .collect();
    assert!(!created.is_empty(), "the killed pass created instances");

    // The next pass lists and counts them: nothing more to create.
    let json = scaler(&["-c", &config, "--format", "json", "run"])
        .expect(0)
        .json();
    assert_eq!(json["decision"]["delta"], 0, "{json}");
    assert!(json["actions"].as_array().unwrap().is_empty(), "{json}");
    assert_eq!(
        json["observed"]["instances"]["total"],
        created.len(),
        "{json}"
    );
    let mut names = created.clone();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), created.len(), "{created:?}");
    assert!(
        created.iter().all(|n| n.starts_with("hskilled-")),
        "{created:?}"
    );
}
