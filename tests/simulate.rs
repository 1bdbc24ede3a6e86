//! `scaler simulate` as users run it: the real binary on the shipped trace
//! (deterministic for a seed), on tiny hand-made traces whose served,
//! rejected and missed counts are known exactly, on bad traces (exit 64 with
//! the line number), and generating a trace.

mod common;

use common::*;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn repo(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(path)
        .to_string_lossy()
        .into_owned()
}

const TRACE: &str = "examples/trace-workday.csv";

/// A configuration with one slot all day, in UTC.
fn config(ws: &Workspace, slot: &str) -> String {
    ws.config(&format!(
        r#"
[pool]
name = "sim"
kind = "sip"
cpu_per_gateway = 4

[schedule]
timezone = "UTC"
[schedule.default]
"00:00" = {slot}

[sip]
url = "mysql://kamailio@127.0.0.1:3306/kamailio"

[limits]
scale_down_delay = "0s"

[provider]
kind = "local"
[provider.instance_types]
"c4" = 4
"c8" = 8
"#
    ))
}

fn trace(ws: &Workspace, text: &str) -> String {
    let path = ws.path("trace.csv");
    std::fs::write(&path, text).expect("trace written");
    path.to_string_lossy().into_owned()
}

fn simulate(config: &str, args: &[&str]) -> Run {
    let mut all = vec!["-c", config, "--format", "json", "simulate"];
    all.extend_from_slice(args);
    scaler(&all)
}

/// `(calls, served, rejected, missed)` of a JSON report.
fn service(run: &Run) -> (u64, u64, u64, u64) {
    let json = run.json();
    let n = |k: &str| json[k].as_u64().unwrap_or_else(|| panic!("{k} in {json}"));
    (n("calls"), n("served"), n("rejected"), n("missed"))
}

#[test]
fn the_shipped_trace_gives_the_same_figures_for_the_same_seed() {
    let sip = repo("examples/sip.toml");
    let args = ["--trace", &repo(TRACE), "--seed", "7"];
    let first = simulate(&sip, &args).expect(0);
    let second = simulate(&sip, &args).expect(0);
    assert_eq!(first.stdout, second.stdout);
    let json = first.json();
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["command"], "simulate");
    assert_eq!(json["pool"]["name"], "sipmediagw");
    let (calls, served, rejected, missed) = service(&first);
    assert!(calls > 3_000, "{json}");
    assert_eq!(served + missed, calls);
    assert!(rejected >= 3 * missed);
    for field in [
        "peak_calls",
        "peak_gateways",
        "gateway_hours",
        "vcpu_hours",
        "lower_bound_vcpu_hours",
        "ratio",
        "cost",
        "created",
        "destroyed",
    ] {
        assert!(json[field].is_number(), "{field} in {json}");
    }
    assert!(json["ratio"].as_f64().unwrap() >= 1.0, "{json}");

    // Another seed: other boot delays, still a consistent result.
    let other = simulate(&sip, &["--trace", &repo(TRACE), "--seed", "8"]).expect(0);
    let (calls8, served8, _, missed8) = service(&other);
    assert_eq!(calls8, calls);
    assert_eq!(served8 + missed8, calls);
    assert_ne!(other.json()["vcpu_hours"], json["vcpu_hours"]);
}

#[test]
fn one_call_on_an_empty_pool_depends_on_the_boot_delay() {
    let ws = Workspace::new();
    let config = config(&ws, "{ idle_min = 1, load_max = 1.0, max_gateways = 10 }");
    let trace = trace(
        &ws,
        "start,end\n2026-11-23T09:00:00Z,2026-11-23T09:30:00Z\n",
    );
    let from = ["--from", "2026-11-23T09:00:00Z", "--boot-jitter", "0s"];
    let run = |delay: &str| {
        let mut args = vec!["--trace", trace.as_str(), "--boot-delay", delay];
        args.extend_from_slice(&from);
        simulate(&config, &args).expect(0)
    };
    // Rejected at 09:00 (nothing booted yet), served by the retry at 09:01.
    assert_eq!(service(&run("0s")), (1, 1, 1, 0));
    // Booted at 09:03: both retries (09:01, 09:02) are rejected too.
    assert_eq!(service(&run("3m")), (1, 0, 3, 1));
}

#[test]
fn calls_under_a_minute_are_dropped_and_a_warm_pool_serves_at_once() {
    let ws = Workspace::new();
    let config = config(&ws, "{ idle_min = 2, load_max = 1.0, max_gateways = 10 }");
    let trace = trace(
        &ws,
        "\"start\",\"end\"\n\
         \"2026-11-23T10:00:00+01:00\",\"2026-11-23T10:45:00+01:00\"\n\
         2026-11-23T10:10:00+01:00,2026-11-23T10:10:59+01:00\n\
         2026-11-23T10:20:00+01:00,2026-11-23T10:50:00+01:00\n",
    );
    let run = simulate(&config, &["--trace", &trace]).expect(0);
    assert_eq!(service(&run), (2, 2, 0, 0));
    let json = run.json();
    assert_eq!(json["dropped"], 1);
    assert_eq!(json["peak_calls"], 2);
    // 45 + 30 call-minutes at 4 vCPUs per gateway.
    assert_eq!(json["lower_bound_vcpu_hours"], 5.0);
    assert_eq!(json["from"], "2026-11-23T00:00:00Z");
}

#[test]
fn a_bad_trace_line_is_named_and_exits_64() {
    let ws = Workspace::new();
    let config = config(&ws, "{ idle_min = 1, load_max = 1.0, max_gateways = 10 }");
    let trace = trace(
        &ws,
        "start,end\n\
         2026-11-23T09:00:00Z,2026-11-23T09:30:00Z\n\
         2026-11-23T09:00:00Z;2026-11-23T09:30:00Z\n",
    );
    let run = scaler(&["-c", &config, "simulate", "--trace", &trace]).expect(64);
    assert!(
        run.stderr
            .contains(&format!("{trace}:3: expected two fields")),
        "{}",
        run.stderr
    );
    let run = simulate(&config, &["--trace", &trace]).expect(64);
    assert_eq!(run.json()["exit_code"], 64);

    let missing = ws.path("missing.csv");
    let run = scaler(&["-c", &config, "simulate", "--trace"])
        .expect(64)
        .stderr;
    assert!(run.contains("--trace"), "{run}");
    let run = scaler(&[
        "-c",
        &config,
        "simulate",
        "--trace",
        &missing.to_string_lossy(),
    ])
    .expect(64);
    assert!(
        run.stderr.contains("cannot read trace") && run.stderr.contains("missing.csv"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_missing_configuration_exits_78() {
    let ws = Workspace::new();
    let trace = trace(&ws, "2026-11-23T09:00:00Z,2026-11-23T09:30:00Z\n");
    let missing = ws.path("nope.toml");
    scaler(&[
        "-c",
        &missing.to_string_lossy(),
        "simulate",
        "--trace",
        &trace,
    ])
    .expect(78);
}

#[test]
fn generating_a_trace_is_deterministic_and_replayable() {
    let ws = Workspace::new();
    let write = |name: &str, seed: &str| -> PathBuf {
        let path = ws.path(name);
        let run = scaler(&[
            "--format",
            "json",
            "simulate",
            "--generate-trace",
            &path.to_string_lossy(),
            "--date",
            "2026-11-23",
            "--calls",
            "3500",
            "--seed",
            seed,
            "--timezone",
            "Europe/Paris",
        ])
        .expect(0);
        // A typical day of 3,500 calls: this day's volume is within ±30 %.
        let calls = run.json()["calls"].as_u64().unwrap();
        assert!((2_450..=4_550).contains(&calls), "{calls}");
        let lines = std::fs::read_to_string(&path).unwrap().lines().count() as u64;
        assert_eq!(lines, calls + 1, "a header and one line per call");
        path
    };
    let a = std::fs::read_to_string(write("a.csv", "1")).unwrap();
    let b = std::fs::read_to_string(write("b.csv", "1")).unwrap();
    let c = std::fs::read_to_string(write("c.csv", "2")).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
    // The shipped trace is this very command's output.
    assert!(
        a == std::fs::read_to_string(repo(TRACE)).unwrap(),
        "{TRACE} is not this command's output: regenerate it (README, Simulation)"
    );
}

#[test]
fn the_svg_chart_is_written() {
    let ws = Workspace::new();
    let svg = ws.path("day.svg");
    let run = simulate(
        &repo("examples/sip.toml"),
        &["--trace", &repo(TRACE), "--svg", &svg.to_string_lossy()],
    )
    .expect(0);
    assert_eq!(run.json()["svg"], svg.to_string_lossy().as_ref());
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg") && text.contains("cumulative cost"));
    // The slot's max_gateways (400 by day in sip.toml) is drawn and named.
    assert!(
        text.contains("max_gateways of the slot"),
        "no max_gateways legend"
    );
}

#[test]
fn a_trace_with_skewed_and_repeated_lines_replays() {
    let ws = Workspace::new();
    let config = config(&ws, "{ idle_min = 2, load_max = 1.0, max_gateways = 10 }");
    // Two clocks: lines 3 and 5 end 1 and 2 s before they start; line 4
    // repeats line 2 (with other quoting).
    let trace = trace(
        &ws,
        "start,end\r\n\
         2026-11-23T10:00:00Z,2026-11-23T10:45:00Z\r\n\
         2026-11-23T10:05:01Z,2026-11-23T10:05:00Z\r\n\
         \"2026-11-23T10:00:00Z\",\"2026-11-23T10:45:00Z\"\r\n\
         2026-11-23T10:20:02Z,2026-11-23T10:20:00Z\r\n\
         2026-11-23T10:30:00Z,2026-11-23T11:00:00Z\r\n",
    );
    let run = simulate(&config, &["--trace", &trace]).expect(0);
    assert_eq!(service(&run), (2, 2, 0, 0));
    let json = run.json();
    assert_eq!(json["dropped"], 2, "skewed calls are zero-length: {json}");
    assert_eq!(json["skewed_lines"], 2);
    assert_eq!(json["duplicate_lines"], 1);
    assert_eq!(json["skipped_lines"], 0);
    let notes = json["notes"].to_string();
    assert!(notes.contains("line 3 (end 1 s before start)"), "{notes}");
    assert!(notes.contains("line 4 (repeats line 2)"), "{notes}");
    let text = scaler(&["-c", &config, "simulate", "--trace", &trace]).expect(0);
    assert!(
        text.stdout.contains("note: trace") && text.stdout.contains("2 call(s) end up to 60 s"),
        "{}",
        text.stdout
    );
    // More than a minute early is no clock skew: the trace is refused.
    let bad = ws.path("bad.csv");
    std::fs::write(&bad, "2026-11-23T10:05:00Z,2026-11-23T10:03:59Z\n").unwrap();
    let run = scaler(&["-c", &config, "simulate", "--trace", &bad.to_string_lossy()]).expect(64);
    assert!(run.stderr.contains("bad.csv:1: end"), "{}", run.stderr);
}

#[test]
fn skip_bad_lines_tolerates_one_percent() {
    let ws = Workspace::new();
    let config = config(&ws, "{ idle_min = 2, load_max = 1.0, max_gateways = 200 }");
    let mut text = String::from("start,end\n");
    for minute in 0..99 {
        text += &format!(
            "2026-11-23T10:{:02}:00Z,2026-11-23T11:30:00Z\n",
            minute % 60
        );
        if minute == 40 {
            text += "2026-11-23T10:40:00Z;2026-11-23T11:30:00Z\n"; // line 43
        }
    }
    let trace = trace(&ws, &text);
    // Without the flag: refused, naming the line.
    let run = scaler(&["-c", &config, "simulate", "--trace", &trace]).expect(64);
    assert!(
        run.stderr.contains(&format!("{trace}:43:")),
        "{}",
        run.stderr
    );
    // 1 bad line of 100: skipped, counted and named.
    let run = simulate(&config, &["--trace", &trace, "--skip-bad-lines"]).expect(0);
    let json = run.json();
    assert_eq!(json["skipped_lines"], 1, "{json}");
    assert!(json["notes"].to_string().contains("line 43"), "{json}");
    // 2 bad lines of 101: more than 1 %, still exit 64 naming both.
    std::fs::write(&trace, text + "garbage\n").unwrap();
    let run = scaler(&[
        "-c",
        &config,
        "simulate",
        "--trace",
        &trace,
        "--skip-bad-lines",
    ])
    .expect(64);
    assert!(
        run.stderr.contains("2 bad line(s) of 101")
            && run.stderr.contains(&format!("{trace}:43:"))
            && run.stderr.contains(&format!("{trace}:102:")),
        "{}",
        run.stderr
    );
}

#[test]
fn a_trace_spanning_centuries_is_refused_unless_bounded() {
    let ws = Workspace::new();
    let config = config(&ws, "{ idle_min = 1, load_max = 1.0, max_gateways = 10 }");
    let trace = trace(&ws, "2026-11-23T09:00:00Z,2226-11-23T09:00:00Z\n");
    let run = scaler(&["-c", &config, "simulate", "--trace", &trace]).expect(64);
    assert!(
        run.stderr.contains("at most 31 days") && run.stderr.contains("--from and --to"),
        "{}",
        run.stderr
    );
    let run = scaler(&[
        "-c",
        &config,
        "simulate",
        "--trace",
        &trace,
        "--from",
        "2026-11-23T00:00:00Z",
        "--to",
        "2027-01-01T00:00:00Z",
    ])
    .expect(64);
    assert!(run.stderr.contains("39 days"), "{}", run.stderr);
    // Bounded to a day, the same call replays: served after the first boot.
    let run = simulate(
        &config,
        &[
            "--trace",
            &trace,
            "--from",
            "2026-11-23T00:00:00Z",
            "--to",
            "2026-11-24T00:00:00Z",
        ],
    )
    .expect(0);
    assert_eq!(service(&run), (1, 1, 0, 0));
    assert_eq!(run.json()["to"], "2026-11-24T00:00:00Z");
}

#[test]
fn shares_of_calls_are_reported_and_many_misses_warn() {
    let ws = Workspace::new();
    // One gateway at most: of 3 simultaneous calls, 2 are missed.
    let config = config(&ws, "{ idle_min = 1, load_max = 1.0, max_gateways = 1 }");
    let trace = trace(
        &ws,
        "2026-11-23T09:00:00Z,2026-11-23T12:00:00Z\n\
         2026-11-23T09:00:10Z,2026-11-23T12:00:00Z\n\
         2026-11-23T09:00:20Z,2026-11-23T12:00:00Z\n",
    );
    let run = simulate(&config, &["--trace", &trace]).expect(0);
    let json = run.json();
    let (calls, served, rejected, missed) = service(&run);
    assert_eq!((calls, served, missed), (3, 1, 2));
    assert_eq!(json["missed_share"], 0.666667);
    assert_eq!(
        json["rejected_share"].as_f64().unwrap(),
        (rejected as f64 / 3.0 * 1e6).round() / 1e6
    );
    let warnings = json["warnings"].to_string();
    assert!(warnings.contains("66.67 % of calls were missed"), "{json}");
    let text = scaler(&["-c", &config, "simulate", "--trace", &trace])
        .expect(0)
        .stdout;
    assert!(text.contains("2 missed (66.67 % of calls)"), "{text}");
    assert!(
        text.contains("warning   66.67 % of calls were missed"),
        "{text}"
    );
    // A pool that serves every call: shares of 0 and no warning.
    let roomy = ws.path("roomy.toml");
    std::fs::write(
        &roomy,
        std::fs::read_to_string(&config).unwrap().replace(
            "idle_min = 1, load_max = 1.0, max_gateways = 1 }",
            "idle_min = 3, load_max = 1.0, max_gateways = 10 }",
        ),
    )
    .unwrap();
    let json = simulate(
        &roomy.to_string_lossy(),
        &["--trace", &trace, "--from", "2026-11-23T08:00:00Z"],
    )
    .expect(0)
    .json();
    assert_eq!(json["missed_share"], 0.0, "{json}");
    assert!(json.get("warnings").is_none(), "{json}");
}

#[test]
fn the_simulation_example_configurations_are_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/simulate");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("examples/simulate/")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "{files:?}");
    for file in files {
        let run = simulate(&file.to_string_lossy(), &["--trace", &repo(TRACE)]).expect(0);
        let (calls, served, _, missed) = service(&run);
        assert_eq!(served + missed, calls, "{}", file.display());
    }
}

#[test]
fn flavors_read_at_run_time_cannot_be_simulated() {
    // examples/openstack.toml names flavors whose vCPUs only Nova knows.
    let run = scaler(&[
        "-c",
        &repo("examples/openstack.toml"),
        "simulate",
        "--trace",
        &repo(TRACE),
    ])
    .expect(78);
    assert!(
        run.stderr
            .contains("simulate sizes instances from provider.instance_types"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_create_brake_is_simulated_a_burst_turns_more_calls_away_with_one_creation_a_pass() {
    // 200 people join in the minute at 09:05 (calls of 35 to 38 minutes,
    // no two lines alike); the 09:00 slot asks for 200
    // idle gateways: 100 c8 instances to create at 09:00.
    let ws = Workspace::new();
    let slots = "{ idle_min = 1, load_max = 1.0, max_gateways = 400 }\n\
                 \"09:00\" = { idle_min = 200, load_max = 1.0, max_gateways = 400 }";
    let base = std::fs::read_to_string(config(&ws, slots)).unwrap();
    let mut text = String::from("start,end\n");
    for n in 0..200 {
        let (second, minute) = (n % 60, 40 + n / 60);
        let _ = writeln!(
            text,
            "2026-11-23T09:05:{second:02}Z,2026-11-23T09:{minute}:{second:02}Z"
        );
    }
    let trace = trace(&ws, &text);
    let run = |cap: u32| {
        let limits = format!("[limits]\nmax_create_per_run = {cap}\n");
        let config = ws.config(&base.replace("[limits]\n", &limits));
        let args = [
            "--trace",
            trace.as_str(),
            "--from",
            "2026-11-23T08:50:00Z",
            "--boot-jitter",
            "0s",
        ];
        let run = simulate(&config, &args).expect(0);
        let json = run.json();
        (service(&run), json["created"].as_u64().unwrap())
    };
    let ((calls, served, rejected, missed), created) = run(100);
    assert_eq!((calls, served, rejected, missed), (200, 200, 0, 0));
    assert!(created >= 100, "{created}");
    let ((_, served1, rejected1, missed1), _) = run(1);
    assert!(
        rejected1 > rejected,
        "{rejected1} rejected with one creation a pass"
    );
    assert!(
        missed1 > 0 && served1 < served,
        "{served1} served, {missed1} missed"
    );
}

/// `sqrt_headroom` through the same planner: on the generated day, the
/// square-root term keeps more gateways (more vCPU-hours) and turns away no
/// more calls than the same slot without it.
#[test]
fn sqrt_headroom_pays_more_and_rejects_no_more_on_a_generated_day() {
    let ws = Workspace::new();
    let replay = |slot: &str| {
        let config = config(&ws, slot);
        let run = simulate(&config, &["--trace", &repo(TRACE), "--seed", "7"]).expect(0);
        let json = run.json();
        let (_, _, rejected, _) = service(&run);
        (json["vcpu_hours"].as_f64().unwrap(), rejected)
    };
    let (plain_hours, plain_rejected) =
        replay("{ idle_min = 2, load_max = 1.0, max_gateways = 400 }");
    let (sqrt_hours, sqrt_rejected) =
        replay("{ idle_min = 2, load_max = 1.0, max_gateways = 400, sqrt_headroom = 1.5 }");
    assert!(
        sqrt_hours > plain_hours,
        "{sqrt_hours} vCPU-hours with the √ term, {plain_hours} without"
    );
    assert!(
        sqrt_rejected <= plain_rejected,
        "{sqrt_rejected} rejected with the √ term, {plain_rejected} without"
    );
}
