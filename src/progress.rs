//! Progress of long work on stderr (DESIGN.md "Progress"): `schedule
//! suggest` counts its day replays on a spinner, `simulate` shows the
//! simulated minutes on a bar (indicatif). Drawn only when stderr is a
//! terminal (`TERM` set, not `dumb`) and `-q` is not given; anywhere else
//! (a pipe, a file, cron, a systemd unit) nothing is drawn and stderr is what
//! it was without it. The report goes to stdout either way, `--format json`
//! included, and the display is erased when the work ends (its last clone
//! dropped), before the report is printed.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressStyle};
use std::borrow::Cow;
use std::io::IsTerminal;
use std::time::Duration;

/// How often a spinner redraws on its own, so that its elapsed time moves
/// while a replay runs.
const SPINNER_TICK: Duration = Duration::from_millis(125);

/// The spinner: what is counted has no total known in advance.
const COUNTER_TEMPLATE: &str = "{spinner} {prefix}: {human_pos} {msg} ({elapsed})";

/// The bar: the share done, the total and the time left.
const BAR_TEMPLATE: &str =
    "{prefix} [{wide_bar}] {percent:>3}% of {human_len} {msg} ({elapsed}, {eta} left)";

/// Whether progress is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    /// On stderr, a terminal.
    Terminal,
    /// Not at all.
    Hidden,
}

impl Show {
    /// Where this process draws: [`Show::choose`] with its own stderr and
    /// `TERM`.
    pub fn for_stderr(quiet: bool) -> Show {
        let term = std::env::var("TERM").ok();
        Show::choose(quiet, std::io::stderr().is_terminal(), term.as_deref())
    }

    /// On a terminal whose `TERM` is set and not `dumb`, unless `quiet`
    /// (`-q`); hidden otherwise.
    pub fn choose(quiet: bool, terminal: bool, term: Option<&str>) -> Show {
        let capable = term.is_some_and(|t| !t.is_empty() && t != "dumb");
        if !quiet && terminal && capable {
            Show::Terminal
        } else {
            Show::Hidden
        }
    }
}

/// A progress display shared by the threads doing the work: clones count
/// into the same display, which is erased when the last one is dropped.
#[derive(Clone)]
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// Counts nothing anywhere.
    pub fn hidden() -> Progress {
        Progress {
            bar: ProgressBar::hidden(),
        }
    }

    /// A spinner counting what is done (`{prefix}: 42 {unit} (3s)`), for work
    /// whose total is not known in advance.
    pub fn counter(show: Show, prefix: &'static str, unit: &'static str) -> Progress {
        let progress = Progress::drawn(show, None, COUNTER_TEMPLATE, prefix, unit);
        if show == Show::Terminal {
            progress.bar.enable_steady_tick(SPINNER_TICK);
        }
        progress
    }

    /// A bar of `unit`s, its total set by [`Progress::set_length`] once
    /// known.
    pub fn bar(show: Show, prefix: &'static str, unit: &'static str) -> Progress {
        Progress::drawn(show, None, BAR_TEMPLATE, prefix, unit)
    }

    fn drawn(
        show: Show,
        len: Option<u64>,
        template: &str,
        prefix: &'static str,
        unit: &'static str,
    ) -> Progress {
        if show == Show::Hidden {
            return Progress::hidden();
        }
        let style = ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ")
            .tick_chars("-\\|/ ");
        let bar = ProgressBar::with_draw_target(len, ProgressDrawTarget::stderr())
            .with_style(style)
            .with_prefix(prefix)
            .with_message(Cow::Borrowed(unit))
            .with_finish(ProgressFinish::AndClear);
        Progress { bar }
    }

    /// The total, for a bar.
    pub fn set_length(&self, len: u64) {
        self.bar.set_length(len);
    }

    /// One more unit done (from any thread).
    pub fn advance(&self) {
        self.bar.inc(1);
    }

    /// Units done so far.
    pub fn done(&self) -> u64 {
        self.bar.position()
    }

    /// The total, once set.
    pub fn length(&self) -> Option<u64> {
        self.bar.length()
    }

    /// Whether anything is drawn.
    pub fn is_drawn(&self) -> bool {
        !self.bar.is_hidden()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_attended_capable_terminal_without_quiet_shows_progress() {
        let xterm = Some("xterm-256color");
        assert_eq!(Show::choose(false, true, xterm), Show::Terminal);
        assert_eq!(Show::choose(true, true, xterm), Show::Hidden);
        assert_eq!(Show::choose(false, false, xterm), Show::Hidden);
        assert_eq!(Show::choose(false, true, Some("dumb")), Show::Hidden);
        assert_eq!(Show::choose(false, true, Some("")), Show::Hidden);
        assert_eq!(Show::choose(false, true, None), Show::Hidden);
    }

    #[test]
    fn the_templates_parse() {
        assert!(ProgressStyle::with_template(COUNTER_TEMPLATE).is_ok());
        assert!(ProgressStyle::with_template(BAR_TEMPLATE).is_ok());
    }

    #[test]
    fn hidden_progress_still_counts_from_every_clone_and_thread() {
        let progress = Progress::counter(Show::Hidden, "test", "steps");
        assert!(!progress.is_drawn());
        std::thread::scope(|scope| {
            for _ in 0..4 {
                let clone = progress.clone();
                scope.spawn(move || (0..25).for_each(|_| clone.advance()));
            }
        });
        assert_eq!(progress.done(), 100);
    }
}
