//! Pending forgets: the registrations of a host about to be destroyed are
//! written to the state file before the destroy and removed once the source
//! has deleted them. A pass killed in between leaves them in the file; the
//! next pass deletes them before it observes (a dry run leaves them out of
//! its observation instead), so that a new instance given the same address
//! never inherits the destroyed host's marks (`to_stop`) and is destroyed
//! while it builds.

use crate::pool::{Gateway, GatewaySource};
use crate::provider::Instance;
use crate::state::{self, PendingForget, StateError};
use chrono::{DateTime, Utc};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// The state file a pass keeps its pending forgets in.
#[derive(Debug, Clone)]
pub struct Ledger {
    path: PathBuf,
    pool: String,
    now: DateTime<Utc>,
}

impl Ledger {
    /// The ledger of `pool` in the state file `path`; `now` dates new entries.
    pub fn new(path: &Path, pool: &str, now: DateTime<Utc>) -> Ledger {
        Ledger {
            path: path.to_path_buf(),
            pool: pool.to_string(),
            now,
        }
    }

    /// Before `instance` is destroyed: keeps the records of its gateways in
    /// the state file. Nothing is written when the source keeps none. An
    /// error means the instance must not be destroyed now.
    pub fn before_destroy(
        &self,
        source: &dyn GatewaySource,
        instance: &Instance,
        host: IpAddr,
        gateways: &[Gateway],
    ) -> Result<(), StateError> {
        let records = source.records(gateways);
        if records.is_empty() {
            return Ok(());
        }
        let pending = PendingForget {
            instance: instance.id.clone(),
            name: instance.name.clone(),
            host,
            since: self.now,
            records,
        };
        state::update(&self.path, &self.pool, self.now, |s| {
            s.add_pending_forget(pending)
        })
        .map(|_| ())
    }

    /// Once the records of `instance` are deleted: drops its entry.
    pub fn forgotten(&self, instance: &str) -> Result<(), StateError> {
        let state = state::load(&self.path, &self.pool)?;
        if !state.is_some_and(|s| s.pending_forgets.iter().any(|p| p.instance == instance)) {
            return Ok(());
        }
        state::update(&self.path, &self.pool, self.now, |s| {
            s.remove_pending_forget(instance)
        })
        .map(|_| ())
    }
}

/// What completing the pending forgets gave, for the report.
#[derive(Debug, Default)]
pub struct Completion {
    /// What was done or left.
    pub notes: Vec<String>,
    /// What failed (the pass exits 3).
    pub errors: Vec<String>,
}

/// At the start of a pass, after the instances are listed and before the
/// gateways are observed: deletes the records of every pending forget whose
/// instance is no longer listed (one still listed waits: its destroy may
/// have failed, and the records are still its own). In a dry run, and for a
/// delete that fails, the records are left out of the observation instead:
/// they belong to a destroyed host, never to a new instance on its address.
pub fn complete(
    ledger: &Ledger,
    pending: &[PendingForget],
    listed: &[Instance],
    mut source: Option<&mut dyn GatewaySource>,
    dry_run: bool,
) -> Completion {
    let mut out = Completion::default();
    for entry in pending {
        let what = format!(
            "{} registration(s) of {} ({}), destroyed since {}",
            entry.records.len(),
            entry.name,
            entry.host,
            entry.since.format("%Y-%m-%d %H:%M:%SZ")
        );
        if listed.iter().any(|i| i.id == entry.instance) {
            out.notes.push(format!(
                "pending forget of {} ({}) waits: the instance is still listed",
                entry.name, entry.host
            ));
            continue;
        }
        let Some(source) = source.as_deref_mut() else {
            out.notes.push(format!(
                "pending forget of {what} kept: this pool has no gateway source"
            ));
            continue;
        };
        if dry_run {
            source.hide_records(&entry.records);
            out.notes.push(format!(
                "pending forget of {what}: `run` deletes them first; this plan leaves them out"
            ));
            continue;
        }
        match source.forget_records(entry.host, &entry.records) {
            Ok(deleted) => {
                log::info!("completed the pending forget of {what}: {deleted} deleted");
                out.notes.push(format!(
                    "completed the pending forget of {what}: {deleted} deleted (the others were \
                     gone, or in use by a new registration)"
                ));
                if let Err(e) = ledger.forgotten(&entry.instance) {
                    out.errors.push(format!("state: {e}"));
                }
            }
            Err(e) => {
                source.hide_records(&entry.records);
                out.errors.push(format!(
                    "pending forget of {what}: {e} (left out of this pass; the next one retries)"
                ));
            }
        }
    }
    out
}
