//! Configuration validation tests: every bad input names its key and line.

use super::*;

const GOOD: &str = r#"
[pool]
name = "sipmediagw"
kind = "sip"
gateway_prefix = "mediagw"
cpu_per_gateway = 4
protected = ["10.0.0.5"]
no_public_ip_timeout = "10m"
register_timeout = "10m"

[schedule]
timezone = "Europe/Paris"
[schedule.default]
"00:00" = { idle_min = 1, load_max = 0.9,  max_gateways = 40 }
"07:00" = { idle_min = 8, load_max = 0.75, max_gateways = 400, min_gateways = 4 }
[schedule.saturday]
"00:00" = { idle_min = 1, load_max = 1.0,  max_gateways = 4 }

[sip]
url = "mysql://kamailio@127.0.0.1:3306/kamailio"
password_env = "KAMAILIO_DB_PASSWORD"

[provider]
kind = "local"
state_file = "cloud.json"
address_range = "127.0.1.0/24"
boot_delay = "60s"
[provider.instance_types]
"c4" = 4
"c8" = 8
"#;

fn parse_text(text: &str) -> Result<Config, String> {
    parse(text, Path::new("/etc/scaler/test.toml")).map_err(|e| e.to_string())
}

fn with(replace: &str, by: &str) -> Result<Config, String> {
    assert!(
        GOOD.contains(replace),
        "test bug: {replace:?} not in the sample"
    );
    parse_text(&GOOD.replacen(replace, by, 1))
}

#[test]
fn the_spec_example_is_valid() {
    let c = parse_text(GOOD).unwrap();
    assert_eq!(c.pool.name, "sipmediagw");
    assert_eq!(c.pool.register_timeout, Duration::from_secs(600));
    assert_eq!(c.schedule.timezone, chrono_tz::Europe::Paris);
    assert_eq!(c.schedule.timelines["default"].len(), 2);
    assert_eq!(c.instance_types["c8"], 8);
    let ProviderConfig::Local(local) = &c.provider else {
        panic!("the local provider")
    };
    assert_eq!(
        local.state_file,
        Path::new("/etc/scaler/cloud.json"),
        "relative to the config file"
    );
    assert!(c.lock.path.ends_with("scaler-sipmediagw.lock"));
    assert_eq!(c.lock.name, "scaler-sipmediagw");
    assert_eq!(c.limits.deadline.0, Duration::from_secs(50));
}

#[test]
fn unknown_keys_name_key_and_line() {
    let err = with("cpu_per_gateway = 4", "cpu_per_gateway = 4\ncpu_per_gw = 4").unwrap_err();
    assert!(err.contains("cpu_per_gw"), "{err}");
    assert!(err.contains("line 7"), "{err}");
    assert!(err.contains("/etc/scaler/test.toml"), "{err}");
    let err = with(
        "boot_delay = \"60s\"",
        "boot_delay = \"60s\"\nimage = \"x\"",
    )
    .unwrap_err();
    assert!(err.contains("image") && err.contains("line 28"), "{err}");
}

#[test]
fn bad_values_are_refused_with_their_line() {
    let cases = [
        ("load_max = 0.75", "load_max = 1.5", "load_max must be"),
        ("load_max = 0.75", "load_max = 0", "load_max must be"),
        (
            "min_gateways = 4",
            "min_gateways = 401",
            "min_gateways (401) is greater",
        ),
        ("\"07:00\"", "\"7h\"", "invalid slot time"),
        ("Europe/Paris", "Europe/Pariss", "unknown timezone"),
        (
            "register_timeout = \"10m\"",
            "register_timeout = \"ten\"",
            "invalid duration",
        ),
        (
            "cpu_per_gateway = 4",
            "cpu_per_gateway = 0",
            "greater than 0",
        ),
        (
            "name = \"sipmediagw\"",
            "name = \"sip media\"",
            "invalid pool name",
        ),
        ("127.0.1.0/24", "127.0.1.0/33", "invalid IPv4 network"),
        ("kind = \"sip\"", "kind = \"voip\"", "unknown variant"),
    ];
    for (from, to, expected) in cases {
        let err = with(from, to).unwrap_err();
        assert!(err.contains(expected), "{to}: {err}");
        assert!(err.contains("line "), "{to}: no line in {err}");
    }
}

#[test]
fn structural_errors_are_explained() {
    let err = with("[sip]", "[sipx]").unwrap_err();
    assert!(err.contains("sipx"), "{err}");
    let no_default = GOOD.replace("[schedule.default]", "[schedule.monday]");
    let err = parse_text(&no_default).unwrap_err();
    assert!(err.contains("[schedule.default]"), "{err}");
    let err = with("\"c4\" = 4\n\"c8\" = 8", "\"c2\" = 2").unwrap_err();
    assert!(err.contains("no type has the 4 vCPUs"), "{err}");
    let err = with("kind = \"local\"", "kind = \"nimbus\"").unwrap_err();
    assert!(err.contains("nimbus"), "{err}");
    let err = with("idle_min = 8, ", "").unwrap_err();
    assert!(
        err.contains("idle_min is required") && err.contains("line 15"),
        "{err}"
    );
}

#[test]
fn off_disables_the_public_ip_check_and_default_provider_is_local() {
    let c = with(
        "no_public_ip_timeout = \"10m\"",
        "no_public_ip_timeout = \"off\"",
    )
    .unwrap();
    assert_eq!(c.pool.no_public_ip_timeout, None);
    let start = GOOD.find("[provider]").unwrap();
    let without_provider = GOOD[..start].to_string();
    let err = parse_text(&without_provider).unwrap_err();
    assert!(err.contains("instance_types"), "{err}");
}

#[test]
fn date_exceptions_and_named_timelines() {
    let text = GOOD.replace(
        "[schedule.saturday]",
        "[schedule.dates]\n\"2026-12-25\" = \"holiday\"\n\"2026-12-28..2026-12-31\" = \"sunday\"\n\n[schedule.holiday]\n\"00:00\" = { idle_min = 0, load_max = 1.0, max_gateways = 2 }\n\n[schedule.saturday]",
    );
    let c = parse_text(&text).unwrap();
    assert_eq!(c.schedule.dates.len(), 2);
    assert!(c.schedule.timelines.contains_key("holiday"));
    let typo = GOOD.replace("[schedule.saturday]", "[schedule.saturdy]");
    let err = parse_text(&typo).unwrap_err();
    assert!(
        err.contains("schedule.saturdy") && err.contains("not a weekday"),
        "{err}"
    );
    let undefined = GOOD.replace(
        "[schedule.saturday]",
        "[schedule.dates]\n\"2026-12-25\" = \"holiday\"\n\n[schedule.saturday]",
    );
    let err = parse_text(&undefined).unwrap_err();
    assert!(
        err.contains("holiday") && err.contains("not defined"),
        "{err}"
    );
    let overlap = GOOD.replace(
        "[schedule.saturday]",
        "[schedule.dates]\n\"2026-12-20..2026-12-26\" = \"sunday\"\n\"2026-12-25\" = \"sunday\"\n\n[schedule.saturday]",
    );
    assert!(parse_text(&overlap).unwrap_err().contains("overlaps"));
    let bad = GOOD.replace(
        "[schedule.saturday]",
        "[schedule.dates]\n\"2026-13-01\" = \"sunday\"\n\n[schedule.saturday]",
    );
    let err = parse_text(&bad).unwrap_err();
    assert!(
        err.contains("invalid date") && err.contains("line "),
        "{err}"
    );
}
