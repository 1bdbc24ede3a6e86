//! `scaler schedule suggest` as users run it: on the shipped trace with the
//! example configuration, the suggestion pasted into that configuration
//! passes `check --offline`, keeps its limits when `simulate` replays the
//! training trace, costs no more vCPU-hours than the hand-written schedule,
//! and comes out the same for the same seed (in text, and in the `toml`
//! field of the JSON report); bad flags exit 64.

mod common;

use common::*;
use std::path::Path;

fn repo(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(path)
        .to_string_lossy()
        .into_owned()
}

const TRACE: &str = "examples/trace-workday.csv";
const EXAMPLE: &str = "examples/sip.toml";

/// The example configuration with its `[schedule]` (and subtables) replaced.
fn with_schedule(ws: &Workspace, schedule: &str) -> String {
    let example = std::fs::read_to_string(repo(EXAMPLE)).expect("example readable");
    let mut skip = false;
    let mut text = String::new();
    for line in example.lines() {
        if line.starts_with('[') {
            skip = line.starts_with("[schedule]") || line.starts_with("[schedule.");
        }
        if !skip {
            text.push_str(line);
            text.push('\n');
        }
    }
    text.push_str(schedule);
    ws.config(&text)
}

fn suggest(args: &[&str]) -> Run {
    let (example, trace) = (repo(EXAMPLE), repo(TRACE));
    let mut all = vec!["-c", &example, "schedule", "suggest", "--trace", &trace];
    all.extend_from_slice(args);
    scaler(&all)
}

fn replay(config: &str) -> serde_json::Value {
    scaler(&[
        "-c",
        config,
        "--format",
        "json",
        "simulate",
        "--trace",
        &repo(TRACE),
    ])
    .expect(0)
    .json()
}

#[test]
fn suggestion_is_valid_keeps_its_limits_and_costs_less_than_the_example() {
    let ws = Workspace::new();
    // Margin 0: the searched schedule itself, on the day it was learned from.
    let run = suggest(&["--max-missed", "0", "--margin", "0"]).expect(0);
    let schedule = &run.stdout;
    assert!(schedule.contains("[schedule]\ntimezone = \"Europe/Paris\""));
    // The shipped trace is one Monday: one `default` timeline, explained.
    assert!(schedule.contains("[schedule.default]\n"), "{schedule}");
    assert!(schedule.contains("largest burst: "), "{schedule}");
    let config = with_schedule(&ws, schedule);
    scaler(&["-q", "-c", &config, "check", "--offline"]).expect(0);

    let suggested = replay(&config);
    assert_eq!(suggested["missed"], 0, "{suggested}");
    let by_hand = replay(&repo(EXAMPLE));
    let (ours, theirs) = (
        suggested["vcpu_hours"].as_f64().expect("vcpu_hours"),
        by_hand["vcpu_hours"].as_f64().expect("vcpu_hours"),
    );
    assert!(
        ours <= theirs,
        "suggested {ours} vCPU-hours, by hand {theirs}"
    );
    // The header's replay of the training day is the one `simulate` makes.
    assert!(
        schedule.contains(&format!("{:.1} vCPU-hours", ours)),
        "{ours} not in the header of\n{schedule}"
    );
}

#[test]
fn same_seed_same_schedule_and_limits_on_rejections_hold() {
    let ws = Workspace::new();
    // The pool starts empty at midnight: the first calls cannot all be served.
    let args = [
        "--max-rejected",
        "40",
        "--seed",
        "7",
        "--granularity",
        "30m",
    ];
    let first = suggest(&args).expect(0);
    let second = suggest(&args).expect(0);
    assert_eq!(first.stdout, second.stdout);
    // The JSON report holds the same TOML in a field.
    let json = suggest(&[&["--format", "json"], &args[..]].concat())
        .expect(0)
        .json();
    assert_eq!(json["schema_version"], 1, "{json}");
    assert_eq!(json["command"], "schedule suggest", "{json}");
    assert_eq!(json["exit_code"], 0, "{json}");
    assert_eq!(json["toml"].as_str(), Some(first.stdout.as_str()), "{json}");
    assert!(first.stdout.contains("\"00:00\" = "), "{}", first.stdout);
    assert!(!first.stdout.contains(":15\" = "), "30m slots only");
    let config = with_schedule(&ws, &first.stdout);
    let replayed = scaler(&[
        "-c",
        &config,
        "--format",
        "json",
        "simulate",
        "--trace",
        &repo(TRACE),
        "--seed",
        "7",
    ])
    .expect(0)
    .json();
    let rejected = replayed["rejected"].as_u64().expect("rejected");
    assert!(rejected <= 40, "{replayed}");
    assert_eq!(replayed["missed"], 0, "{replayed}");
}

#[test]
fn bad_flags_exit_64() {
    let run = suggest(&["--granularity", "7m"]).expect(64);
    assert!(run.stderr.contains("--granularity"), "{}", run.stderr);
    let run = suggest(&["--margin=-1"]).expect(64);
    assert!(run.stderr.contains("--margin"), "{}", run.stderr);
    let example = repo(EXAMPLE);
    let run = scaler(&[
        "-c",
        &example,
        "schedule",
        "suggest",
        "--trace",
        "/nonexistent/calls.csv",
    ])
    .expect(64);
    assert!(
        run.stderr.contains("/nonexistent/calls.csv"),
        "{}",
        run.stderr
    );
    scaler(&["-c", &example, "schedule", "suggest"]).expect(64);
}

#[test]
fn one_timeline_per_weekday_present_and_default_for_the_others() {
    let ws = Workspace::new();
    let mut args = vec![];
    for (date, seed) in [("2026-11-23", "3"), ("2026-11-28", "4")] {
        let path = ws
            .path(&format!("{date}.csv"))
            .to_string_lossy()
            .into_owned();
        scaler(&[
            "-q",
            "simulate",
            "--generate-trace",
            &path,
            "--date",
            date,
            "--calls",
            "600",
            "--seed",
            seed,
            "--timezone",
            "Europe/Paris",
        ])
        .expect(0);
        args.push(path);
    }
    let example = repo(EXAMPLE);
    let run = scaler(&[
        "-c",
        &example,
        "schedule",
        "suggest",
        "--trace",
        &args[0],
        "--trace",
        &args[1],
        "--granularity",
        "1h",
    ])
    .expect(0);
    let text = &run.stdout;
    let monday = text.find("[schedule.monday]\n").expect("monday");
    let saturday = text.find("[schedule.saturday]\n").expect("saturday");
    let default = text.find("[schedule.default]\n").expect("default");
    assert!(monday < saturday && saturday < default, "{text}");
    assert!(text.contains("from 2 day(s) of calls"), "{text}");
    let config = with_schedule(&ws, text);
    scaler(&["-q", "-c", &config, "check", "--offline"]).expect(0);
}
