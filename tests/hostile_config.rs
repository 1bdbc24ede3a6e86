//! Hostile configurations through the real binary: values the TOML grammar
//! accepts but no pool can use (durations of centuries, counts in the
//! billions, NaN thresholds, two spellings of one slot time, sections of
//! another pool kind, `protected` entries that match nothing). Each must end
//! in exit 78 naming the key and its line, for `check --offline`, `check`,
//! `plan` and `run` alike, and never in a panic or an abort. The suite grows
//! with every hostile value found: add a case to `CASES`.

mod common;

use common::*;

/// A SIP pool that loads: every case replaces one line of it. Nothing here is
/// ever reached (each case fails at load, before any connection).
const BASE: &str = r#"[pool]
name = "hostile"
kind = "sip"
cpu_per_gateway = 4
protected = ["127.0.1.250"]
register_timeout = "10m"

[schedule]
timezone = "UTC"
[schedule.default]
"00:00" = { idle_min = 1, load_max = 0.8, max_gateways = 4, min_gateways = 0 }

[sip]
url = "mysql://scaler@127.0.0.1:1/scaler_hostile"
password_env = "SCALER_TEST_DB_PASSWORD"
query_timeout = "10s"

[limits]
deadline = "50s"
max_create_per_run = 10

[lock]
path = "pass.lock"

[provider]
kind = "local"
state_file = "cloud.json"
address_range = "127.0.1.0/24"
[provider.instance_types]
"c4" = 4
"#;

/// `(text of BASE to replace, replacement, words the error must contain)`;
/// the error must name the line of the replacement's last line, or of the
/// text given in `LINE_OF` for the case.
const CASES: &[(&str, &str, &[&str])] = &[
    // Durations that overflowed `Instant + Duration` (a panic, even offline).
    (
        "deadline = \"50s\"",
        "deadline = \"213503982334601d\"",
        &["deadline", "longer than the maximum of 365d"],
    ),
    (
        "deadline = \"50s\"",
        "deadline = 18446744073709551615",
        &["deadline", "longer than the maximum of 365d"],
    ),
    (
        "deadline = \"50s\"",
        "deadline = 9223372036854775807",
        &["deadline", "longer than the maximum of 365d"],
    ),
    (
        "deadline = \"50s\"",
        "deadline = \"0s\"",
        &["limits.deadline must be from 1s to 1h"],
    ),
    (
        "deadline = \"50s\"",
        "deadline = \"2h\"",
        &["limits.deadline must be from 1s to 1h"],
    ),
    (
        "register_timeout = \"10m\"",
        "register_timeout = -5",
        &["register_timeout", "cannot be negative"],
    ),
    (
        "register_timeout = \"10m\"",
        "register_timeout = \"99999999999999d\"",
        &["register_timeout", "longer than the maximum"],
    ),
    (
        "query_timeout = \"10s\"",
        "query_timeout = \"0s\"",
        &["sip.query_timeout: must be more than 0s"],
    ),
    // Counts that allocated every planned creation (7.5 GB, SIGABRT).
    (
        "\"00:00\" = { idle_min = 1,",
        "\"00:00\" = { idle_min = 4000000000,",
        &[
            "schedule.default.\"00:00\"",
            "idle_min must be at most 100000",
        ],
    ),
    (
        "max_gateways = 4,",
        "max_gateways = 4000000,",
        &[
            "schedule.default.\"00:00\"",
            "max_gateways must be at most 100000",
        ],
    ),
    (
        "max_create_per_run = 10",
        "max_create_per_run = 4000000000",
        &["max_create_per_run", "from 0 to 10000"],
    ),
    // Thresholds no pool can follow.
    (
        "load_max = 0.8",
        "load_max = nan",
        &["schedule.default.\"00:00\"", "load_max must be"],
    ),
    (
        "load_max = 0.8",
        "load_max = -0.5",
        &["schedule.default.\"00:00\"", "load_max must be"],
    ),
    (
        "load_max = 0.8",
        "load_max = 1e-300",
        &[
            "schedule.default.\"00:00\"",
            "load_max must be from 0.01 to 1",
        ],
    ),
    (
        "load_max = 0.8",
        "load_max = inf",
        &["schedule.default.\"00:00\"", "load_max must be"],
    ),
    (
        "min_gateways = 0",
        "min_gateways = 0, sqrt_headroom = nan",
        &[
            "schedule.default.\"00:00\"",
            "sqrt_headroom must be a number from 0 to 10",
        ],
    ),
    (
        "min_gateways = 0",
        "min_gateways = 0, sqrt_headroom = -1",
        &[
            "schedule.default.\"00:00\"",
            "sqrt_headroom must be a number from 0 to 10",
        ],
    ),
    (
        "min_gateways = 0",
        "min_gateways = 0, sqrt_headroom = 10.5",
        &[
            "schedule.default.\"00:00\"",
            "sqrt_headroom must be a number from 0 to 10",
        ],
    ),
    (
        "min_gateways = 0",
        "min_gateways = 0, sqrt_headroom = inf",
        &[
            "schedule.default.\"00:00\"",
            "sqrt_headroom must be a number from 0 to 10",
        ],
    ),
    (
        "min_gateways = 0",
        "min_gateways = 5",
        &["min_gateways (5) is greater than max_gateways (4)"],
    ),
    (
        "cpu_per_gateway = 4",
        "cpu_per_gateway = 0",
        &["cpu_per_gateway", "greater than 0"],
    ),
    (
        "\"c4\" = 4",
        "\"c4\" = 0",
        &["provider.instance_types.c4", "greater than 0"],
    ),
    // Two spellings of one slot time were merged silently.
    (
        "[schedule.default]",
        "[schedule.default]\n\"00:00:00\" = { idle_min = 9, load_max = 0.8, max_gateways = 40 }",
        &[
            "schedule.default.\"00:00:00\"",
            "schedule.default.\"00:00\"",
            "same time",
        ],
    ),
    // Sections of another pool kind were ignored.
    (
        "[limits]",
        "[media]\nurl = \"redis://127.0.0.1:6379/0\"\n\n[limits]",
        &["[media] does not apply to pool.kind = \"sip\""],
    ),
    (
        "[limits]",
        "[replicas]\nreplica_capacity = 3\n\n[limits]",
        &["[replicas] does not apply to pool.kind = \"sip\""],
    ),
    // `protected` entries that could never match anything.
    (
        "protected = [\"127.0.1.250\"]",
        "protected = [\"127.0.1.250\", \"10.0.0.0/24\"]",
        &["pool.protected", "\"10.0.0.0/24\" is a network"],
    ),
    (
        "protected = [\"127.0.1.250\"]",
        "protected = [\"10.0.0.300\"]",
        &["pool.protected", "not a valid IP address"],
    ),
    (
        "protected = [\"127.0.1.250\"]",
        "protected = [\"gw 1\"]",
        &["pool.protected", "has spaces inside"],
    ),
    (
        "protected = [\"127.0.1.250\"]",
        "protected = [\"  \"]",
        &["pool.protected", "is empty"],
    ),
    // What `run` refused when it connected, and `check` called valid.
    (
        "url = \"mysql://scaler@127.0.0.1:1/scaler_hostile\"",
        "url = \"scaler@127.0.0.1:1/scaler_hostile\"",
        &["sip.url: invalid MySQL URL"],
    ),
    (
        "password_env = \"SCALER_TEST_DB_PASSWORD\"",
        "password_env = \"SCALER_TEST_DB_PASSWORD\"\npassword = \"x\"",
        &[
            "sip.password: give only one of password, password_env, password_file and password_credential",
        ],
    ),
];

/// For the cases whose offending line is not the replacement's last one:
/// `(replacement, text on the line the error names)`.
const LINE_OF: &[(&str, &str)] = &[
    (
        "[schedule.default]\n\"00:00:00\" = { idle_min = 9, load_max = 0.8, max_gateways = 40 }",
        "\"00:00\" = { idle_min = 1",
    ),
    (
        "[media]\nurl = \"redis://127.0.0.1:6379/0\"\n\n[limits]",
        "[media]",
    ),
    ("[replicas]\nreplica_capacity = 3\n\n[limits]", "[replicas]"),
];

/// Line (1-based) of `needle` in `text`.
fn line_of(text: &str, needle: &str) -> usize {
    let at = text.find(needle).expect("the replacement is in the text");
    text[..at].matches('\n').count() + 1
}

/// Exit 78, no panic, the words, `line N` (or toml's `line N, column`).
fn assert_refused(run: &Run, words: &[&str], line: usize, what: &str) {
    assert_eq!(
        run.status, 78,
        "{what}: exit {}\n{}",
        run.status, run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{what}: {}", run.stderr);
    for word in words {
        assert!(
            run.stderr.contains(word),
            "{what}: no {word:?} in\n{}",
            run.stderr
        );
    }
    assert!(
        run.stderr.contains(&format!("line {line}:"))
            || run.stderr.contains(&format!("line {line},")),
        "{what}: line {line} not named in\n{}",
        run.stderr
    );
}

#[test]
fn hostile_values_exit_78_naming_key_and_line() {
    let ws = Workspace::new();
    for (from, to, words) in CASES {
        assert!(BASE.contains(from), "test bug: {from:?} not in BASE");
        let text = BASE.replacen(from, to, 1);
        let config = ws.config(&text);
        let named = LINE_OF
            .iter()
            .find(|(case, _)| case == to)
            .map_or(to.lines().last().unwrap_or(to), |(_, needle)| *needle);
        let line = line_of(&text, named);
        for command in [&["check", "--offline"][..], &["check"], &["plan"], &["run"]] {
            let mut args = vec!["-c", config.as_str()];
            args.extend_from_slice(command);
            let run = scaler(&args);
            assert_refused(&run, words, line, &format!("{to} ({command:?})"));
        }
    }
}

/// The base configuration itself loads: the cases fail because of their one change.
#[test]
fn the_base_configuration_is_valid() {
    let ws = Workspace::new();
    let config = ws.config(BASE);
    scaler(&["-c", &config, "check", "--offline"]).expect(0);
}

/// A `protected` entry written with spaces around it protects its address
/// (it was compared untrimmed and matched nothing: the host was destroyed).
#[test]
fn a_protected_entry_with_spaces_still_protects() {
    let ws = Workspace::new();
    let db = Kamailio::new("hostileprot");
    let slot = "{ idle_min = 0, load_max = 1.0, max_gateways = 4 }";
    let config = sip_config(
        &ws,
        &db,
        "hostileprot",
        slot,
        "protected = [\" 127.0.1.9 \"]",
    );
    ws.add_instance(
        "hostileprot",
        "127.0.1.9",
        scaler::provider::InstanceState::Error,
        30,
        4,
    );
    let run = scaler(&["-c", &config, "--format", "json", "plan"]).expect(0);
    assert!(run.actions().is_empty(), "{:?}", run.actions());
    assert_eq!(run.json()["observed"]["instances"]["protected"], 1);
}

/// `max_create_per_run = 0` holds every creation back: the text report says
/// so (it printed "no change" and hid the note).
#[test]
fn the_text_report_shows_the_brake_note() {
    let ws = Workspace::new();
    let db = Kamailio::new("hostilebrake");
    let slot = "{ idle_min = 2, load_max = 1.0, max_gateways = 4 }";
    let config = sip_config(&ws, &db, "hostilebrake", slot, "");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("[limits]\n", "[limits]\nmax_create_per_run = 0\n");
    std::fs::write(&config, text).unwrap();
    let run = scaler(&["-c", &config, "plan"]).expect(0);
    assert!(
        run.stdout
            .contains("note: limits.max_create_per_run (0) held back 1 creation(s)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("decision: "), "{}", run.stdout);
}
