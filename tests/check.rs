//! `scaler check` against real failures on 127.0.0.1: each dependency on its
//! own line, failures classified (refused, timeout, auth, schema, secret),
//! exit 0 only when every line is ok; `--offline` connects to nothing.

mod common;

use common::*;
use std::net::TcpListener;

const SLOT: &str = "{ idle_min = 1, load_max = 0.8, max_gateways = 4 }";

/// `(name, ok, reason)` of each check line of a JSON report.
fn lines(run: &Run) -> Vec<(String, bool, Option<String>)> {
    run.json()["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|l| {
            (
                l["name"].as_str().unwrap_or_default().to_string(),
                l["ok"].as_bool().unwrap_or_default(),
                l["reason"].as_str().map(String::from),
            )
        })
        .collect()
}

fn sip_line(run: &Run) -> (bool, Option<String>) {
    let (_, ok, reason) = lines(run)
        .into_iter()
        .find(|(name, _, _)| name == "sip")
        .expect("a sip line");
    (ok, reason)
}

#[test]
fn all_ok_exits_0_with_one_line_per_dependency() {
    let ws = Workspace::new();
    let db = Kamailio::new("checkok");
    let config = sip_config(&ws, &db, "checkok", SLOT, "");
    let run = scaler(&["-c", &config, "--format", "json", "check"]).expect(0);
    let names: Vec<String> = lines(&run).into_iter().map(|(n, _, _)| n).collect();
    assert_eq!(names, ["config", "sip", "provider", "files"]);
    let text = scaler(&["-c", &config, "check"]).expect(0);
    assert_eq!(text.stdout.lines().count(), 4, "{}", text.stdout);
    assert!(
        text.stdout.lines().all(|l| l.contains(" ok ")),
        "{}",
        text.stdout
    );
}

#[test]
fn failures_are_classified() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("checkfail");
    let config = sip_config(&ws, &db, "checkfail", SLOT, "");
    let text = std::fs::read_to_string(&config).unwrap();
    let with = |replaced: String| {
        std::fs::write(&config, replaced).unwrap();
        scaler(&["-c", &config, "--format", "json", "check"])
    };

    // Nothing listens on port 1.
    let run = with(text.replace(":3306/", ":1/")).expect(69);
    assert_eq!(sip_line(&run), (false, Some("refused".into())));

    // A server that accepts and never answers: the handshake times out.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let run = with(text.replace(":3306/", &format!(":{port}/")).replace(
        "[sip]\n",
        "[sip]\nconnect_timeout = \"1s\"\nquery_timeout = \"1s\"\n",
    ))
    .expect(69);
    assert_eq!(
        sip_line(&run),
        (false, Some("timeout".into())),
        "{}",
        run.stdout
    );
    drop(silent);

    // A wrong password.
    std::fs::write(&config, &text).unwrap();
    let run = scaler_with_env(
        &["-c", &config, "--format", "json", "check"],
        &[(DB_PASSWORD_ENV, "certainly-wrong")],
    )
    .expect(69);
    assert_eq!(
        sip_line(&run),
        (false, Some("auth".into())),
        "{}",
        run.stdout
    );

    // The variable holding the password is not set.
    let run = with(text.replace(DB_PASSWORD_ENV, "SCALER_TEST_UNSET_PASSWORD")).expect(69);
    assert_eq!(
        sip_line(&run),
        (false, Some("secret".into())),
        "{}",
        run.stdout
    );

    // SIPMediaGW's columns are missing: both are named.
    db.exec("ALTER TABLE location DROP COLUMN locked, DROP COLUMN to_stop");
    let run = with(text.clone()).expect(69);
    assert_eq!(
        sip_line(&run),
        (false, Some("schema".into())),
        "{}",
        run.stdout
    );
    let detail = run.json()["checks"][1]["detail"].to_string();
    assert!(
        detail.contains("locked") && detail.contains("to_stop"),
        "{detail}"
    );
    let plain = scaler(&["-c", &config, "check"]).expect(69);
    assert!(plain.stdout.contains("FAILED (schema)"), "{}", plain.stdout);

    // Offline: the configuration only, whatever the database.
    let run = scaler(&["-c", &config, "--format", "json", "check", "--offline"]).expect(0);
    assert_eq!(lines(&run), [("config".to_string(), true, None)]);
}
