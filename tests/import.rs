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
