//! Media pools against the real redis-server on 127.0.0.1, with the keys
//! written the way SIPMediaGW's media proxy writes them: scale up, drains of
//! whole idle hosts only, a room assigned while a drain runs (the host
//! survives), clean-up after `drain_timeout`, bad values, Redis unavailable.
//! Each test works in its own key namespace and removes it at the end.

mod common;

use common::media::{Redis, media_config};
use common::*;
use redis::Commands;
use scaler::pass::{PassOptions, Steps};
use scaler::pool::{
    DrainOutcome, Gateway, GatewayObservation, GatewaySource, Hosts, SourceError, SourceRecord,
};
use scaler::provider::InstanceState;
use std::net::{IpAddr, TcpListener};

const IDLE2: &str = "{ idle_min = 2, load_max = 0.8, max_gateways = 40 }";
const TIGHT: &str = "{ idle_min = 0, load_max = 1.0, max_gateways = 40 }";

fn strings(json: &serde_json::Value, field: &str) -> Vec<String> {
    json[field]
        .as_array()
        .unwrap_or_else(|| panic!("{field} is an array: {json}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn scales_up_from_a_static_busy_gateway_and_never_twice() {
    let ws = Workspace::new();
    let mut redis = Redis::new("up");
    redis.register("static", "127.0.9.1:8080", "working");
    let config = media_config(&ws, &redis, "mup", IDLE2, "", "");

    // busy 1 → target max(1 + 2, ceil(1 / 0.8)) = 3; 1 registered → 2 more.
    let run = scaler(&["-c", &config, "--format", "json", "run"]).expect(0);
    let json = run.json();
    assert_eq!(json["pool"]["kind"], "media");
    assert_eq!(json["observed"]["gateways"]["busy"], 1);
    assert_eq!(json["observed"]["gateways"]["registered"], 1);
    assert_eq!(json["decision"]["target"], 3);
    assert_eq!(
        run.actions(),
        [("create".into(), "done".into(), "scale_up".into())]
    );
    assert_eq!(json["actions"][0]["gateways"], 2);
    assert_eq!(ws.instance_ids("mup").len(), 1);

    // The next minute: the new instance's gateways are pending, one already announced.
    let ip = json["actions"][0]["ip"].as_str().unwrap().to_string();
    redis.register("new-0", &ip, "starting");
    let run = scaler(&["-c", &config, "--format", "json", "run"]).expect(0);
    let json = run.json();
    assert_eq!(json["observed"]["gateways"]["pending"], 2);
    assert_eq!(json["decision"]["delta"], 0);
    assert!(run.actions().is_empty());
    assert_eq!(ws.instance_ids("mup").len(), 1);
    assert_eq!(redis.state("static").as_deref(), Some("working"));
}

#[test]
fn scale_down_drains_only_fully_idle_hosts() {
    let ws = Workspace::new();
    let mut redis = Redis::new("down");
    let idle = ws.add_instance("mdown", "127.0.1.1", InstanceState::Active, 60, 8);
    let busy = ws.add_instance("mdown", "127.0.1.2", InstanceState::Active, 60, 8);
    let starting = ws.add_instance("mdown", "127.0.1.3", InstanceState::Active, 60, 8);
    redis.register("a0", "127.0.1.1:8080", "started");
    redis.register("a1", "127.0.1.1:8081", "stopped");
    redis.register("b0", "127.0.1.2:8080", "working");
    redis.register("b1", "127.0.1.2:8081", "started");
    redis.register("c0", "127.0.1.3:8080", "started");
    redis.register("c1", "127.0.1.3:8081", "starting");
    redis.register("static", "127.0.9.9", "started");
    let config = media_config(&ws, &redis, "mdown", TIGHT, "", "");
    let before: Vec<Option<Vec<u8>>> = ["b0", "b1", "c0", "c1", "static"]
        .iter()
        .map(|id| redis.get(id))
        .collect();

    // busy 1 → target 1; 6 registered + 1 pending → 6 too many; only host .1 can go.
    let plan = scaler(&[
        "-c",
        &config,
        "--format",
        "json",
        "plan",
        "--detailed-exitcode",
    ])
    .expect(2);
    let json = plan.json();
    assert_eq!(json["observed"]["gateways"]["busy"], 1);
    assert_eq!(
        json["observed"]["gateways"]["idle"], 5,
        "stopped counts idle"
    );
    assert_eq!(json["observed"]["gateways"]["pending"], 1);
    assert_eq!(json["decision"]["delta"], -6);
    assert_eq!(
        plan.actions(),
        [
            ("drain".into(), "planned".into(), "scale_down".into()),
            ("destroy".into(), "planned".into(), "drained".into())
        ]
    );
    assert_eq!(json["actions"][0]["instance"], idle.as_str());
    assert_eq!(
        redis.state("a0").as_deref(),
        Some("started"),
        "plan changes nothing"
    );
    assert_eq!(ws.instance_ids("mdown").len(), 3);

    let run = scaler(&["-c", &config, "--format", "json", "run"]).expect(0);
    assert_eq!(run.actions().len(), 2, "{}", run.stdout);
    assert_eq!(ws.instance_ids("mdown"), [busy, starting]);
    // The destroyed host's keys (stopping by then) and drain records are gone.
    assert_eq!(redis.ids(), ["b0", "b1", "c0", "c1", "static"]);
    assert_eq!(redis.drain_record("a0"), None);
    let after: Vec<Option<Vec<u8>>> = ["b0", "b1", "c0", "c1", "static"]
        .iter()
        .map(|id| redis.get(id))
        .collect();
    assert_eq!(after, before, "other hosts' keys are untouched");
}

/// The drain script run directly against Redis: the proxy assigns a room to
/// one gateway of the host between the observation and the drain.
#[test]
fn a_room_assigned_during_the_drain_wins_and_nothing_is_marked() {
    let ws = Workspace::new();
    let mut redis = Redis::new("race");
    let config = media_config(&ws, &redis, "mrace", TIGHT, "", "");
    let config = scaler::config::load(std::path::Path::new(&config)).unwrap();
    // Values with non-UTF-8 bytes, extra fields and a TTL, all to be kept.
    // (The planner would leave hosts with non-UTF-8 values alone; the script
    // itself moves whatever it is given, byte for byte.)
    redis.set(
        "r0",
        b"127.0.1.1:8080|started|media|None|2026-01-01T08:00:00|0|0|x",
    );
    redis.set(
        "r1",
        b"127.0.1.1:8081|stopped|media|caf\xe9|2026-01-01T08:00:00|12|3|yes",
    );
    redis.set("s0", b"127.0.1.2|started");
    redis.set("s1", b"127.0.1.2|stopped|media|r\xff\xfe|t");
    let s0 = redis.key("s0");
    let _: () = redis.conn().expire(&s0, 3600).unwrap();

    let mut source = scaler::source_for(&config)
        .unwrap()
        .expect("a media pool has a gateway source");
    let observed = source.observe(&Hosts::default()).unwrap();
    let host = |ip: &str| ip.parse::<IpAddr>().unwrap();
    let of = |ip: &str| -> Vec<Gateway> {
        observed
            .gateways
            .iter()
            .filter(|g| g.host == host(ip))
            .cloned()
            .collect()
    };
    assert_eq!(of("127.0.1.1").len(), 2);

    // The proxy: r1 takes a room (`stopped → working`) after we looked.
    let taken = b"127.0.1.1:8081|working|media|room-42|2026-01-01T08:00:00|12|3|yes";
    let r1 = redis.key("r1");
    let _: () = redis.conn().set(&r1, &taken[..]).unwrap();
    let r0_before = redis.get("r0");
    match source.drain(host("127.0.1.1"), &of("127.0.1.1")).unwrap() {
        DrainOutcome::Busy(why) => assert!(why.contains("r1") && why.contains("working"), "{why}"),
        DrainOutcome::Drained => panic!("a host with a gateway in a room was drained"),
    }
    assert_eq!(redis.get("r0"), r0_before, "all or nothing: r0 not marked");
    assert_eq!(redis.get("r1").as_deref(), Some(&taken[..]));
    assert_eq!(redis.drain_record("r0"), None);

    // Without interference the other host is drained: only the state changes.
    let start = chrono::Utc::now().timestamp();
    assert_eq!(
        source.drain(host("127.0.1.2"), &of("127.0.1.2")).unwrap(),
        DrainOutcome::Drained
    );
    assert_eq!(redis.get("s0").unwrap(), b"127.0.1.2|stopping");
    assert_eq!(
        redis.get("s1").unwrap(),
        b"127.0.1.2|stopping|media|r\xff\xfe|t"
    );
    let ttl: i64 = redis.conn().ttl(&s0).unwrap();
    assert!(ttl > 3000, "the key's TTL is kept: {ttl}");
    for id in ["s0", "s1"] {
        let at = redis.drain_record(id).expect("a drain record");
        assert!((start..start + 5).contains(&at), "{id}: {at}");
    }

    // The next observation sees them draining since then.
    let observed = source.observe(&Hosts::default()).unwrap();
    assert_eq!(observed.draining_since.len(), 2);
    // r1's room is UTF-8 now; s1's is not (its host is tainted for the planner).
    assert!(!observed.errors.iter().any(|e| e.contains(&redis.key("r1"))));
    assert!(
        observed
            .errors
            .iter()
            .any(|e| e.contains(&redis.key("s1")) && e.contains("UTF-8")),
        "{:?}",
        observed.errors
    );

    // Forgetting the host after its destruction deletes only what is still
    // stopping or stopped: a key the proxy rewrote as working stays.
    let s1 = redis.key("s1");
    let _: () = redis
        .conn()
        .set(&s1, "127.0.1.2|working|media|late")
        .unwrap();
    source.forget(host("127.0.1.2"), &of("127.0.1.2")).unwrap();
    assert_eq!(redis.get("s0"), None);
    assert_eq!(redis.drain_record("s0"), None);
    assert_eq!(
        redis.get("s1").as_deref(),
        Some(&b"127.0.1.2|working|media|late"[..])
    );
}

/// A source that lets the proxy act between the pass's observation and its drain.
struct ProxyActsBeforeDrain {
    inner: Box<dyn GatewaySource>,
    act: Box<dyn FnMut()>,
}

impl GatewaySource for ProxyActsBeforeDrain {
    fn observe(&mut self, hosts: &Hosts) -> Result<GatewayObservation, SourceError> {
        self.inner.observe(hosts)
    }
    fn drain(&mut self, host: IpAddr, gateways: &[Gateway]) -> Result<DrainOutcome, SourceError> {
        (self.act)();
        self.inner.drain(host, gateways)
    }
    fn forget(&mut self, host: IpAddr, gateways: &[Gateway]) -> Result<(), SourceError> {
        self.inner.forget(host, gateways)
    }
    fn forget_stale(&mut self, host: IpAddr, gateways: &[Gateway]) -> Result<(), SourceError> {
        self.inner.forget_stale(host, gateways)
    }
    fn records(&self, gateways: &[Gateway]) -> Vec<SourceRecord> {
        self.inner.records(gateways)
    }
    fn forget_records(
        &mut self,
        host: IpAddr,
        records: &[SourceRecord],
    ) -> Result<u64, SourceError> {
        self.inner.forget_records(host, records)
    }
    fn hide_records(&mut self, records: &[SourceRecord]) {
        self.inner.hide_records(records)
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
}

#[test]
fn a_whole_pass_keeps_the_host_whose_gateway_takes_a_room_during_the_drain() {
    let ws = Workspace::new();
    let mut redis = Redis::new("passrace");
    let host = ws.add_instance("mpassrace", "127.0.1.1", InstanceState::Active, 60, 8);
    redis.register("g0", "127.0.1.1:8080", "started");
    redis.register("g1", "127.0.1.1:8081", "started");
    let path = media_config(&ws, &redis, "mpassrace", TIGHT, "", "");
    let config = scaler::config::load(std::path::Path::new(&path)).unwrap();
    let mut provider = scaler::provider_for(&config).unwrap();
    let proxy_key = redis.key("g1");
    let mut proxy = common::media::connect();
    let mut source = ProxyActsBeforeDrain {
        inner: scaler::source_for(&config)
            .unwrap()
            .expect("a media pool has a gateway source"),
        act: Box::new(move || {
            let value: Vec<u8> = proxy.get(&proxy_key).unwrap();
            let taken = String::from_utf8(value)
                .unwrap()
                .replacen("|started|", "|working|", 1);
            let _: () = proxy.set(&proxy_key, taken).unwrap();
        }),
    };
    let now = chrono::Utc::now();
    let options = PassOptions {
        command: "run",
        steps: Steps::Full,
        dry_run: false,
        now,
        at: now,
        busy_override: None,
        deadline: std::time::Instant::now() + config.limits.deadline.0,
        above_target_since: None,
        pending_forgets: Vec::new(),
        reservations: Default::default(),
        crash_loop: Default::default(),
    };
    let report = scaler::pass::execute(
        &config,
        provider.as_mut(),
        Some(&mut source),
        None,
        &options,
    );
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["exit_code"], 0, "{json}");
    assert_eq!(json["decision"]["delta"], -2, "{json}");
    assert!(json["actions"].as_array().unwrap().is_empty(), "{json}");
    let notes = strings(&json, "notes");
    assert!(
        notes
            .iter()
            .any(|n| n.contains("not drained") && n.contains("working")),
        "{notes:?}"
    );
    assert_eq!(ws.instance_ids("mpassrace"), [host], "the host survives");
    assert_eq!(redis.state("g0").as_deref(), Some("started"));
    assert_eq!(redis.state("g1").as_deref(), Some("working"));
    assert_eq!(redis.drain_record("g0"), None);
}

#[test]
fn cleanup_destroys_hosts_drained_longer_than_drain_timeout_and_forgets_their_keys() {
    let ws = Workspace::new();
    let mut redis = Redis::new("clean");
    let now = chrono::Utc::now();
    let minutes = |m: i64| now - chrono::Duration::minutes(m);
    let old = ws.add_instance("mclean", "127.0.1.1", InstanceState::Active, 60, 8);
    let young = ws.add_instance("mclean", "127.0.1.2", InstanceState::Active, 60, 4);
    let legacy = ws.add_instance("mclean", "127.0.1.3", InstanceState::Active, 60, 4);
    let serving = ws.add_instance("mclean", "127.0.1.4", InstanceState::Active, 60, 4);
    redis.register("o0", "127.0.1.1:8080", "stopping");
    redis.register("o1", "127.0.1.1:8081", "stopping");
    redis.set_drain_record("o0", minutes(20));
    redis.set_drain_record("o1", minutes(11));
    redis.register("y0", "127.0.1.2", "stopping");
    redis.set_drain_record("y0", minutes(2));
    // Drained by SIPMediaGW's Python scaler: the drain time is in start_time (local time).
    let local = (chrono::Local::now() - chrono::Duration::minutes(30))
        .format("%Y-%m-%dT%H:%M:%S%.6f")
        .to_string();
    redis.set(
        "l0",
        format!("127.0.1.3|stopping|media|None|{local}|0|0").as_bytes(),
    );
    redis.register("s0", "127.0.1.4", "started");
    // Left over from hosts that are gone.
    redis.register("gone-stopping", "127.0.9.1", "stopping");
    redis.set_drain_record("gone-stopping", minutes(1));
    redis.register("gone-working", "127.0.9.2", "working");
    redis.register("static-stopped", "127.0.9.3", "stopped");
    redis.register("static-started", "127.0.9.4", "started");
    redis.set_drain_record("long-gone", minutes(90));
    let config = media_config(&ws, &redis, "mclean", IDLE2, "drain_timeout = \"10m\"", "");

    let dry = scaler(&["-c", &config, "--format", "json", "cleanup", "--dry-run"]).expect(0);
    assert_eq!(dry.actions().len(), 2, "{}", dry.stdout);
    assert_eq!(ws.cloud().instances.len(), 4);
    assert_eq!(redis.ids().len(), 9, "a dry run deletes nothing");

    let run = scaler(&["-c", &config, "--format", "json", "cleanup"]).expect(0);
    let json = run.json();
    assert_eq!(json["observed"]["gateways"]["draining"], 5);
    let destroyed: Vec<(String, String)> = json["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["instance"].as_str().unwrap().to_string(),
                a["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        destroyed,
        [(old, "to_stop".into()), (legacy, "to_stop".into())]
    );
    assert_eq!(ws.instance_ids("mclean"), [young, serving]);
    let notes = strings(&json, "notes");
    assert!(
        notes
            .iter()
            .any(|n| n.contains("draining since") && n.contains("drain_timeout")),
        "{notes:?}"
    );
    // Keys of destroyed hosts and stopping leftovers are deleted; a working
    // one never is, nor a stopped gateway that may be a static one.
    assert_eq!(
        redis.ids(),
        [
            "gone-working",
            "s0",
            "static-started",
            "static-stopped",
            "y0"
        ]
    );
    for id in ["o0", "o1", "gone-stopping", "long-gone"] {
        assert_eq!(redis.drain_record(id), None, "{id}'s record is dropped");
    }
    assert!(redis.drain_record("y0").is_some());
}

#[test]
fn malformed_values_are_reported_and_their_hosts_left_alone() {
    let ws = Workspace::new();
    let mut redis = Redis::new("bad");
    let unknown_state = ws.add_instance("mbad", "127.0.1.1", InstanceState::Active, 60, 8);
    let not_utf8 = ws.add_instance("mbad", "127.0.1.2", InstanceState::Active, 60, 4);
    let fine = ws.add_instance("mbad", "127.0.1.3", InstanceState::Active, 60, 4);
    let no_state = ws.add_instance("mbad", "127.0.1.4", InstanceState::Active, 60, 4);
    redis.register("u0", "127.0.1.1", "started");
    redis.register("u1", "127.0.1.1", "sleeping");
    redis.set("n0", b"127.0.1.2|started|media|caf\xe9|t|0|0");
    redis.register("f0", "127.0.1.3", "started");
    redis.set("m0", b"127.0.1.4");
    let config = media_config(&ws, &redis, "mbad", TIGHT, "", "");

    // Each bad value names its host: that host is kept, the others are not
    // (a value without a readable host suspends the whole pool: see
    // tests/hostile_media.rs); bad records make the pass exit 3.
    let run = scaler(&["-c", &config, "--format", "json", "run"]).expect(3);
    let json = run.json();
    let errors = strings(&json, "errors");
    let expect = |id: &str, reason: &str| {
        let key = redis.key(id);
        assert!(
            errors
                .iter()
                .any(|e| e.contains(&key) && e.contains(reason)),
            "{key}: {reason} in {errors:?}"
        );
    };
    expect("u1", "unknown state \"sleeping\"");
    expect("n0", "not valid UTF-8");
    expect("m0", "missing state");
    assert_eq!(errors.len(), 3, "{errors:?}");
    // Registered: u0, n0, f0; idle only f0 (the others are on tainted hosts).
    assert_eq!(json["observed"]["gateways"]["registered"], 3);
    assert_eq!(json["observed"]["gateways"]["idle"], 1);
    assert_eq!(
        run.actions(),
        [
            ("drain".into(), "done".into(), "scale_down".into()),
            ("destroy".into(), "done".into(), "drained".into())
        ]
    );
    assert_eq!(json["actions"][0]["instance"], fine.as_str());
    // The host with only a bad value is not taken for an unregistered one.
    assert_eq!(ws.instance_ids("mbad"), [unknown_state, not_utf8, no_state]);
    assert_eq!(redis.state("u0").as_deref(), Some("started"));
    assert_eq!(
        redis.get("n0").unwrap(),
        b"127.0.1.2|started|media|caf\xe9|t|0|0"
    );
}

#[test]
fn redis_down_or_hung_exits_69_and_changes_nothing() {
    let ws = Workspace::new();
    let redis = Redis::new("down69");
    ws.add_instance("m69", "127.0.1.1", InstanceState::Error, 60, 4);
    ws.add_instance("m69", "127.0.1.2", InstanceState::Active, 60, 4);
    let config = media_config(
        &ws,
        &redis,
        "m69",
        IDLE2,
        "",
        "connect_timeout = \"500ms\"\ncommand_timeout = \"500ms\"",
    );
    let text = std::fs::read_to_string(&config).unwrap();
    let before = std::fs::read_to_string(ws.cloud_file()).unwrap();

    // A closed port: connection refused.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    // A server that accepts connections and never answers nor closes them:
    // a pass that exits while it holds them gave up on its own timeouts.
    let hung = TcpListener::bind("127.0.0.1:0").unwrap();
    let hung_port = hung.local_addr().unwrap().port();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = accepted.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in hung.incoming().flatten() {
            held.push(stream);
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let accepted_now = || accepted.load(std::sync::atomic::Ordering::SeqCst);
    for port in [closed_port, hung_port] {
        std::fs::write(&config, text.replace(":6379/", &format!(":{port}/"))).unwrap();
        for command in ["run", "cleanup"] {
            let before_run = accepted_now();
            let run = scaler(&["-c", &config, "--format", "json", command]).expect(69);
            let json = run.json();
            assert_eq!(json["exit_code"], 69);
            let errors = strings(&json, "errors");
            assert!(
                errors[0].starts_with("Redis redis://127.0.0.1:"),
                "{errors:?}"
            );
            assert!(run.actions().is_empty());
            if port == hung_port {
                // It did reach the hung server, which still holds the connection.
                // (The count is kept by a thread: give it time to run.)
                let reached = (0..200).any(|_| {
                    let more = accepted_now() > before_run;
                    if !more {
                        std::thread::sleep(std::time::Duration::from_millis(50));
                    }
                    more
                });
                assert!(reached, "{command} never connected");
            }
        }
        let check = scaler(&["-c", &config, "check"]).expect(69);
        assert!(check.stdout.contains("Redis"), "{}", check.stdout);
    }
    assert_eq!(std::fs::read_to_string(ws.cloud_file()).unwrap(), before);
}

#[test]
fn the_configured_password_is_sent_and_never_printed() {
    let ws = Workspace::new();
    let redis = Redis::new("auth");
    let config = media_config(
        &ws,
        &redis,
        "mauth",
        IDLE2,
        "",
        "password_env = \"SCALER_TEST_REDIS_PASSWORD\"",
    );
    // The test server has no password: AUTH is refused, so it was sent.
    let env = [("SCALER_TEST_REDIS_PASSWORD", "hunter2-secret")];
    for args in [
        &["-c", &config, "--format", "json", "run"][..],
        &["-c", &config, "check"][..],
    ] {
        let run = scaler_with_env(args, &env).expect(69);
        assert!(
            run.stdout.contains("authentication failed"),
            "{}",
            run.stdout
        );
        assert!(
            !run.stdout.contains("hunter2") && !run.stderr.contains("hunter2"),
            "{}{}",
            run.stdout,
            run.stderr
        );
    }
    // An unset variable is a configuration error naming it.
    let run = scaler(&["-c", &config, "run"]).expect(78);
    assert!(
        run.stderr.contains("SCALER_TEST_REDIS_PASSWORD"),
        "{}",
        run.stderr
    );
}

#[test]
fn check_loads_the_scripts_and_configuration_errors_exit_78() {
    let ws = Workspace::new();
    let mut redis = Redis::new("check");
    redis.register("c0", "127.0.9.1", "started");
    let config = media_config(&ws, &redis, "mcheck", IDLE2, "", "gateway_type = \"media\"");
    let run = scaler(&["-c", &config, "check"]).expect(0);
    assert!(
        run.stdout.contains("1 gateway key(s)") && run.stdout.contains("drain scripts loaded"),
        "{}",
        run.stdout
    );

    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("gateway_type", "gateway_kind")).unwrap();
    let run = scaler(&["-c", &config, "check"]).expect(78);
    assert!(
        run.stderr.contains("gateway_kind") && run.stderr.contains("line"),
        "{}",
        run.stderr
    );
    let start = text.find("[media]").unwrap();
    let end = text.find("[lock]").unwrap();
    std::fs::write(&config, format!("{}{}", &text[..start], &text[end..])).unwrap();
    let run = scaler(&["-c", &config, "run"]).expect(78);
    assert!(
        run.stderr.contains("missing section [media]"),
        "{}",
        run.stderr
    );
}
