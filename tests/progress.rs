//! Progress on long work, as an operator sees it: with stderr on a terminal
//! (a pseudo-terminal this test opens), `schedule suggest` counts its day
//! replays on a spinner and `simulate` shows its simulated minutes on a
//! bar, both erased before the report; stdout is the same as without a
//! terminal (`--format json` included). Off a terminal, with `-q` or with
//! `TERM=dumb`, nothing is drawn: stderr stays empty.

mod common;

use common::*;
use std::fs::File;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Command, Stdio};

/// A pseudo-terminal of 100 columns: the end this test reads, and the end
/// `scaler` gets as its stderr.
struct Pty {
    reader: File,
    terminal: OwnedFd,
}

fn open_pty() -> Pty {
    // SAFETY: plain libc calls on descriptors this function owns; each
    // result is checked before it is used, and each descriptor is wrapped
    // once (closed on drop).
    unsafe {
        let master = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(
            master >= 0,
            "posix_openpt: {}",
            std::io::Error::last_os_error()
        );
        let reader = File::from_raw_fd(master);
        assert_eq!(libc::grantpt(master), 0, "grantpt");
        assert_eq!(libc::unlockpt(master), 0, "unlockpt");
        let mut name = [0 as libc::c_char; 256];
        assert_eq!(libc::ptsname_r(master, name.as_mut_ptr(), name.len()), 0);
        let slave = libc::open(name.as_ptr(), libc::O_RDWR | libc::O_NOCTTY);
        assert!(
            slave >= 0,
            "open the terminal: {}",
            std::io::Error::last_os_error()
        );
        let terminal = OwnedFd::from_raw_fd(slave);
        let size = libc::winsize {
            ws_row: 24,
            ws_col: 100,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        assert_eq!(libc::ioctl(slave, libc::TIOCSWINSZ, &size), 0, "TIOCSWINSZ");
        Pty { reader, terminal }
    }
}

/// Runs `scaler` with stderr on a terminal (`TERM=xterm` unless `env` says
/// otherwise) and stdout on a pipe: the run (its `stderr` empty, it went to
/// the terminal) and what the terminal received.
fn on_terminal(args: &[&str], env: &[(&str, &str)]) -> (Run, String) {
    let Pty {
        mut reader,
        terminal,
    } = open_pty();
    let mut command = Command::new(env!("CARGO_BIN_EXE_scaler"));
    command
        .args(args)
        .env_remove("SCALER_CONFIG")
        .env_remove("RUST_LOG")
        .env("TERM", "xterm")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(terminal));
    let child = command.spawn().expect("the scaler binary runs");
    // The terminal's last descriptor is the child's: reading ends when it exits.
    drop(command);
    let read = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let mut chunk = [0u8; 4096];
        // Linux reports the closed terminal as EIO: the end.
        while let Ok(n @ 1..) = reader.read(&mut chunk) {
            bytes.extend_from_slice(&chunk[..n]);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    });
    let output = child.wait_with_output().expect("scaler exits");
    let shown = read.join().expect("the terminal reader");
    let run = Run {
        status: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::new(),
    };
    (run, shown)
}

/// Erases the line the cursor is on (how indicatif clears its line).
const ERASE_LINE: &str = "\r\x1b[2K";

fn example() -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/sip.toml")
        .to_string_lossy()
        .into_owned()
}

/// Writes a synthetic day of about `calls` calls and returns its CSV text.
fn day(ws: &Workspace, date: &str, seed: &str, calls: &str) -> String {
    let path = ws.path(&format!("{date}.csv"));
    let path = path.to_string_lossy();
    scaler(&[
        "simulate",
        "--generate-trace",
        &path,
        "--date",
        date,
        "--seed",
        seed,
        "--calls",
        calls,
        "--timezone",
        "Europe/Paris",
    ])
    .expect(0);
    std::fs::read_to_string(&*path).expect("the generated trace")
}

/// One small generated day (quick to learn from).
fn one_day(ws: &Workspace) -> String {
    day(ws, "2026-11-23", "1", "150");
    ws.path("2026-11-23.csv").to_string_lossy().into_owned()
}

/// Two generated days in one trace (a longer replay).
fn two_days(ws: &Workspace) -> String {
    let first = day(ws, "2026-11-23", "1", "150");
    let second = day(ws, "2026-11-24", "2", "150");
    let path = ws.path("two-days.csv");
    let rest: String = second.lines().skip(1).map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, first + &rest).expect("the two-day trace");
    path.to_string_lossy().into_owned()
}

#[test]
fn schedule_suggest_counts_its_day_replays_on_a_terminal_then_erases_them() {
    let ws = Workspace::new();
    let (config, trace) = (example(), one_day(&ws));
    let args = [
        "-c", &config, "schedule", "suggest", "--trace", &trace, "--margin", "0",
    ];
    let (run, shown) = on_terminal(&args, &[]);
    let run = run.expect(0);
    assert!(
        shown.contains("schedule suggest: ") && shown.contains(" day(s) replayed ("),
        "{shown:?}"
    );
    assert!(shown.ends_with(ERASE_LINE), "{shown:?}");
    // The suggestion itself is the one printed without a terminal.
    let plain = scaler(&args).expect(0);
    assert!(run.stdout.contains("[schedule]\n"), "{}", run.stdout);
    assert_eq!(run.stdout, plain.stdout);
}

#[test]
fn schedule_suggest_draws_nothing_off_a_terminal_with_quiet_or_a_dumb_terminal() {
    let ws = Workspace::new();
    let (config, trace) = (example(), one_day(&ws));
    let args = [
        "-c", &config, "schedule", "suggest", "--trace", &trace, "--margin", "0",
    ];
    let plain = scaler(&args).expect(0);
    assert_eq!(plain.stderr, "");
    let quiet = [&["-q"], &args[..]].concat();
    let (run, shown) = on_terminal(&quiet, &[]);
    assert_eq!(
        (run.expect(0).stdout, shown),
        (plain.stdout.clone(), "".into())
    );
    let (run, shown) = on_terminal(&args, &[("TERM", "dumb")]);
    assert_eq!((run.expect(0).stdout, shown), (plain.stdout, "".into()));
}

#[test]
fn a_long_simulate_shows_its_simulated_minutes_on_a_terminal_then_erases_them() {
    let ws = Workspace::new();
    let (config, trace) = (example(), two_days(&ws));
    let args = ["-c", &config, "simulate", "--trace", &trace];
    let (run, shown) = on_terminal(&args, &[]);
    let run = run.expect(0);
    assert!(
        shown.contains("simulate [")
            && shown.contains("% of ")
            && shown.contains(" simulated minutes ("),
        "{shown:?}"
    );
    assert!(shown.ends_with(ERASE_LINE), "{shown:?}");
    let plain = scaler(&args).expect(0);
    assert!(
        run.stdout.contains(" simulate: simulated "),
        "{}",
        run.stdout
    );
    assert_eq!(run.stdout, plain.stdout);
    // The JSON report on stdout is untouched by the bar on the terminal.
    let json = [&["--format", "json"], &args[..]].concat();
    let (run, shown) = on_terminal(&json, &[]);
    assert!(shown.contains(" simulated minutes ("), "{shown:?}");
    let plain = scaler(&json).expect(0);
    assert_eq!(plain.stderr, "");
    assert_eq!(run.expect(0).json(), plain.json());
}

#[test]
fn simulate_draws_nothing_off_a_terminal_or_with_quiet() {
    let ws = Workspace::new();
    let (config, trace) = (example(), two_days(&ws));
    let args = ["-c", &config, "simulate", "--trace", &trace];
    let plain = scaler(&args).expect(0);
    assert_eq!(plain.stderr, "");
    assert!(
        plain.stdout.contains(" simulate: simulated "),
        "{}",
        plain.stdout
    );
    let quiet = [&["-q"], &args[..]].concat();
    let (run, shown) = on_terminal(&quiet, &[]);
    assert_eq!(shown, "");
    assert_eq!(run.expect(0).stdout, scaler(&quiet).expect(0).stdout);
}
