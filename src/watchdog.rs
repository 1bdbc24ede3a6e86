//! The pass watchdog: a thread that ends the process at the pass's hard
//! bound, `limits.deadline` plus [`GRACE`], whatever the peers do. The MySQL
//! and Redis clients only bound each socket read, so a peer that trickles a
//! byte at a time holds a call for ever; the watchdog does not wait for the
//! call. At the bound it releases what the kernel would not (the Redis pass
//! lock, on a fresh connection), prints a report naming the call in flight,
//! and exits 69 when no action had started, else 3. The pass tells it what
//! it waits for ([`doing`]) and when it starts changing something
//! ([`action_started`]); calls that can be cut cleanly (subprocesses, file
//! locks) end by [`time_left`] instead.

use crate::exit::Exit;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// How long after `limits.deadline` the process may still run, at most.
pub const GRACE: Duration = Duration::from_secs(10);
/// Kept after firing for releasing the lock.
const RELEASE_BUDGET: Duration = Duration::from_secs(2);
/// Kept after the release for the report (and the metrics file).
const REPORT_BUDGET: Duration = Duration::from_secs(1);
/// Calls that can be cut end this long before the watchdog fires, so that
/// they fail like any call and the pass reports normally.
const CALL_MARGIN: Duration = Duration::from_secs(1);

/// When the watchdog fires, after `limits.deadline`: early enough that the
/// release and the report fit in [`GRACE`].
pub const FIRE_AFTER_DEADLINE: Duration =
    Duration::from_secs(GRACE.as_secs() - RELEASE_BUDGET.as_secs() - REPORT_BUDGET.as_secs());

/// What the watchdog knew when it stopped the pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    /// The status to exit with: 69 when no action had started, else 3.
    pub exit: Exit,
    /// The error for the report, naming the call in flight.
    pub message: String,
    /// The actions that had started, in order.
    pub started: Vec<String>,
}

/// A cleanup to run when the watchdog fires (releasing a lock).
pub type Release = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct State {
    finished: bool,
    fired: bool,
    next_call: u64,
    /// Calls in flight: id, what, since when.
    calls: Vec<(u64, String, Instant)>,
    /// The last call that ended, for a stop between calls.
    last_call: Option<String>,
    started: Vec<String>,
    releases: Vec<Release>,
}

/// The watch over one pass: what it waits for, what it started, and its bound.
pub struct Watch {
    state: Mutex<State>,
    deadline: Duration,
    deadline_at: Instant,
    fire_at: Instant,
}

impl Watch {
    /// A watch for a pass that started at `started` with `limits.deadline`
    /// `deadline`; `None` when the bound is beyond what a clock can hold.
    pub fn new(started: Instant, deadline: Duration) -> Option<Watch> {
        let deadline_at = started.checked_add(deadline)?;
        let fire_at = deadline_at.checked_add(FIRE_AFTER_DEADLINE)?;
        Some(Watch {
            state: Mutex::new(State::default()),
            deadline,
            deadline_at,
            fire_at,
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere must not stop the watchdog: the data stays usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a call in flight; returns its id for [`Watch::end_call`].
    pub fn begin_call(&self, what: String) -> u64 {
        let mut state = self.state();
        state.next_call += 1;
        let id = state.next_call;
        state.calls.push((id, what, Instant::now()));
        id
    }

    /// Records that call `id` returned.
    pub fn end_call(&self, id: u64) {
        let mut state = self.state();
        if let Some(at) = state.calls.iter().position(|(c, _, _)| *c == id) {
            let (_, what, _) = state.calls.remove(at);
            state.last_call = Some(what);
        }
    }

    /// Records that an action (a change at the provider or the source) starts.
    pub fn action_started(&self, what: &str) {
        self.state().started.push(what.to_string());
    }

    /// Adds a cleanup to run if the watchdog fires.
    pub fn on_fire(&self, release: Release) {
        self.state().releases.push(release);
    }

    /// Marks the pass finished; false when the watchdog fired first.
    pub fn finish(&self) -> bool {
        let mut state = self.state();
        if !state.fired {
            state.finished = true;
        }
        !state.fired
    }

    /// Until when cuttable calls may run.
    pub fn calls_end_by(&self) -> Instant {
        self.fire_at
            .checked_sub(CALL_MARGIN)
            .unwrap_or(self.fire_at)
    }

    /// Fires at `now` unless the pass finished: what to report and the
    /// cleanups to run.
    pub fn fire(&self, now: Instant) -> Option<(Fired, Vec<Release>)> {
        let mut state = self.state();
        if state.finished || state.fired {
            return None;
        }
        state.fired = true;
        let past = now.saturating_duration_since(self.deadline_at);
        let deadline = crate::duration::HumanDuration(self.deadline);
        let waiting = match state.calls.last() {
            Some((_, what, since)) => format!(
                "was still waiting for {what} (for {:.1} s): timed out",
                now.saturating_duration_since(*since).as_secs_f64()
            ),
            None => match &state.last_call {
                Some(last) => format!(
                    "had not finished, with no network call in flight (the last one: {last})"
                ),
                None => "had not finished, with no network call in flight".to_string(),
            },
        };
        let acted = match state.started.as_slice() {
            [] => "no action had started".to_string(),
            started => format!(
                "{} action(s) had started (the last: {}); the next pass sees what they did",
                started.len(),
                started[started.len() - 1]
            ),
        };
        let message = format!(
            "limits.deadline ({deadline}) passed {:.1} s ago and the pass {waiting}; \
             the pass was stopped at its bound (limits.deadline + {} s), {acted}",
            past.as_secs_f64(),
            GRACE.as_secs()
        );
        let exit = if state.started.is_empty() {
            Exit::Unavailable
        } else {
            Exit::Partial
        };
        let fired = Fired {
            exit,
            message,
            started: state.started.clone(),
        };
        Some((fired, std::mem::take(&mut state.releases)))
    }
}

/// What the report printer gets when the watchdog fires.
pub type OnFire = Box<dyn FnOnce(&Fired) + Send>;

struct Armed {
    watch: Arc<Watch>,
    /// Dropped by [`finish`] to wake the watchdog thread.
    wake: Mutex<Option<Sender<()>>>,
}

static ARMED: OnceLock<Armed> = OnceLock::new();

/// Arms the watchdog of this process's pass (once per process): at
/// `started + deadline + FIRE_AFTER_DEADLINE` it runs the registered
/// releases, then `on_fire` (print the report), each within its budget,
/// then exits. Returns false when it was already armed or the bound
/// overflows the clock (the pass is then unbounded, as before).
pub fn arm(started: Instant, deadline: Duration, on_fire: OnFire) -> bool {
    let Some(watch) = Watch::new(started, deadline) else {
        return false;
    };
    let watch = Arc::new(watch);
    let (wake, asleep) = mpsc::channel::<()>();
    let armed = Armed {
        watch: Arc::clone(&watch),
        wake: Mutex::new(Some(wake)),
    };
    if ARMED.set(armed).is_err() {
        return false;
    }
    std::thread::Builder::new()
        .name("watchdog".into())
        .spawn(move || {
            let wait = watch.fire_at.saturating_duration_since(Instant::now());
            match asleep.recv_timeout(wait) {
                Err(RecvTimeoutError::Timeout) => {}
                // Finished (the sender was dropped).
                Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
            }
            let Some((fired, releases)) = watch.fire(Instant::now()) else {
                return;
            };
            log::error!("{}", fired.message);
            within(RELEASE_BUDGET, move || {
                releases.into_iter().for_each(|r| r())
            });
            let report = fired.clone();
            within(REPORT_BUDGET, move || on_fire(&report));
            std::process::exit(i32::from(fired.exit.code()));
        })
        .is_ok()
}

/// Runs `work` on its own thread and waits for it at most `budget`.
fn within(budget: Duration, work: impl FnOnce() + Send + 'static) -> bool {
    let (done, finished) = mpsc::channel();
    let spawned = std::thread::Builder::new().spawn(move || {
        work();
        let _ = done.send(());
    });
    spawned.is_ok() && finished.recv_timeout(budget).is_ok()
}

/// Marks the pass finished before it prints its own report. When the
/// watchdog fired first, blocks: the watchdog prints and exits the process.
pub fn finish_or_wait() {
    let Some(armed) = ARMED.get() else {
        return;
    };
    if armed.watch.finish() {
        armed.wake.lock().unwrap_or_else(|e| e.into_inner()).take();
        return;
    }
    loop {
        std::thread::park();
    }
}

/// A call in flight, ended when dropped.
#[must_use = "the call is recorded as in flight until this is dropped"]
pub struct Doing(Option<u64>);

impl Drop for Doing {
    fn drop(&mut self) {
        if let (Some(id), Some(armed)) = (self.0, ARMED.get()) {
            armed.watch.end_call(id);
        }
    }
}

/// Records that the pass now waits for `what` (a peer and the call, e.g.
/// "Kamailio database mysql://…: observing gateways") until the guard drops.
pub fn doing(what: impl Into<String>) -> Doing {
    Doing(ARMED.get().map(|armed| armed.watch.begin_call(what.into())))
}

/// Records that an action starts (the watchdog then exits 3, not 69).
pub fn action_started(what: &str) {
    if let Some(armed) = ARMED.get() {
        armed.watch.action_started(what);
    }
}

/// Adds a cleanup for when the watchdog fires (it runs within a budget).
pub fn on_fire(release: Release) {
    if let Some(armed) = ARMED.get() {
        armed.watch.on_fire(release);
    }
}

/// How long a call that can be cut cleanly may still take before the
/// watchdog fires; `None` when no watchdog is armed.
pub fn time_left() -> Option<Duration> {
    ARMED.get().map(|armed| {
        armed
            .watch
            .calls_end_by()
            .saturating_duration_since(Instant::now())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watch() -> (Watch, Instant) {
        let started = Instant::now();
        (
            Watch::new(started, Duration::from_secs(2)).unwrap(),
            started,
        )
    }

    #[test]
    fn names_the_innermost_call_and_exits_69_before_any_action() {
        let (w, started) = watch();
        let outer = w.begin_call("provider local: listing instances".into());
        w.end_call(outer);
        let id = w.begin_call("Kamailio database mysql://db:3306/k: observing gateways".into());
        let (fired, _) = w.fire(started + Duration::from_secs(9)).unwrap();
        assert_eq!(fired.exit, Exit::Unavailable);
        assert!(
            fired.message.contains("mysql://db:3306/k: observing"),
            "{}",
            fired.message
        );
        assert!(fired.message.contains("timed out"), "{}", fired.message);
        assert!(
            fired.message.contains("no action had started"),
            "{}",
            fired.message
        );
        w.end_call(id);
        assert!(
            w.fire(started + Duration::from_secs(10)).is_none(),
            "fires once"
        );
        assert!(!w.finish(), "a fired pass cannot finish");
    }

    #[test]
    fn exits_3_once_an_action_started_and_hands_over_the_releases() {
        let (w, started) = watch();
        w.action_started("drain gw-1");
        w.on_fire(Box::new(|| {}));
        let (fired, releases) = w.fire(started + Duration::from_secs(9)).unwrap();
        assert_eq!(fired.exit, Exit::Partial);
        assert_eq!(fired.started, vec!["drain gw-1".to_string()]);
        assert!(
            fired.message.contains("the last: drain gw-1"),
            "{}",
            fired.message
        );
        assert_eq!(releases.len(), 1);
    }

    #[test]
    fn a_finished_pass_is_never_fired_and_a_stop_between_calls_names_the_last() {
        let (w, started) = watch();
        assert!(w.finish());
        assert!(w.fire(started + Duration::from_secs(60)).is_none());
        let (w, started) = watch();
        let id = w.begin_call("Redis lock redis://r:6379/: SET".into());
        w.end_call(id);
        let (fired, _) = w.fire(started + Duration::from_secs(9)).unwrap();
        assert!(
            fired.message.contains("the last one: Redis lock"),
            "{}",
            fired.message
        );
    }

    #[test]
    fn the_bound_fits_in_the_grace_and_cuttable_calls_end_before_it() {
        assert!(FIRE_AFTER_DEADLINE + RELEASE_BUDGET + REPORT_BUDGET <= GRACE);
        let (w, started) = watch();
        assert!(w.calls_end_by() < started + Duration::from_secs(2) + FIRE_AFTER_DEADLINE);
        assert!(
            Watch::new(started, Duration::MAX).is_none(),
            "no overflow panic"
        );
    }
}
