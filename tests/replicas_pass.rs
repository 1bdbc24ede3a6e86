//! Replica pools and HTTP status probes, through the real binary: the
//! SimpleScaleVM in-depth example, termination requests, unknown and
//! malformed answers, and probes as a health signal for SIP pools. Every
//! status server listens on a 127.x address the test starts.

mod common;

use common::http::{Answer, free_port, serve, status};
use common::*;
use scaler::provider::InstanceState;

fn replicas_config(ws: &Workspace, pool: &str, port: u16, range: &str, extra: &str) -> String {
    ws.config(&format!(
        r#"[pool]
name = "{pool}"
kind = "replicas"
register_timeout = "5m"

[schedule.default]
"00:00" = {{ min_available = 6, max_replicas = 10 }}

[replicas]
replica_capacity = 3

[probe]
url = "http://{{ip}}:{port}/status"
timeout = "1s"
{extra}

[lock]
path = "pass.lock"

[provider]
kind = "local"
state_file = "cloud.json"
address_range = "{range}"
[provider.instance_types]
"b2-7" = 2
"#
    ))
}

#[test]
fn the_in_depth_example_creates_one_replica() {
    let ws = Workspace::new();
    let port = free_port("127.0.2.1");
    // #1 capacity 0; #2 asks for termination; #3 capacity 1; #4 never answers; #5 building.
    serve("127.0.2.1", port, status(false, 0));
    serve("127.0.2.2", port, status(true, 2));
    serve("127.0.2.3", port, status(false, 1));
    serve("127.0.2.4", port, Answer::Hang);
    let ids: Vec<String> = (1..=4)
        .map(|n| ws.add_instance("rep", &format!("127.0.2.{n}"), InstanceState::Active, 60, 2))
        .collect();
    let building = ws.add_instance("rep", "127.0.2.5", InstanceState::Building, 0, 2);
    let config = replicas_config(&ws, "rep", port, "127.0.2.0/24", "");

    let plan = scaler(&["-c", &config, "--format", "json", "plan"]).expect(0);
    let json = plan.json();
    assert_eq!(
        json["observed"]["replicas"]["available"], 4,
        "0 + 1 + 3: {json}"
    );
    assert_eq!(json["observed"]["replicas"]["unknown"], 1);
    assert_eq!(json["decision"]["target"], 6);
    assert_eq!(
        plan.actions(),
        [
            (
                "destroy".into(),
                "planned".into(),
                "termination_requested".into()
            ),
            ("create".into(), "planned".into(), "scale_up".into())
        ]
    );
    // The probe that failed is a warning: the pass exits 0.
    assert_eq!(json["errors"], serde_json::json!([]), "{json}");
    let warnings = json["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0]
            .as_str()
            .unwrap()
            .contains("no answer within the timeout"),
        "{warnings:?}"
    );
    the_text_speaks_of_resources_and_warns(&config);

    let run = scaler(&["-c", &config, "--format", "json", "run"]).expect(0);
    assert_eq!(run.json()["actions"][0]["instance"], ids[1].as_str());
    let left = ws.instance_ids("rep");
    assert_eq!(left.len(), 5, "one destroyed, one created: {left:?}");
    assert!(!left.contains(&ids[1]));
    assert!(left.contains(&ids[3]), "unknown is not dead");
    assert!(left.contains(&building));
}

/// The text of the in-depth example's plan: a summary in resources, and
/// the failed probe as a warning line (here and once on stderr).
fn the_text_speaks_of_resources_and_warns(config: &str) {
    let plan = scaler(&["-c", config, "plan"]).expect(0);
    let first = plan.stdout.lines().next().unwrap();
    assert!(
        first.starts_with(
            "rep plan: 4 resource(s) available (2 healthy, 1 building, 0 booting, 1 unknown replica(s)); 5 instance(s); target 6 (+2)"
        ),
        "{}",
        plan.stdout
    );
    assert!(
        !first.contains("busy") && !first.contains("idle"),
        "{first}"
    );
    let warning = plan
        .stdout
        .lines()
        .find(|l| l.starts_with("  warning: probe rep-"))
        .unwrap_or_else(|| panic!("{}", plan.stdout));
    assert!(
        warning.contains("no answer within the timeout"),
        "{warning}"
    );
    assert!(!plan.stdout.contains("error:"), "{}", plan.stdout);
    let on_stderr = plan.stderr.matches("no answer within the timeout").count();
    assert_eq!(on_stderr, 1, "{}", plan.stderr);
}

#[test]
fn malformed_answers_are_reported_per_instance_and_never_destroy() {
    let ws = Workspace::new();
    let port = free_port("127.0.3.1");
    let answers = [
        (Answer::Body("<html>busy</html>".into()), "not JSON"),
        (
            Answer::Body(r#"{"capacity": 2}"#.into()),
            "no `termination`",
        ),
        (
            Answer::Body(r#"{"termination": "no", "capacity": 2}"#.into()),
            "not a boolean",
        ),
        (status(false, -4), "negative"),
        (Answer::Status(503), "HTTP 503"),
        (Answer::RedirectLoop, "too many redirects"),
        (Answer::Huge(200_000), "larger than 64 KiB"),
    ];
    for (n, (answer, _)) in answers.iter().enumerate() {
        let ip = format!("127.0.3.{}", n + 1);
        serve(&ip, port, answer.clone());
        ws.add_instance("bad", &ip, InstanceState::Active, 60, 2);
    }
    let config = replicas_config(&ws, "bad", port, "127.0.3.0/24", "");
    let run = scaler(&["-c", &config, "--format", "json", "run"]).expect(0);
    let json = run.json();
    let warnings: Vec<String> = json["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_string())
        .collect();
    for (n, (_, expected)) in answers.iter().enumerate() {
        let ip = format!("127.0.3.{}:{port}", n + 1);
        assert!(
            warnings
                .iter()
                .any(|e| e.contains(&ip) && e.contains(expected)),
            "{ip} should report {expected:?}: {warnings:?}"
        );
    }
    assert_eq!(json["observed"]["replicas"]["unknown"], answers.len());
    assert!(
        run.actions().iter().all(|(kind, _, _)| kind == "create"),
        "{:?}",
        run.actions()
    );
    assert_eq!(
        ws.instance_ids("bad").len(),
        answers.len() + 2,
        "two created, none destroyed"
    );
}

#[test]
fn a_bearer_token_is_sent_and_never_printed() {
    let ws = Workspace::new();
    let port = free_port("127.0.4.1");
    // The server answers 401 unless the token is right.
    let listener = std::net::TcpListener::bind(("127.0.4.1", port)).unwrap();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let n = stream.read(&mut buf).unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]).to_lowercase();
            let body = r#"{"termination": false, "capacity": 9}"#;
            let reply = if request.contains("authorization: bearer s3cret-token") {
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
            } else {
                "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_string()
            };
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    ws.add_instance("tok", "127.0.4.1", InstanceState::Active, 60, 2);
    let config = replicas_config(
        &ws,
        "tok",
        port,
        "127.0.4.0/24",
        "token_env = \"SCALER_TEST_PROBE_TOKEN\"",
    );
    let run = scaler_with_env(
        &["-c", &config, "--format", "json", "-vvv", "plan"],
        &[("SCALER_TEST_PROBE_TOKEN", "s3cret-token")],
    )
    .expect(0);
    let json = run.json();
    assert_eq!(json["observed"]["replicas"]["healthy"], 1, "{json}");
    assert_eq!(json["observed"]["replicas"]["available"], 9);
    assert!(!run.stdout.contains("s3cret") && !run.stderr.contains("s3cret"));
    let run = scaler_with_env(
        &["-c", &config, "--format", "json", "plan"],
        &[("SCALER_TEST_PROBE_TOKEN", "wrong")],
    )
    .expect(0);
    assert!(
        run.json()["warnings"][0]
            .as_str()
            .unwrap()
            .contains("HTTP 401")
    );
}

#[test]
fn sip_instances_asking_for_termination_are_drained_only_when_idle() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("probe_sip");
    let port = free_port("127.0.5.1");
    serve(
        "127.0.5.1",
        port,
        Answer::Body(r#"{"termination": true}"#.into()),
    );
    serve(
        "127.0.5.2",
        port,
        Answer::Body(r#"{"termination": true}"#.into()),
    );
    serve(
        "127.0.5.3",
        port,
        Answer::Body(r#"{"termination": false}"#.into()),
    );
    let idle = ws.add_instance("probesip", "127.0.5.1", InstanceState::Active, 60, 4);
    let busy = ws.add_instance("probesip", "127.0.5.2", InstanceState::Active, 60, 4);
    let healthy = ws.add_instance("probesip", "127.0.5.3", InstanceState::Active, 60, 4);
    db.register("127.0.5.1", 0, false, false);
    let caller = db.register("127.0.5.2", 0, false, false);
    db.call(&caller, "127.0.5.2", 5060);
    db.register("127.0.5.3", 0, false, false);
    let path = sip_config(
        &ws,
        &db,
        "probesip",
        "{ idle_min = 1, load_max = 1.0, max_gateways = 40 }",
        "",
    );
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "[lock]",
        &format!("[probe]\nurl = \"http://{{ip}}:{port}/\"\ntimeout = \"1s\"\n\n[lock]"),
    );
    let config = ws.config(&text);
    let run = scaler(&["-c", &config, "--format", "json", "cleanup"]).expect(0);
    let json = run.json();
    assert_eq!(
        run.actions(),
        [
            (
                "drain".into(),
                "done".into(),
                "termination_requested".into()
            ),
            (
                "destroy".into(),
                "done".into(),
                "termination_requested".into()
            )
        ]
    );
    assert_eq!(json["actions"][1]["instance"], idle.as_str());
    assert_eq!(ws.instance_ids("probesip"), [busy, healthy]);
    assert!(
        json["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("call in progress"))
    );
    assert!(
        db.rows()
            .contains(&("127.0.5.2.mediagw.0".to_string(), 0, 0)),
        "the busy gateway is untouched"
    );
}

#[test]
fn replica_configuration_is_validated() {
    let ws = Workspace::new();
    let config = replicas_config(&ws, "cfg", 8080, "127.0.6.0/24", "");
    let text = std::fs::read_to_string(&config).unwrap();
    let bad = ws.config(&text.replace("min_available = 6, ", ""));
    let run = scaler(&["-c", &bad, "check", "--offline"]).expect(78);
    assert!(
        run.stderr.contains("min_available is required"),
        "{}",
        run.stderr
    );
    let bad = ws.config(&text.replace("[replicas]\nreplica_capacity = 3\n", ""));
    assert!(
        scaler(&["-c", &bad, "check", "--offline"])
            .expect(78)
            .stderr
            .contains("[replicas]")
    );
    let bad = ws.config(&text.replace("timeout = \"1s\"", "timeout = \"1s\"\nconcurrency = 0"));
    assert!(
        scaler(&["-c", &bad, "check", "--offline"])
            .expect(78)
            .stderr
            .contains("concurrency")
    );
    let bad = ws.config(&text.replace("http://{ip}", "http://10.0.0.1"));
    assert!(
        scaler(&["-c", &bad, "check", "--offline"])
            .expect(78)
            .stderr
            .contains("{ip}")
    );
}
