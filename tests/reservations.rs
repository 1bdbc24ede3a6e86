//! Reservations through the real binary: `reserve add|list|remove` with the
//! state file, the shared MySQL table and the shared Redis hash; the lock a
//! write waits for; bad input; the decision's floor in `plan --at` and
//! `run`; a calendar on a loopback HTTP server, up and down; and a replayed
//! course of 40 calls that the reservation saves.

mod common;

use common::http::{Answer, free_port, serve};
use common::media::redis_url;
use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// A SIP pool whose database is never contacted by `reserve` (nothing
/// listens on port 9).
fn offline_config(ws: &Workspace, lock: &str, extra: &str) -> String {
    ws.config(&format!(
        r#"[pool]
name = "resv"
kind = "sip"
gateway_prefix = "mediagw"
cpu_per_gateway = 4

[schedule]
timezone = "Europe/Paris"
[schedule.default]
"00:00" = {{ idle_min = 2, load_max = 0.8, max_gateways = 40 }}

[sip]
url = "mysql://kamailio@127.0.0.1:9/kamailio"

[state]
path = "state.json"

{lock}

{extra}

[provider]
kind = "local"
state_file = "cloud.json"
[provider.instance_types]
"c4" = 4
"#
    ))
}

fn names(run: &Run) -> Vec<String> {
    run.json()["reservations"]
        .as_array()
        .expect("reservations is an array")
        .iter()
        .map(|b| b["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn bookings_in_the_state_file_and_bad_input() {
    let ws = Workspace::new();
    let config = offline_config(&ws, "[lock]\npath = \"pass.lock\"", "");
    let c = config.as_str();
    let add = |extra: &[&str]| {
        let mut args = vec!["-c", c, "--format", "json", "reserve", "add"];
        args.extend_from_slice(extra);
        scaler(&args)
    };
    // Local time in the schedule's timezone: 14:00 Paris is 13:00 UTC.
    let run = add(&[
        "course",
        "--start",
        "2026-11-23T14:00",
        "--end",
        "2026-11-23T16:00",
        "--gateways",
        "40",
        "--note",
        "Physics 1",
    ])
    .expect(0);
    let booking = &run.json()["reservations"][0];
    assert_eq!(booking["start"], "2026-11-23T13:00:00Z");
    assert_eq!(booking["end"], "2026-11-23T15:00:00Z");
    assert_eq!(booking["gateways"], 40);
    let state = std::fs::read_to_string(ws.path("state.json")).unwrap();
    assert!(state.contains("\"course\""), "{state}");

    let both = [
        "--start",
        "2026-11-24T09:00:00+01:00",
        "--end",
        "2026-11-24T10:00:00+01:00",
        "--gateways",
        "5",
    ];
    let mut second = vec!["seminar"];
    second.extend_from_slice(&both);
    add(&second).expect(0);
    let run = scaler(&["-c", c, "--format", "json", "reserve", "list"]).expect(0);
    assert_eq!(names(&run), ["course", "seminar"]);
    let text = scaler(&["-c", c, "reserve", "list"]).expect(0).stdout;
    assert!(text.contains("2 reservation(s)"), "{text}");
    assert!(
        text.contains(
            "course 2026-11-23T13:00:00Z..2026-11-23T15:00:00Z 40 gateway(s) (Physics 1)"
        ),
        "{text}"
    );

    // A duplicate name without --replace; then with it.
    let run = add(&second).expect(64);
    assert!(run.stderr.contains("already exists"), "{}", run.stderr);
    let mut replace = second.clone();
    replace.push("--replace");
    replace[6] = "7";
    add(&replace).expect(0);
    let run = scaler(&["-c", c, "--format", "json", "reserve", "list"]).expect(0);
    assert_eq!(run.json()["reservations"][1]["gateways"], 7);

    // Bad input: each exits 64 with a sentence naming the problem, and writes nothing.
    let before = std::fs::read_to_string(ws.path("state.json")).unwrap();
    for (args, says) in [
        (
            vec![
                "x",
                "--start",
                "2026-11-23T16:00",
                "--end",
                "2026-11-23T14:00",
                "--gateways",
                "1",
            ],
            "is not after",
        ),
        (
            vec![
                "x",
                "--start",
                "2026-11-23T14:00",
                "--end",
                "2026-11-23T16:00",
                "--gateways",
                "0",
            ],
            "at least 1",
        ),
        (
            vec![
                "x",
                "--start",
                "2026-11-23T14:00",
                "--end",
                "2026-11-23T16:00",
                "--gateways",
                "-3",
            ],
            "at least 1 (got -3)",
        ),
        (
            vec![
                "x",
                "--start",
                "2026-03-29T02:30",
                "--end",
                "2026-03-29T04:00",
                "--gateways",
                "1",
            ],
            "does not exist",
        ),
        (
            vec![
                "x",
                "--start",
                "tomorrow",
                "--end",
                "2026-03-29T04:00",
                "--gateways",
                "1",
            ],
            "expected RFC 3339",
        ),
        (
            vec![
                "a b",
                "--start",
                "2026-11-23T14:00",
                "--end",
                "2026-11-23T16:00",
                "--gateways",
                "1",
            ],
            "reservation name",
        ),
    ] {
        let run = add(&args).expect(64);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
    }
    let run = scaler(&["-c", c, "reserve", "remove", "nothing"]).expect(64);
    assert!(
        run.stderr.contains("no reservation named \"nothing\""),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_to_string(ws.path("state.json")).unwrap(),
        before
    );

    scaler(&["-c", c, "reserve", "remove", "course"]).expect(0);
    let run = scaler(&["-c", c, "--format", "json", "reserve", "list"]).expect(0);
    assert_eq!(names(&run), ["seminar"]);
}

#[test]
fn writes_wait_for_a_running_pass() {
    let ws = Workspace::new();
    let config = offline_config(&ws, "[lock]\npath = \"pass.lock\"", "");
    let lock = std::fs::File::create(ws.path("pass.lock")).unwrap();
    lock.lock().unwrap();
    let args = [
        "-c",
        &config,
        "reserve",
        "add",
        "course",
        "--start",
        "2026-11-23T14:00",
        "--end",
        "2026-11-23T16:00",
        "--gateways",
        "4",
    ];
    // Held for good: after its wait the write gives up with 75 and writes nothing.
    let run = scaler(&args).expect(75);
    assert!(
        run.stderr.contains("still held by a pass"),
        "{}",
        run.stderr
    );
    assert!(!ws.path("state.json").exists());

    // Released while it waits: the write goes through.
    let mut child = Command::new(env!("CARGO_BIN_EXE_scaler"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(
        line.contains("waiting up to 10 s for the pass lock"),
        "{line}"
    );
    drop(lock);
    assert!(child.wait().unwrap().success());
    let state = std::fs::read_to_string(ws.path("state.json")).unwrap();
    assert!(state.contains("\"course\""), "{state}");
}

/// Two hosts of one pool (their own state files) sharing a lock backend see
/// the same bookings.
fn shared_bookings(lock: &str) {
    let (a, b) = (Workspace::new(), Workspace::new());
    let (ca, cb) = (offline_config(&a, lock, ""), offline_config(&b, lock, ""));
    let add = |c: &str, name: &str, extra: &[&str]| {
        let mut args = vec![
            "-c",
            c,
            "reserve",
            "add",
            name,
            "--start",
            "2026-11-23T14:00",
            "--end",
            "2026-11-23T16:00",
            "--gateways",
            "12",
        ];
        args.extend_from_slice(extra);
        scaler(&args)
    };
    let list =
        |c: &str| names(&scaler(&["-c", c, "--format", "json", "reserve", "list"]).expect(0));
    assert_eq!(list(&ca), Vec::<String>::new());
    add(&ca, "course", &["--note", "from host a"]).expect(0);
    assert_eq!(list(&cb), ["course"]);
    let run = add(&cb, "course", &[]).expect(64);
    assert!(run.stderr.contains("already exists"), "{}", run.stderr);
    add(&cb, "course", &["--replace"]).expect(0);
    add(&cb, "other", &[]).expect(0);
    let run = scaler(&["-c", &ca, "--format", "json", "reserve", "list"]).expect(0);
    assert_eq!(run.json()["reservations"][0]["gateways"], 12);
    assert!(run.json()["reservations"][0].get("note").is_none());
    assert_eq!(list(&ca), ["course", "other"]);
    // Nothing in the hosts' own state files.
    assert!(!a.path("state.json").exists() && !b.path("state.json").exists());
    scaler(&["-c", &ca, "reserve", "remove", "course"]).expect(0);
    scaler(&["-c", &cb, "reserve", "remove", "course"]).expect(64);
    assert_eq!(list(&cb), ["other"]);
    scaler(&["-c", &cb, "reserve", "remove", "other"]).expect(0);
}

#[test]
fn shared_bookings_in_mysql() {
    let db = Kamailio::new("resv");
    let lock = format!(
        "[lock]\nbackend = \"mysql\"\nurl = \"{}\"\npassword_env = \"{DB_PASSWORD_ENV}\"\nname = \"scaler-test-resv-{}\"",
        db.url(),
        std::process::id()
    );
    shared_bookings(&lock);
}

#[test]
fn shared_bookings_in_redis() {
    let name = format!("scaler-test:resv:{}", std::process::id());
    let lock = format!(
        "[lock]\nbackend = \"redis\"\nurl = \"{}\"\nname = \"{name}\"",
        redis_url()
    );
    shared_bookings(&lock);
    let mut conn = common::media::connect();
    let left: bool = redis::cmd("EXISTS")
        .arg(format!("{name}:reservations"))
        .query(&mut conn)
        .unwrap();
    assert!(!left, "the hash is empty once every booking is removed");
}
