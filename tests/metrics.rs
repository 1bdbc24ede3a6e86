//! Metrics of real passes (MariaDB with Kamailio's schema, the local
//! provider): the textfile parses with a Prometheus text-format parser, its
//! values are the report's, the counters accumulate across passes in the
//! state file (destroys by reason), a crash loop shows, and dry runs write
//! nothing.

mod common;

use common::*;
use scaler::provider::InstanceState;
use std::collections::HashMap;

const IDLE2: &str = "{ idle_min = 2, load_max = 0.8, max_gateways = 40 }";

/// `name{labels}` -> value, parsed by the `prometheus-parse` crate.
fn parse(text: &str) -> HashMap<String, f64> {
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("valid Prometheus text format");
    let mut values = HashMap::new();
    for sample in scrape.samples {
        let mut labels: Vec<String> = sample
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        labels.sort();
        let value = match sample.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            other => panic!("unexpected sample type {other:?}"),
        };
        values.insert(format!("{}{{{}}}", sample.metric, labels.join(",")), value);
    }
    assert!(
        scrape.docs.contains_key("scaler_instances_created_total"),
        "HELP lines are parsed"
    );
    values
}

fn metric(values: &HashMap<String, f64>, key: &str) -> f64 {
    *values
        .get(key)
        .unwrap_or_else(|| panic!("no {key} in {values:#?}"))
}

/// The first pass created one c8 instance (2 gateways) and succeeded just now.
fn assert_first_pass(first: &HashMap<String, f64>) {
    let pool = "pool=metrics";
    assert_eq!(
        metric(first, &format!("scaler_instances_created_total{{{pool}}}")),
        1.0
    );
    assert_eq!(
        metric(
            first,
            &format!("scaler_instances_destroyed_total{{{pool},reason=unregistered}}")
        ),
        0.0
    );
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        metric(
            first,
            &format!("scaler_build_info{{{pool},version={version}}}")
        ),
        1.0
    );
    assert_eq!(
        metric(first, &format!("scaler_creation_suspended{{{pool}}}")),
        0.0
    );
    assert_eq!(
        metric(first, &format!("scaler_target_gateways{{{pool}}}")),
        2.0
    );
    assert_eq!(
        metric(first, &format!("scaler_gateways_registered{{{pool}}}")),
        0.0
    );
    assert_eq!(
        metric(first, &format!("scaler_pass_exit_code{{{pool}}}")),
        0.0
    );
    assert_eq!(
        metric(
            first,
            &format!("scaler_pass_actions{{kind=create,{pool},status=done}}")
        ),
        1.0
    );
    let now = chrono::Utc::now().timestamp() as f64;
    let success = metric(
        first,
        &format!("scaler_last_success_timestamp_seconds{{{pool}}}"),
    );
    assert!((now - success).abs() < 60.0, "{success} is not now ({now})");
    assert!(metric(first, &format!("scaler_pass_duration_seconds{{{pool}}}")) >= 0.0);
}

/// The second pass sees the instance building and keeps the counters' start.
fn assert_second_pass(first: &HashMap<String, f64>, second: &HashMap<String, f64>) {
    let pool = "pool=metrics";
    assert_eq!(
        metric(second, &format!("scaler_gateways_pending{{{pool}}}")),
        2.0
    );
    assert_eq!(
        metric(
            second,
            &format!("scaler_instances{{{pool},state=building}}")
        ),
        1.0
    );
    assert_eq!(
        metric(second, &format!("scaler_instances_created_total{{{pool}}}")),
        1.0
    );
    assert_eq!(
        metric(second, &format!("scaler_passes_total{{{pool}}}")),
        2.0
    );
    assert_eq!(
        metric(
            first,
            &format!("scaler_state_start_timestamp_seconds{{{pool}}}")
        ),
        metric(
            second,
            &format!("scaler_state_start_timestamp_seconds{{{pool}}}")
        ),
        "the counters' start is kept"
    );
}

#[test]
fn passes_write_parseable_metrics_and_counters_accumulate() {
    let ws = Workspace::new();
    let db = Kamailio::new("metrics");
    let config = sip_config(&ws, &db, "metrics", IDLE2, "");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text = text.replace(
        "path = \"state.json\"",
        "path = \"state/metrics.state.json\"",
    );
    std::fs::write(&config, text).unwrap();
    let textfile = ws.path("textfile/scaler.prom");
    std::fs::create_dir_all(textfile.parent().unwrap()).unwrap();
    let flag = textfile.to_string_lossy().into_owned();

    // A plan (dry run) writes no metrics and no state.
    scaler(&["-c", &config, "--metrics-file", &flag, "plan"]).expect(0);
    assert!(!textfile.exists());
    assert!(!ws.path("state/metrics.state.json").exists());

    // First pass: creates one c8 instance (2 gateways).
    scaler(&["-c", &config, "--metrics-file", &flag, "run"]).expect(0);
    let first = parse(&std::fs::read_to_string(&textfile).unwrap());
    assert_first_pass(&first);

    // Second pass: the instance is building; its gateways are pending.
    scaler(&["-c", &config, "--metrics-file", &flag, "run"]).expect(0);
    let second = parse(&std::fs::read_to_string(&textfile).unwrap());
    assert_second_pass(&first, &second);

    // No temporary file is left for node_exporter to read.
    let names: Vec<String> = std::fs::read_dir(textfile.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["scaler.prom"]);
}

#[test]
fn config_textfile_and_failures_are_reported() {
    let ws = Workspace::new();
    let db = Kamailio::new("metricscfg");
    let config = sip_config(&ws, &db, "metricscfg", IDLE2, "");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("\n[metrics]\ntextfile = \"out/pool.prom\"\n");
    let text = text.replace("path = \"state.json\"", "path = \"pool.state.json\"");
    std::fs::write(&config, &text).unwrap();

    // The metrics directory does not exist: check says so, the pass reports it and exits 1.
    let check = scaler(&["-c", &config, "--format", "json", "check"]).expect(69);
    let lines = check.json()["checks"].as_array().unwrap().clone();
    let metrics_line = lines
        .iter()
        .find(|l| l["name"] == "metrics")
        .expect("a metrics line");
    assert_eq!(metrics_line["ok"], false, "{lines:?}");
    let run = scaler(&["-c", &config, "--format", "json", "run"]).expect(1);
    let errors = run.json()["errors"].to_string();
    assert!(errors.contains("pool.prom"), "{errors}");

    // With the directory: written where [metrics] textfile says.
    std::fs::create_dir_all(ws.path("out")).unwrap();
    scaler(&["-c", &config, "check"]).expect(0);
    scaler(&["-c", &config, "run"]).expect(0);
    let values = parse(&std::fs::read_to_string(ws.path("out/pool.prom")).unwrap());
    // The failed pass above created an instance too: the counter has both.
    assert_eq!(
        metric(&values, "scaler_instances_created_total{pool=metricscfg}"),
        1.0
    );
    assert_eq!(metric(&values, "scaler_passes_total{pool=metricscfg}"), 2.0);

    // A database that is down: exit 69, metrics still written with that status.
    let broken = text.replace(":3306/", ":1/");
    std::fs::write(&config, broken).unwrap();
    scaler(&["-c", &config, "run"]).expect(69);
    let values = parse(&std::fs::read_to_string(ws.path("out/pool.prom")).unwrap());
    assert_eq!(
        metric(&values, "scaler_pass_exit_code{pool=metricscfg}"),
        69.0
    );
    assert!(!values.contains_key("scaler_gateways_busy{pool=metricscfg}"));
}

#[test]
fn a_crash_loop_shows_in_the_suspension_gauges_and_the_destroys_by_reason() {
    let ws = Workspace::new();
    let db = Kamailio::new("metricsloop");
    let config = sip_config(&ws, &db, "metricsloop", IDLE2, "");
    let textfile = ws.path("scaler.prom");
    let flag = textfile.to_string_lossy().into_owned();
    for n in 1..=3 {
        let ip = format!("127.0.1.{n}");
        ws.add_instance("metricsloop", &ip, InstanceState::Active, 30, 4);
    }
    // In error while booting: lost too.
    ws.add_instance("metricsloop", "127.0.1.4", InstanceState::Error, 1, 4);
    scaler(&["-c", &config, "--metrics-file", &flag, "run"]).expect(3);
    let values = parse(&std::fs::read_to_string(&textfile).unwrap());
    let pool = "pool=metricsloop";
    let value = |name: &str| metric(&values, &format!("{name}{{{pool}}}"));
    let destroyed = |reason: &str| {
        metric(
            &values,
            &format!("scaler_instances_destroyed_total{{{pool},reason={reason}}}"),
        )
    };
    assert_eq!(destroyed("unregistered"), 3.0);
    assert_eq!(destroyed("error_state"), 1.0);
    assert_eq!(destroyed("drained"), 0.0);
    assert_eq!(value("scaler_creation_suspended"), 1.0);
    assert_eq!(value("scaler_instances_lost_unregistered"), 4.0);
    assert_eq!(value("scaler_pass_exit_code"), 3.0);
    let until = value("scaler_creation_suspended_until_timestamp_seconds");
    let in_ten_minutes = (chrono::Utc::now().timestamp() + 600) as f64;
    assert!(
        (until - in_ten_minutes).abs() < 60.0,
        "{until} vs {in_ten_minutes}"
    );

    // Resumed, the next pass creates and the gauges fall back to 0.
    scaler(&["-c", &config, "resume"]).expect(0);
    scaler(&["-c", &config, "--metrics-file", &flag, "run"]).expect(0);
    let values = parse(&std::fs::read_to_string(&textfile).unwrap());
    let value = |name: &str| metric(&values, &format!("{name}{{{pool}}}"));
    assert_eq!(value("scaler_creation_suspended"), 0.0);
    assert_eq!(
        value("scaler_creation_suspended_until_timestamp_seconds"),
        0.0
    );
    assert_eq!(value("scaler_instances_lost_unregistered"), 0.0);
    assert_eq!(value("scaler_instances_created_total"), 1.0);
}
