//! Gateway sources: where the load comes from. A source observes the
//! pool's gateways (each with the host it runs on and whether it is idle,
//! busy, draining or starting) and drains a host's gateways atomically. The
//! SIP source reads Kamailio's database; the media source reads Redis.

pub mod media;
pub mod sip;

pub use crate::model::{Gateway, GatewayState};
use chrono::{DateTime, Utc};
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
    /// A short description of the endpoint, without secrets, for `check`.
    fn describe(&self) -> String;
}
