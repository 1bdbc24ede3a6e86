//! The crash-loop backoff through the real binary (MariaDB with Kamailio's
//! schema, the `local` provider): instances that never register suspend
//! creation after three in a row, every pass then exits 3 and says why, an
//! expired backoff lets one trial instance through and a lost trial doubles
//! it, and a registration or `scaler resume` clears it. Time moves by
//! editing the cloud's creation times and the state file, never by waiting.

mod common;

use common::*;
use scaler::provider::InstanceState;
use scaler::provider::local::write_state;
use serde_json::{Value, json};

/// One gateway wanted when idle_min is 1, three when it is 3.
fn slot(idle_min: u32) -> String {
    format!("{{ idle_min = {idle_min}, load_max = 1.0, max_gateways = 10 }}")
}

/// The state file as JSON (`Null` when there is none).
fn state(ws: &Workspace) -> Value {
    std::fs::read_to_string(ws.path("state.json"))
        .map(|text| serde_json::from_str(&text).unwrap())
        .unwrap_or(Value::Null)
}

/// Makes every instance of the local cloud `minutes` older, and active.
fn age(ws: &Workspace, minutes: i64) {
    let mut cloud = ws.cloud();
    for instance in &mut cloud.instances {
        instance.created_at -= chrono::Duration::minutes(minutes);
        instance.state = InstanceState::Active;
    }
    write_state(&ws.cloud_file(), &cloud).unwrap();
}

fn kinds(report: &Value) -> Vec<String> {
    report["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            format!(
                "{} {}",
                a["kind"].as_str().unwrap(),
                a["reason"].as_str().unwrap()
            )
        })
        .collect()
}

fn text(value: &Value) -> String {
    value.to_string()
}

#[test]
fn three_instances_lost_without_registering_suspend_creation_until_one_registers() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("loop_reg");
    let config = sip_config(&ws, &db, "loop", &slot(1), "");
    for n in 1..=3 {
        ws.add_instance(
            "loop",
            &format!("127.0.1.{n}"),
            InstanceState::Active,
            30,
            4,
        );
    }
    // Without the backoff this pass would create the gateway it lacks and exit 0.
    let report = run(&config, 3);
    assert_eq!(kinds(&report), ["destroy unregistered"; 3]);
    let reason = report["decision"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("but creation is suspended after 3 instance(s) lost"),
        "{reason}"
    );
    assert_eq!(report["held_back"], json!(["limits.crash_loop_after"]));
    let errors = errors(&report).join("\n");
    assert!(errors.contains("creation is suspended since"), "{errors}");
    assert!(errors.contains("`scaler resume` lifts it"), "{errors}");
    assert_eq!(report["crash_loop"]["lost"], 3);
    assert_eq!(report["crash_loop"]["suspension"]["backoff_seconds"], 600);
    let kept = state(&ws);
    assert_eq!(kept["schema_version"], 4);
    assert_eq!(kept["crash_loop"]["lost"], 3);

    // The next passes (and a plan) create nothing and exit 3 too.
    let report = run(&config, 3);
    assert!(kinds(&report).is_empty(), "{report}");
    scaler(&["-c", &config, "plan"]).expect(3);
    let again = state(&ws)["crash_loop"].clone();
    assert_eq!(again["suspension"], kept["crash_loop"]["suspension"]);
    assert_eq!(again["lost"], 3);

    // A new instance registers (the image was fixed): creation resumes.
    ws.add_instance("loop", "127.0.1.9", InstanceState::Active, 2, 8);
    db.register("127.0.1.9", 0, false, false);
    let report = run(&config, 0);
    let notes = text(&report["notes"]);
    assert!(
        notes.contains("registered a gateway: creation resumes"),
        "{notes}"
    );
    assert!(report.get("crash_loop").is_none(), "{report}");
    assert!(state(&ws).get("crash_loop").is_none(), "{}", state(&ws));
}

/// A state file whose suspension of creation ended a minute ago.
fn expired_suspension(ws: &Workspace) {
    let now = chrono::Utc::now();
    let at = |minutes: i64| (now - chrono::Duration::minutes(minutes)).to_rfc3339();
    let file = json!({
        "schema_version": 4,
        "pool": "loop",
        "started_at": at(120),
        "crash_loop": {
            "lost": 3,
            "since": at(60),
            "suspension": {"since": at(11), "until": at(1), "backoff_seconds": 600}
        }
    });
    std::fs::write(ws.path("state.json"), file.to_string()).unwrap();
}

#[test]
fn an_expired_backoff_lets_one_trial_through_and_a_lost_trial_doubles_it() {
    let ws = Workspace::new();
    let db = Kamailio::new("loop_trial");
    let config = sip_config(&ws, &db, "loop", &slot(3), "");
    expired_suspension(&ws);

    // Three gateways wanted: one trial instance, and still exit 3.
    let report = run(&config, 3);
    assert_eq!(kinds(&report), ["create scale_up"]);
    let reason = report["decision"]["reason"].as_str().unwrap();
    assert!(
        reason.ends_with(": 1 trial instance, 1 creation(s) held back"),
        "{reason}"
    );
    let trial = state(&ws)["crash_loop"]["suspension"]["trial_since"].clone();
    assert!(trial.is_string(), "{}", state(&ws));

    // While it boots, nothing more.
    let report = run(&config, 3);
    assert!(kinds(&report).is_empty(), "{report}");
    assert!(
        errors(&report)
            .join("\n")
            .contains("waiting for the trial instance")
    );

    // It never registers: destroyed as unregistered, the backoff doubles.
    age(&ws, 30);
    let report = run(&config, 3);
    assert_eq!(kinds(&report), ["destroy unregistered"]);
    let kept = state(&ws)["crash_loop"].clone();
    assert_eq!(kept["lost"], 4);
    assert_eq!(kept["suspension"]["backoff_seconds"], 1_200);
    assert!(kept["suspension"].get("trial_since").is_none(), "{kept}");
    assert!(text(&report["notes"]).contains("creation is suspended for 20m"));
    assert!(ws.instance_ids("loop").is_empty());
}

#[test]
fn resume_clears_the_suspension_says_what_it_cleared_and_is_idempotent() {
    let ws = Workspace::new();
    let db = Kamailio::new("loop_resume");
    let config = sip_config(&ws, &db, "loop", &slot(1), "");
    expired_suspension(&ws);
    let resume = || scaler(&["-c", &config, "--format", "json", "resume"]);

    let report = resume().expect(0).json();
    assert_eq!(report["command"], "resume");
    let notes = text(&report["notes"]);
    assert!(
        notes.contains("creation resumed: cleared the suspension of creation since")
            && notes.contains("(backoff 10m, until")
            && notes.contains("after 3 instance(s) lost in a row without registering"),
        "{notes}"
    );
    assert_eq!(report["crash_loop"]["lost"], 3);
    assert!(state(&ws).get("crash_loop").is_none(), "{}", state(&ws));
    let before = std::fs::read_to_string(ws.path("state.json")).unwrap();

    // Again: nothing to clear, nothing written.
    let report = resume().expect(0).json();
    assert!(report.get("crash_loop").is_none(), "{report}");
    assert!(text(&report["notes"]).contains("nothing to resume"));
    assert_eq!(
        std::fs::read_to_string(ws.path("state.json")).unwrap(),
        before
    );
    let line = scaler(&["-c", &config, "resume"]).expect(0).stdout;
    assert!(line.starts_with("loop resume: nothing to resume"), "{line}");

    // Creation runs again at once.
    assert_eq!(kinds(&run(&config, 0)), ["create scale_up"]);

    // A state file it cannot read is a configuration error, left as it is.
    std::fs::write(ws.path("state.json"), "{ not json").unwrap();
    let run = scaler(&["-c", &config, "resume"]).expect(78);
    assert!(run.stderr.contains("state.json"), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(ws.path("state.json")).unwrap(),
        "{ not json"
    );
}
