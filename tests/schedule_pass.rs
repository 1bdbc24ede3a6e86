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

#[test]
fn scale_down_waits_for_scale_down_delay_across_passes() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("sddelay");
    ws.add_instance(
        "sddelay",
        "127.0.11.1",
        scaler::provider::InstanceState::Active,
        60,
        4,
    );
    ws.add_instance(
        "sddelay",
        "127.0.11.2",
        scaler::provider::InstanceState::Active,
        60,
        4,
    );
    db.register("127.0.11.1", 0, false, false);
    db.register("127.0.11.2", 0, false, false);
    let config = sip_config(
        &ws,
        &db,
        "sddelay",
        "{ idle_min = 1, load_max = 1.0, max_gateways = 40 }",
        "",
    );
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("scale_down_delay = \"0s\"", "scale_down_delay = \"5m\"");
    let config = ws.config(&text);

    // One gateway too many: the first pass starts the clock and drains nothing.
    let run = scaler(&["-c", &config, "--format", "json", "run"]).expect(0);
    let json = run.json();
    assert_eq!(json["decision"]["delta"], -1);
    assert!(run.actions().is_empty(), "{:?}", run.actions());
    assert!(
        json["notes"]
            .to_string()
            .contains("scale_down_delay (5m) holds back"),
        "{json}"
    );
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.path("state.json")).unwrap()).unwrap();
    let since = state["scale_down"]["above_target_since"]
        .as_str()
        .expect("the clock is kept in the state file")
        .to_string();

    // `plan` shows the same hold and writes nothing.
    let plan = scaler(&["-c", &config, "--format", "json", "plan"]).expect(0);
    assert!(plan.actions().is_empty());

    // Five minutes later (the clock moved back in the state file), it drains.
    let earlier = (chrono::Utc::now() - chrono::Duration::minutes(6)).to_rfc3339();
    let moved = std::fs::read_to_string(ws.path("state.json"))
        .unwrap()
        .replace(&since, &earlier);
    std::fs::write(ws.path("state.json"), moved).unwrap();
    let run = scaler(&["-c", &config, "--format", "json", "run"]).expect(0);
    assert_eq!(
        run.actions()
            .iter()
            .map(|(k, _, _)| k.as_str())
            .collect::<Vec<_>>(),
        ["drain", "destroy"]
    );
    assert_eq!(ws.instance_ids("sddelay").len(), 1);
    // At target now: the clock is cleared.
    scaler(&["-c", &config, "run"]).expect(0);
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.path("state.json")).unwrap()).unwrap();
    assert!(
        state["scale_down"]["above_target_since"].is_null(),
        "{state}"
    );
}
