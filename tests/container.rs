//! Containers: `run --every` as a process (passes at the ticks, one at a
//! time, a skipped tick logged, SIGTERM with a pass in flight and while
//! idle, its metrics), and the image `scripts/container.sh` builds, run with
//! podman once per test run: `--version`, its user and volume, `check
//! --offline` on an example, `plan` against the suite's MariaDB through the
//! host network, and `run` as the image's non-root user with the image's
//! default directories, then read-only with the compose file's tmpfs and a
//! named state volume kept between passes. `examples/compose.yml` is parsed
//! (PyYAML) and checked against the image. Podman missing fails the test.

mod common;

use common::*;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// How long a wait for an event may take before the test gives up (a hang
/// guard, not a performance bound).
const HANG_GUARD: Duration = Duration::from_secs(180);

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Waits until `done` holds, or fails the test naming `what`.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < HANG_GUARD, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A `scaler run --every` process and the lines of its stderr.
struct Supervisor {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Supervisor {
    fn start(args: &[&str]) -> Supervisor {
        let mut child = Command::new(env!("CARGO_BIN_EXE_scaler"))
            .args(args)
            .env(DB_PASSWORD_ENV, "scaler")
            .env_remove("SCALER_CONFIG")
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the scaler binary runs");
        let (send, lines) = channel();
        let stderr = child.stderr.take().expect("piped");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = send.send(line);
            }
        });
        Supervisor {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a stderr line containing every one of `parts`; returns it.
    fn wait_for(&mut self, parts: &[&str]) -> String {
        let matches = |line: &str| parts.iter().all(|p| line.contains(p));
        if let Some(line) = self.seen.iter().find(|l| matches(l)) {
            return line.clone();
        }
        let start = Instant::now();
        loop {
            let left = HANG_GUARD.saturating_sub(start.elapsed());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if matches(&line) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => panic!(
                    "no stderr line with {parts:?}; stderr so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill(2) on the pid of a child this test started and has not reaped.
        let sent = unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        assert_eq!(sent, 0, "kill failed");
    }

    /// Waits for the exit; returns the status, stdout and all of stderr.
    fn finish(mut self) -> (i32, String, Vec<String>) {
        let status = self.child.wait().expect("waited");
        let mut stdout = String::new();
        if let Some(mut out) = self.child.stdout.take() {
            let _ = std::io::Read::read_to_string(&mut out, &mut stdout);
        }
        // The reader thread ends at EOF: take what it has left.
        while let Ok(line) = self.lines.recv_timeout(HANG_GUARD) {
            self.seen.push(line);
        }
        (status.code().unwrap_or(-1), stdout, self.seen)
    }
}

/// A SIP pool on the test database whose `list` is `tests/command/pass-recorder.sh`.
fn recorder_config(ws: &Workspace, db: &Kamailio) -> String {
    let recorder = repo().join("tests/command/pass-recorder.sh");
    std::fs::write(ws.path("pass-record"), "").unwrap();
    ws.config(&format!(
        r#"[pool]
name = "every"
kind = "sip"
cpu_per_gateway = 4

[schedule]
[schedule.default]
"00:00" = {{ idle_min = 0, load_max = 0.8, max_gateways = 10 }}

{sip}
[state]
path = "state.json"

[lock]
path = "pass.lock"

[metrics]
textfile = "scaler.prom"

[limits]
deadline = "30m"

[provider]
kind = "command"
list = ["sh", {recorder:?}]
create = ["false"]
destroy = ["false"]
timeout = "30m"
[provider.instance_types]
"small" = 4
"#,
        sip = db.sip_section(),
        recorder = recorder.to_string_lossy()
    ))
}

/// `(what, pass number, time)` of each line of the recorder's file.
fn records(ws: &Workspace) -> Vec<(String, u32, f64)> {
    std::fs::read_to_string(ws.path("pass-record"))
        .unwrap()
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            (
                fields[0].to_string(),
                fields[1].parse().unwrap(),
                fields[2].parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn every_runs_one_pass_at_a_time_skips_overrun_ticks_and_stops_after_the_pass_in_flight() {
    let ws = Workspace::new();
    let db = Kamailio::new("every");
    let config = recorder_config(&ws, &db);
    let mut loop_ = Supervisor::start(&["-c", &config, "run", "--every", "2s"]);
    loop_.wait_for(&["run --every 2s: a pass at each multiple of it"]);
    // Pass 1 is held in its listing: the next tick must be skipped, not overlap.
    wait_until("pass 1 to list", || records(&ws).len() == 1);
    loop_.wait_for(&["skipped: pass 1 (tick", "is still running"]);
    std::fs::write(ws.path("release-1"), "").unwrap();
    loop_.wait_for(&["pass 1 (tick", "exited 0 (ok)"]);
    // Pass 2 starts at a later tick; SIGTERM while it lists.
    wait_until("pass 2 to list", || records(&ws).len() == 3);
    loop_.signal(libc::SIGTERM);
    loop_.wait_for(&["SIGTERM: stopping after the pass in flight (pass 2,"]);
    std::fs::write(ws.path("release-2"), "").unwrap();
    let (status, stdout, stderr) = loop_.finish();
    let stderr = stderr.join("\n");
    assert_eq!(status, 0, "stderr:\n{stderr}");
    assert!(stderr.contains("run --every: stopped"), "{stderr}");
    let exits = stderr.matches("exited 0 (ok)").count();
    assert_eq!(exits, 2, "two passes, both ok:\n{stderr}");
    assert!(
        !stderr.contains("pass 3"),
        "no pass after SIGTERM:\n{stderr}"
    );
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.starts_with("every run:"))
            .count(),
        2,
        "one report per pass:\n{stdout}"
    );
    // No overlap: each listing ended before the next began.
    let record = records(&ws);
    let order: Vec<(String, u32)> = record.iter().map(|(w, n, _)| (w.clone(), *n)).collect();
    let expected =
        [("start", 1), ("end", 1), ("start", 2), ("end", 2)].map(|(w, n)| (w.to_string(), n));
    assert_eq!(order, expected);
    assert!(record.windows(2).all(|w| w[0].2 <= w[1].2), "{record:?}");
    // The loop's own metrics: both passes by exit status, and the skip.
    let metrics = std::fs::read_to_string(ws.path("scaler-every.prom")).unwrap();
    assert!(
        metrics.contains("scaler_every_passes_total{pool=\"every\",exit=\"0\"} 2"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("scaler_every_ticks_skipped_total{pool=\"every\"} 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("scaler_every_last_exit_code{pool=\"every\"} 0"),
        "{metrics}"
    );
    // The passes wrote theirs, as `run` does.
    let passes = std::fs::read_to_string(ws.path("scaler.prom")).unwrap();
    assert!(
        passes.contains("scaler_pass_exit_code{pool=\"every\"} 0"),
        "{passes}"
    );
}

#[test]
fn every_stops_at_once_when_idle_and_refuses_bad_intervals() {
    let ws = Workspace::new();
    let db = Kamailio::new("every_idle");
    let config = recorder_config(&ws, &db);
    let mut loop_ = Supervisor::start(&["-c", &config, "run", "--every", "1h"]);
    loop_.wait_for(&["a pass at each multiple of it"]);
    loop_.signal(libc::SIGINT);
    let (status, _, stderr) = loop_.finish();
    let stderr = stderr.join("\n");
    assert_eq!(status, 0, "{stderr}");
    assert!(
        stderr.contains("SIGINT: no pass in flight, stopping"),
        "{stderr}"
    );
    assert!(records(&ws).is_empty(), "no pass ran");
    for bad in ["500ms", "0s", "2d"] {
        let run = scaler(&["-c", &config, "run", "--every", bad]).expect(64);
        assert!(run.stderr.contains("from 1s to 1d"), "{}", run.stderr);
    }
    // A configuration that cannot be read stops the loop before any tick.
    let missing = ws.path("missing.toml").to_string_lossy().into_owned();
    let run = scaler(&["-c", &missing, "run", "--every", "1m"]).expect(78);
    assert!(
        run.stderr.contains("cannot read configuration"),
        "{}",
        run.stderr
    );
}

/// Podman with what this kind of machine needs (runc, cgroupfs, no
/// default ulimits: crun cannot set them here), and the image built for
/// this test run, removed with its volume at the end.
struct Podman {
    conf: tempfile::TempDir,
    image: String,
    volume: String,
    container: String,
}

impl Podman {
    fn new() -> Podman {
        let found = Command::new("podman").arg("--version").output();
        assert!(
            found.is_ok_and(|o| o.status.success()),
            "podman is missing: run scripts/services.sh (it installs podman and runc)"
        );
        let conf = tempfile::tempdir().unwrap();
        std::fs::write(
            conf.path().join("containers.conf"),
            "[containers]\ndefault_ulimits = []\n",
        )
        .unwrap();
        let pid = std::process::id();
        Podman {
            conf,
            image: format!("localhost/scaler:test-{pid}"),
            volume: format!("scaler-test-state-{pid}"),
            container: format!("scaler-test-loop-{pid}"),
        }
    }

    fn command(&self) -> Command {
        let mut command = Command::new("podman");
        command
            .env("CONTAINERS_CONF", self.conf.path().join("containers.conf"))
            .args(["--runtime", "runc", "--cgroup-manager=cgroupfs"]);
        command
    }

    /// `podman run --rm --network=host OPTIONS IMAGE ARGS`.
    fn run(&self, options: &[&str], args: &[&str]) -> Run {
        let output = self
            .command()
            .args(["run", "--rm", "--network=host"])
            .args(options)
            .arg(&self.image)
            .args(args)
            .output()
            .expect("podman runs");
        Run {
            status: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// `podman ARGS`, which must succeed; its stdout.
    fn output(&self, args: &[&str]) -> String {
        let output = self.command().args(args).output().expect("podman runs");
        assert!(output.status.success(), "podman {args:?}: {output:?}");
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    fn inspect(&self, format: &str) -> String {
        self.output(&["image", "inspect", "--format", format, &self.image])
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self
            .command()
            .args(["rm", "-f", "--volumes", &self.container])
            .output();
        let _ = self
            .command()
            .args(["volume", "rm", "-f", &self.volume])
            .output();
        let _ = self.command().args(["rmi", "-f", &self.image]).output();
    }
}

/// A SIP pool on the test database as the image sees it: the database by
/// a host name (`--add-host`), the password in `/run/secrets/`.
fn image_config(db: &Kamailio, idle_min: u32, extra: &str) -> String {
    let url = db.url().replace("127.0.0.1", "kamailio-db");
    format!(
        r#"[pool]
name = "contained"
kind = "sip"
cpu_per_gateway = 4

[schedule]
[schedule.default]
"00:00" = {{ idle_min = {idle_min}, load_max = 0.8, max_gateways = 10 }}

[sip]
url = "{url}"
password_file = "/run/secrets/kamailio-db-password"

{extra}
[provider]
kind = "local"
[provider.instance_types]
"small" = 4
"#
    )
}

/// examples/compose.yml, as JSON (PyYAML parses it).
fn compose_file() -> serde_json::Value {
    let output = Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(repo().join("examples/compose.yml"))
        .output()
        .expect("python3 runs (scripts/services.sh installs it with PyYAML)");
    assert!(
        output.status.success(),
        "examples/compose.yml does not parse: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn compose_example_runs_the_image_as_documented() {
    let compose = compose_file();
    let scaler = &compose["services"]["scaler"];
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(scaler["image"], format!("localhost/scaler:{version}"));
    assert_eq!(scaler["network_mode"], "host");
    assert_eq!(scaler["secrets"][0], "kamailio-db-password");
    assert!(compose["secrets"]["kamailio-db-password"]["file"].is_string());
    assert!(
        scaler.get("environment").is_none(),
        "no secret in the environment"
    );
    let volumes: Vec<&str> = scaler["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(volumes.contains(&"./scaler/scaler.toml:/etc/scaler/scaler.toml:ro"));
    assert!(volumes.contains(&"scaler_state:/var/lib/scaler"));
    assert!(compose["volumes"].get("scaler_state").is_some());
    // The command is a scaler command line; the grace outlives a pass's bound.
    let mut argv = vec!["scaler".to_string()];
    argv.extend(
        scaler["command"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string()),
    );
    let cli = <scaler::cli::Cli as clap::Parser>::try_parse_from(&argv).unwrap();
    let scaler::cli::Command::Run(args) = cli.command else {
        panic!("{argv:?} is not `run`");
    };
    assert_eq!(args.every, Some(Duration::from_secs(60)));
    let grace = scaler::duration::parse(scaler["stop_grace_period"].as_str().unwrap()).unwrap();
    let bound = scaler::limits::Limits::default().deadline.0 + scaler::watchdog::GRACE;
    assert!(grace > bound, "stop_grace_period {grace:?} <= {bound:?}");
    for service in ["sip_server", "sip_db", "redis"] {
        assert!(compose["services"].get(service).is_some(), "{service}");
    }
}

#[test]
fn image_builds_from_scratch_and_runs_passes_as_its_user() {
    let podman = Podman::new();
    let context = tempfile::tempdir().unwrap();
    let built = Command::new(repo().join("scripts/container.sh"))
        .args([
            "--binary",
            env!("CARGO_BIN_EXE_scaler"),
            "--tag",
            &podman.image,
        ])
        .arg("--context")
        .arg(context.path().join("context"))
        .output()
        .expect("scripts/container.sh runs");
    let stderr = String::from_utf8_lossy(&built.stderr);
    assert!(
        built.status.success(),
        "scripts/container.sh failed:\n{stderr}"
    );
    assert_eq!(String::from_utf8_lossy(&built.stdout).trim(), podman.image);

    let version = podman.run(&[], &["--version"]).expect(0);
    assert_eq!(
        version.stdout.trim(),
        format!("scaler {}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        podman.inspect("{{.Config.User}} {{json .Config.Volumes}} {{json .Config.Cmd}}"),
        r#"10001:10001 {"/var/lib/scaler":{}} ["run","--every","1m"]"#
    );
    let example = "/usr/share/doc/scaler/examples/sip.toml";
    let check = podman
        .run(&[], &["check", "--offline", "-c", example])
        .expect(0);
    assert!(check.stdout.starts_with("config"), "{}", check.stdout);

    image_passes_reach_the_database(&podman);
}

/// `plan`, then `run` twice, in the image against the suite's MariaDB.
fn image_passes_reach_the_database(podman: &Podman) {
    let ws = Workspace::new();
    let mut db = Kamailio::new("container");
    db.register("127.0.1.5", 1, false, false);
    db.register("127.0.1.5", 2, false, false);
    std::fs::write(ws.path("plan.toml"), image_config(&db, 0, "")).unwrap();
    std::fs::write(ws.path("run.toml"), image_config(&db, 3, "")).unwrap();
    let in_volume = "[lock]\npath = \"/var/lib/scaler/scaler.lock\"\n";
    std::fs::write(ws.path("read-only.toml"), image_config(&db, 3, in_volume)).unwrap();
    std::fs::write(ws.path("db-password"), "scaler\n").unwrap();
    let mount = |file: &str, at: &str| format!("{}:{at}:ro", ws.path(file).display());
    let secret = mount("db-password", "/run/secrets/kamailio-db-password");
    let config = |file: &str| mount(file, "/etc/scaler/scaler.toml");
    let (plan_config, run_config) = (config("plan.toml"), config("run.toml"));
    let host = "--add-host=kamailio-db:127.0.0.1";

    let plan = podman.run(
        &[host, "-v", &plan_config, "-v", &secret],
        &["--format", "json", "plan"],
    );
    let report = plan.expect(0).json();
    assert_eq!(report["observed"]["gateways"]["registered"], 2, "{report}");

    // The image's own /run/scaler and /var/lib/scaler, as user 10001.
    let run = podman.run(
        &[host, "-v", &run_config, "-v", &secret],
        &["--format", "json", "run"],
    );
    let actions = run.expect(0).actions();
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert_eq!(
        (actions[0].0.as_str(), actions[0].1.as_str()),
        ("create", "done")
    );

    let read_only_config = config("read-only.toml");
    read_only_passes_find_the_lock_again(podman, host, &read_only_config, &secret);
    the_loop_stops_on_sigterm(podman, host, &run_config, &secret);
}

/// Read-only with a named state volume: the second pass finds the first's lock
/// and instance, and the image's user owns the files.
fn read_only_passes_find_the_lock_again(
    podman: &Podman,
    host: &str,
    read_only_config: &str,
    secret: &str,
) {
    // Read-only as README describes it: the lock in a named state volume,
    // which the next pass finds again.
    let volume = format!("{}:/var/lib/scaler", podman.volume);
    let compose_like = [
        host,
        "--read-only",
        "-v",
        &volume,
        "-v",
        read_only_config,
        "-v",
        secret,
    ];
    let first = podman
        .run(&compose_like, &["--format", "json", "run"])
        .expect(0);
    assert_eq!(first.actions().len(), 1, "{}", first.stdout);
    let second = podman
        .run(&compose_like, &["--format", "json", "run"])
        .expect(0);
    let report = second.json();
    assert_eq!(report["observed"]["instances"]["total"], 1, "{report}");
    assert!(second.actions().is_empty(), "{report}");
    // Written by the image's user, not root.
    let volume_dir = podman.output(&[
        "volume",
        "inspect",
        "--format",
        "{{.Mountpoint}}",
        &podman.volume,
    ]);
    for file in ["local-cloud.json", "scaler.lock"] {
        let owner = std::os::unix::fs::MetadataExt::uid(
            &std::fs::metadata(PathBuf::from(&volume_dir).join(file)).unwrap(),
        );
        assert_eq!(owner, 10001, "{file}");
    }
}

/// The loop as PID 1 exits 0 on `podman stop` and logs why.
fn the_loop_stops_on_sigterm(podman: &Podman, host: &str, run_config: &str, secret: &str) {
    // The loop as PID 1: `podman stop` (SIGTERM) ends it with 0, no SIGKILL.
    podman.output(&[
        "run",
        "-d",
        "--network=host",
        host,
        "--name",
        &podman.container,
        "-v",
        run_config,
        "-v",
        secret,
        &podman.image,
        "run",
        "--every",
        "1h",
    ]);
    wait_until("the loop in the container to start", || {
        let logs = podman
            .command()
            .args(["logs", &podman.container])
            .output()
            .unwrap();
        String::from_utf8_lossy(&logs.stderr).contains("a pass at each multiple")
    });
    podman.output(&["stop", "--time", "120", &podman.container]);
    let exit = podman.output(&[
        "inspect",
        "--format",
        "{{.State.ExitCode}}",
        &podman.container,
    ]);
    assert_eq!(exit, "0", "the loop did not exit 0 on SIGTERM");
    let logs = podman
        .command()
        .args(["logs", &podman.container])
        .output()
        .unwrap();
    let logs = String::from_utf8_lossy(&logs.stderr);
    assert!(
        logs.contains("SIGTERM: no pass in flight, stopping"),
        "{logs}"
    );
}
