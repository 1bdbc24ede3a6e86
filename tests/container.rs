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
use std::path::{Path, PathBuf};
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
    assert!(!stderr.contains("pass 3"), "no pass after SIGTERM:\n{stderr}");
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("every run:")).count(),
        2,
        "one report per pass:\n{stdout}"
    );
    // No overlap: each listing ended before the next began.
    let record = records(&ws);
    let order: Vec<(String, u32)> = record.iter().map(|(w, n, _)| (w.clone(), *n)).collect();
    let expected = [("start", 1), ("end", 1), ("start", 2), ("end", 2)]
        .map(|(w, n)| (w.to_string(), n));
    assert_eq!(order, expected);
    assert!(record.windows(2).all(|w| w[0].2 <= w[1].2), "{record:?}");
    // The loop's own metrics: both passes by exit status, and the skip.
    let metrics = std::fs::read_to_string(ws.path("scaler-every.prom")).unwrap();
    assert!(
        metrics.contains("scaler_every_passes_total{pool=\"every\",exit=\"0\"} 2"),
        "{metrics}"
    );
    assert!(!metrics.contains("scaler_every_ticks_skipped_total{pool=\"every\"} 0"), "{metrics}");
    assert!(metrics.contains("scaler_every_last_exit_code{pool=\"every\"} 0"), "{metrics}");
    // The passes wrote theirs, as `run` does.
    let passes = std::fs::read_to_string(ws.path("scaler.prom")).unwrap();
    assert!(passes.contains("scaler_pass_exit_code{pool=\"every\"} 0"), "{passes}");
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
    assert!(stderr.contains("SIGINT: no pass in flight, stopping"), "{stderr}");
    assert!(records(&ws).is_empty(), "no pass ran");
    for bad in ["500ms", "0s", "2d"] {
        let run = scaler(&["-c", &config, "run", "--every", bad]).expect(64);
        assert!(run.stderr.contains("from 1s to 1d"), "{}", run.stderr);
    }
    // A configuration that cannot be read stops the loop before any tick.
    let missing = ws.path("missing.toml").to_string_lossy().into_owned();
    let run = scaler(&["-c", &missing, "run", "--every", "1m"]).expect(78);
    assert!(run.stderr.contains("cannot read configuration"), "{}", run.stderr);
}
