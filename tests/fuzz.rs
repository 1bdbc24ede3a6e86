//! Property tests over every parser of untrusted input (DESIGN.md "Safety
//! invariants" 8): the configuration, SIP URIs from the `location` and
//! `dialog` tables, durations and probe answers. Whatever the bytes, the
//! parsers return a value or an error naming the problem; they never panic.
//!
//! Configurations are also generated as structured documents: valid TOML
//! built from typed parts (every pool kind, timelines and slots, instance
//! types, limits), which must load as written, then changed one key at a
//! time — removed, added under an unknown name, given a value of another
//! type or out of range — which must load when the key was optional and
//! otherwise fail with an error naming the key. The case counts are bounded
//! so CI spends a few seconds here.

use proptest::prelude::*;
use scaler::pool::Hosts;
use scaler::pool::media::locate;
use scaler::pool::sip::uri::SipUri;
use scaler::pool::sip::username_matches;
use std::path::Path;

const SAMPLE: &str = include_str!("../examples/sip.toml");

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 2_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn config_parser_never_panics_on_text(text in ".{0,400}") {
        let _ = scaler::config::parse(&text, Path::new("fuzz.toml"));
    }

    #[test]
    fn config_parser_never_panics_on_mutated_samples(
        cut in 0usize..4_000,
        len in 0usize..40,
        insert in "[ -~\n]{0,20}",
    ) {
        let mut text = SAMPLE.to_string();
        let start = cut.min(text.len());
        let end = (start + len).min(text.len());
        if text.is_char_boundary(start) && text.is_char_boundary(end) {
            text.replace_range(start..end, &insert);
        }
        let _ = scaler::config::parse(&text, Path::new("fuzz.toml"));
    }

    #[test]
    fn sip_uri_parsers_never_panic(uri in "(\"[a-z \\\\\"]{0,8}\" ?)?(<?[sS][iI][pP][sS]?:)?[a-zA-Z0-9.~:;=@\\[\\]<>%_?&\"-]{0,80}") {
        let _ = SipUri::parse(&uri).map(|u| u.alias());
        let _ = username_matches(&uri, "mediagw");
    }

    #[test]
    fn any_string_parses_or_fails_cleanly(text in "\\PC{0,60}") {
        let _ = SipUri::parse(&text).map(|u| u.alias());
        let _ = locate(text.as_bytes(), &Hosts::default());
        let _ = scaler::duration::parse(&text);
    }

    #[test]
    fn probe_answers_never_panic(body in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = scaler::probe::parse_status(&body, "capacity", "termination", true);
    }

    #[test]
    fn probe_json_answers_never_panic(termination in any::<i64>(), capacity in any::<i64>(), as_bool in any::<bool>()) {
        let body = if as_bool {
            format!("{{\"termination\": {}, \"capacity\": {capacity}}}", termination % 2 == 0)
        } else {
            format!("{{\"termination\": {termination}, \"capacity\": {capacity}}}")
        };
        let result = scaler::probe::parse_status(body.as_bytes(), "capacity", "termination", true);
        prop_assert_eq!(result.is_ok(), as_bool && capacity >= 0 && capacity <= i64::from(u32::MAX));
    }
}

/// README: `provider.kind` defaults to `local`, with or without a
/// `[provider]` section (a section without `kind` used to be refused).
#[test]
fn a_provider_section_without_kind_is_the_local_provider() {
    let text = SAMPLE.replacen("kind = \"local\"", "", 1);
    assert!(!text.contains("kind = \"local\""));
    let config = scaler::config::parse(&text, Path::new("examples/sip.toml")).unwrap();
    assert!(matches!(
        config.provider,
        scaler::config::ProviderConfig::Local(_)
    ));
}

#[test]
fn the_sample_itself_is_valid() {
    scaler::config::parse(SAMPLE, Path::new("examples/sip.toml")).unwrap();
}

// ---------------------------------------------------------------------------
// Structured configurations: valid TOML documents built from typed parts,
// then changed one key at a time (removed, added, mistyped, given a value out
// of range), so that what is exercised is the validation, not the lexer.

use toml::{Table, Value};

/// One key of a generated document.
#[derive(Debug, Clone)]
struct Entry {
    /// Its path (`["schedule", "default", "07:00", "idle_min"]`).
    path: Vec<String>,
    value: Value,
    /// Whether the document is invalid without it.
    required: bool,
}

fn entry(path: &[&str], value: impl Into<Value>, required: bool) -> Entry {
    Entry {
        path: path.iter().map(|s| s.to_string()).collect(),
        value: value.into(),
        required,
    }
}

/// What was generated, to compare with what was loaded.
#[derive(Debug, Clone)]
struct Model {
    name: String,
    kind: &'static str,
    cpu_per_gateway: i64,
    instance_types: Vec<(String, i64)>,
    /// Timeline name → slot times ("HH:MM").
    timelines: Vec<(String, Vec<String>)>,
    entries: Vec<Entry>,
}

impl Model {
    fn document(&self, entries: &[Entry]) -> String {
        let mut root = Table::new();
        for e in entries {
            let mut table = &mut root;
            for part in &e.path[..e.path.len() - 1] {
                table = table
                    .entry(part.clone())
                    .or_insert_with(|| Value::Table(Table::new()))
                    .as_table_mut()
                    .expect("generated paths never cross a value");
            }
            table.insert(e.path.last().unwrap().clone(), e.value.clone());
        }
        toml::to_string(&root).expect("a table always serializes")
    }
}

const DURATIONS: [&str; 6] = ["30s", "90s", "5m", "10m", "1h", "1h30m"];
const TIMEZONES: [&str; 5] = [
    "UTC",
    "Europe/Paris",
    "America/New_York",
    "Asia/Tokyo",
    "Australia/Sydney",
];
const WEEKDAY_NAMES: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

fn duration() -> impl Strategy<Value = String> {
    prop::sample::select(DURATIONS.to_vec()).prop_map(str::to_string)
}

/// A slot's fields for a gateway pool: (idle_min, load_max, min, max).
fn gateway_slot() -> impl Strategy<Value = (i64, f64, i64, i64)> {
    (0i64..=20, 1i64..=100, 0i64..=5, 0i64..=200)
        .prop_map(|(idle, load, min, extra)| (idle, load as f64 / 100.0, min, min + extra.max(1)))
}

/// Slot start times of one timeline: 1 to 3 distinct quarter hours.
fn slot_times() -> impl Strategy<Value = Vec<String>> {
    prop::collection::btree_set(0u32..96, 1..=3).prop_map(|quarters| {
        quarters
            .into_iter()
            .map(|q| format!("{:02}:{:02}", q / 4, (q % 4) * 15))
            .collect()
    })
}

fn model() -> impl Strategy<Value = Model> {
    let kind = prop::sample::select(vec!["sip", "media", "replicas"]);
    let weekdays = prop::sample::subsequence(WEEKDAY_NAMES.to_vec(), 0..=2);
    (
        (
            "[a-z][a-z0-9-]{0,12}",
            kind,
            1i64..=8,
            1i64..=16,
            "[a-z]{1,8}",
        ),
        (
            duration(),
            duration(),
            duration(),
            prop::sample::select(TIMEZONES.to_vec()),
        ),
        (weekdays, prop::collection::vec(slot_times(), 3)),
        prop::collection::vec((gateway_slot(), 0i64..=50, 1i64..=100), 9),
        (
            prop::collection::btree_map("vm[a-z0-9]{2,5}", 0i64..=8, 1..=3),
            1i64..=8,
            1i64..=64,
        ),
        (
            1i64..=50,
            1i64..=50,
            any::<bool>(),
            prop::collection::vec(0u8..=255, 0..=2),
        ),
    )
        .prop_map(|(pool, times, schedule, slots, provider, limits)| {
            build(pool, times, schedule, slots, provider, limits)
        })
}

type PoolParts = (String, &'static str, i64, i64, String);
type TimeParts = (String, String, String, &'static str);
type ScheduleParts = (Vec<&'static str>, Vec<Vec<String>>);
type SlotParts = Vec<((i64, f64, i64, i64), i64, i64)>;
type ProviderParts = (std::collections::BTreeMap<String, i64>, i64, i64);
type LimitParts = (i64, i64, bool, Vec<u8>);

fn build(
    (name, kind, cpu, ram, prefix): PoolParts,
    (timeout, register, drain, timezone): TimeParts,
    (weekdays, times): ScheduleParts,
    slots: SlotParts,
    (types, capacity, concurrency): ProviderParts,
    (max_create, max_destroy, with_password, protected): LimitParts,
) -> Model {
    let mut e = vec![
        entry(&["pool", "name"], name.clone(), true),
        entry(&["pool", "kind"], kind, true),
        entry(&["pool", "ram_per_gateway"], ram, false),
        entry(&["pool", "no_public_ip_timeout"], timeout.clone(), false),
        entry(&["pool", "register_timeout"], register, false),
        entry(&["pool", "drain_timeout"], drain, false),
        entry(&["schedule", "timezone"], timezone, false),
        entry(&["limits", "max_create_per_run"], max_create, false),
        entry(&["limits", "max_destroy_per_run"], max_destroy, false),
        entry(&["limits", "scale_down_delay"], timeout, false),
        entry(&["lock", "path"], "pass.lock", false),
        entry(&["provider", "kind"], "local", false),
        entry(&["provider", "state_file"], "cloud.json", false),
        entry(&["provider", "address_range"], "127.0.1.0/24", false),
        entry(&["provider", "boot_delay"], "60s", false),
    ];
    if !protected.is_empty() {
        let ips: Vec<Value> = protected
            .iter()
            .map(|n| Value::from(format!("10.0.0.{n}")))
            .collect();
        e.push(entry(&["pool", "protected"], ips, false));
    }
    // Every type can hold a gateway, so any one of them keeps the file valid.
    let types: Vec<(String, i64)> = types
        .into_iter()
        .map(|(t, extra)| (t, cpu + extra))
        .collect();
    let biggest = types.iter().map(|(_, v)| *v).max().unwrap_or(0);
    // Without the key, cpu_per_gateway is 4: a gateway pool stays valid only
    // if a type has 4 (replica pools do not size types by it).
    e.push(entry(
        &["pool", "cpu_per_gateway"],
        cpu,
        kind != "replicas" && biggest < 4,
    ));
    for (t, vcpus) in &types {
        e.push(entry(
            &["provider", "instance_types", t],
            *vcpus,
            types.len() == 1,
        ));
    }
    if kind != "replicas" {
        e.push(entry(&["pool", "gateway_prefix"], prefix, false));
    }
    source_entries(&mut e, kind, with_password, capacity, concurrency);
    let timelines = schedule_entries(&mut e, kind, weekdays, times, slots);
    Model {
        name,
        kind,
        cpu_per_gateway: cpu,
        instance_types: types,
        timelines,
        entries: e,
    }
}

/// The source's section (`[sip]`, `[media]`, or `[replicas]` and `[probe]`).
fn source_entries(
    e: &mut Vec<Entry>,
    kind: &str,
    with_password: bool,
    capacity: i64,
    concurrency: i64,
) {
    match kind {
        "sip" => {
            e.push(entry(
                &["sip", "url"],
                "mysql://kamailio@127.0.0.1:3306/kamailio",
                true,
            ));
            e.push(entry(&["sip", "connect_timeout"], "5s", false));
            e.push(entry(&["sip", "query_timeout"], "10s", false));
            if with_password {
                e.push(entry(
                    &["sip", "password_env"],
                    "KAMAILIO_DB_PASSWORD",
                    false,
                ));
            }
        }
        "media" => {
            e.push(entry(&["media", "url"], "redis://127.0.0.1:6379/0", true));
            e.push(entry(&["media", "key_prefix"], "gateway:", false));
            e.push(entry(&["media", "command_timeout"], "10s", false));
        }
        _ => {
            e.push(entry(&["replicas", "replica_capacity"], capacity, true));
            e.push(entry(&["probe", "url"], "http://{ip}:8080/status", true));
            e.push(entry(&["probe", "timeout"], "2s", false));
            e.push(entry(&["probe", "concurrency"], concurrency, false));
        }
    }
}

/// The slots of `default` and of some weekdays; returns the timelines' names
/// and slot times.
fn schedule_entries(
    e: &mut Vec<Entry>,
    kind: &str,
    weekdays: Vec<&'static str>,
    times: Vec<Vec<String>>,
    slots: SlotParts,
) -> Vec<(String, Vec<String>)> {
    let names: Vec<String> = std::iter::once("default")
        .chain(weekdays)
        .map(str::to_string)
        .collect();
    let mut timelines = Vec::new();
    let mut slots = slots.into_iter();
    for (name, starts) in names.iter().zip(times) {
        for start in &starts {
            let ((idle, load, min, max), available, replicas) = slots.next().expect("enough slots");
            // The last field of a slot is required whatever it is: removing it
            // empties the slot; each is also required on its own.
            let at = |key: &'static str| {
                vec![
                    "schedule".to_string(),
                    name.clone(),
                    start.clone(),
                    key.to_string(),
                ]
            };
            let mut push = |key: &'static str, value: Value, required: bool| {
                e.push(Entry {
                    path: at(key),
                    value,
                    required,
                })
            };
            if kind == "replicas" {
                push("min_available", available.into(), true);
                push("max_replicas", replicas.into(), true);
            } else {
                push("idle_min", idle.into(), true);
                push("load_max", load.into(), true);
                push("max_gateways", max.into(), true);
                push("min_gateways", min.into(), false);
            }
        }
        timelines.push((name.clone(), starts));
    }
    timelines
}

fn load(text: &str) -> Result<scaler::config::Config, String> {
    scaler::config::parse(text, Path::new("/etc/scaler/fuzz.toml")).map_err(|e| e.to_string())
}

/// Whether an error message names the key at `path`: its own name, or the
/// table that lost its last key with it (`[replicas]`,
/// `provider.instance_types`).
fn names_key(message: &str, path: &[String]) -> bool {
    let key = path.last().unwrap();
    message.contains(key.as_str())
        || (1..path.len()).any(|n| {
            let table = path[..n].join(".");
            message.contains(&format!("[{table}]")) || (n > 1 && message.contains(&table))
        })
}

/// Keys whose durations may also be written as whole seconds.
fn is_duration(path: &[String]) -> bool {
    let key = path.last().unwrap();
    key.ends_with("timeout") || key.ends_with("delay") || key == "deadline"
}

/// A value of another TOML type than the one at `path` (never an integer
/// for a float, which TOML readers may widen, nor for a duration, which may
/// be whole seconds).
fn mistyped(path: &[String], value: &Value, pick: usize) -> Value {
    let choices: Vec<Value> = match value {
        Value::String(_) if is_duration(path) => vec![
            Value::Boolean(true),
            Value::Array(vec![]),
            Value::Float(2.5),
        ],
        Value::String(_) => vec![
            Value::Integer(7),
            Value::Boolean(true),
            Value::Array(vec![]),
        ],
        Value::Integer(_) => vec![
            Value::String("seven".into()),
            Value::Boolean(false),
            Value::Float(1.5),
        ],
        Value::Float(_) => vec![Value::String("most".into()), Value::Boolean(true)],
        Value::Boolean(_) => vec![Value::String("yes".into()), Value::Integer(1)],
        Value::Array(_) => vec![Value::Integer(3), Value::Boolean(true)],
        _ => vec![Value::Integer(0)],
    };
    choices[pick % choices.len()].clone()
}

/// Typed values out of range for the key at `path`, when the test knows one.
fn out_of_range(path: &[String]) -> Option<Vec<Value>> {
    let key = path.last().unwrap().as_str();
    let values: Vec<Value> = match key {
        "load_max" => vec![0.0.into(), 1.5.into(), (-0.25).into()],
        "cpu_per_gateway" | "replica_capacity" => vec![0.into(), (-4).into()],
        "idle_min" | "max_gateways" | "ram_per_gateway" | "concurrency" => vec![(-1).into()],
        "timezone" => vec!["Mars/Olympus_Mons".into(), "".into()],
        "register_timeout" | "drain_timeout" | "scale_down_delay" | "boot_delay" => {
            vec!["10 parsecs".into(), "-5m".into(), "".into()]
        }
        "kind" if path[0] == "pool" => vec!["video".into(), "SIP ".into()],
        "kind" if path[0] == "provider" => vec!["nimbus".into()],
        "address_range" => vec!["127.0.1.0/33".into(), "not a network".into()],
        _ if path.get(1).is_some_and(|p| p == "instance_types") => vec![0.into(), (-8).into()],
        _ => return None,
    };
    Some(values)
}

/// Tables whose keys are fixed field names (not maps of names chosen by the user).
fn is_struct_table(path: &[String]) -> bool {
    match path {
        [] => true,
        [top] => top != "schedule",
        [first, second, ..] if first == "provider" && second == "instance_types" => false,
        [first, _, _] if first == "schedule" => true,
        _ => false,
    }
}

#[derive(Debug, Clone)]
enum Change {
    Remove(usize),
    Mistype(usize, usize),
    OutOfRange(usize, usize),
    Unknown(usize, String),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        any::<usize>().prop_map(Change::Remove),
        (any::<usize>(), any::<usize>()).prop_map(|(i, p)| Change::Mistype(i, p)),
        (any::<usize>(), any::<usize>()).prop_map(|(i, p)| Change::OutOfRange(i, p)),
        (any::<usize>(), "[a-z]{3,10}").prop_map(|(i, k)| Change::Unknown(i, k)),
    ]
}

fn structured() -> ProptestConfig {
    ProptestConfig {
        cases: 400,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(structured())]

    #[test]
    fn generated_valid_configurations_load_as_written(model in model()) {
        let text = model.document(&model.entries);
        let config = load(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(&config.pool.name, &model.name);
        prop_assert_eq!(config.pool.kind.as_str(), model.kind);
        prop_assert_eq!(i64::from(config.pool.cpu_per_gateway), model.cpu_per_gateway);
        let types: Vec<(String, i64)> = config
            .instance_types
            .iter()
            .map(|(k, v)| (k.clone(), i64::from(*v)))
            .collect();
        prop_assert_eq!(types, model.instance_types.clone());
        for (name, starts) in &model.timelines {
            let timeline = &config.schedule.timelines[name];
            let loaded: Vec<String> = timeline.iter().map(|(t, _)| t.format("%H:%M").to_string()).collect();
            prop_assert_eq!(&loaded, starts);
        }
    }

    #[test]
    fn a_changed_key_loads_or_fails_naming_it(model in model(), change in change()) {
        let mut entries = model.entries.clone();
        let n = entries.len();
        // (expected to load, the path an error must name)
        let (valid, path) = match change.clone() {
            Change::Remove(i) => {
                let removed = entries.remove(i % n);
                (!removed.required, removed.path)
            }
            Change::Mistype(i, pick) => {
                let target = &mut entries[i % n];
                target.value = mistyped(&target.path, &target.value, pick);
                (false, target.path.clone())
            }
            Change::OutOfRange(i, pick) => {
                let Some(i) = (0..n).map(|k| (i + k) % n).find(|&k| out_of_range(&entries[k].path).is_some()) else {
                    return Ok(());
                };
                let values = out_of_range(&entries[i].path).unwrap();
                entries[i].value = values[pick % values.len()].clone();
                (false, entries[i].path.clone())
            }
            Change::Unknown(i, key) => {
                let key = format!("unknown_{key}");
                let tables: Vec<Vec<String>> = entries
                    .iter()
                    .map(|e| e.path[..e.path.len() - 1].to_vec())
                    .chain(std::iter::once(Vec::new()))
                    .filter(|p| is_struct_table(p))
                    .collect();
                let mut path = tables[i % tables.len()].clone();
                path.push(key);
                entries.push(Entry { path: path.clone(), value: Value::Integer(1), required: false });
                (false, path)
            }
        };
        let text = model.document(&entries);
        match load(&text) {
            Ok(_) => prop_assert!(valid, "accepted, but {} was changed ({change:?}):\n{text}", path.join(".")),
            Err(e) => {
                prop_assert!(!valid, "rejected after removing optional {}: {e}\n{text}", path.join("."));
                prop_assert!(names_key(&e, &path), "the error does not name {}: {e}\n{text}", path.join("."));
            }
        }
    }
}
