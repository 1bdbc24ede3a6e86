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

/// Arguments to `reserve add` that are refused, each with what the refusal says.
fn bad_add_inputs() -> Vec<(Vec<&'static str>, &'static str)> {
    vec![
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
    ]
}

/// `reserve add|remove` with bad input: each exits 64 with a sentence naming the
/// problem, and the state file is left as it was.
fn assert_bad_input_is_refused(ws: &Workspace, c: &str) {
    let add = |extra: &[&str]| {
        let mut args = vec!["-c", c, "--format", "json", "reserve", "add"];
        args.extend_from_slice(extra);
        scaler(&args)
    };
    let before = std::fs::read_to_string(ws.path("state.json")).unwrap();
    for (args, says) in bad_add_inputs() {
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

    assert_bad_input_is_refused(&ws, c);

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

const SLOT: &str = "{ idle_min = 2, load_max = 0.8, max_gateways = 100 }";

fn rfc(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn in_force(run: &Run) -> Vec<String> {
    run.json()
        .get("reservations")
        .and_then(|r| r.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|b| b["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn plan_at_shows_the_floor_and_run_keeps_the_busy_count_at_opening() {
    let ws = Workspace::new();
    let db = Kamailio::new("resvplan");
    let config = sip_config(&ws, &db, "resvplan", SLOT, "");
    let c = config.as_str();
    scaler(&[
        "-c",
        c,
        "reserve",
        "add",
        "course",
        "--start",
        "2026-11-23T14:00",
        "--end",
        "2026-11-23T16:00",
        "--gateways",
        "40",
    ])
    .expect(0);
    // Before start − lead (5 minutes), the normal rule: 0 busy + 2 idle_min.
    let plan = |when: &str| scaler(&["-c", c, "--format", "json", "plan", "--at", when]).expect(0);
    let run = plan("2026-11-23T13:54:00+01:00");
    assert_eq!(run.json()["decision"]["target"], 2);
    assert!(in_force(&run).is_empty());
    // From start − lead until end: 0 busy now + 2 idle_min + 40 booked.
    for when in ["2026-11-23T13:55:00+01:00", "2026-11-23T15:59:00+01:00"] {
        let run = plan(when);
        assert_eq!(run.json()["decision"]["target"], 42, "{when}");
        assert_eq!(in_force(&run), ["course"]);
    }
    let text = scaler(&["-c", c, "plan", "--at", "2026-11-23T14:00:00+01:00"])
        .expect(0)
        .stdout;
    assert!(text.contains("reservation in force: course"), "{text}");
    assert!(
        text.contains("0 busy at opening + 2 idle_min + 40 booked = 42"),
        "{text}"
    );
    // After end, the normal rule again.
    assert_eq!(
        plan("2026-11-23T16:00:00+01:00").json()["decision"]["target"],
        2
    );

    // A window open now: `run` scales to it and keeps its busy count at opening.
    let now = chrono::Utc::now();
    let start = rfc(now + chrono::Duration::minutes(2));
    let end = rfc(now + chrono::Duration::hours(1));
    scaler(&[
        "-c",
        c,
        "reserve",
        "add",
        "now",
        "--start",
        &start,
        "--end",
        &end,
        "--gateways",
        "3",
    ])
    .expect(0);
    let run = scaler(&["-c", c, "--format", "json", "run"]).expect(0);
    assert_eq!(run.json()["decision"]["target"], 5);
    assert_eq!(in_force(&run), ["now"]);
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.path("state.json")).unwrap()).unwrap();
    let open = &state["reservations"]["open"]["cli:now"];
    assert_eq!(open["busy_at_open"], 0, "{state}");
    assert_eq!(open["booking"]["gateways"], 3);
    // Removed: the next run forgets the window.
    scaler(&["-c", c, "reserve", "remove", "now"]).expect(0);
    let run = scaler(&["-c", c, "--format", "json", "run"]).expect(0);
    assert!(in_force(&run).is_empty());
    let state = std::fs::read_to_string(ws.path("state.json")).unwrap();
    assert!(!state.contains("cli:now"), "{state}");
}

fn event_ics(uid: &str, gateways: u32) -> String {
    let now = chrono::Utc::now();
    let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nSUMMARY:Lecture\r\nDTSTART:{}\r\nDTEND:{}\r\nX-SCALER-GATEWAYS:{gateways}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        fmt(now - chrono::Duration::minutes(10)),
        fmt(now + chrono::Duration::hours(1)),
    )
}

fn with_calendar(ws: &Workspace, db: &Kamailio, url: &str) -> String {
    let config = sip_config(ws, db, "resvcal", SLOT, "");
    let text = std::fs::read_to_string(&config).unwrap();
    ws.config(&format!(
        "{text}\n[reservations]\ncalendar = \"{url}\"\ncalendar_timeout = \"2s\"\n"
    ))
}

#[test]
fn a_calendar_down_keeps_its_last_good_copy_and_exits_3() {
    let ws = Workspace::new();
    let db = Kamailio::new("resvcal");
    let up = serve(
        "127.0.0.1",
        0,
        Answer::Body(event_ics("lecture-1@example.org", 6)),
    );
    let config = with_calendar(&ws, &db, &format!("http://{up}/meetings.ics"));
    let run = scaler(&["-c", &config, "--format", "json", "plan"]).expect(0);
    assert_eq!(in_force(&run), ["lecture-1@example.org"]);
    assert_eq!(run.json()["decision"]["target"], 8);
    let cache = ws.path("state.json.calendar.ics");
    assert!(
        std::fs::read_to_string(&cache)
            .unwrap()
            .contains("lecture-1")
    );

    // Down (nothing listens), failing (HTTP 500), hung (no answer), not a
    // calendar: the cached events stay in force, a note says so, exit 3.
    let down = format!("http://127.0.0.1:{}/meetings.ics", free_port("127.0.0.1"));
    let failing = format!(
        "http://{}/x.ics",
        serve("127.0.0.1", 0, Answer::Status(500))
    );
    let hung = format!("http://{}/x.ics", serve("127.0.0.1", 0, Answer::Hang));
    let html = format!(
        "http://{}/x.ics",
        serve("127.0.0.1", 0, Answer::Body("<html/>".into()))
    );
    for (url, says) in [
        (down, "cannot connect"),
        (failing, "HTTP 500"),
        (hung, "no answer within reservations.calendar_timeout"),
        (html, "not an iCalendar document"),
    ] {
        let config = with_calendar(&ws, &db, &url);
        let run = scaler(&["-c", &config, "--format", "json", "plan"]).expect(3);
        assert_eq!(in_force(&run), ["lecture-1@example.org"], "{url}");
        assert_eq!(run.json()["decision"]["target"], 8, "{url}");
        let notes = run.json()["notes"].to_string();
        assert!(
            notes.contains(says) && notes.contains("last good copy"),
            "{url}: {notes}"
        );
    }
    assert!(
        std::fs::read_to_string(&cache)
            .unwrap()
            .contains("lecture-1")
    );

    // Never read and down: nothing to keep, still exit 3.
    let fresh = Workspace::new();
    let down = format!("http://127.0.0.1:{}/meetings.ics", free_port("127.0.0.1"));
    let config = with_calendar(&fresh, &db, &down);
    let run = scaler(&["-c", &config, "--format", "json", "plan"]).expect(3);
    assert!(in_force(&run).is_empty());
    assert!(
        run.json()["notes"]
            .to_string()
            .contains("no last good copy")
    );
}

#[test]
fn a_calendar_window_is_kept_by_run_and_listed() {
    let ws = Workspace::new();
    let db = Kamailio::new("resvcal2");
    let up = serve(
        "127.0.0.1",
        0,
        Answer::Body(event_ics("lecture-2@example.org", 4)),
    );
    let config = with_calendar(&ws, &db, &format!("http://{up}/meetings.ics"));
    let run = scaler(&["-c", &config, "--format", "json", "run"]).expect(0);
    assert_eq!(run.json()["decision"]["target"], 6);
    let state = std::fs::read_to_string(ws.path("state.json")).unwrap();
    assert!(state.contains("calendar:lecture-2@example.org"), "{state}");
    // `reserve list` shows the calendar's events from the last good copy.
    let run = scaler(&["-c", &config, "--format", "json", "reserve", "list"]).expect(0);
    let listed = &run.json()["reservations"][0];
    assert_eq!(listed["name"], "lecture-2@example.org");
    assert_eq!(listed["origin"], "calendar");
}

/// A day of background calls (a deterministic generator, seed 17) with a
/// course at 14:00 UTC: 40 calls joining within two minutes, for an hour.
fn course_day() -> String {
    let mut seed: u64 = 17;
    let mut next = |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    let day = chrono::DateTime::parse_from_rfc3339("2026-11-23T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let mut lines = vec!["start,end".to_string()];
    let mut call = |start: chrono::DateTime<chrono::Utc>, seconds: i64| {
        let end = start + chrono::Duration::seconds(seconds);
        lines.push(format!("{},{}", rfc(start), rfc(end)));
    };
    // Background: 60 calls of 2 to 20 minutes between 08:00 and 18:00.
    for _ in 0..60 {
        let start = day + chrono::Duration::seconds(8 * 3600 + next(10 * 3600) as i64);
        call(start, 120 + next(1080) as i64);
    }
    // The course: 40 calls within 14:00:00..14:02:00, an hour each.
    for _ in 0..40 {
        let start = day + chrono::Duration::seconds(14 * 3600 + next(120) as i64);
        call(start, 3600 + next(60) as i64);
    }
    lines.join("\n") + "\n"
}

fn simulate_config(ws: &Workspace) -> String {
    ws.config(
        r#"[pool]
name = "course"
kind = "sip"
gateway_prefix = "mediagw"
cpu_per_gateway = 4

[schedule]
timezone = "UTC"
[schedule.default]
"00:00" = { idle_min = 2, load_max = 0.8, max_gateways = 100 }

[sip]
url = "mysql://kamailio@127.0.0.1:9/kamailio"

[state]
path = "state.json"

[lock]
path = "pass.lock"

[limits]
scale_down_delay = "0s"

[reservations]
lead = "5m"

[provider]
kind = "local"
[provider.instance_types]
"c4" = 4
"c8" = 8
"#,
    )
}

#[test]
fn a_replayed_course_misses_calls_without_its_reservation_and_none_with_it() {
    let ws = Workspace::new();
    let config = simulate_config(&ws);
    let trace = ws.path("day.csv");
    std::fs::write(&trace, course_day()).unwrap();
    let trace = trace.to_string_lossy().into_owned();
    let replay = |extra: &[&str]| {
        let mut args = vec![
            "-c", &config, "--format", "json", "simulate", "--trace", &trace, "--seed", "3",
        ];
        args.extend_from_slice(extra);
        scaler(&args).expect(0).json()
    };
    let without = replay(&[]);
    assert!(without["missed"].as_u64().unwrap() > 0, "{without}");

    // The booking as `reserve list --format json` prints it.
    scaler(&[
        "-c",
        &config,
        "reserve",
        "add",
        "course",
        "--start",
        "2026-11-23T14:00",
        "--end",
        "2026-11-23T15:00",
        "--gateways",
        "40",
    ])
    .expect(0);
    let listed = scaler(&["-c", &config, "--format", "json", "reserve", "list"]).expect(0);
    let json = ws.path("bookings.json");
    std::fs::write(&json, &listed.stdout).unwrap();
    let with = replay(&["--reservations", &json.to_string_lossy()]);
    assert_eq!(with["missed"], 0, "{with}");
    let (rejected_with, rejected_without) =
        (with["rejected"].as_u64(), without["rejected"].as_u64());
    assert!(rejected_with < rejected_without, "{with}\n{without}");
    assert!(
        with["notes"]
            .to_string()
            .contains("1 reservation(s) replayed"),
        "{with}"
    );
    // It costs more than without (the booked gateways run ahead of the calls).
    assert!(with["cost"].as_f64().unwrap() > without["cost"].as_f64().unwrap());

    // The same course as a calendar event.
    let ics = ws.path("course.ics");
    std::fs::write(
        &ics,
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:course\r\n\
         DTSTART:20261123T140000Z\r\nDTEND:20261123T150000Z\r\nX-SCALER-GATEWAYS:40\r\n\
         END:VEVENT\r\nEND:VCALENDAR\r\n",
    )
    .unwrap();
    let from_ics = replay(&["--reservations", &ics.to_string_lossy()]);
    assert_eq!(from_ics["missed"], 0, "{from_ics}");

    // A file that is neither exits 64.
    let bad = ws.path("bad.json");
    std::fs::write(&bad, "{\"reservations\": [{\"name\": 1}]}").unwrap();
    let run = scaler(&[
        "-c",
        &config,
        "simulate",
        "--trace",
        &trace,
        "--reservations",
        &bad.to_string_lossy(),
    ]);
    let run = run.expect(64);
    assert!(
        run.stderr.contains("reserve list --format json"),
        "{}",
        run.stderr
    );
}
