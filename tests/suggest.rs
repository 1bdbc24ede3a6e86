//! `scaler schedule suggest` as users run it: on the shipped trace with the
//! example configuration, the suggestion pasted into that configuration
//! passes `check --offline`, keeps its limits when `simulate` replays the
//! training trace, its `idle_min` search costs no more vCPU-hours than the
//! hand-written schedule, `load_max` is searched per slot, the validation
//! picks the cheapest held-out headroom (square-root headroom among the
//! candidates), and it comes out the same for the same seed (in text, and in the `toml`
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
    assert!(by_hand["missed"].as_u64().expect("missed") > 0, "{by_hand}");
    let ours = suggested["vcpu_hours"].as_f64().expect("vcpu_hours");
    // The idle_min search alone costs less than the hand schedule; the
    // per-slot load_max search (used with --margin) pays some of that back
    // for proportional headroom.
    let header = |prefix: &str| -> f64 {
        let line = schedule
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("{prefix} in\n{schedule}"));
        let figures = line.split_once("): ").map_or(line, |(_, f)| f);
        figures
            .split(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .expect("vCPU-hours")
    };
    let idle_search = header("# Searched (");
    assert!(
        idle_search <= by_hand["vcpu_hours"].as_f64().expect("vcpu_hours"),
        "the idle_min search {idle_search} vCPU-hours, by hand {by_hand}"
    );
    // The header's replays of the training day are the ones `simulate` makes.
    assert_eq!(
        header("# Then load_max per slot"),
        (ours * 10.0).round() / 10.0
    );
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
    assert!(text.contains("\n# Used "), "{text}");
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

/// The learned slots of `timeline` in a suggestion: `(idle_min, load_max)`.
fn learned_slots(text: &str, timeline: &str) -> Vec<(u64, f64)> {
    let parsed: toml::Table = text.parse().expect("the suggestion parses as TOML");
    let slots = parsed["schedule"][timeline]
        .as_table()
        .expect("a learned timeline");
    slots
        .values()
        .map(|slot| {
            (
                slot["idle_min"].as_integer().expect("idle_min") as u64,
                slot["load_max"].as_float().expect("load_max, a float"),
            )
        })
        .collect()
}

#[test]
fn load_max_is_searched_per_slot_and_parses_back() {
    let ws = Workspace::new();
    // One day, margin 0: the searched schedule itself. The morning's ramps
    // need proportional headroom once idle_min is halved: their load_max is
    // below 1, each slot its own; quiet slots keep load_max 1.
    let run = suggest(&["--margin", "0"]).expect(0);
    let text = &run.stdout;
    let slots = learned_slots(text, "monday");
    let loads: std::collections::BTreeSet<u64> = slots
        .iter()
        .map(|(_, load)| (load * 100.0).round() as u64)
        .collect();
    assert!(
        loads.len() >= 3 && loads.contains(&100) && loads.iter().any(|l| *l < 100),
        "per-slot load_max values {loads:?} in\n{text}"
    );
    // Adjacent slots merge only when both values are equal.
    for pair in slots.windows(2) {
        assert_ne!(pair[0], pair[1], "unmerged equal neighbours in\n{text}");
    }
    assert!(
        text.contains("# Then load_max per slot (idle_min = ceil(searched x 0.5)): "),
        "{text}"
    );
    // Each slot's comment says what was searched.
    let comment = text
        .lines()
        .find(|l| l.starts_with("# 09:00-"))
        .expect("a 09:00 slot");
    assert!(
        comment.contains("(searched: idle_min ")
            && comment.contains(" with load_max 1, then load_max 0."),
        "{comment}"
    );
    let config = with_schedule(&ws, text);
    scaler(&["-q", "-c", &config, "check", "--offline"]).expect(0);
    // The training day replayed with it still misses nothing.
    assert_eq!(replay(&config)["missed"], 0);
}

/// The held-out lines of a suggestion's header: `(headroom, missed,
/// rejected share in %, ratio, used)`.
fn held_out(text: &str) -> Vec<(String, u64, f64, f64, bool)> {
    text.lines()
        .filter_map(|line| line.strip_prefix("#   "))
        .map(|line| {
            let (headroom, rest) = line.split_once(": ").expect("headroom: figures");
            let field = |after: &str, until: &str| -> String {
                let from = rest.find(after).expect(after) + after.len();
                rest[from..].split(until).next().expect(until).to_string()
            };
            let missed = field("calls, ", " missed").parse().expect("missed");
            let share = field("rejected (", " %").parse().expect("share");
            let ratio = field("ratio ", " ").trim().parse().expect("ratio");
            (
                headroom.to_string(),
                missed,
                share,
                ratio,
                line.ends_with("<- used"),
            )
        })
        .collect()
}

/// `schedule suggest` with one-hour slots on generated days of 800 calls
/// (seeds 1, 2, ... in date order): its output.
fn suggest_hourly(ws: &Workspace, dates: &[&str]) -> String {
    let seeds: Vec<String> = (1..=dates.len()).map(|s| s.to_string()).collect();
    let named: Vec<(&str, &str)> = dates
        .iter()
        .zip(&seeds)
        .map(|(d, s)| (*d, s.as_str()))
        .collect();
    let days = generated_days(ws, &named, "800");
    let example = repo(EXAMPLE);
    let mut args = vec!["-c", &example, "schedule", "suggest", "--granularity", "1h"];
    for day in &days {
        args.extend(["--trace", day.as_str()]);
    }
    scaler(&args).expect(0).stdout
}

#[test]
fn validation_picks_the_cheapest_held_out_headroom_among_all_candidates() {
    let ws = Workspace::new();
    let dates = ["2026-11-02", "2026-11-09", "2026-11-16"];
    let text = suggest_hourly(&ws, &dates);
    assert_eq!(
        suggest_hourly(&ws, &dates),
        text,
        "deterministic for a seed"
    );
    let held = held_out(&text);
    // Both searches' candidates are validated and printed.
    assert!(
        held.iter().any(|h| h.0 == "margin 0.5, load_max 0.83"),
        "{text}"
    );
    assert!(
        held.iter()
            .any(|h| h.0 == "per-slot load_max, margin 0.25, load_max x 0.95"),
        "{text}"
    );
    // Square-root headroom on both searches too.
    assert!(
        held.iter()
            .any(|h| h.0 == "margin -0.5, load_max 1, sqrt_headroom 2"),
        "{text}"
    );
    assert!(
        held.iter()
            .any(|h| h.0 == "per-slot load_max, margin 0, load_max x 1, sqrt_headroom 1"),
        "{text}"
    );
    let used: Vec<_> = held.iter().filter(|h| h.4).collect();
    assert_eq!(used.len(), 1, "{text}");
    // The used one serves the held-out days and none that serves is cheaper
    // (the same calls and lower bound: the ratio orders vCPU-hours).
    let serves = |h: &&(String, u64, f64, f64, bool)| h.1 == 0 && h.2 <= 0.2;
    let cheapest = held
        .iter()
        .filter(serves)
        .map(|h| h.3)
        .fold(f64::INFINITY, f64::min);
    assert!(serves(&used[0]), "{text}");
    assert_eq!(used[0].3, cheapest, "{text}");
    assert!(
        text.contains(&format!("\n# Used {}: the cheapest", used[0].0)),
        "{text}"
    );
    let config = with_schedule(&ws, &text);
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

/// Days of distinct weekdays: each held-out day follows a timeline learned
/// from the other days (pooled), not the configuration's, so the headroom
/// candidates replay differently and the choice is the validation's; the
/// suggestion is learned the same way, from all the days.
#[test]
fn held_out_days_of_distinct_weekdays_follow_the_pooled_timeline() {
    let ws = Workspace::new();
    let text = suggest_hourly(&ws, &["2026-11-02", "2026-11-03", "2026-11-04"]);
    let held = held_out(&text);
    let margin = |name: &str| {
        held.iter()
            .find(|h| h.0 == name)
            .map(|h| h.3)
            .unwrap_or_else(|| panic!("{name}: {text}"))
    };
    // A larger margin pays much more on the held-out days: they follow it
    // (not only their last minutes, past midnight, as without pooling).
    assert!(
        margin("margin 3, load_max 1") > margin("margin 0, load_max 1") + 0.1,
        "{text}"
    );
    // The configuration's own timelines cap the example at 400 gateways and
    // miss calls; the pooled timelines let some candidate serve the days.
    let used: Vec<_> = held.iter().filter(|h| h.4).collect();
    assert_eq!(used.len(), 1, "{text}");
    assert_eq!(used[0].1, 0, "{text}");
    // No weekday repeats: one timeline learned from the three days, the
    // same slots written for each weekday.
    assert!(
        text.contains("# No weekday has two days of calls: one timeline is learned from all the days and written for each of monday, tuesday, wednesday"),
        "{text}"
    );
    let monday = learned_slots(&text, "monday");
    assert!(!monday.is_empty(), "{text}");
    assert_eq!(learned_slots(&text, "tuesday"), monday, "{text}");
    assert_eq!(learned_slots(&text, "wednesday"), monday, "{text}");
    let config = with_schedule(&ws, &text);
    scaler(&["-q", "-c", &config, "check", "--offline"]).expect(0);
}
