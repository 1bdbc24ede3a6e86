//! `scaler trace export` against real MariaDB: an `acc` table made with
//! Kamailio's own `acc-create.sql`, filled the way the `acc` module writes
//! it (an answered INVITE and a BYE per call, same `callid`), exported as
//! the CSV `simulate` reads, with re-INVITEs, repeated rows, calls without a
//! BYE, skewed clocks, window bounds, the configuration's `[sip]` section,
//! a missing table (exit 78) and an unreachable database (exit 69).

mod common;

use common::*;

const ACC_SCHEMA: &str = "/usr/share/kamailio/mysql/acc-create.sql";

/// A Kamailio database with the `acc` table.
fn acc_database(tag: &str) -> Kamailio {
    let mut db = Kamailio::new(tag);
    let text = std::fs::read_to_string(ACC_SCHEMA)
        .unwrap_or_else(|e| panic!("{ACC_SCHEMA}: {e} (run scripts/services.sh)"));
    for statement in text.split(";\n").map(str::trim).filter(|s| !s.is_empty()) {
        db.exec(statement);
    }
    db
}

/// Inserts `acc` rows `(method, callid, sip_code, time)`.
fn acc(db: &mut Kamailio, rows: &[(&str, &str, &str, &str)]) {
    for (method, callid, code, time) in rows {
        db.exec(&format!(
            "INSERT INTO acc (method, from_tag, to_tag, callid, sip_code, sip_reason, time) \
             VALUES ('{method}', 'ft', 'tt', '{callid}', '{code}', 'OK', '{time}')"
        ));
    }
}

/// A working day's worth of cases, times as the database holds them.
fn day(db: &mut Kamailio) {
    acc(
        db,
        &[
            ("INVITE", "call-a@gw", "200", "2026-11-23 09:00:00"),
            ("INVITE", "call-a@gw", "200", "2026-11-23 09:20:00"), // re-INVITE
            ("BYE", "call-a@gw", "200", "2026-11-23 09:45:00"),
            ("BYE", "call-a@gw", "200", "2026-11-23 09:45:00"), // the same row twice
            ("INVITE", "call-b@gw", "200", "2026-11-23 10:00:00"),
            ("BYE", "call-b@gw", "200", "2026-11-23 10:30:00"),
            ("INVITE", "call-c@gw", "486", "2026-11-23 10:05:00"), // failed: no call
            ("INVITE", "call-d@gw", "200", "2026-11-23 11:00:00"), // no BYE yet
            ("INVITE", "call-e@gw", "200", "2026-11-23 12:00:02"),
            ("BYE", "call-e@gw", "200", "2026-11-23 12:00:00"), // two clocks
            ("BYE", "call-f@gw", "200", "2026-11-23 12:10:00"), // no INVITE
            ("INVITE", "call-g@gw", "200", "2026-11-24 08:00:00"),
            ("BYE", "call-g@gw", "200", "2026-11-24 08:50:00"),
            ("OPTIONS", "ping@gw", "200", "2026-11-23 12:30:00"),
        ],
    );
}

fn export(db: &Kamailio, extra: &[&str]) -> Run {
    let url = db.url();
    let mut args = vec![
        "trace",
        "export",
        "--db",
        url.as_str(),
        "--password-env",
        DB_PASSWORD_ENV,
        "--db-time-zone",
        "+00:00",
    ];
    args.extend_from_slice(extra);
    scaler(&args)
}

#[test]
fn the_calls_of_an_acc_table_are_exported_and_replay() {
    let mut db = acc_database("acc_export");
    day(&mut db);
    let ws = Workspace::new();
    let out = ws.path("calls.csv");
    let run = export(&db, &["-o", &out.to_string_lossy()]).expect(0);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "start,end,callid\n\
         2026-11-23T09:00:00Z,2026-11-23T09:45:00Z,\"call-a@gw\"\n\
         2026-11-23T10:00:00Z,2026-11-23T10:30:00Z,\"call-b@gw\"\n\
         2026-11-23T12:00:02Z,2026-11-23T12:00:00Z,\"call-e@gw\"\n\
         2026-11-24T08:00:00Z,2026-11-24T08:50:00Z,\"call-g@gw\"\n"
    );
    for expected in [
        "wrote 4 call(s) from acc at mysql://",
        "1 INVITE(s) without BYE left out",
        "1 BYE(s) without an answered INVITE left out",
        "1 re-INVITE(s) ignored",
        "1 duplicate row(s) counted once",
        "1 call(s) with the BYE up to 60 s before the INVITE",
    ] {
        assert!(run.stderr.contains(expected), "{expected}: {}", run.stderr);
    }
    assert!(
        !run.stderr.contains("scaler:scaler@"),
        "password shown: {}",
        run.stderr
    );
    assert!(!ws.path("calls.csv.partial").exists());

    // The export is a trace simulate reads: the skewed call is zero-length.
    let config = sip_config(
        &ws,
        &db,
        "gw",
        "{ idle_min = 2, load_max = 1.0, max_gateways = 10 }",
        "",
    );
    let json = scaler(&[
        "-c",
        &config,
        "--format",
        "json",
        "simulate",
        "--trace",
        &out.to_string_lossy(),
    ])
    .expect(0)
    .json();
    assert_eq!(json["calls"], 3, "{json}");
    assert_eq!(json["skewed_lines"], 1, "{json}");
    assert_eq!(json["missed"], 0, "{json}");
}

#[test]
fn the_window_and_the_session_time_zone_bound_the_export() {
    let mut db = acc_database("acc_window");
    day(&mut db);
    // Calls whose INVITE is in [09:30, 12:00): only call-b (call-a's re-INVITE
    // at 09:20 is before the window anyway; call-d has no BYE).
    let run = export(
        &db,
        &[
            "--from",
            "2026-11-23T09:30:00Z",
            "--to",
            "2026-11-23T12:00:00Z",
        ],
    )
    .expect(0);
    assert_eq!(
        run.stdout,
        "start,end,callid\n2026-11-23T10:00:00Z,2026-11-23T10:30:00Z,\"call-b@gw\"\n"
    );
    // A re-INVITE in the window does not bring in a call that started before it.
    let run = export(
        &db,
        &[
            "--from",
            "2026-11-23T09:10:00Z",
            "--to",
            "2026-11-23T09:30:00Z",
        ],
    )
    .expect(0);
    assert_eq!(run.stdout, "start,end,callid\n");
    // ...nor counts its rows (its re-INVITE and repeated BYE) in the summary.
    assert!(
        run.stderr.contains("wrote 0 call(s)") && !run.stderr.contains("re-INVITE"),
        "{}",
        run.stderr
    );
    // Written by a Kamailio at +01:00: the same rows are an hour earlier in UTC.
    let url = db.url();
    let run = scaler(&[
        "trace",
        "export",
        "--db",
        &url,
        "--password-env",
        DB_PASSWORD_ENV,
        "--db-time-zone",
        "+01:00",
        "--to",
        "2026-11-23T09:30:00Z",
    ])
    .expect(0);
    assert_eq!(
        run.stdout,
        "start,end,callid\n2026-11-23T08:00:00Z,2026-11-23T08:45:00Z,\"call-a@gw\"\n\
         2026-11-23T09:00:00Z,2026-11-23T09:30:00Z,\"call-b@gw\"\n"
    );
    export(
        &db,
        &[
            "--from",
            "2026-11-23T10:00:00Z",
            "--to",
            "2026-11-23T09:00:00Z",
        ],
    )
    .expect(64);
}

#[test]
fn the_configuration_sip_section_is_used_without_db() {
    let mut db = acc_database("acc_config");
    day(&mut db);
    let ws = Workspace::new();
    let config = sip_config(
        &ws,
        &db,
        "gw",
        "{ idle_min = 2, load_max = 1.0, max_gateways = 10 }",
        "",
    );
    let run = scaler(&[
        "-c",
        &config,
        "-q",
        "trace",
        "export",
        "--db-time-zone",
        "+00:00",
        "--from",
        "2026-11-24T00:00:00Z",
    ])
    .expect(0);
    assert_eq!(
        run.stdout,
        "start,end,callid\n2026-11-24T08:00:00Z,2026-11-24T08:50:00Z,\"call-g@gw\"\n"
    );
    assert_eq!(run.stderr, "", "-q prints no summary");
}

#[test]
fn a_missing_table_is_a_configuration_error_and_no_database_is_unavailable() {
    let db = Kamailio::new("acc_missing"); // no acc-create.sql
    let ws = Workspace::new();
    let out = ws.path("calls.csv");
    let run = export(&db, &["-o", &out.to_string_lossy()]).expect(78);
    assert!(
        run.stderr.contains("acc") && run.stderr.contains("WITH_ACCDB"),
        "{}",
        run.stderr
    );
    assert!(
        !out.exists() && !ws.path("calls.csv.partial").exists(),
        "no partial file"
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("mysql://scaler@127.0.0.1:{port}/kamailio");
    let run = scaler(&["trace", "export", "--db", &url, "--timeout", "5s"]).expect(69);
    assert!(
        run.stderr.contains(&format!("127.0.0.1:{port}")),
        "{}",
        run.stderr
    );
    // A configuration without [sip] and no --db: exit 78.
    let config = ws.config(
        "[pool]\nname = \"m\"\nkind = \"media\"\ncpu_per_gateway = 4\n\n[schedule]\ntimezone = \"UTC\"\n[schedule.default]\n\"00:00\" = { idle_min = 1, load_max = 1.0, max_gateways = 10 }\n\n[media]\nurl = \"redis://127.0.0.1:6379\"\n\n[provider]\nkind = \"local\"\n[provider.instance_types]\n\"c4\" = 4\n",
    );
    let run = scaler(&["-c", &config, "trace", "export"]).expect(78);
    assert!(
        run.stderr.contains("needs --db URL or a [sip] section"),
        "{}",
        run.stderr
    );
}
