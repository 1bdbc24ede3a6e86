//! The `command` provider through whole passes of the binary (SIP pool on
//! the MariaDB harness): the sample cloud of `examples/command-cloud.py`
//! creates, lists and destroys; `tests/command/faulty.sh` times out, prints
//! bad JSON and exits non-zero, each reported clearly with its exit status.

mod common;

use common::*;
use std::path::{Path, PathBuf};

fn sample_cloud() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/command-cloud.py")
}

fn faulty() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/command/faulty.sh")
}

/// A SIP pool `pool` whose provider runs `list`, `create` and `destroy`.
fn config(ws: &Workspace, db: &Kamailio, pool: &str, commands: &str, idle_min: u32) -> String {
    ws.config(&format!(
        r#"[pool]
name = "{pool}"
kind = "sip"
cpu_per_gateway = 4

[schedule]
[schedule.default]
"00:00" = {{ idle_min = {idle_min}, load_max = 0.8, max_gateways = 10 }}

{sip}
[state]
path = "state.json"

[lock]
path = "pass.lock"

[provider]
kind = "command"
{commands}
timeout = "3s"
user_data_template = "init.sh"
[provider.user_data_vars]
role = "sip"
[provider.instance_types]
"small" = 4
"large" = 8
"#,
        sip = db.sip_section()
    ))
}

fn argv(program: &Path, args: &[&str]) -> String {
    let mut all = vec![format!("{:?}", program.to_string_lossy())];
    all.extend(args.iter().map(|a| format!("{a:?}")));
    format!("[{}]", all.join(", "))
}

fn sample_commands() -> String {
    let cloud = sample_cloud();
    format!(
        "list = {}\ncreate = {}\ndestroy = {}",
        argv(&cloud, &["list"]),
        argv(&cloud, &["create"]),
        argv(&cloud, &["destroy"])
    )
}

fn cloud_state(ws: &Workspace) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(ws.path("command-cloud.json")).unwrap()).unwrap()
}

#[test]
fn the_sample_cloud_creates_lists_and_destroys_through_whole_passes() {
    let ws = Workspace::new();
    let db = Kamailio::new("cmdpass");
    std::fs::write(
        ws.path("init.sh"),
        "#!/bin/sh\nrole={{role}} name={{instance_name}}\n",
    )
    .unwrap();
    let config = config(&ws, &db, "cmdpass", &sample_commands(), 3);
    let env = [("COMMAND_CLOUD_BOOT_DELAY", "0")];

    let run = scaler_with_env(&["-c", &config, "--format", "json", "run"], &env).expect(0);
    let json = run.json();
    assert_eq!(
        run.actions(),
        [
            ("create".into(), "done".into(), "scale_up".into()),
            ("create".into(), "done".into(), "scale_up".into())
        ]
    );
    assert_eq!(json["actions"][0]["instance"], "cmd-0");
    assert_eq!(json["actions"][0]["instance_type"], "large");
    assert_eq!(json["actions"][1]["instance_type"], "small");
    assert_eq!(json["actions"][0]["ip"], "127.0.2.1");
    let state = cloud_state(&ws);
    let stored = state["instances"].as_array().unwrap();
    assert_eq!(stored.len(), 2);
    assert!(stored[0]["name"].as_str().unwrap().starts_with("cmdpass-"));
    assert_eq!(
        stored[0]["pool"], "cmdpass",
        "SCALER_POOL reached the script"
    );

    // Listed next time: active, not yet registered, so pending; no new creation.
    let run = scaler_with_env(&["-c", &config, "--format", "json", "run"], &env).expect(0);
    let json = run.json();
    assert_eq!(json["observed"]["instances"]["active"], 2);
    assert_eq!(json["observed"]["gateways"]["pending"], 3);
    assert!(run.actions().is_empty(), "{}", run.stdout);

    // An instance the cloud reports in error is destroyed by the clean-up.
    let mut state = cloud_state(&ws);
    state["instances"][1]["state"] = "error".into();
    std::fs::write(ws.path("command-cloud.json"), state.to_string()).unwrap();
    let run = scaler_with_env(&["-c", &config, "--format", "json", "cleanup"], &env).expect(0);
    assert_eq!(
        run.actions(),
        [("destroy".into(), "done".into(), "error_state".into())]
    );
    assert_eq!(run.json()["actions"][0]["instance"], "cmd-1");
    let ids: Vec<String> = cloud_state(&ws)["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["cmd-0"]);
}

#[test]
fn a_failing_create_is_reported_with_its_stderr_and_exit_3() {
    let ws = Workspace::new();
    let db = Kamailio::new("cmdfail");
    std::fs::write(
        ws.path("init.sh"),
        "#!/bin/sh\nrole={{role}} name={{instance_name}}\n",
    )
    .unwrap();
    let request_file = ws.path("create-input.json");
    let commands = format!(
        "list = {}\ncreate = {}\ndestroy = {}",
        argv(&faulty(), &["empty"]),
        argv(&faulty(), &["fail", &request_file.to_string_lossy()]),
        argv(&faulty(), &["fail", "/dev/null"])
    );
    let config = config(&ws, &db, "cmdfail", &commands, 1);
    let run = scaler(&["-c", &config, "--format", "json", "run"]).expect(3);
    assert_eq!(
        run.actions(),
        [("create".into(), "failed".into(), "scale_up".into())]
    );
    let error = run.json()["actions"][0]["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        error.contains("create") && error.contains("exited with status 4: quota exceeded"),
        "{error}"
    );
    // What create received on stdin: the contract's request, with rendered user data.
    let input: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&request_file).unwrap()).unwrap();
    let name = input["name"].as_str().unwrap();
    assert!(name.starts_with("cmdfail-"), "{input}");
    assert_eq!(input["pool"], "cmdfail");
    assert_eq!(input["instance_type"], "small");
    assert_eq!(input["vcpus"], 4);
    assert_eq!(
        input["user_data"],
        format!("#!/bin/sh\nrole=sip name={name}\n")
    );
}

/// Whether process `pid` has ended (gone, or a zombie waiting to be reaped).
fn ended(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // `pid (comm) S ...`: the state follows the closing parenthesis.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
    }
}

/// Waits for process `pid` to end; false if it is still running after 10 s
/// (the processes waited for here would otherwise run for 30 s).
fn wait_ended(pid: u32) -> bool {
    for _ in 0..200 {
        if ended(pid) {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    ended(pid)
}

#[test]
fn a_list_that_hangs_or_prints_bad_json_stops_the_pass_with_exit_69() {
    let ws = Workspace::new();
    let db = Kamailio::new("cmdlist");
    std::fs::write(ws.path("init.sh"), "{{role}}").unwrap();
    let pids = ws.path("slow.pids");
    for (mode, expected) in [
        ("slow", "did not finish within 3s and was killed"),
        ("badjson", "list printed invalid JSON"),
        (
            "nonsense",
            "exited with status 64: faulty.sh: unknown mode nonsense",
        ),
    ] {
        let commands = format!(
            "list = {}\ncreate = [\"false\"]\ndestroy = [\"false\"]",
            argv(&faulty(), &[mode, &pids.to_string_lossy()])
        );
        let config = config(&ws, &db, "cmdlist", &commands, 1);
        let run = scaler(&["-c", &config, "--format", "json", "run"]).expect(69);
        let errors = run.json()["errors"].to_string();
        assert!(errors.contains(expected), "{mode}: {errors}");
        assert!(run.actions().is_empty());
    }
    // The hung list was killed with what it started, not waited for: once
    // the pass has exited, neither the script nor its child runs, and
    // neither finished its sleep (each would have left a `.done-` file).
    let text = std::fs::read_to_string(&pids).expect("the slow list ran and wrote its pids");
    let pids: Vec<u32> = text
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(pids.len(), 2, "{text}");
    for pid in pids {
        assert!(wait_ended(pid), "process {pid} of the hung list still runs");
    }
    for done in [
        "done-child".to_string(),
        format!("done-{}", text.split_whitespace().next().unwrap()),
    ] {
        let marker = ws.path(&format!("slow.pids.{done}"));
        assert!(
            !marker.exists(),
            "the hung list was waited for: {}",
            marker.display()
        );
    }
}

#[test]
fn a_missing_template_variable_is_a_configuration_error() {
    let ws = Workspace::new();
    let db = Kamailio::new("cmdvars");
    std::fs::write(ws.path("init.sh"), "#!/bin/sh\n{{role}} {{region}}\n").unwrap();
    let config = config(&ws, &db, "cmdvars", &sample_commands(), 1);
    let run = scaler(&["-c", &config, "check", "--offline"]).expect(78);
    assert!(
        run.stderr
            .contains("line 2: variable {{region}} is not defined"),
        "{}",
        run.stderr
    );
}

/// A failed create is printed once per stream: on its action's line of the
/// report (stdout) and in one log line (stderr), never repeated in `errors`.
#[test]
fn a_failed_create_is_printed_once_per_stream() {
    let ws = Workspace::new();
    let db = Kamailio::new("cmdonce");
    std::fs::write(ws.path("init.sh"), "{{role}}").unwrap();
    let commands = format!(
        "list = {}\ncreate = [\"sh\", \"-c\", \"echo quota exceeded >&2; exit 5\"]\ndestroy = [\"false\"]",
        argv(&sample_cloud(), &["list"])
    );
    let config = config(&ws, &db, "cmdonce", &commands, 1);
    let text = scaler(&["-c", &config, "run"]).expect(3);
    let said = "exited with status 5: quota exceeded";
    assert_eq!(text.stdout.matches(said).count(), 1, "{}", text.stdout);
    assert_eq!(text.stderr.matches(said).count(), 1, "{}", text.stderr);
    let json = scaler(&["-c", &config, "--format", "json", "run"])
        .expect(3)
        .json();
    let failed = &json["actions"][0];
    assert_eq!(failed["status"], "failed", "{json}");
    assert!(failed["error"].to_string().contains(said), "{json}");
    assert!(!json["errors"].to_string().contains(said), "{json}");
}
