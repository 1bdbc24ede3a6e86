//! Safety under concurrency and faults (DESIGN.md "Safety invariants"), with real processes:
//! overlapping runs on every lock backend, caps on creations and
//! destructions, a database that accepts connections and never answers, and
//! secrets that never reach the output at any verbosity.

mod common;

use common::http::free_port;
use common::*;
use mysql::prelude::Queryable;
use scaler::provider::InstanceState;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const IDLE1: &str = "{ idle_min = 1, load_max = 1.0, max_gateways = 40 }";

fn with(config: &str, from: &str, to: &str) -> String {
    let text = std::fs::read_to_string(config).unwrap();
    assert!(
        text.contains(from),
        "test bug: {from:?} not in the configuration"
    );
    std::fs::write(config, text.replacen(from, to, 1)).unwrap();
    config.to_string()
}

#[test]
fn caps_hold_back_destructions_and_creations() {
    let ws = Workspace::new();
    let db = Kamailio::new("caps");
    for n in 1..=15 {
        ws.add_instance("caps", &format!("127.0.7.{n}"), InstanceState::Error, 60, 4);
    }
    let config = sip_config(
        &ws,
        &db,
        "caps",
        "{ idle_min = 5, load_max = 1.0, max_gateways = 40 }",
        "",
    );
    with(
        &config,
        "[limits]\n",
        "[limits]\nmax_destroy_per_run = 3\nmax_create_per_run = 2\n",
    );
    let run = scaler(&["-c", &config, "--format", "json", "run"]).expect(0);
    let json = run.json();
    let kinds: Vec<String> = run.actions().into_iter().map(|(k, _, _)| k).collect();
    assert_eq!(kinds.iter().filter(|k| *k == "destroy").count(), 3);
    assert_eq!(kinds.iter().filter(|k| *k == "create").count(), 2);
    let notes = json["notes"].to_string();
    assert!(
        notes.contains("max_destroy_per_run (3) held back 12"),
        "{notes}"
    );
    assert!(
        notes.contains("max_create_per_run (2) held back"),
        "{notes}"
    );
    assert_eq!(ws.instance_ids("caps").len(), 15 - 3 + 2);
}

#[test]
fn two_runs_at_once_one_exits_75_on_the_file_lock() {
    let ws = Workspace::new();
    let db = Kamailio::new("overlap");
    let port = free_port("127.0.8.1");
    let gate = Gate::serve("127.0.8.1", port);
    ws.add_instance("overlap", "127.0.8.1", InstanceState::Active, 60, 4);
    let config = sip_config(&ws, &db, "overlap", IDLE1, "");
    with(
        &config,
        "[lock]",
        &format!("[probe]\nurl = \"http://{{ip}}:{port}/\"\ntimeout = \"30s\"\n\n[lock]"),
    );
    assert_overlap_exits_75(&config, &[], gate);
}

/// A status server that holds the first request it gets until the test
/// opens the gate, then answers it (and any later one) with a plain status.
struct Gate {
    /// Receives once the first request has arrived.
    probed: mpsc::Receiver<()>,
    /// Dropped to open the gate.
    open: Option<mpsc::Sender<()>>,
}

impl Gate {
    fn serve(ip: &str, port: u16) -> Gate {
        let listener = std::net::TcpListener::bind((ip, port)).unwrap();
        let (probed_tx, probed) = mpsc::channel();
        let (open, opened) = mpsc::channel::<()>();
        std::thread::spawn(move || {
            let body = r#"{"termination": false, "capacity": 1}"#;
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            for (n, stream) in listener.incoming().flatten().enumerate() {
                let mut stream = stream;
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(k) => request.extend_from_slice(&buf[..k]),
                    }
                }
                if n == 0 {
                    let _ = probed_tx.send(());
                    // Returns when the test drops its sender.
                    let _ = opened.recv();
                }
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        Gate {
            probed,
            open: Some(open),
        }
    }
}

/// Starts a first pass, which takes the lock and then waits on a probe the
/// test holds; runs a second one meanwhile: it must exit 75 and change
/// nothing while the first is still inside its pass (its probe not yet
/// answered); then lets the first finish.
fn assert_overlap_exits_75(config: &str, env: &[(&str, &str)], mut gate: Gate) {
    let mut first = Command::new(env!("CARGO_BIN_EXE_scaler"))
        .args(["-c", config, "-v", "--format", "json", "run"])
        .env(DB_PASSWORD_ENV, "scaler")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(first.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "the first pass ended before taking the lock"
        );
        if line.contains("pass lock acquired") {
            break;
        }
    }
    // Drain the rest of its log so it never blocks on a full pipe.
    let rest = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    // (A bound on waiting, not on the pass: it fails rather than hang.)
    gate.probed
        .recv_timeout(Duration::from_secs(120))
        .expect("the first pass probes its instance while holding the lock");
    let second = scaler_with_env(&["-c", config, "--format", "json", "run"], env).expect(75);
    assert!(second.actions().is_empty());
    assert!(
        second.stderr.contains("another pass holds"),
        "{}",
        second.stderr
    );
    assert!(
        first.try_wait().unwrap().is_none(),
        "the second pass returned only after the first had finished"
    );
    drop(gate.open.take());
    let status = first.wait().unwrap();
    let log = rest.join().unwrap();
    assert!(status.success(), "first pass: {status}\n{log}");
}

#[test]
fn mysql_get_lock_serialises_hosts() {
    let ws = Workspace::new();
    let db = Kamailio::new("mylock");
    let config = sip_config(&ws, &db, "mylock", IDLE1, "");
    with(
        &config,
        "path = \"pass.lock\"",
        "backend = \"mysql\"\nname = \"scaler-test-mylock\"",
    );
    // Another host holds the lock on its own connection.
    let url = format!("mysql://scaler:scaler@127.0.0.1:3306/{}", db.name);
    let mut other = mysql::Conn::new(mysql::Opts::from_url(&url).unwrap()).unwrap();
    let got: Option<i64> = other
        .query_first("SELECT GET_LOCK('scaler-test-mylock', 0)")
        .unwrap();
    assert_eq!(got, Some(1));
    let run = scaler(&["-c", &config, "--format", "json", "run"]).expect(75);
    assert!(run.stderr.contains("MySQL lock"), "{}", run.stderr);
    assert!(ws.instance_ids("mylock").is_empty());
    drop(other);
    scaler(&["-c", &config, "--format", "json", "run"]).expect(0);
    assert_eq!(ws.instance_ids("mylock").len(), 1);
}

#[test]
fn redis_lock_serialises_hosts_and_is_released() {
    let ws = Workspace::new();
    let db = Kamailio::new("rlock");
    let config = sip_config(&ws, &db, "rlock", IDLE1, "");
    let key = format!("scaler-test-rlock-{}", std::process::id());
    with(
        &config,
        "path = \"pass.lock\"",
        &format!("backend = \"redis\"\nurl = \"redis://127.0.0.1:6379/0\"\nname = \"{key}\""),
    );
    let client = redis::Client::open("redis://127.0.0.1:6379/0").unwrap();
    let mut conn = client
        .get_connection_with_timeout(Duration::from_secs(2))
        .expect("Redis on 127.0.0.1:6379 (run scripts/services.sh)");
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg("other-host")
        .arg("PX")
        .arg(60_000)
        .query(&mut conn)
        .unwrap();
    let run = scaler(&["-c", &config, "--format", "json", "run"]).expect(75);
    assert!(run.stderr.contains("Redis lock"), "{}", run.stderr);
    let _: () = redis::cmd("DEL").arg(&key).query(&mut conn).unwrap();
    scaler(&["-c", &config, "--format", "json", "run"]).expect(0);
    let left: Option<String> = redis::cmd("GET").arg(&key).query(&mut conn).unwrap();
    assert_eq!(left, None, "the lock is released at the end of the pass");
    assert_eq!(ws.instance_ids("rlock").len(), 1);
}

#[test]
fn a_database_that_never_answers_costs_one_timeout_and_destroys_nothing() {
    let ws = Workspace::new();
    let db = Kamailio::new("hung");
    // A listener that accepts, never speaks MySQL and never closes; it
    // records the client address of every connection, in order.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (peers_tx, peers) = mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            let _ = peers_tx.send(stream.peer_addr().ok());
            held.push(stream);
        }
    });
    ws.add_instance("hung", "127.0.9.1", InstanceState::Error, 60, 4);
    let config = sip_config(&ws, &db, "hung", IDLE1, "");
    with(&config, ":3306/", &format!(":{port}/"));
    with(
        &config,
        "password_env",
        "connect_timeout = \"1s\"\nquery_timeout = \"1s\"\npassword_env",
    );
    let before = std::fs::read_to_string(ws.cloud_file()).unwrap();
    let run = scaler(&["-c", &config, "--format", "json", "run"]).expect(69);
    assert!(run.actions().is_empty());
    assert_eq!(std::fs::read_to_string(ws.cloud_file()).unwrap(), before);
    // One connection, given up on by its own timeout (the server still holds
    // it): a sentinel connected after the pass exited marks the end of the
    // pass's connections in the listener's order.
    let sentinel = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mark = Some(sentinel.local_addr().unwrap());
    let mut connections = 0;
    loop {
        let peer = peers
            .recv_timeout(Duration::from_secs(120))
            .expect("the listener accepts the sentinel");
        if peer == mark {
            break;
        }
        connections += 1;
    }
    assert_eq!(
        connections, 1,
        "connections the pass opened to the database"
    );
}

#[test]
fn secrets_never_reach_stdout_stderr_or_the_report() {
    // A dedicated account with a password that appears nowhere else
    // (scripts/services.sh creates it).
    let secret = "S3cret-Never-Printed-42";
    let ws = Workspace::new();
    let mut db = Kamailio::new("secret");
    ws.add_instance("secret", "127.0.10.1", InstanceState::Active, 60, 4);
    ws.add_instance("secret", "127.0.10.2", InstanceState::Error, 60, 4);
    db.register("127.0.10.1", 0, false, false);
    let config = sip_config(&ws, &db, "secret", IDLE1, "");
    with(&config, "mysql://scaler@", "mysql://scaler_secret@");
    let env = [(DB_PASSWORD_ENV, secret)];
    let commands: [&[&str]; 4] = [
        &["run"],
        &["--format", "json", "plan"],
        &["check"],
        &["--format", "json", "cleanup"],
    ];
    for command in commands {
        let mut args = vec!["-c", config.as_str(), "-vvv"];
        args.extend_from_slice(command);
        let run = scaler_with_env(&args, &env);
        assert!(
            run.status == 0,
            "{args:?} should work with the dedicated account: {}",
            run.stderr
        );
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "{args:?} leaked the password"
        );
    }
    // A wrong password: the error names the account, never the password.
    let wrong = "Wr0ngPassw0rd-123";
    let run = scaler_with_env(
        &["-c", &config, "-vvv", "--format", "json", "run"],
        &[(DB_PASSWORD_ENV, wrong)],
    )
    .expect(69);
    assert!(!run.stdout.contains(wrong) && !run.stderr.contains(wrong));
    assert!(run.stdout.contains("Access denied"), "{}", run.stdout);
}
