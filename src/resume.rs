//! `scaler resume`: lifts the suspension of creation a crash loop caused
//! (DESIGN.md "Decision" › "Crash-loop backoff") and the count of instances
//! lost without registering, in the state file, under the pass lock. With
//! nothing to clear it changes nothing.

use crate::config::Config;
use crate::crash_loop::{self, CrashLoop};
use crate::error::Error;
use crate::report::{PoolInfo, Report};
use crate::state;

/// The command's name in its report.
pub const NAME: &str = "resume";

/// Runs `scaler resume`; the report's `crash_loop` is what it cleared.
pub fn command(config: &Config) -> Result<Report, Error> {
    let mut report = Report::new(NAME);
    report.pool = Some(PoolInfo {
        name: config.pool.name.clone(),
        kind: config.pool.kind.as_str().to_string(),
    });
    // A pass reads the state before it decides and writes it after: the
    // lock keeps this change out of a pass's read-modify-write.
    let _lock = crate::reserve::wait_for_lock(&config.lock)?;
    let (path, pool) = (&config.state_path, &config.pool.name);
    let unusable = |e: state::StateError| Error::Config(e.to_string());
    let memory = state::load(path, pool)
        .map_err(unusable)?
        .map(|s| s.crash_loop)
        .unwrap_or_default();
    let Some(what) = crash_loop::describe(&memory) else {
        report.notes.push(
            "nothing to resume: creation is not suspended and no instance was lost without registering"
                .into(),
        );
        return Ok(report);
    };
    state::update(path, pool, chrono::Utc::now(), |s| {
        s.crash_loop = CrashLoop::default();
    })
    .map_err(unusable)?;
    log::info!("crash loop cleared: {what}");
    report
        .notes
        .push(format!("creation resumed: cleared {what}"));
    report.crash_loop = Some(memory);
    Ok(report)
}
