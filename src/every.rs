//! `scaler run --every DURATION`, the long-running entry for containers: a
//! supervisor that starts each pass as a child process (`scaler run` with
//! the same global flags) at every multiple of the interval since the Unix
//! epoch, never two at once; a tick that comes while a pass still runs is
//! skipped and logged. On SIGTERM or SIGINT it starts nothing more, waits
//! for the pass in flight and exits 0. A pass is a child process because
//! its watchdog ends the whole process at the pass's bound: that must end
//! the pass, not the loop. The child gets its own process group, so a
//! terminal's Ctrl-C reaches the supervisor only. Signals stay blocked and
//! are taken with `sigtimedwait` (no handler runs), and every child is
//! reaped, so the supervisor can be a container's PID 1.

use crate::cli::{Cli, RunArgs};
use crate::config;
use crate::exit::Exit;
use crate::metrics::{self, EveryCounts};
use crate::state;
use chrono::{DateTime, SecondsFormat, Utc};
use clap::ValueEnum;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The ticks of `--every`: the multiples of the interval since the epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticks {
    every: Duration,
    next: SystemTime,
}

/// What is due when the supervisor wakes up.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Due {
    /// Start a pass for this tick.
    pub start: Option<SystemTime>,
    /// Ticks that get no pass: the first of them and how many.
    pub skipped: Option<(SystemTime, u64)>,
}

fn since_epoch(at: SystemTime) -> Duration {
    at.duration_since(UNIX_EPOCH).unwrap_or_default()
}

impl Ticks {
    /// The ticks strictly after `now`, every `every` (whole seconds, at least 1 s).
    pub fn new(now: SystemTime, every: Duration) -> Ticks {
        let seconds = every.as_secs().max(1);
        let n = since_epoch(now).as_secs() / seconds + 1;
        Ticks {
            every: Duration::from_secs(seconds),
            next: UNIX_EPOCH + Duration::from_secs(n * seconds),
        }
    }

    /// The next tick.
    pub fn next(&self) -> SystemTime {
        self.next
    }

    /// Takes the ticks at or before `now`. With a pass `running`, all are
    /// skipped; else the latest starts a pass and any earlier one (the loop
    /// was not scheduled in time: a clock change, a suspend) is skipped.
    pub fn due(&mut self, now: SystemTime, running: bool) -> Due {
        if now < self.next {
            return Due::default();
        }
        let late = since_epoch(now).saturating_sub(since_epoch(self.next));
        let count = late.as_secs() / self.every.as_secs() + 1;
        let first = self.next;
        let latest = first + Duration::from_secs((count - 1) * self.every.as_secs());
        self.next = latest + self.every;
        if running {
            return Due {
                start: None,
                skipped: Some((first, count)),
            };
        }
        Due {
            start: Some(latest),
            skipped: (count > 1).then_some((first, count - 1)),
        }
    }
}

/// The arguments of each pass: the supervisor's global flags, then `run`
/// (with `--dry-run` when given), without `--every`.
pub fn pass_args(cli: &Cli, args: &RunArgs) -> Vec<OsString> {
    let format = cli
        .format
        .to_possible_value()
        .map_or_else(|| "text".to_string(), |v| v.get_name().to_string());
    let mut argv: Vec<OsString> = vec![
        "--config".into(),
        cli.config.clone().into(),
        "--format".into(),
        format.into(),
    ];
    argv.extend((0..cli.verbose).map(|_| OsString::from("--verbose")));
    if cli.quiet {
        argv.push("--quiet".into());
    }
    if let Some(file) = &cli.metrics_file {
        argv.push("--metrics-file".into());
        argv.push(file.clone().into());
    }
    argv.push("run".into());
    if args.dry_run {
        argv.push("--dry-run".into());
    }
    argv
}

/// Runs `scaler run --every`: returns 0 once stopped by a signal, or the
/// status of what kept it from starting (the configuration: 78).
pub fn run(cli: &Cli, args: &RunArgs, every: Duration) -> Exit {
    // Read once for the pool's name and the metrics file; each pass reads it again.
    let config = match config::load(&cli.config) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("scaler: {e:#}");
            return e.exit();
        }
    };
    let program = match std::env::current_exe() {
        Ok(program) => program,
        Err(e) => {
            eprintln!("scaler: cannot find the scaler binary to run each pass: {e}");
            return Exit::Internal;
        }
    };
    let signals = match Signals::block() {
        Ok(signals) => signals,
        Err(e) => {
            eprintln!("scaler: cannot take SIGTERM, SIGINT and SIGCHLD: {e}");
            return Exit::Internal;
        }
    };
    let now = SystemTime::now();
    let mut supervisor = Supervisor {
        program,
        pass_args: pass_args(cli, args),
        pool: config.pool.name.clone(),
        metrics_file: metrics::textfile(&config, cli.metrics_file.as_deref())
            .map(metrics::every_textfile),
        counts: EveryCounts {
            interval: every,
            started_at: DateTime::<Utc>::from(now),
            passes: BTreeMap::new(),
            skipped: 0,
            last: None,
        },
        ticks: Ticks::new(now, every),
        running: None,
        stopping: false,
        started: 0,
    };
    supervisor.serve(&signals)
}

/// A pass in flight.
struct Running {
    pid: i32,
    number: u64,
    tick: SystemTime,
    started: Instant,
}

struct Supervisor {
    program: PathBuf,
    pass_args: Vec<OsString>,
    pool: String,
    metrics_file: Option<PathBuf>,
    counts: EveryCounts,
    ticks: Ticks,
    running: Option<Running>,
    stopping: bool,
    /// Passes started so far (numbers them in the log).
    started: u64,
}

fn at(time: SystemTime) -> String {
    DateTime::<Utc>::from(time).to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl Supervisor {
    fn serve(&mut self, signals: &Signals) -> Exit {
        log::info!(
            "run --every {}: a pass at each multiple of it, the first at {}; \
             SIGTERM stops after the pass in flight",
            crate::duration::HumanDuration(self.counts.interval),
            at(self.ticks.next())
        );
        self.write_metrics();
        loop {
            let wait = (!self.stopping).then(|| {
                let next = self.ticks.next();
                next.duration_since(SystemTime::now()).unwrap_or_default()
            });
            match signals.wait(wait) {
                Ok(Wake::Timeout) => {}
                Ok(Wake::Child) => self.reap(),
                Ok(Wake::Stop(signal)) => self.stop(signal),
                Err(e) => {
                    log::error!("run --every: waiting for signals failed: {e}");
                    return Exit::Internal;
                }
            }
            if self.stopping && self.running.is_none() {
                log::info!("run --every: stopped");
                return Exit::Ok;
            }
            if !self.stopping {
                self.on_ticks(SystemTime::now());
            }
        }
    }

    fn stop(&mut self, signal: &str) {
        match &self.running {
            None => log::info!("{signal}: no pass in flight, stopping"),
            Some(r) if !self.stopping => log::info!(
                "{signal}: stopping after the pass in flight (pass {}, pid {}, tick {})",
                r.number,
                r.pid,
                at(r.tick)
            ),
            Some(r) => log::info!(
                "{signal}: already stopping, waiting for pass {} (pid {})",
                r.number,
                r.pid
            ),
        }
        self.stopping = true;
    }

    fn on_ticks(&mut self, now: SystemTime) {
        let due = self.ticks.due(now, self.running.is_some());
        if let Some((first, count)) = due.skipped {
            self.counts.skipped += count;
            let ticks = match count {
                1 => format!("tick {} skipped", at(first)),
                n => format!("{n} ticks from {} skipped", at(first)),
            };
            match &self.running {
                Some(r) => log::warn!(
                    "{ticks}: pass {} (tick {}, pid {}) is still running",
                    r.number,
                    at(r.tick),
                    r.pid
                ),
                None => {
                    log::warn!("{ticks}: the loop was not woken in time (clock change, suspend)")
                }
            }
            self.write_metrics();
        }
        if let Some(tick) = due.start {
            self.start(tick);
        }
    }

    fn start(&mut self, tick: SystemTime) {
        self.started += 1;
        let number = self.started;
        let spawned = std::process::Command::new(&self.program)
            .args(&self.pass_args)
            .process_group(0)
            .spawn();
        match spawned {
            Ok(child) => {
                let pid = i32::try_from(child.id()).unwrap_or(i32::MAX);
                log::debug!("pass {number} (tick {}) started, pid {pid}", at(tick));
                // Not waited through `child`: `reap` takes every exit status.
                drop(child);
                self.running = Some(Running {
                    pid,
                    number,
                    tick,
                    started: Instant::now(),
                });
            }
            Err(e) => {
                log::error!(
                    "pass {number} (tick {}) could not start: {}: {e}",
                    at(tick),
                    self.program.display()
                );
                self.count(i32::from(Exit::Internal.code()));
            }
        }
    }

    /// Takes the exit status of every child that ended: the pass's, and
    /// those of orphans a container's PID 1 inherits.
    fn reap(&mut self) {
        loop {
            let mut status = 0;
            // SAFETY: waitpid writes only to `status`.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if pid <= 0 {
                return;
            }
            if self.running.as_ref().is_some_and(|r| r.pid == pid) {
                let pass = self.running.take().expect("checked above");
                self.finished(&pass, exit_code(status));
            }
        }
    }

    fn finished(&mut self, pass: &Running, code: i32) {
        let took = pass.started.elapsed().as_secs_f64();
        let outcome = outcome(code);
        let (number, tick) = (pass.number, at(pass.tick));
        if code == 0 {
            log::info!("pass {number} (tick {tick}) exited 0 ({outcome}) after {took:.1} s");
        } else {
            log::warn!("pass {number} (tick {tick}) exited {code} ({outcome}) after {took:.1} s");
        }
        self.count(code);
    }

    fn count(&mut self, code: i32) {
        *self.counts.passes.entry(code).or_default() += 1;
        self.counts.last = Some((code, Utc::now()));
        self.write_metrics();
    }

    fn write_metrics(&self) {
        let Some(path) = &self.metrics_file else {
            return;
        };
        let text = metrics::render_every(&self.pool, &self.counts);
        if let Err(e) = state::write_atomic(path, text.as_bytes()) {
            log::error!("metrics file {}: {e}", path.display());
        }
    }
}

/// A wait status as a shell shows it: the exit status, or 128 + the signal.
fn exit_code(status: i32) -> i32 {
    let status = std::process::ExitStatus::from_raw(status);
    status
        .code()
        .or_else(|| status.signal().map(|signal| 128 + signal))
        .unwrap_or(i32::from(Exit::Internal.code()))
}

/// A few words for a pass's exit status (the table of README).
fn outcome(code: i32) -> String {
    let known = u8::try_from(code).ok().and_then(Exit::from_code);
    match known {
        Some(Exit::Ok) => "ok".into(),
        Some(Exit::Internal) => "internal failure".into(),
        Some(Exit::Changes) => "changes".into(),
        Some(Exit::Partial) => "partial: some actions failed or records were unreadable".into(),
        Some(Exit::Usage) => "usage error".into(),
        Some(Exit::Unavailable) => "a dependency was unavailable".into(),
        Some(Exit::Locked) => "another pass holds the lock".into(),
        Some(Exit::Config) => "configuration error".into(),
        None if code > 128 => format!("killed by signal {}", code - 128),
        None => "unknown status".into(),
    }
}

/// What woke the supervisor.
enum Wake {
    Timeout,
    Child,
    Stop(&'static str),
}

/// SIGTERM, SIGINT and SIGCHLD, blocked in this thread (before any other
/// starts) and taken synchronously. A child starts with an empty mask
/// (the standard library resets it before `exec`).
struct Signals {
    set: libc::sigset_t,
}

impl Signals {
    fn block() -> std::io::Result<Signals> {
        // SAFETY: the set is initialised by sigemptyset before any other use.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGCHLD] {
                libc::sigaddset(&mut set, signal);
            }
            match libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) {
                0 => Ok(Signals { set }),
                e => Err(std::io::Error::from_raw_os_error(e)),
            }
        }
    }

    /// Waits for one of the signals, at most `timeout` (`None`: for ever).
    fn wait(&self, timeout: Option<Duration>) -> std::io::Result<Wake> {
        // SAFETY: plain data, written by the kernel.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let taken = match timeout {
            Some(timeout) => {
                let limit = libc::timespec {
                    tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
                    // Below 10^9: fits any c_long.
                    tv_nsec: timeout.subsec_nanos() as libc::c_long,
                };
                // SAFETY: valid pointers to a signal set, a siginfo and a timespec.
                unsafe { libc::sigtimedwait(&self.set, &mut info, &limit) }
            }
            // SAFETY: valid pointers to a signal set and a siginfo.
            None => unsafe { libc::sigwaitinfo(&self.set, &mut info) },
        };
        match taken {
            libc::SIGCHLD => Ok(Wake::Child),
            libc::SIGINT => Ok(Wake::Stop("SIGINT")),
            libc::SIGTERM => Ok(Wake::Stop("SIGTERM")),
            _ => {
                let e = std::io::Error::last_os_error();
                match e.raw_os_error() {
                    // The timeout, or another signal (SIGSTOP/SIGCONT): the caller looks again.
                    Some(libc::EAGAIN) | Some(libc::EINTR) => Ok(Wake::Timeout),
                    _ => Err(e),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn t(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn ticks_fall_on_multiples_of_the_interval() {
        let minute = Duration::from_secs(60);
        let ticks = Ticks::new(t(1_800_000_030), minute);
        assert_eq!(ticks.next(), t(1_800_000_060));
        // Exactly on a boundary: the next one.
        assert_eq!(
            Ticks::new(t(1_800_000_060), minute).next(),
            t(1_800_000_120)
        );
        let sub = t(1_800_000_059) + Duration::from_millis(999);
        assert_eq!(Ticks::new(sub, minute).next(), t(1_800_000_060));
    }

    #[test]
    fn an_idle_loop_starts_a_pass_at_each_tick() {
        let mut ticks = Ticks::new(t(100), Duration::from_secs(2));
        assert_eq!(ticks.due(t(101), false), Due::default());
        let due = ticks.due(t(102), false);
        assert_eq!(due.start, Some(t(102)));
        assert_eq!(due.skipped, None);
        assert_eq!(ticks.next(), t(104));
    }

    #[test]
    fn a_tick_during_a_pass_is_skipped_and_the_next_one_runs() {
        let mut ticks = Ticks::new(t(0), Duration::from_secs(60));
        assert_eq!(ticks.due(t(60), false).start, Some(t(60)));
        let due = ticks.due(t(120), true);
        assert_eq!(due.start, None);
        assert_eq!(due.skipped, Some((t(120), 1)));
        // The pass ended at 150: nothing until 180.
        assert_eq!(ticks.due(t(150), false), Due::default());
        assert_eq!(ticks.due(t(180), false).start, Some(t(180)));
    }

    #[test]
    fn a_late_wake_up_runs_once_and_skips_the_missed_ticks() {
        let mut ticks = Ticks::new(t(0), Duration::from_secs(60));
        let due = ticks.due(t(60 * 5 + 7), false);
        assert_eq!(due.start, Some(t(300)));
        assert_eq!(due.skipped, Some((t(60), 4)));
        assert_eq!(ticks.next(), t(360));
    }

    #[test]
    fn each_pass_gets_the_global_flags_and_run_without_every() {
        let cli = Cli::try_parse_from([
            "scaler",
            "-c",
            "pool.toml",
            "-vv",
            "--format",
            "json",
            "--metrics-file",
            "m.prom",
            "run",
            "--every",
            "1m",
            "--dry-run",
        ])
        .unwrap();
        let crate::cli::Command::Run(args) = &cli.command else {
            panic!("run");
        };
        let mut argv = vec![OsString::from("scaler")];
        argv.extend(pass_args(&cli, args));
        let child = Cli::try_parse_from(argv).unwrap();
        assert_eq!(child.config, PathBuf::from("pool.toml"));
        assert_eq!(child.verbose, 2);
        assert_eq!(child.format, crate::cli::Format::Json);
        assert_eq!(child.metrics_file, Some(PathBuf::from("m.prom")));
        let crate::cli::Command::Run(child_args) = &child.command else {
            panic!("run");
        };
        assert!(child_args.dry_run);
        assert_eq!(child_args.every, None);
    }

    #[test]
    fn exit_statuses_read_like_a_shell_and_the_table() {
        assert_eq!(exit_code(0), 0);
        assert_eq!(exit_code(78 << 8), 78);
        assert_eq!(exit_code(libc::SIGKILL), 128 + 9);
        assert_eq!(outcome(75), "another pass holds the lock");
        assert_eq!(outcome(137), "killed by signal 9");
    }
}
