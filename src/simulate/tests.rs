//! Replays small hand-made traces whose outcome is known to the call and
//! the vCPU-minute.

use super::*;
use crate::config;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A one-pool configuration with the given `[schedule.default]` slots.
fn config_with(slots: &str) -> Config {
    let text = format!(
        r#"
[pool]
name = "sim"
kind = "sip"
cpu_per_gateway = 4

[schedule]
timezone = "UTC"
[schedule.default]
{slots}

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
    );
    config::parse(&text, Path::new("sim.toml")).unwrap()
}

fn one_idle() -> Config {
    config_with(r#""00:00" = { idle_min = 1, load_max = 1.0, max_gateways = 10 }"#)
}

fn call(start: &str, end: &str) -> Call {
    Call {
        start: t(start),
        end: t(end),
    }
}

fn boot(delay_s: u64) -> Settings {
    Settings {
        boot_delay: Duration::from_secs(delay_s),
        boot_jitter: Duration::ZERO,
        ..Settings::default()
    }
}

fn with_window(settings: Settings, from: &str, to: &str) -> Settings {
    Settings {
        from: Some(t(from)),
        to: Some(t(to)),
        ..settings
    }
}

#[test]
fn a_call_on_an_empty_pool_is_served_on_retry_when_boot_is_instant() {
    let calls = [call("2026-11-23T09:00:00Z", "2026-11-23T09:30:00Z")];
    let settings = Settings {
        from: Some(t("2026-11-23T09:00:00Z")),
        ..boot(0)
    };
    let s = simulate(&one_idle(), &calls, &settings).unwrap().summary;
    assert_eq!((s.calls, s.served, s.rejected, s.missed), (1, 1, 1, 0));
    // Served at 09:01, the call keeps its 30 minutes.
    assert_eq!(s.to, "2026-11-23T09:31:00Z");
}

#[test]
fn a_call_on_an_empty_pool_is_missed_when_boot_takes_three_minutes() {
    let calls = [call("2026-11-23T09:00:00Z", "2026-11-23T09:30:00Z")];
    let settings = Settings {
        from: Some(t("2026-11-23T09:00:00Z")),
        ..boot(180)
    };
    let s = simulate(&one_idle(), &calls, &settings).unwrap().summary;
    assert_eq!((s.calls, s.served, s.rejected, s.missed), (1, 0, 3, 1));
    assert_eq!(s.created, 1);
}

#[test]
fn boot_of_exactly_two_minutes_catches_the_last_retry() {
    // Boots at 09:02:00 are processed before the arrival at the same instant.
    let calls = [call("2026-11-23T09:00:00Z", "2026-11-23T09:30:00Z")];
    let settings = Settings {
        from: Some(t("2026-11-23T09:00:00Z")),
        ..boot(120)
    };
    let s = simulate(&one_idle(), &calls, &settings).unwrap().summary;
    assert_eq!((s.served, s.rejected, s.missed), (1, 2, 0));
}

#[test]
fn a_warm_pool_serves_at_once_and_calls_under_a_minute_are_dropped() {
    let calls = [
        call("2026-11-23T09:00:30Z", "2026-11-23T09:20:30Z"),
        call("2026-11-23T09:05:00Z", "2026-11-23T09:05:59Z"),
        call("2026-11-23T09:06:00Z", "2026-11-23T09:06:00Z"),
    ];
    let settings = Settings {
        from: Some(t("2026-11-23T09:00:00Z")),
        ..boot(0)
    };
    let s = simulate(&one_idle(), &calls, &settings).unwrap().summary;
    assert_eq!(
        (s.calls, s.dropped, s.served, s.rejected, s.missed),
        (1, 2, 1, 0, 0)
    );
    assert_eq!(s.peak_calls, 1);
    // 20 minutes × 4 vCPUs.
    assert_eq!(s.lower_bound_vcpu_hours, round3(20.0 * 4.0 / 60.0));
}

#[test]
fn a_burst_beyond_idle_capacity_is_rejected_then_served_by_new_gateways() {
    // The pool has one idle gateway (warmed since 08:00); three calls arrive
    // at 09:00:00. One is served; the planner at 09:00 sees 1 busy and wants
    // 2 (busy + idle_min): the retries at 09:01 find one more gateway, and
    // at 09:02 another one.
    let calls = [
        call("2026-11-23T09:00:00Z", "2026-11-23T10:00:00Z"),
        call("2026-11-23T09:00:00Z", "2026-11-23T10:00:00Z"),
        call("2026-11-23T09:00:00Z", "2026-11-23T10:00:00Z"),
    ];
    let settings = Settings {
        from: Some(t("2026-11-23T08:00:00Z")),
        ..boot(0)
    };
    let s = simulate(&one_idle(), &calls, &settings).unwrap().summary;
    assert_eq!((s.served, s.rejected, s.missed), (3, 3, 0));
    assert_eq!(s.peak_calls, 3);
    assert_eq!(s.peak_gateways, 4, "3 busy + idle_min 1");
}

#[test]
fn max_gateways_caps_the_pool_and_calls_beyond_it_are_missed() {
    let config = config_with(r#""00:00" = { idle_min = 1, load_max = 1.0, max_gateways = 2 }"#);
    let calls: Vec<Call> = (0..3)
        .map(|_| call("2026-11-23T09:00:00Z", "2026-11-23T10:00:00Z"))
        .collect();
    let settings = Settings {
        from: Some(t("2026-11-23T08:00:00Z")),
        ..boot(0)
    };
    let s = simulate(&config, &calls, &settings).unwrap().summary;
    assert_eq!((s.served, s.missed, s.rejected), (2, 1, 4));
    assert_eq!(s.peak_gateways, 2);
}

#[test]
fn cost_is_counted_per_vcpu_minute_from_creation_to_destruction() {
    // Two idle gateways (one c8) from 00:00, none wanted from 00:10: the
    // instance is drained and destroyed at 00:10.
    let config = config_with(
        r#""00:00" = { idle_min = 2, load_max = 1.0, max_gateways = 10 }
"00:10" = { idle_min = 0, load_max = 1.0, max_gateways = 10 }"#,
    );
    let settings = Settings {
        vcpu_hour_price: 0.5,
        ..with_window(boot(60), "2026-11-23T00:00:00Z", "2026-11-23T00:20:00Z")
    };
    let simulation = simulate(&config, &[], &settings).unwrap();
    let s = &simulation.summary;
    assert_eq!((s.created, s.destroyed, s.peak_gateways), (1, 1, 2));
    assert_eq!(s.vcpu_hours, round3(8.0 * 10.0 / 60.0));
    assert_eq!(s.gateway_hours, round3(2.0 * 10.0 / 60.0));
    assert_eq!(s.cost, round3(8.0 * 10.0 / 60.0 * 0.5));
    assert_eq!((s.calls, s.lower_bound_vcpu_hours, s.ratio), (0, 0.0, None));
    assert_eq!(simulation.samples.len(), 21, "00:00 to 00:20 included");
    assert_eq!(simulation.samples[20].cost, 8.0 * 10.0 / 60.0 * 0.5);
    let first = simulation.samples[0];
    assert_eq!((first.gateways, first.paid_gateways), (0, 2), "booting");
    assert_eq!(simulation.samples[1].gateways, 2, "registered after 60 s");
    assert_eq!(simulation.samples[10].paid_gateways, 0, "drained at 00:10");
}

#[test]
fn the_planner_never_drains_a_host_with_a_call() {
    // One c8 (two gateways) at 00:00; a call on it from 00:01 to 00:30, so
    // at 00:01 the planner adds a c4 (busy 1 + idle_min 2 = 3). At 00:10
    // idle_min drops to 0: the idle c4 goes, the c8 with the call stays
    // until the planner after the call ended.
    let config = config_with(
        r#""00:00" = { idle_min = 2, load_max = 1.0, max_gateways = 10 }
"00:10" = { idle_min = 0, load_max = 1.0, max_gateways = 10 }"#,
    );
    let calls = [call("2026-11-23T00:01:00Z", "2026-11-23T00:30:00Z")];
    let settings = with_window(boot(0), "2026-11-23T00:00:00Z", "2026-11-23T00:40:00Z");
    let simulation = simulate(&config, &calls, &settings).unwrap();
    let s = &simulation.summary;
    assert_eq!((s.served, s.created, s.destroyed), (1, 2, 2));
    let paid: Vec<u32> = simulation.samples.iter().map(|x| x.paid_gateways).collect();
    assert_eq!((paid[0], paid[1], paid[9], paid[10]), (2, 3, 3, 2));
    assert_eq!(paid[29], 2, "00:29: the call is still on");
    assert_eq!(paid[30], 0, "00:30: the call ended, the host is drained");
    assert_eq!(s.vcpu_hours, round3((8.0 * 30.0 + 4.0 * 9.0) / 60.0));
}

#[test]
fn slots_follow_the_simulated_local_time() {
    // Paris: 07:00 local is 06:00 UTC in November; idle_min 3 from then.
    let mut config = config_with(
        r#""00:00" = { idle_min = 0, load_max = 1.0, max_gateways = 10 }
"07:00" = { idle_min = 3, load_max = 1.0, max_gateways = 10 }"#,
    );
    config.schedule.timezone = chrono_tz::Europe::Paris;
    let settings = with_window(boot(0), "2026-11-23T05:50:00Z", "2026-11-23T06:10:00Z");
    let simulation = simulate(&config, &[], &settings).unwrap();
    let paid: Vec<u32> = simulation.samples.iter().map(|x| x.paid_gateways).collect();
    assert_eq!(paid[9], 0, "06:59 local");
    assert_eq!(paid[10], 3, "07:00 local");
}

#[test]
fn jitter_is_seeded() {
    let calls: Vec<Call> = (0..40)
        .map(|i| {
            let start = t("2026-11-23T09:00:00Z") + chrono::Duration::seconds(37 * i);
            Call {
                start,
                end: start + chrono::Duration::minutes(40),
            }
        })
        .collect();
    let run = |seed| {
        let settings = Settings {
            seed,
            boot_jitter: Duration::from_secs(180),
            ..boot(30)
        };
        simulate(&one_idle(), &calls, &settings).unwrap().summary
    };
    assert_eq!(run(7), run(7));
    let (a, b) = (run(7), run(8));
    assert_eq!(a.served + a.missed, 40);
    assert_eq!(b.served + b.missed, 40);
}

#[test]
fn the_default_window_starts_at_local_midnight() {
    let mut config = one_idle();
    config.schedule.timezone = chrono_tz::Europe::Paris;
    let calls = [call(
        "2026-11-23T09:00:00+01:00",
        "2026-11-23T09:10:00+01:00",
    )];
    let s = simulate(&config, &calls, &boot(0)).unwrap().summary;
    assert_eq!(s.from, "2026-11-22T23:00:00Z");
    assert_eq!(s.to, "2026-11-23T08:10:00Z");
    assert_eq!(s.timezone, "Europe/Paris");
}

#[test]
fn a_bad_window_is_a_usage_error() {
    let calls = [call("2026-11-23T09:00:00Z", "2026-11-23T09:10:00Z")];
    let backwards = with_window(boot(0), "2026-11-23T10:00:00Z", "2026-11-23T09:00:00Z");
    let err = simulate(&one_idle(), &calls, &backwards).unwrap_err();
    assert!(matches!(err, Error::Usage(_)), "{err}");
    let late = Settings {
        from: Some(t("2026-11-24T00:00:00Z")),
        ..boot(0)
    };
    let err = simulate(&one_idle(), &calls, &late).unwrap_err();
    assert!(err.to_string().contains("no call at or after"), "{err}");
    let err = simulate(&one_idle(), &[], &boot(0)).unwrap_err();
    assert!(err.to_string().contains("no calls"), "{err}");
}

#[test]
fn the_chart_is_an_svg_with_its_series() {
    let calls = [call("2026-11-23T09:00:00Z", "2026-11-23T09:30:00Z")];
    let settings = Settings {
        from: Some(t("2026-11-23T08:00:00Z")),
        ..boot(180)
    };
    let simulation = simulate(&one_idle(), &calls, &settings).unwrap();
    let svg = chart::render(&simulation, "test").unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
    assert!(svg.trim_end().ends_with("</svg>"));
    for label in [
        "gateways registered",
        "calls in progress",
        "cumulative cost",
        "09:00",
    ] {
        assert!(svg.contains(label), "{label}");
    }
}

#[test]
fn the_report_has_the_stable_fields() {
    let calls = [call("2026-11-23T09:00:00Z", "2026-11-23T09:30:00Z")];
    let settings = Settings {
        from: Some(t("2026-11-23T09:00:00Z")),
        ..boot(0)
    };
    let summary = simulate(&one_idle(), &calls, &settings).unwrap().summary;
    let mut report = Report::new("simulate");
    report.simulation = Some(Outcome::Replay(Box::new(summary)));
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["command"], "simulate");
    for field in [
        "calls",
        "served",
        "rejected",
        "missed",
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
        assert!(json.get(field).is_some_and(|v| !v.is_null()), "{field}");
    }
    let text = report.to_text();
    assert!(text.contains("1 served, 0 missed"), "{text}");
}

#[test]
fn progress_counts_every_simulated_minute_and_reaches_its_length() {
    // Served at 09:01 on the retry, the call runs until 09:31: 31 minutes
    // replayed, one past the 30 from `from` to the trace's last end.
    let calls = [call("2026-11-23T09:00:00Z", "2026-11-23T09:30:00Z")];
    let settings = Settings {
        from: Some(t("2026-11-23T09:00:00Z")),
        ..boot(0)
    };
    let progress = Progress::bar(Show::Hidden, "simulate", "simulated minutes");
    let run = simulate_showing(&one_idle(), &calls, &settings, progress.clone()).unwrap();
    assert_eq!(progress.length(), Some(30));
    assert_eq!(progress.done(), 31);
    assert_eq!(run.samples.len(), 32);
}
