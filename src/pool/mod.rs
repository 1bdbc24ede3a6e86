//! Gateway sources: where the load comes from. A source observes the
//! pool's gateways (each with the host it runs on and whether it is idle,
//! busy, draining or starting) and drains a host's gateways atomically. The
//! SIP source reads Kamailio's database; the media source reads Redis.

pub mod media;
pub mod sip;

pub use crate::model::{Gateway, GatewayState};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::IpAddr;

/// Everything a source saw in one observation.
#[derive(Debug, Default, Clone)]
pub struct GatewayObservation {
    /// The pool's gateways.
    pub gateways: Vec<Gateway>,
    /// Problems with individual records (bad data), each naming the record.
    pub errors: Vec<String>,
    /// Hosts with a bad record: never counted idle, never drained.
    pub tainted_hosts: Vec<IpAddr>,
    /// When draining gateways (by id) were marked, for sources that record it.
    pub draining_since: HashMap<String, DateTime<Utc>>,
}

/// The outcome of an attempt to drain one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DrainOutcome {
    /// Every gateway of the host is now marked to stop.
    Drained,
    /// Some gateway was no longer idle: nothing was marked.
    Busy(String),
}

/// One record a source keeps for a gateway (a SIP `location` row), as
/// [`GatewaySource::forget`] would delete it. The pass keeps these in the
/// state file from before a host is destroyed until they are deleted, so
/// that a pass killed in between leaves a forget the next one completes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceRecord {
    /// The gateway (SIP username) the record belongs to.
    pub gateway: String,
    /// The source's row id.
    pub id: u64,
}

/// A failed source call (connection, timeout, query).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SourceError(pub String);

/// A source of gateways and their load.
pub trait GatewaySource {
    /// Observes every gateway of the pool. Fails rather than return a partial view.
    fn observe(&mut self) -> Result<GatewayObservation, SourceError>;
    /// Marks all of `gateways` (every gateway of one host) to stop, atomically:
    /// all of them while they are still idle, or none.
    fn drain(&mut self, host: IpAddr, gateways: &[Gateway]) -> Result<DrainOutcome, SourceError>;
    /// Called after the host's instance was destroyed, to forget its gateways
    /// where the source keeps them (a no-op where they expire on their own).
    fn forget(&mut self, host: IpAddr, gateways: &[Gateway]) -> Result<(), SourceError>;
    /// Draining gateways left on a host that is no longer one of the pool's
    /// instances (a destroyed one whose gateways were not all forgotten).
    /// Sources whose records outlive their hosts remove them here; the
    /// default leaves them (Kamailio's rows expire on their own).
    fn forget_stale(&mut self, host: IpAddr, gateways: &[Gateway]) -> Result<(), SourceError> {
        let _ = (host, gateways);
        Ok(())
    }
    /// The records of `gateways` as last observed, that [`forget`](Self::forget)
    /// deletes: the pass keeps them in the state file before the host is
    /// destroyed. Empty for sources whose records a new gateway overwrites
    /// whole or that [`forget_stale`](Self::forget_stale) sweeps. Required
    /// (no default), so a wrapper cannot drop it silently.
    fn records(&self, gateways: &[Gateway]) -> Vec<SourceRecord>;
    /// Deletes `records` that still belong to their gateway (a pending
    /// forget of a destroyed host); returns how many were deleted.
    fn forget_records(
        &mut self,
        host: IpAddr,
        records: &[SourceRecord],
    ) -> Result<u64, SourceError>;
    /// Leaves `records` out of the following observations: they belong to a
    /// destroyed host (a pending forget not completed, in a dry run or after
    /// a failed delete), not to a new instance given the same address.
    fn hide_records(&mut self, records: &[SourceRecord]);
    /// A short description of the endpoint, without secrets, for `check`.
    fn describe(&self) -> String;
}
