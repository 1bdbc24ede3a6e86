//! `sip.turned_away`: the calls Kamailio turned away (failed INVITEs in its
//! `missed_calls` table, schema from Kamailio's `acc-create.sql`) raise the
//! next pass's target by their distinct Call-IDs, not by their retries; a
//! missing table is a configuration error (exit 78), in `plan` and `check`;
//! the simulator models the same signal, which turns fewer calls away
//! after a burst.

mod common;

use common::*;

const SLOT: &str = "{ idle_min = 2, load_max = 1.0, max_gateways = 40 }";
const ACC_SCHEMA: &str = "/usr/share/kamailio/mysql/acc-create.sql";

/// A SIP pool configuration with `turned_away` (an inline table) in `[sip]`.
fn config_with(ws: &Workspace, db: &Kamailio, turned_away: &str) -> String {
    let config = sip_config(ws, db, "ta", SLOT, "");
    let text = std::fs::read_to_string(&config).unwrap();
    let text = text.replacen(
        "[limits]",
        &format!("turned_away = {turned_away}\n[limits]"),
        1,
    );
    std::fs::write(&config, text).unwrap();
    config
}

fn plan_target(config: &str) -> u64 {
    let run = scaler(&["-c", config, "--format", "json", "plan"]).expect(0);
    run.json()["decision"]["target"].as_u64().expect("a target")
}

/// A failed INVITE as Kamailio's `acc` writes it, `ago` seconds ago.
fn missed(db: &mut Kamailio, callid: &str, code: &str, ago: u32) {
    db.exec(&format!(
        "INSERT INTO missed_calls (method, from_tag, to_tag, callid, sip_code, sip_reason, time) \
         VALUES ('INVITE', 'ft-{callid}', '', '{callid}', '{code}', 'Not Found', NOW() - INTERVAL {ago} SECOND)"
    ));
}

#[test]
fn failed_invites_raise_the_target_by_their_calls_not_their_retries() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("ta_raise");
    db.load(ACC_SCHEMA);
    let config = config_with(&ws, &db, "{ codes = [404], window = \"1m\" }");
    let before = plan_target(&config);
    assert_eq!(before, 2, "idle_min alone on an empty pool");

    // Three calls turned away; the first retried twice (same Call-ID, a new
    // CSeq each time: a new transaction, a new row).
    missed(&mut db, "call-a", "404", 50);
    missed(&mut db, "call-a", "404", 20);
    missed(&mut db, "call-a", "404", 1);
    missed(&mut db, "call-b", "404", 30);
    missed(&mut db, "call-c", "404", 5);
    // Not turned away for want of a gateway, or not within the window.
    missed(&mut db, "call-busy", "486", 10);
    missed(&mut db, "call-old", "404", 300);
    db.exec(
        "INSERT INTO missed_calls (method, callid, sip_code, time) VALUES ('BYE', 'call-d', '404', NOW())",
    );

    let run = scaler(&["-c", &config, "--format", "json", "plan"]).expect(0);
    let json = run.json();
    assert_eq!(json["decision"]["target"], before + 3, "{json}");
    let reason = json["decision"]["reason"].as_str().unwrap();
    assert!(reason.contains("+ 3 turned away"), "{reason}");

    // Without the key the same rows change nothing.
    let plain = sip_config(&ws, &db, "ta", SLOT, "");
    assert_eq!(plan_target(&plain), before);
}

#[test]
fn an_unreadable_row_counts_as_one_turned_away_call() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("ta_doubt");
    db.load(ACC_SCHEMA);
    let config = config_with(&ws, &db, "{}");
    missed(&mut db, "call-a", "404", 10);
    missed(&mut db, "", "404", 10);
    missed(&mut db, "call-b", "4x4", 10);
    let run = scaler(&["-c", &config, "--format", "json", "plan"]).expect(3);
    let json = run.json();
    assert_eq!(json["decision"]["target"], 2 + 3, "{json}");
    let errors = json["errors"].to_string();
    assert!(errors.contains("2 missed_calls row(s)"), "{errors}");
}

#[test]
fn a_missing_table_is_a_configuration_error_not_a_zero() {
    let ws = Workspace::new();
    let db = Kamailio::new("ta_missing");
    let config = config_with(&ws, &db, "{ codes = [404, 480] }");
    let run = scaler(&["-c", &config, "--format", "json", "plan"]).expect(78);
    let json = run.json();
    let errors = json["errors"].to_string();
    assert!(errors.contains("missed_calls"), "{errors}");
    assert!(errors.contains("acc-create.sql"), "{errors}");
    // The pass still scales up for what it sees.
    assert_eq!(json["decision"]["target"], 2, "{json}");
    let check = scaler(&["-c", &config, "check"]);
    assert_ne!(check.status, 0, "{}", check.stdout);
    assert!(
        check.stdout.contains("missed_calls") || check.stderr.contains("missed_calls"),
        "{}{}",
        check.stdout,
        check.stderr
    );
}

#[test]
fn bad_keys_are_refused() {
    let ws = Workspace::new();
    let db = Kamailio::new("ta_keys");
    for (value, expected) in [
        ("{ codes = [] }", "at least one"),
        ("{ codes = [200] }", "not a failure code"),
        ("{ window = \"0s\" }", "not between"),
        ("{ code = [404] }", "unknown field"),
    ] {
        let config = config_with(&ws, &db, value);
        let run = scaler(&["-c", &config, "check", "--offline"]).expect(78);
        assert!(run.stderr.contains(expected), "{value}: {}", run.stderr);
    }
}

/// 200 calls of 30 minutes arriving within the minute after 10:00.
fn burst_trace(ws: &Workspace) -> String {
    let mut text = String::from("start,end\n");
    for i in 0..200 {
        // Distinct lines (the reader counts a repeated line once).
        let (start, end) = (i * 3 / 10, 30 * 60 + i);
        text.push_str(&format!(
            "2026-11-24T10:00:{start:02}Z,2026-11-24T10:{:02}:{:02}Z\n",
            end / 60,
            end % 60
        ));
    }
    let path = ws.path("burst.csv");
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

fn simulation_config(ws: &Workspace, name: &str, turned_away: &str) -> String {
    let text = format!(
        r#"[pool]
name = "sim"
kind = "sip"
cpu_per_gateway = 4

[schedule]
timezone = "UTC"
[schedule.default]
"00:00" = {{ idle_min = 2, load_max = 1.0, max_gateways = 400 }}

[sip]
url = "mysql://kamailio@127.0.0.1:3306/kamailio"
{turned_away}

[limits]
scale_down_delay = "0s"
max_create_per_run = 100

[provider]
kind = "local"
[provider.instance_types]
"c8" = 8
"#
    );
    let path = ws.path(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn simulated_signal_turns_fewer_calls_away_after_a_burst() {
    let ws = Workspace::new();
    let trace = burst_trace(&ws);
    let replay = |config: &str| {
        let run = scaler(&[
            "-c", config, "--format", "json", "simulate", "--trace", &trace, "--seed", "7",
        ])
        .expect(0);
        let summary = run.json();
        (
            summary["rejected"].as_u64().unwrap(),
            summary["missed"].as_u64().unwrap(),
        )
    };
    let off = replay(&simulation_config(&ws, "off.toml", ""));
    let on = replay(&simulation_config(&ws, "on.toml", "turned_away = {}"));
    assert!(
        on.0 < off.0,
        "rejected with the signal {on:?}, without {off:?}"
    );
    assert!(
        on.1 < off.1,
        "missed with the signal {on:?}, without {off:?}"
    );
}
