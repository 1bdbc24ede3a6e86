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
            "load_max = 0.75",
            "load_max = 1e-300",
            "load_max must be from 0.01 to 1",
        ),
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

#[test]
fn two_spellings_of_one_slot_time_are_refused() {
    let err = with(
        "\"07:00\" = { idle_min = 8",
        "\"00:00:00\" = { idle_min = 2, load_max = 0.9, max_gateways = 40 }\n\"07:00\" = { idle_min = 8",
    )
    .unwrap_err();
    assert!(
        err.contains("line 15: schedule.default.\"00:00:00\" is the same time as schedule.default.\"00:00\" (line 14)"),
        "{err}"
    );
    // Distinct times that share a minute are two slots.
    let c = with(
        "\"07:00\" = { idle_min = 8",
        "\"00:00:30\" = { idle_min = 2, load_max = 0.9, max_gateways = 40 }\n\"07:00\" = { idle_min = 8",
    )
    .unwrap();
    assert_eq!(c.schedule.timelines["default"].len(), 3);
    let err = with("\"07:00\"", "\"25:00\"").unwrap_err();
    assert!(
        err.contains("line 15: schedule.default.\"25:00\": invalid slot time"),
        "{err}"
    );
}

#[test]
fn counts_have_documented_maxima() {
    let cases = [
        (
            "idle_min = 8",
            "idle_min = 100001",
            "idle_min must be at most 100000, got 100001",
        ),
        (
            "max_gateways = 400",
            "max_gateways = 4000000000",
            "max_gateways must be at most 100000",
        ),
        (
            "min_gateways = 4",
            "min_gateways = 200000",
            "min_gateways must be at most 100000",
        ),
    ];
    for (from, to, expected) in cases {
        let err = with(from, to).unwrap_err();
        assert!(
            err.contains(expected) && err.contains("line 15"),
            "{to}: {err}"
        );
    }
    let c = with("idle_min = 8", "idle_min = 100000").unwrap();
    assert_eq!(c.schedule.timelines["default"][1].1.idle_min, MAX_GATEWAYS);
    let limits = GOOD.replace("[provider]", "[limits]\ndeadline = \"2h\"\n\n[provider]");
    let err = parse_text(&limits).unwrap_err();
    assert!(
        err.contains("limits.deadline must be from 1s to 1h") && err.contains("line 24"),
        "{err}"
    );
    let instance_type = with("\"c8\" = 8", "\"c8\" = 0").unwrap_err();
    assert!(
        instance_type.contains("line 30: provider.instance_types.c8: vCPUs must be greater than 0"),
        "{instance_type}"
    );
}

#[test]
fn protected_entries_are_trimmed_or_refused() {
    let c = with(
        "protected = [\"10.0.0.5\"]",
        "protected = [\" 10.0.0.5 \", \"gw-7\\t\"]",
    )
    .unwrap();
    assert_eq!(c.pool.protected, ["10.0.0.5", "gw-7"]);
    for (entry, expected) in [
        ("\"\"", "is empty"),
        ("\"gw 7\"", "has spaces inside"),
        ("\"10.0.0.0/24\"", "is a network"),
        ("\"10.0.0.05\"", "is not a valid IP address"),
        ("\"fe80::zz\"", "is not a valid IP address"),
    ] {
        let err = with("[\"10.0.0.5\"]", &format!("[\"10.0.0.5\",\n  {entry}]")).unwrap_err();
        assert!(
            err.contains(&format!("line 8: pool.protected: {entry} {expected}")),
            "{entry}: {err}"
        );
    }
    // Instance ids, names and IPv6 addresses pass.
    let c = with(
        "[\"10.0.0.5\"]",
        "[\"i-0abc\", \"sipmediagw-20260101-1\", \"2001:db8::5\"]",
    )
    .unwrap();
    assert_eq!(c.pool.protected.len(), 3);
}

#[test]
fn sections_of_another_kind_are_refused() {
    let media = with(
        "[provider]",
        "[media]\nurl = \"redis://127.0.0.1:6379/0\"\n\n[provider]",
    )
    .unwrap_err();
    assert!(
        media.contains("line 23: [media] does not apply to pool.kind = \"sip\""),
        "{media}"
    );
    let replicas = with(
        "[provider]",
        "[replicas]\nreplica_capacity = 3\n\n[provider]",
    )
    .unwrap_err();
    assert!(replicas.contains("[replicas] does not apply"), "{replicas}");
    // [probe] serves every kind.
    with(
        "[provider]",
        "[probe]\nurl = \"http://{ip}:8080/\"\n\n[provider]",
    )
    .unwrap();
}

#[test]
fn connection_settings_are_checked_without_connecting() {
    let cases = [
        (
            "url = \"mysql://kamailio@",
            "url = \"kamailio@",
            "line 20: sip.url: invalid MySQL URL",
        ),
        (
            "url = \"mysql://kamailio@",
            "url = \"http://kamailio@",
            "line 20: sip.url: invalid MySQL URL",
        ),
        (
            "password_env = \"KAMAILIO_DB_PASSWORD\"",
            "password_env = \"KAMAILIO_DB_PASSWORD\"\npassword = \"x\"",
            "line 22: sip.password: give only one of password, password_env, password_file and password_credential",
        ),
        (
            "password_env = \"KAMAILIO_DB_PASSWORD\"",
            "password_env = \"KAMAILIO_DB_PASSWORD\"\nquery_timeout = \"0s\"",
            "line 22: sip.query_timeout: must be more than 0s",
        ),
        (
            "[provider]",
            "[lock]\nbackend = \"redis\"\nurl = \"127.0.0.1:6379\"\n\n[provider]",
            "line 25: lock.url: invalid Redis URL",
        ),
    ];
    for (from, to, expected) in cases {
        let err = with(from, to).unwrap_err();
        assert!(err.contains(expected), "{to}: {err}");
    }
    // The secret is not read: an unset variable is for `check` to report.
    with("KAMAILIO_DB_PASSWORD", "SCALER_SURELY_UNSET_VARIABLE").unwrap();
}

#[test]
fn messages_get_the_line_of_the_key_they_name() {
    assert_eq!(
        with_line(GOOD, "pool.cpu_per_gateway must be even"),
        "line 6: pool.cpu_per_gateway must be even"
    );
    assert_eq!(
        with_line(GOOD, "provider.instance_types.c8: too big"),
        "line 30: provider.instance_types.c8: too big"
    );
    assert_eq!(
        with_line(GOOD, "missing section [x]"),
        "missing section [x]"
    );
    assert_eq!(with_line(GOOD, "line 3: kept"), "line 3: kept");
    assert_eq!(
        with_line(GOOD, "pool.nothing: as is"),
        "pool.nothing: as is"
    );
}

#[test]
fn provider_secrets_are_checked_in_every_form() {
    let ec2 = r#"
[pool]
name = "gw"
kind = "sip"
[schedule.default]
"00:00" = { idle_min = 1, load_max = 0.9, max_gateways = 4 }
[sip]
url = "mysql://kamailio@127.0.0.1:3306/kamailio"
[provider]
kind = "ec2"
region = "eu-west-2"
image_id = "ami-1"
secret_access_key_env = "AWS_SECRET"
secret_access_key_credential = "aws-secret"
[provider.instance_types]
"c4" = 4
"#;
    let err = parse_text(ec2).unwrap_err();
    assert!(
        err.contains("line 14: provider.secret_access_key: give only one of secret_access_key, secret_access_key_env, secret_access_key_file and secret_access_key_credential"),
        "{err}"
    );
}

#[test]
fn sqrt_headroom_defaults_to_zero_and_is_read() {
    let c = parse_text(GOOD).unwrap();
    assert!(
        c.schedule.timelines["default"]
            .iter()
            .all(|(_, slot)| slot.sqrt_headroom == 0.0)
    );
    let c = with("min_gateways = 4", "min_gateways = 4, sqrt_headroom = 1.5").unwrap();
    assert_eq!(c.schedule.timelines["default"][1].1.sqrt_headroom, 1.5);
    let c = with("min_gateways = 4", "min_gateways = 4, sqrt_headroom = 10").unwrap();
    assert_eq!(c.schedule.timelines["default"][1].1.sqrt_headroom, 10.0);
}

#[test]
fn sqrt_headroom_out_of_range_is_refused_with_its_line() {
    for beta in ["-0.5", "nan", "-nan", "inf", "-inf", "10.01", "1e300"] {
        let err = with(
            "min_gateways = 4",
            &format!("min_gateways = 4, sqrt_headroom = {beta}"),
        )
        .unwrap_err();
        assert!(
            err.contains("sqrt_headroom must be a number from 0 to 10"),
            "{beta}: {err}"
        );
        assert!(
            err.contains("line ") && err.contains("schedule.default.\"07:00\""),
            "{beta}: {err}"
        );
    }
    let err = with(
        "min_gateways = 4",
        "min_gateways = 4, sqrt_headroom = \"1\"",
    )
    .unwrap_err();
    assert!(
        err.contains("sqrt_headroom") || err.contains("invalid type"),
        "{err}"
    );
}

#[test]
fn sqrt_headroom_belongs_to_gateway_pools() {
    let replicas = GOOD
        .replace("kind = \"sip\"", "kind = \"replicas\"")
        .replace("[sip]\nurl = \"mysql://kamailio@127.0.0.1:3306/kamailio\"\npassword_env = \"KAMAILIO_DB_PASSWORD\"", "[replicas]\nreplica_capacity = 3\n\n[probe]\nurl = \"http://{ip}:8080/\"")
        .replace(
            "[schedule.default]\n\"00:00\" = { idle_min = 1, load_max = 0.9,  max_gateways = 40 }\n\"07:00\" = { idle_min = 8, load_max = 0.75, max_gateways = 400, min_gateways = 4 }\n[schedule.saturday]\n\"00:00\" = { idle_min = 1, load_max = 1.0,  max_gateways = 4 }",
            "[schedule.default]\n\"00:00\" = { min_available = 3, max_replicas = 4, sqrt_headroom = 1 }",
        );
    assert!(
        replicas.contains("sqrt_headroom = 1"),
        "test bug: no replica slot"
    );
    let err = parse_text(&replicas).unwrap_err();
    assert!(err.contains("not gateway thresholds"), "{err}");
}
