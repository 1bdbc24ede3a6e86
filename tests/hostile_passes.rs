//! Hostile peers against the real binary: a MySQL or Redis server that
//! trickles one byte every half second (which no per-read timeout ever
//! catches), one that accepts and stays silent, an HTTP status endpoint that
//! sends its headers a byte at a time, and a local cloud whose state-file
//! lock another process keeps. Each pass must end by itself at
//! its bound (`limits.deadline` + 10 s), exit 69 when no action had started
//! (3 once one had), free its lock, and print a report naming the peer it
//! waited for, in words ("timed out", never "os error 11").
//!
//! The peers are written here, on 127.0.0.1 ports chosen by the kernel; the
//! trickling Kamailio database is a proxy to the real MariaDB that starts to
//! trickle when the client sends a chosen statement. Every run of the binary
//! has its own kill timer, far above the bound: a pass that hangs fails its
//! test instead of hanging CI.

mod common;

use common::media::{Redis, media_config, redis_url};
use common::*;
use mysql::prelude::Queryable;
use scaler::provider::InstanceState;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Far above any bound a test configures: reaching it means the pass hung.
const KILL_AFTER: Duration = Duration::from_secs(120);
const TRICKLE: Duration = Duration::from_millis(500);

/// The test MariaDB (`SCALER_TEST_MYSQL`, as the shared harness reads it).
fn mariadb() -> mysql::Opts {
    let url = std::env::var("SCALER_TEST_MYSQL")
        .unwrap_or_else(|_| "mysql://scaler:scaler@127.0.0.1:3306".to_string());
    mysql::Opts::from_url(&url).expect("valid SCALER_TEST_MYSQL")
}

/// `host:port` of the test MariaDB.
fn mariadb_address() -> String {
    let opts = mariadb();
    format!("{}:{}", opts.get_ip_or_hostname(), opts.get_tcp_port())
}

/// Runs `scaler` with a kill timer and asserts it ended by itself.
fn run_bounded(args: &[&str]) -> Run {
    let password = mariadb().get_pass().unwrap_or_default().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_scaler"))
        .args(args)
        .env(DB_PASSWORD_ENV, &password)
        .env_remove("SCALER_CONFIG")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the scaler binary runs");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let until = Instant::now() + KILL_AFTER;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for scaler") {
            break status;
        }
        if Instant::now() >= until {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "scaler {args:?} did not end by itself (killed by the test)\nstderr:\n{}",
                err.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Run {
        status: status.code().unwrap_or(-1),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

/// What a hostile peer does once it accepted a connection.
#[derive(Clone, Copy)]
enum Peer {
    /// Sends one byte every half second, for ever, without reading: a
    /// MySQL greeting (or a Redis reply) that never ends.
    TrickleAtOnce,
    /// Reads the first request, then answers one byte every half second: a
    /// Redis bulk reply that never ends.
    TrickleAfterRequest,
    /// Accepts and says nothing.
    Silent,
    /// Reads the request, then sends HTTP response headers that never end.
    HttpTrickle,
}

/// Starts a hostile peer on 127.0.0.1 and returns its port.
fn hostile(peer: Peer) -> u16 {
    hostile_on("127.0.0.1", peer)
}

/// Starts a hostile peer on `ip` and returns its port.
fn hostile_on(ip: &str, peer: Peer) -> u16 {
    let listener = TcpListener::bind((ip, 0)).expect("bind a loopback address");
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || serve_hostile(stream, peer));
        }
    });
    port
}

fn serve_hostile(mut stream: TcpStream, peer: Peer) {
    match peer {
        Peer::Silent => {
            let mut sink = [0u8; 4096];
            while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
        }
        Peer::TrickleAtOnce => {
            // A MySQL packet header announcing 4 KiB (half an hour at this
            // pace), then its bytes, slowly.
            let _ = stream.write_all(&[0x00, 0x10, 0x00, 0x00]);
            trickle(&mut stream, b'a');
        }
        Peer::HttpTrickle => {
            let mut request = [0u8; 4096];
            if matches!(stream.read(&mut request), Ok(n) if n > 0) {
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nX-Slow: ");
                trickle(&mut stream, b'a');
            }
        }
        Peer::TrickleAfterRequest => {
            let mut request = [0u8; 4096];
            if matches!(stream.read(&mut request), Ok(n) if n > 0) {
                let _ = stream.write_all(b"$1000000\r\n");
                trickle(&mut stream, b'x');
            }
        }
    }
}

fn trickle(stream: &mut TcpStream, byte: u8) {
    while stream.write_all(&[byte]).is_ok() {
        std::thread::sleep(TRICKLE);
    }
}

/// A proxy to the real MariaDB that forwards everything until the client
/// sends `trigger` (a statement text), then passes the server's answers on
/// one byte every half second. Returns its port.
fn trickling_proxy(trigger: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let server = TcpStream::connect(mariadb_address())
                .expect("the test MariaDB is reachable (run scripts/services.sh)");
            let triggered = Arc::new(AtomicBool::new(false));
            let (c2, s2, t2) = (
                client.try_clone().unwrap(),
                server.try_clone().unwrap(),
                Arc::clone(&triggered),
            );
            std::thread::spawn(move || client_to_server(c2, s2, trigger, &t2));
            std::thread::spawn(move || server_to_client(server, client, &triggered));
        }
    });
    port
}

fn client_to_server(mut client: TcpStream, mut server: TcpStream, trigger: &str, on: &AtomicBool) {
    let mut buf = [0u8; 65536];
    let mut tail: Vec<u8> = Vec::new();
    loop {
        let n = match client.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        tail.extend_from_slice(&buf[..n]);
        if tail.windows(trigger.len()).any(|w| w == trigger.as_bytes()) {
            // Before the statement reaches the server, so its answer trickles.
            on.store(true, Ordering::SeqCst);
        }
        let keep = tail.len().saturating_sub(trigger.len());
        tail.drain(..keep);
        if server.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    // The client left: so does the server's session (its transaction rolls back).
    let _ = server.shutdown(Shutdown::Both);
    let _ = client.shutdown(Shutdown::Both);
}

fn server_to_client(mut server: TcpStream, mut client: TcpStream, on: &AtomicBool) {
    let mut buf = [0u8; 65536];
    loop {
        let n = match server.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if !on.load(Ordering::SeqCst) {
            if client.write_all(&buf[..n]).is_err() {
                break;
            }
            continue;
        }
        for byte in &buf[..n] {
            if client.write_all(&[*byte]).is_err() {
                let _ = server.shutdown(Shutdown::Both);
                return;
            }
            std::thread::sleep(TRICKLE);
        }
    }
    let _ = client.shutdown(Shutdown::Both);
}

/// Replaces the first `from` of the configuration file with `to`.
fn with(config: &str, from: &str, to: &str) -> String {
    let text = std::fs::read_to_string(config).unwrap();
    assert!(
        text.contains(from),
        "test bug: {from:?} not in the configuration"
    );
    std::fs::write(config, text.replacen(from, to, 1)).unwrap();
    config.to_string()
}

const SLOT: &str = "{ idle_min = 1, load_max = 1.0, max_gateways = 40 }";

/// A SIP pool whose Kamailio database is on `port` of 127.0.0.1, with a
/// 2 s deadline and 1 s timeouts.
fn sip_pool_on(ws: &Workspace, db: &Kamailio, pool: &str, port: u16, slot: &str) -> String {
    let config = sip_config(ws, db, pool, slot, "");
    let real = db.url();
    let hostile = real.replace(&mariadb_address(), &format!("127.0.0.1:{port}"));
    assert_ne!(
        real, hostile,
        "test bug: the database address is not in its URL"
    );
    with(&config, &real, &hostile);
    with(
        &config,
        "[sip]\n",
        "[sip]\nconnect_timeout = \"1s\"\nquery_timeout = \"1s\"\n",
    );
    with(&config, "[limits]\n", "[limits]\ndeadline = \"2s\"\n")
}

/// A Redis pass lock under this test's namespace.
fn redis_lock(config: &str, key: &str) {
    with(
        config,
        "path = \"pass.lock\"",
        &format!(
            "backend = \"redis\"\nurl = \"{}\"\nname = \"{key}\"",
            redis_url()
        ),
    );
}

fn lock_key(tag: &str) -> String {
    format!("scaler-test:hostile-{tag}:{}:lock", std::process::id())
}

fn redis_get(key: &str) -> Option<String> {
    let mut conn = common::media::connect();
    redis::cmd("GET").arg(key).query(&mut conn).unwrap()
}

/// The report's only error, asserted to name `peer`, to say it timed out,
/// and never to show the bare system error.
fn hung_error(run: &Run, peer: &str) -> String {
    let json = run.json();
    let errors = json["errors"].as_array().expect("errors is an array");
    let text = errors
        .iter()
        .map(|e| e.as_str().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        text.contains(peer),
        "the report does not name {peer}: {text}"
    );
    assert!(text.contains("timed out"), "{text}");
    assert!(!text.contains("os error"), "{text}");
    assert!(!run.stderr.contains("os error 11"), "{}", run.stderr);
    assert_eq!(
        json["exit_code"].as_i64(),
        Some(i64::from(run.status as u8))
    );
    text
}

#[test]
fn a_trickling_mysql_greeting_ends_the_pass_at_its_bound_and_frees_the_redis_lock() {
    let ws = Workspace::new();
    let db = Kamailio::new("hgreet");
    let port = hostile(Peer::TrickleAtOnce);
    let config = sip_pool_on(&ws, &db, "hgreet", port, SLOT);
    let key = lock_key("greet");
    redis_lock(&config, &key);
    let run = run_bounded(&["-c", &config, "--format", "json", "run"]).expect(69);
    let error = hung_error(&run, &format!("127.0.0.1:{port}"));
    assert!(error.contains("observing gateways"), "{error}");
    assert!(error.contains("no action had started"), "{error}");
    assert_eq!(redis_get(&key), None, "the Redis lock is released");
    assert!(ws.instance_ids("hgreet").is_empty(), "nothing was created");
}

#[test]
fn a_trickling_location_query_ends_the_pass_and_the_file_lock_goes_with_the_process() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("hquery");
    ws.add_instance("hquery", "127.0.1.1", InstanceState::Active, 30, 4);
    db.register("127.0.1.1", 1, false, false);
    let port = trickling_proxy("FROM location");
    let config = sip_pool_on(&ws, &db, "hquery", port, SLOT);
    let run = run_bounded(&["-c", &config, "--format", "json", "run"]).expect(69);
    hung_error(&run, &format!("127.0.0.1:{port}"));
    // The same pool on the real database: the flock went with the process.
    let direct = with(&config, &format!("127.0.0.1:{port}"), &mariadb_address());
    run_bounded(&["-c", &direct, "--format", "json", "run"]).expect(0);
}

#[test]
fn a_stopped_pass_leaves_the_mysql_get_lock_free() {
    let ws = Workspace::new();
    let db = Kamailio::new("hgetlock");
    let port = trickling_proxy("FROM location");
    let config = sip_pool_on(&ws, &db, "hgetlock", port, SLOT);
    let name = format!("scaler-test-hgetlock-{}", std::process::id());
    let lock_url = db.url();
    with(
        &config,
        "path = \"pass.lock\"",
        &format!(
            "backend = \"mysql\"\nname = \"{name}\"\nurl = \"{lock_url}\"\npassword_env = \"{DB_PASSWORD_ENV}\""
        ),
    );
    let run = run_bounded(&["-c", &config, "--format", "json", "run"]).expect(69);
    hung_error(&run, &format!("127.0.0.1:{port}"));
    // The server ends the session of a closed connection, and its lock with
    // it; wait for that event (bounded), then take the lock ourselves.
    let mut conn = mysql::Conn::new(mariadb()).unwrap();
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        let got: Option<i64> = conn
            .exec_first("SELECT GET_LOCK(?, 0)", (name.as_str(),))
            .unwrap();
        if got == Some(1) {
            break;
        }
        assert!(
            Instant::now() < until,
            "the stopped pass's GET_LOCK stays held"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_trickling_media_redis_ends_the_pass_and_frees_the_redis_lock() {
    let ws = Workspace::new();
    let redis = Redis::new("hmedia");
    let port = hostile(Peer::TrickleAfterRequest);
    let config = media_config(
        &ws,
        &redis,
        "hmedia",
        SLOT,
        "",
        "command_timeout = \"1s\"\nconnect_timeout = \"1s\"",
    );
    with(
        &config,
        &redis_url(),
        &format!("redis://127.0.0.1:{port}/0"),
    );
    with(&config, "[limits]\n", "[limits]\ndeadline = \"2s\"\n");
    let key = lock_key("media");
    redis_lock(&config, &key);
    let run = run_bounded(&["-c", &config, "--format", "json", "run"]).expect(69);
    let error = hung_error(&run, &format!("127.0.0.1:{port}"));
    assert!(error.contains("observing gateways"), "{error}");
    assert_eq!(redis_get(&key), None, "the Redis lock is released");
}

#[test]
fn a_drain_that_hangs_after_it_started_exits_3_and_commits_nothing() {
    let ws = Workspace::new();
    let mut db = Kamailio::new("hdrain");
    let id = ws.add_instance("hdrain", "127.0.1.1", InstanceState::Active, 30, 4);
    db.register("127.0.1.1", 1, false, false);
    let port = trickling_proxy("UPDATE location");
    let idle_none = "{ idle_min = 0, load_max = 1.0, max_gateways = 40 }";
    let config = sip_pool_on(&ws, &db, "hdrain", port, idle_none);
    let key = lock_key("drain");
    redis_lock(&config, &key);
    let run = run_bounded(&["-c", &config, "--format", "json", "run"]).expect(3);
    let error = hung_error(&run, &format!("127.0.0.1:{port}"));
    assert!(error.contains("draining 127.0.1.1"), "{error}");
    assert!(error.contains("1 action(s) had started"), "{error}");
    let notes = run.json()["notes"].to_string();
    assert!(
        notes.contains("started before the stop: drain 127.0.1.1"),
        "{notes}"
    );
    assert_eq!(redis_get(&key), None, "the Redis lock is released");
    // The drain's transaction never committed; the instance is still there.
    assert_eq!(db.rows(), vec![("127.0.1.1.mediagw.1".to_string(), 0, 0)]);
    assert_eq!(ws.instance_ids("hdrain"), vec![id]);
}

#[test]
fn plan_and_check_are_bounded_too() {
    let ws = Workspace::new();
    let db = Kamailio::new("hplan");
    let port = hostile(Peer::TrickleAtOnce);
    let config = sip_pool_on(&ws, &db, "hplan", port, SLOT);
    let peer = format!("127.0.0.1:{port}");
    let plan = run_bounded(&["-c", &config, "--format", "json", "plan"]).expect(69);
    hung_error(&plan, &peer);
    let check = run_bounded(&["-c", &config, "--format", "json", "check"]).expect(69);
    let error = hung_error(&check, &peer);
    assert!(error.contains("checking the schema"), "{error}");
    // Text output names the peer too.
    let text = run_bounded(&["-c", &config, "plan"]).expect(69);
    assert!(text.stdout.contains(&peer), "{}", text.stdout);
}

#[test]
fn silent_peers_time_out_in_words() {
    let ws = Workspace::new();
    let db = Kamailio::new("hsilent");
    let port = hostile(Peer::Silent);
    let config = sip_pool_on(&ws, &db, "hsilent", port, SLOT);
    let run = run_bounded(&["-c", &config, "--format", "json", "run"]).expect(69);
    let error = hung_error(&run, &format!("127.0.0.1:{port}"));
    assert!(
        !error.contains("limits.deadline"),
        "a read timeout, not the bound: {error}"
    );

    let ws = Workspace::new();
    let redis = Redis::new("hsilent");
    let config = media_config(
        &ws,
        &redis,
        "hsilent",
        SLOT,
        "",
        "command_timeout = \"1s\"\nconnect_timeout = \"1s\"",
    );
    with(
        &config,
        &redis_url(),
        &format!("redis://127.0.0.1:{port}/0"),
    );
    let run = run_bounded(&["-c", &config, "--format", "json", "run"]).expect(69);
    hung_error(&run, &format!("127.0.0.1:{port}"));
}

#[test]
fn a_silent_redis_lock_server_fails_the_pass_before_it_acts() {
    let ws = Workspace::new();
    let db = Kamailio::new("hlocksilent");
    let config = sip_config(&ws, &db, "hlocksilent", SLOT, "");
    let port = hostile(Peer::Silent);
    with(
        &config,
        "path = \"pass.lock\"",
        &format!("backend = \"redis\"\nurl = \"redis://127.0.0.1:{port}/0\"\nname = \"x\""),
    );
    let run = run_bounded(&["-c", &config, "--format", "json", "run"]).expect(69);
    // Not a report: the lock error ends the command before the pass.
    assert!(
        run.stderr
            .contains(&format!("lock Redis redis://127.0.0.1:{port}/0")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("timed out"), "{}", run.stderr);
    assert!(!run.stderr.contains("os error 11"), "{}", run.stderr);
    assert!(ws.instance_ids("hlocksilent").is_empty());
}

#[test]
fn a_local_cloud_lock_held_elsewhere_fails_the_pass_with_69() {
    let ws = Workspace::new();
    let db = Kamailio::new("hcloud");
    let config = sip_config(&ws, &db, "hcloud", SLOT, "");
    with(&config, "[limits]\n", "[limits]\ndeadline = \"2s\"\n");
    let lock = std::fs::File::create(ws.path("cloud.json.lock")).unwrap();
    lock.lock().unwrap();
    let run = run_bounded(&["-c", &config, "--format", "json", "run"]).expect(69);
    let errors = run.json()["errors"].to_string();
    assert!(errors.contains("another process has held"), "{errors}");
    assert!(errors.contains("cloud.json.lock"), "{errors}");
    drop(lock);
    run_bounded(&["-c", &config, "--format", "json", "run"]).expect(0);
}

#[test]
fn a_redis_lease_shorter_than_the_bound_is_refused() {
    let ws = Workspace::new();
    let db = Kamailio::new("hlease");
    let config = sip_config(&ws, &db, "hlease", SLOT, "");
    with(&config, "[limits]\n", "[limits]\ndeadline = \"20s\"\n");
    with(
        &config,
        "path = \"pass.lock\"",
        "backend = \"redis\"\nurl = \"redis://127.0.0.1:6379/0\"\nlease = \"25s\"",
    );
    let run = run_bounded(&["-c", &config, "check", "--offline"]).expect(78);
    assert!(
        run.stderr.contains("limits.deadline + 10 s (30s)"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_trickling_status_endpoint_costs_one_probe_timeout() {
    let ws = Workspace::new();
    let port = hostile_on("127.0.9.1", Peer::HttpTrickle);
    ws.add_instance("hprobe", "127.0.9.1", InstanceState::Active, 60, 2);
    let config = ws.config(&format!(
        r#"[pool]
name = "hprobe"
kind = "replicas"
register_timeout = "5m"

[schedule.default]
"00:00" = {{ min_available = 0, max_replicas = 10 }}

[replicas]
replica_capacity = 3

[probe]
url = "http://{{ip}}:{port}/status"
timeout = "1s"

[limits]
deadline = "2s"

[lock]
path = "pass.lock"

[provider]
kind = "local"
state_file = "cloud.json"
address_range = "127.0.9.0/24"
[provider.instance_types]
"b2-7" = 2
"#
    ));
    // The probe's own total timeout ends it, long before the pass's bound.
    let run = run_bounded(&["-c", &config, "--format", "json", "plan"]).expect(0);
    let json = run.json();
    let warnings = json["warnings"].to_string();
    assert!(warnings.contains(&format!("127.0.9.1:{port}")), "{json}");
    assert!(warnings.contains("no answer within the timeout"), "{json}");
    assert_eq!(json["errors"], serde_json::json!([]), "{json}");
}
