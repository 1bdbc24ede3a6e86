//! Date exceptions and the vCPU budget through the real binary: `plan --at`
//! names the exception that chose the timeline, and `pool.max_vcpus` holds a
//! scale-up back without failing the pass.

mod common;

use common::*;

#[test]
fn plan_at_shows_the_date_exception() {
    let ws = Workspace::new();
    let db = Kamailio::new("dates");
    let config = sip_config(
        &ws,
        &db,
        "dates",
        "{ idle_min = 6, load_max = 0.8, max_gateways = 40 }",
        "",
    );
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "[schedule.default]",
        "[schedule.dates]\n\"2026-12-25\" = \"holiday\"\n\n[schedule.holiday]\n\"00:00\" = { idle_min = 1, load_max = 1.0, max_gateways = 4 }\n\n[schedule.default]",
    );
    let config = ws.config(&text);
    let run = scaler(&[
        "-c",
        &config,
        "--format",
        "json",
        "plan",
        "--at",
        "2026-12-25T10:00:00+01:00",
    ])
    .expect(0);
    let json = run.json();
    assert_eq!(json["slot"]["timeline"], "holiday");
    assert_eq!(json["slot"]["exception"], "2026-12-25");
    assert_eq!(json["decision"]["target"], 1);
    let run = scaler(&["-c", &config, "plan", "--at", "2026-12-25T10:00:00+01:00"]).expect(0);
    assert!(run.stdout.contains("date 2026-12-25"), "{}", run.stdout);
    let run = scaler(&[
        "-c",
        &config,
        "--format",
        "json",
        "plan",
        "--at",
        "2026-12-24T10:00:00+01:00",
    ])
    .expect(0);
    let json = run.json();
    assert_eq!(json["slot"]["timeline"], "default");
    assert!(json["slot"].get("exception").is_none());
}

#[test]
fn max_vcpus_holds_back_a_scale_up_without_failing() {
    let ws = Workspace::new();
    let db = Kamailio::new("budget");
    let config = sip_config(
        &ws,
        &db,
        "budget",
        "{ idle_min = 5, load_max = 0.8, max_gateways = 40 }",
        "max_vcpus = 8",
    );
    let run = scaler(&["-c", &config, "--format", "json", "run"]).expect(0);
    let json = run.json();
    assert_eq!(json["decision"]["delta"], 5);
    let reason = json["decision"]["reason"].as_str().unwrap();
    assert!(reason.contains("pool.max_vcpus (8) holds back"), "{reason}");
    let vcpus: u64 = json["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["vcpus"].as_u64().unwrap())
        .sum();
    assert!(vcpus <= 8, "{json}");
    // The next pass: the budget is used up, nothing more is created.
    let run = scaler(&["-c", &config, "--format", "json", "run"]).expect(0);
    assert!(run.actions().is_empty(), "{:?}", run.actions());
}
