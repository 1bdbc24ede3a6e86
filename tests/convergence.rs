//! Convergence after a pass killed with SIGKILL (DESIGN.md "Safety
//! invariants" 6), with real processes: a pass
//! killed in the middle of a creation, then a normal pass, creates nothing
//! twice; a pass killed between a drain and the destroy leaves marked
//! gateways that the next pass cleans up; a pass killed between a destroy
//! and the forget of the host's registrations leaves a pending forget that
//! the next pass completes before a new instance on the same address can be
//! taken for the drained host; a host whose registrations cannot be written
//! to the state file before its destroy is not destroyed. The provider is the `command` sample cloud
//! behind `tests/command/slow.sh`, which can hold one action (before or
//! after the cloud did it) so the test kills the pass exactly there.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn config(ws: &Workspace, db: &Kamailio, pool: &str, idle_min: u32) -> String {
    let slow = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/command/slow.sh");
    let argv = |action: &str| format!("[{:?}, \"{action}\"]", slow.to_string_lossy());
    ws.config(&format!(
        r#"[pool]
name = "{pool}"
kind = "sip"
cpu_per_gateway = 4
no_public_ip_timeout = "off"

[schedule]
[schedule.default]
"00:00" = {{ idle_min = {idle_min}, load_max = 1.0, max_gateways = 10 }}

{sip}
[limits]
scale_down_delay = "0s"

[state]
path = "state.json"

[lock]
path = "pass.lock"

[provider]
kind = "command"
list = {list}
create = {create}
destroy = {destroy}
timeout = "120s"
[provider.instance_types]
"small" = 4
"#,
        sip = db.sip_section(),
        list = argv("list"),
        create = argv("create"),
        destroy = argv("destroy"),
    ))
}

fn env() -> Vec<(&'static str, String)> {
    let cloud = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/command-cloud.py");
    vec![
        ("SAMPLE_CLOUD", cloud.to_string_lossy().into_owned()),
        ("COMMAND_CLOUD_BOOT_DELAY", "0".to_string()),
        (DB_PASSWORD_ENV, "scaler".to_string()),
    ]
}

fn run(config: &str) -> Run {
    command(config, "run")
}

fn command(config: &str, command: &str) -> Run {
    let env = env();
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    scaler_with_env(&["-c", config, "--format", "json", command], &pairs)
}

/// Starts a pass, waits until the held action is running, then kills the
/// pass and the held command with SIGKILL.
fn kill_during(config: &str, marker: &Path) {
    let mut child: Child = Command::new(env!("CARGO_BIN_EXE_scaler"))
        .args(["-c", config, "--format", "json", "run"])
        .envs(env())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !marker.exists() {
        assert!(
            Instant::now() < deadline,
            "the pass never reached the held action"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the pass ended before the held action"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let held: i32 = std::fs::read_to_string(marker)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // The held command leads its own process group: end it too.
    let _ = Command::new("kill")
        .args(["-9", "--", &format!("-{held}")])
        .status();
}

/// Creates an instance in the sample cloud directly, as another pass would.
fn create_directly(ws: &Workspace, pool: &str, name: &str) -> (String, String) {
    let cloud = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/command-cloud.py");
    let mut child = Command::new("python3")
        .arg(&cloud)
        .arg("create")
        .current_dir(ws.dir.path())
        .env("SCALER_POOL", pool)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let request =
        serde_json::json!({"pool": pool, "name": name, "instance_type": "small", "vcpus": 4});
    std::io::Write::write_all(
        child.stdin.as_mut().unwrap(),
        request.to_string().as_bytes(),
    )
    .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let created: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    (
        created["id"].as_str().unwrap().to_string(),
        created["private_ip"].as_str().unwrap().to_string(),
    )
}

fn cloud(ws: &Workspace) -> serde_json::Value {
    let text =
        std::fs::read_to_string(ws.path("command-cloud.json")).unwrap_or_else(|_| "{}".into());
    serde_json::from_str(&text).unwrap()
}

fn instances(ws: &Workspace) -> Vec<(String, String)> {
    cloud(ws)["instances"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|i| {
                    (
                        i["id"].as_str().unwrap().to_string(),
                        i["private_ip"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn marker(ws: &Workspace, name: &str) -> PathBuf {
    ws.path(name)
}

#[test]
fn a_pass_killed_while_creating_is_completed_without_double_creation() {
    let ws = Workspace::new();
    let db = Kamailio::new("conv_create");
    let config = config(&ws, &db, "convcreate", 3);
    std::fs::write(marker(&ws, "slow-create-2"), "").unwrap();
    kill_during(&config, &marker(&ws, "waiting-create-2"));
    assert_eq!(
        instances(&ws).len(),
        1,
        "the first creation is recorded, the second never happened"
    );

    // The next pass counts the surviving instance as pending and creates the rest.
    let json = run(&config).expect(0).json();
    assert_eq!(json["observed"]["gateways"]["pending"], 1, "{json}");
    assert_eq!(json["decision"]["delta"], 2);
    assert_eq!(instances(&ws).len(), 3);
    // And the one after creates nothing.
    let json = run(&config).expect(0).json();
    assert_eq!(json["decision"]["delta"], 0, "{json}");
    assert_eq!(instances(&ws).len(), 3);
}

#[test]
fn a_pass_killed_between_drain_and_destroy_is_cleaned_up_next() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("conv_drain");
    let config = config(&ws, &db, "convdrain", 2);
    run(&config).expect(0);
    let created = instances(&ws);
    assert_eq!(created.len(), 2);
    for (_, ip) in &created {
        db.register(ip, 0, false, false);
    }
    // Nothing wanted now: both hosts are drained; the first destroy is held and killed.
    let config = ws.config(
        &std::fs::read_to_string(&config)
            .unwrap()
            .replace("idle_min = 2", "idle_min = 0"),
    );
    std::fs::write(marker(&ws, "slow-destroy-1"), "").unwrap();
    kill_during(&config, &marker(&ws, "waiting-destroy-1"));
    assert_eq!(
        instances(&ws).len(),
        2,
        "killed before the destroy happened"
    );
    let marked: Vec<(String, i32, i32)> = db
        .rows()
        .into_iter()
        .filter(|(_, _, to_stop)| *to_stop == 1)
        .collect();
    assert_eq!(
        marked.len(),
        1,
        "one host was drained before the kill: {marked:?}"
    );

    // The next pass destroys the drained host (to_stop) and drains the other.
    let run = run(&config).expect(0);
    let reasons: Vec<String> = run
        .actions()
        .into_iter()
        .filter(|(k, _, _)| k == "destroy")
        .map(|(_, _, r)| r)
        .collect();
    assert_eq!(reasons, ["to_stop", "drained"], "{:?}", run.actions());
    assert!(instances(&ws).is_empty());
    assert!(
        db.rows().is_empty(),
        "the destroyed hosts' registrations are forgotten"
    );
}

#[test]
fn a_pass_killed_between_destroy_and_forget_leaves_a_forget_the_next_completes() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("conv_forget");
    let config = config(&ws, &db, "convforget", 1);
    run(&config).expect(0);
    let created = instances(&ws);
    assert_eq!(created.len(), 1);
    let (old_id, ip) = created[0].clone();
    let username = db.register(&ip, 0, false, false);

    // Nothing wanted: the host is drained and destroyed; the pass is killed
    // once the cloud has destroyed it, before its registrations are forgotten.
    let text = std::fs::read_to_string(&config).unwrap();
    let config = ws.config(&text.replace("idle_min = 1", "idle_min = 0"));
    std::fs::write(marker(&ws, "slow-after-destroy-1"), "").unwrap();
    kill_during(&config, &marker(&ws, "waiting-after-destroy-1"));
    assert!(instances(&ws).is_empty(), "the cloud destroyed it");
    assert_eq!(db.rows(), [(username.clone(), 1, 1)], "still marked");
    let state = std::fs::read_to_string(ws.path("state.json")).unwrap();
    let pending: serde_json::Value = serde_json::from_str(&state).unwrap();
    assert_eq!(
        pending["pending_forgets"][0]["instance"],
        old_id.as_str(),
        "{state}"
    );
    assert_eq!(
        pending["pending_forgets"][0]["host"],
        ip.as_str(),
        "{state}"
    );

    // A new instance gets the same address, and its gateway registers under
    // the same username: Kamailio updates the row and keeps the marks.
    let (new_id, new_ip) =
        create_directly(&ws, "convforget", "convforget-20260101000000-0-00000000");
    assert_eq!(
        new_ip, ip,
        "the sample cloud reuses the lowest free address"
    );
    db.exec(&format!(
        "UPDATE location SET callid = 'call-new-instance', expires = NOW() + INTERVAL 1 HOUR \
         WHERE username = '{username}'"
    ));
    let config = ws.config(&text);

    // `plan` says so, plans nothing against the new instance, and changes nothing.
    let plan = command(&config, "plan").expect(0);
    let json = plan.json();
    assert!(
        plan.actions().iter().all(|(kind, _, _)| kind != "destroy"),
        "{json}"
    );
    assert!(
        json["notes"].to_string().contains("pending forget"),
        "{json}"
    );
    assert_eq!(db.rows(), [(username.clone(), 1, 1)]);
    assert_eq!(
        std::fs::read_to_string(ws.path("state.json")).unwrap(),
        state
    );

    // `run` deletes the destroyed host's row first: the new instance is kept.
    let run1 = run(&config).expect(0);
    assert!(
        run1.actions().iter().all(|(kind, _, _)| kind != "destroy"),
        "{:?}",
        run1.actions()
    );
    assert!(db.rows().is_empty(), "the pending forget is completed");
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.path("state.json")).unwrap()).unwrap();
    assert_eq!(state["pending_forgets"], serde_json::json!([]), "{state}");
    // Its gateway registers afresh; the next pass counts it, unmarked.
    db.register(&ip, 0, false, false);
    let json = run(&config).expect(0).json();
    assert_eq!(json["observed"]["gateways"]["idle"], 1, "{json}");
    assert_eq!(instances(&ws), [(new_id, ip)]);
}

#[test]
fn a_host_whose_registrations_cannot_be_kept_is_not_destroyed() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("conv_nokeep");
    let config = config(&ws, &db, "convnokeep", 1);
    run(&config).expect(0);
    let (id, ip) = instances(&ws)[0].clone();
    let username = db.register(&ip, 0, false, false);
    let text = std::fs::read_to_string(&config).unwrap();
    let config = ws.config(&text.replace("idle_min = 1", "idle_min = 0"));

    // The pass reads the state file (none yet), then waits in its listing;
    // meanwhile the file turns into something no pass can update.
    let lists: u32 = std::fs::read_to_string(ws.path(".count-list"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let next = lists + 1;
    std::fs::write(ws.path(&format!("hold-list-{next}")), "").unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_scaler"))
        .args(["-c", &config, "--format", "json", "run"])
        .envs(env())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let waiting = ws.path(&format!("waiting-list-{next}"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !waiting.exists() {
        assert!(Instant::now() < deadline, "the pass never listed");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::fs::write(ws.path("state.json"), "{ torn").unwrap();
    std::fs::write(ws.path(&format!("release-list-{next}")), "").unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(3), "{stdout}");
    let json: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let destroy = &json["actions"][1];
    assert_eq!(
        (&destroy["kind"], &destroy["status"]),
        (&"destroy".into(), &"failed".into()),
        "{json}"
    );
    // A failed action's error is reported once, on the action.
    assert!(
        destroy["error"]
            .to_string()
            .contains("keeping its registrations failed"),
        "{json}"
    );
    assert_eq!(instances(&ws), [(id, ip)], "not destroyed");
    assert_eq!(db.rows(), [(username, 1, 1)], "drained, not forgotten");
}
