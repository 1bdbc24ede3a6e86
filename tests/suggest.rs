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
    // The shipped trace is one Monday: a `monday` timeline, explained; the
    // configuration's other timelines are kept for the days absent.
    assert!(schedule.contains("[schedule.monday]\n"), "{schedule}");
    assert!(
        schedule.contains("[schedule.default]    # kept from the configuration\n"),
        "{schedule}"
    );
    assert!(
        schedule.contains("One day: no leave-one-day-out validation; margin 0 (--margin)"),
        "{schedule}"
    );
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

/// Generates `(date, seed)` days of `calls` calls into the workspace.
fn generated_days(ws: &Workspace, days: &[(&str, &str)], calls: &str) -> Vec<String> {
    days.iter()
        .map(|(date, seed)| {
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
                calls,
                "--seed",
                seed,
                "--timezone",
                "Europe/Paris",
            ])
            .expect(0);
            path
        })
        .collect()
}

#[test]
fn margin_by_leave_one_day_out_and_absent_days_keep_the_configuration() {
    let ws = Workspace::new();
    let days = generated_days(&ws, &[("2026-11-23", "3"), ("2026-11-30", "5")], "400");
    let example = repo(EXAMPLE);
    let run = scaler(&[
        "-c",
        &example,
        "schedule",
        "suggest",
        "--trace",
        &days[0],
        "--trace",
        &days[1],
        "--granularity",
        "2h",
    ])
    .expect(0);
    let text = &run.stdout;
    assert!(
        text.contains("# Leave-one-day-out validation (each day replayed with the schedule learned on the others):\n#   margin 0, load_max 1: "),
        "{text}"
    );
    assert_eq!(text.matches("  <- used\n").count(), 1, "{text}");
    assert!(text.contains("\n# Used margin "), "{text}");
    // Two Mondays: `monday` is learned; the example's other timelines are
    // copied as they are (Tuesday to Friday keep the example's default).
    assert!(text.contains("[schedule.monday]\n"), "{text}");
    assert!(
        text.contains("Days absent from the traces keep the configuration's timelines: default, saturday, sunday"),
        "{text}"
    );
    assert!(
        text.contains("[schedule.default]    # kept from the configuration\n\"00:00\" = { idle_min = 1, load_max = 0.9, max_gateways = 40, min_gateways = 0 }\n\"07:00\" = { idle_min = 8, load_max = 0.75, max_gateways = 400, min_gateways = 4 }\n"),
        "{text}"
    );
    let config = with_schedule(&ws, text);
    scaler(&["-q", "-c", &config, "check", "--offline"]).expect(0);
}

#[test]
fn one_timeline_per_weekday_present_and_the_configuration_s_for_the_others() {
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
    // The weekdays absent keep the configuration's timelines.
    let kept = "    # kept from the configuration\n";
    let default = text
        .find(&format!("[schedule.default]{kept}"))
        .expect("default");
    let sunday = text
        .find(&format!("[schedule.sunday]{kept}"))
        .expect("sunday");
    assert!(
        monday < saturday && saturday < default && default < sunday,
        "{text}"
    );
    assert!(text.contains("from 2 day(s) of calls"), "{text}");
    let config = with_schedule(&ws, text);
    scaler(&["-q", "-c", &config, "check", "--offline"]).expect(0);
}

/// A kept timeline keeps its `sqrt_headroom`; the slots without one are
/// written as before.
#[test]
fn a_kept_timeline_keeps_its_sqrt_headroom() {
    let ws = Workspace::new();
    let config = with_schedule(
        &ws,
        "[schedule]\ntimezone = \"Europe/Paris\"\n[schedule.default]\n\"00:00\" = { idle_min = 1, load_max = 0.9, max_gateways = 40 }\n\"07:00\" = { idle_min = 8, load_max = 0.75, max_gateways = 400, min_gateways = 4, sqrt_headroom = 1.5 }\n",
    );
    let run = scaler(&[
        "-c",
        &config,
        "schedule",
        "suggest",
        "--trace",
        &repo(TRACE),
        "--max-missed",
        "0",
        "--margin",
        "0",
    ])
    .expect(0);
    let text = &run.stdout;
    assert!(
        text.contains("[schedule.default]    # kept from the configuration\n\"00:00\" = { idle_min = 1, load_max = 0.9, max_gateways = 40, min_gateways = 0 }\n\"07:00\" = { idle_min = 8, load_max = 0.75, max_gateways = 400, min_gateways = 4, sqrt_headroom = 1.5 }\n"),
        "{text}"
    );
    let suggested = with_schedule(&ws, text);
    scaler(&["-q", "-c", &suggested, "check", "--offline"]).expect(0);
}
