//! `scaler config import` through the real binary: TOML on stdout or in
//! `-o FILE` (never overwritten without `--force`, mode 0640), notes on
//! stderr, secrets never copied, and the result passes `check --offline`.

mod common;

use common::*;
use std::os::unix::fs::PermissionsExt;

/// A SIPMediaGW scaler.json in the per-weekday form, with secrets.
const SCALER_JSON: &str = r#"{
    "gw_name_prefix": "mediagw",
    "auto_scale_threshold": {
        "default": {
            "00:00:00": {"maxGw": 4, "unlockedMin": 1, "loadMax": 0.9},
            "07:30:00": {"maxGw": 40, "unlockedMin": 6, "loadMax": 0.75}
        },
        "saturday,sunday": { "00:00:00": {"maxGw": 2, "unlockedMin": 0, "loadMax": 0.9} }
    },
    "cpu_per_gw": 4,
    "ram_per_gw": 8,
    "sip_db": { "host": "10.1.2.3", "root_password": "s3cr3t-db-pw" },
    "redis": { "host": "127.0.0.1", "port": 6379 },
    "cleaner_blacklist": ["192.0.2.7"],
    "api_token": "t0k3n-value",
    "cleanup_threshold_seconds": 900
}"#;

#[test]
fn converts_to_stdout_or_a_file_without_secrets() {
    let ws = Workspace::new();
    let json = ws.path("scaler.json");
    std::fs::write(&json, SCALER_JSON).unwrap();
    let json = json.to_string_lossy().into_owned();

    let run = scaler(&["config", "import", &json, "--timezone", "Europe/Paris"]).expect(0);
    for secret in ["s3cr3t-db-pw", "t0k3n-value"] {
        assert!(!run.stdout.contains(secret), "{}", run.stdout);
        assert!(!run.stderr.contains(secret), "{}", run.stderr);
    }
    assert!(run.stdout.contains("[schedule.saturday]"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("\"07:30\" = { idle_min = 6, load_max = 0.75, max_gateways = 40 }")
    );
    assert!(
        run.stdout
            .contains("password_env = \"KAMAILIO_DB_PASSWORD\"")
    );
    assert!(run.stderr.contains("note: api_token"), "{}", run.stderr);

    let out = ws.path("scaler.toml");
    let out_arg = out.to_string_lossy().into_owned();
    scaler(&["config", "import", &json, "-o", &out_arg]).expect(0);
    let stdout = scaler(&["config", "import", &json]).expect(0).stdout;
    assert_eq!(std::fs::read_to_string(&out).unwrap(), stdout);
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o640
    );
    let check = scaler(&["-c", &out_arg, "--format", "json", "check", "--offline"]).expect(0);
    assert_eq!(check.json()["pool"]["name"], "mediagw");

    // Never overwritten without --force.
    std::fs::write(&out, "mine").unwrap();
    let refused = scaler(&["config", "import", &json, "-o", &out_arg]).expect(64);
    assert!(refused.stderr.contains("--force"), "{}", refused.stderr);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "mine");
    scaler(&["config", "import", &json, "-o", &out_arg, "--force"]).expect(0);
    assert!(std::fs::read_to_string(&out).unwrap().contains("[pool]"));
}

#[test]
fn json_holds_the_toml_that_text_mode_prints() {
    let ws = Workspace::new();
    let json = ws.path("scaler.json");
    std::fs::write(&json, SCALER_JSON).unwrap();
    let json = json.to_string_lossy().into_owned();
    let args = ["config", "import", &json, "--timezone", "Europe/Paris"];
    let text = scaler(&args).expect(0);
    let run = scaler(&[&["--format", "json"], &args[..]].concat()).expect(0);
    let report = run.json();
    assert_eq!(report["schema_version"], 1, "{report}");
    assert_eq!(report["command"], "config import", "{report}");
    assert_eq!(report["exit_code"], 0, "{report}");
    assert_eq!(
        report["toml"].as_str(),
        Some(text.stdout.as_str()),
        "{report}"
    );
    let notes = report["notes"].to_string();
    assert!(notes.contains("api_token"), "{notes}");
    // The notes are in the report, not repeated on stderr.
    assert!(!run.stderr.contains("note:"), "{}", run.stderr);
    assert!(text.stderr.contains("note: api_token"), "{}", text.stderr);

    // With -o, the report names the file written, which holds the same TOML.
    let out = ws.path("scaler.toml").to_string_lossy().into_owned();
    let written = scaler(&[&["--format", "json"], &args[..], &["-o", &out]].concat())
        .expect(0)
        .json();
    assert_eq!(written["output"].as_str(), Some(out.as_str()), "{written}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), text.stdout);

    // A failure is a JSON report too, with the exit status.
    let refused = scaler(&[&["--format", "json"], &args[..], &["-o", &out]].concat()).expect(64);
    let refused = refused.json();
    assert_eq!(refused["command"], "config import", "{refused}");
    assert_eq!(refused["exit_code"], 64, "{refused}");
    assert!(
        refused["errors"].to_string().contains("--force"),
        "{refused}"
    );
}

#[test]
fn bad_input_exits_78_naming_the_problem() {
    let ws = Workspace::new();
    let json = ws.path("scaler.json");
    std::fs::write(
        &json,
        r#"{"auto_scale_threshold": {"00:00:00": {"loadMax": 0.9}}}"#,
    )
    .unwrap();
    let json = json.to_string_lossy().into_owned();
    let run = scaler(&["config", "import", &json]).expect(78);
    assert!(
        run.stderr
            .contains("auto_scale_threshold.00:00:00: missing unlockedMin"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "");
    let missing = scaler(&["config", "import", "/nonexistent/scaler.json"]).expect(78);
    assert!(
        missing.stderr.contains("/nonexistent/scaler.json"),
        "{}",
        missing.stderr
    );
    scaler(&["config", "import", &json, "--timezone", "Mars/Olympus"]).expect(64);
}

/// The `timezone = "..."` line of converted TOML.
fn timezone_line(toml: &str) -> &str {
    toml.lines()
        .find(|l| l.starts_with("timezone = "))
        .expect("a timezone line")
}

#[test]
fn the_timezone_is_the_hosts_and_stderr_says_where_it_came_from() {
    let ws = Workspace::new();
    let json = ws.path("scaler.json");
    std::fs::write(&json, SCALER_JSON).unwrap();
    let json = json.to_string_lossy().into_owned();

    // TZ first (SIPMediaGW ran in the host's local time).
    let run = scaler_with_env(&["config", "import", &json], &[("TZ", "Asia/Tokyo")]).expect(0);
    assert!(
        timezone_line(&run.stdout).starts_with("timezone = \"Asia/Tokyo\""),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr
            .contains("schedule.timezone = \"Asia/Tokyo\" from TZ"),
        "{}",
        run.stderr
    );
    // --timezone wins over the host.
    let run = scaler_with_env(
        &["config", "import", &json, "--timezone", "Europe/Paris"],
        &[("TZ", "Asia/Tokyo")],
    )
    .expect(0);
    assert!(timezone_line(&run.stdout).starts_with("timezone = \"Europe/Paris\""));
    assert!(!run.stderr.contains("schedule.timezone"), "{}", run.stderr);
    // A TZ that is no IANA name is skipped, with the reason, for the host's files.
    let run = scaler_with_env(&["config", "import", &json], &[("TZ", "CET-1CEST")]).expect(0);
    assert!(
        run.stderr.contains("\"CET-1CEST\" is not an IANA"),
        "{}",
        run.stderr
    );
    let host = scaler::host_timezone::detect(None, std::path::Path::new("/"));
    let expected = host
        .zone
        .as_ref()
        .map_or("UTC".to_string(), |(zone, _)| zone.name().to_string());
    assert!(
        timezone_line(&run.stdout).starts_with(&format!("timezone = \"{expected}\"")),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr
            .contains(&format!("schedule.timezone = \"{expected}\"")),
        "{}",
        run.stderr
    );
    config_check(&ws, &run.stdout);
}

/// The converted TOML passes `check --offline`.
fn config_check(ws: &Workspace, toml: &str) {
    let path = ws.config(toml);
    scaler(&["-c", &path, "check", "--offline"]).expect(0);
}

/// A SimpleScaleVM `.env` (current variable names) with its password and
/// self-autoscaling settings.
const SIMPLESCALEVM_ENV: &str = r#"# SimpleScaleVM
export OS_AUTH_URL=https://auth.cloud.ovh.net/v3
OS_USERNAME=user-abc
OS_PASSWORD="0s-pa55word-never-copied"
OS_PROJECT_NAME=1234567890
OS_USER_DOMAIN_NAME=Default
OS_PROJECT_DOMAIN_NAME=Default
OS_REGION_NAME=GRA11
REPLICA_API_PROTOCOL=http
REPLICA_API_PORT=8080
REPLICA_API_PATH=/status
REPLICA_API_CAPACITY_KEY=capacity
REPLICA_API_TERMINATION_KEY=termination
REPLICA_CAPACITY=3
REPLICA_MIN_AVAILABLE_RESOURCES=6
EXTERNAL_ADDRESS_MANAGEMENT=true
OPENSTACK_FLOATING_IP_DESCRIPTION=scaled-ip
OPENSTACK_SCALED_FLAVOR=b2-7
OPENSTACK_SCALED_IMAGE='Debian 12'
OPENSTACK_SCALED_NETWORK=Ext-Net
OPENSTACK_KEYPAIR=ops
OPENSTACK_SCALED_CLOUD_INIT_FILE=cloud-init.yml
OPENSTACK_SCALED_NAME=replica
OPENSTACK_METADATA_KEY=group
OPENSTACK_METADATA_SCALED_VALUE=scaled
ENABLE_AUTOSCALING=true
AUTOSCALING_PERIOD=60
OPENSTACK_AUTOSCALER_FLAVOR=d2-2
OPENSTACK_METADATA_AUTOSCALER_VALUE=autoscaler
"#;

/// The same file as SimpleScaleVM v2.0.0 wrote it.
fn v2_0_0(env: &str) -> String {
    env.replace("OPENSTACK_SCALED_FLAVOR", "OPENSTACK_FLAVOR")
        .replace("OPENSTACK_SCALED_IMAGE", "OPENSTACK_IMAGE")
        .replace("OPENSTACK_SCALED_NETWORK", "OPENSTACK_NETWORK")
        .replace(
            "OPENSTACK_SCALED_CLOUD_INIT_FILE",
            "OPENSTACK_CLOUD_INIT_FILE",
        )
        .replace(
            "OPENSTACK_METADATA_SCALED_VALUE",
            "OPENSTACK_METADATA_VALUE",
        )
}

/// Imports one generation's env file and checks the TOML it writes; returns
/// the workspace and the imported file's path.
fn import_env(generation: &str, text: &str) -> (Workspace, std::path::PathBuf) {
    let ws = Workspace::new();
    let env = ws.path("simplescalevm.env");
    std::fs::write(&env, text).unwrap();
    std::fs::write(
        ws.path("cloud-init.yml"),
        "#cloud-config\nhostname: {{ instance_name }}\n",
    )
    .unwrap();
    let out = ws.path("replicas.toml");
    let run = scaler(&[
        "config",
        "import",
        &env.to_string_lossy(),
        "-o",
        &out.to_string_lossy(),
    ])
    .expect(0);
    assert!(
        !run.stdout.contains("0s-pa55word") && !run.stderr.contains("0s-pa55word"),
        "{generation}"
    );
    assert!(
        run.stderr.contains("OS_PASSWORD is not copied"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("replaced by a shared [lock]"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("ENABLE_AUTOSCALING"), "{}", run.stderr);
    let toml = std::fs::read_to_string(&out).unwrap();
    assert!(!toml.contains("0s-pa55word"), "{toml}");
    for line in [
        "kind = \"replicas\"",
        "url = \"http://{ip}:8080/status\"",
        "replica_capacity = 3",
        "min_available = 6",
        "kind = \"openstack\"",
        "image = \"Debian 12\"",
        "flavors = [\"b2-7\"]",
        "networks = [\"Ext-Net\"]",
        "key_name = \"ops\"",
        "floating_ip_description = \"scaled-ip\"",
        "user_data_template = \"cloud-init.yml\"",
        "metadata = { \"group\" = \"scaled\" }",
        "name = \"replica\"",
    ] {
        assert!(toml.contains(line), "{generation}: no {line:?} in\n{toml}");
    }
    scaler(&["-c", &out.to_string_lossy(), "check", "--offline"]).expect(0);
    (ws, out)
}

/// The imported pool plans the in-depth example as SimpleScaleVM did.
fn assert_plans_like_the_original(out: &std::path::Path, generation: &str) {
    use scaler::model::{Instance, InstanceState};
    use std::collections::{HashMap, HashSet};
    // The in-depth example: replica 1 has 0 free resources, 2 asks for
    // termination, 3 has 1, 4 does not answer, 5 is still being created
    // (counted at REPLICA_CAPACITY): 0 + 1 + 3 = 4 < 6, so ceil(2 / 3) = 1.
    let config = scaler::config::load(out).expect("the imported file loads");
    let now = chrono::Utc::now();
    let replica = |n: u32, state| Instance {
        id: format!("r-{n}"),
        name: "replica".into(),
        state,
        private_ip: Some(format!("192.0.2.{n}").parse().unwrap()),
        public_ip: None,
        vcpus: 2,
        instance_type: Some("b2-7".into()),
        created_at: now - chrono::Duration::hours(1),
        adopted: true,
    };
    let instances: Vec<Instance> = (1..=4)
        .map(|n| replica(n, InstanceState::Active))
        .chain([replica(5, InstanceState::Building)])
        .collect();
    let healthy: HashMap<String, u32> = [("r-1".to_string(), 0), ("r-3".to_string(), 1)].into();
    let gone: HashSet<String> = ["r-2".to_string()].into();
    let slot = config.schedule.slot_at(now).unwrap().slot;
    let capacity = config.replicas.as_ref().unwrap().replica_capacity;
    let (counts, decision) = scaler::plan::decide_replicas(
        &instances,
        &healthy,
        &gone,
        capacity,
        &slot,
        &config.pool_params(),
        ("b2-7", 2),
        now,
        u32::MAX,
    );
    assert_eq!(counts.available, 4, "{generation}");
    assert_eq!(
        decision.creates.len(),
        1,
        "{generation}: {}",
        decision.reason
    );
}

#[test]
fn a_simplescalevm_env_becomes_a_replica_pool_that_plans_like_the_original() {
    for (generation, text) in [
        ("current", SIMPLESCALEVM_ENV.to_string()),
        ("v2.0.0", v2_0_0(SIMPLESCALEVM_ENV)),
    ] {
        let (_ws, out) = import_env(generation, &text);
        assert_plans_like_the_original(&out, generation);
    }
}

#[test]
fn from_forces_the_format_and_a_bad_env_exits_78() {
    let ws = Workspace::new();
    let env = ws.path("odd.env");
    std::fs::write(&env, "REPLICA_CAPACITY=three\n").unwrap();
    let run = scaler(&[
        "config",
        "import",
        &env.to_string_lossy(),
        "--from",
        "simplescalevm",
    ])
    .expect(78);
    assert!(run.stderr.contains("REPLICA_CAPACITY"), "{}", run.stderr);
    // Forced to SIPMediaGW, the same file is not JSON.
    let run = scaler(&[
        "config",
        "import",
        &env.to_string_lossy(),
        "--from",
        "sipmediagw",
    ])
    .expect(78);
    assert!(run.stderr.contains("not valid JSON"), "{}", run.stderr);
}
