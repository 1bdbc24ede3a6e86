//! Gateway sources: where the load comes from. A source observes the
//! pool's gateways (each with the host it runs on and whether it is idle,
//! busy, draining or starting) and drains a host's gateways atomically. The
//! SIP source reads Kamailio's database; the media source reads Redis.
//!
//! When in doubt, the pool is busy: a record a source cannot read or tie to
//! exactly one host is a *doubt* ([`GatewayObservation::doubts`]), and the
//! planner then neither drains nor destroys anything of the pool for that
//! pass. Host names in records are tied to the pool's instances by name
//! ([`Hosts`]), never resolved.

pub mod media;
pub mod sip;

use crate::model::Instance;
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
    /// Records that cannot be read or tied to exactly one host, each naming
    /// the record (also in `errors`): while there is one, nothing of the pool
    /// is drained or destroyed.
    pub doubts: Vec<String>,
    /// Hosts with a call in progress that no registered gateway accounts for
    /// (a call on a gateway whose registration expired): never drained,
    /// never destroyed, not counted.
    pub busy_hosts: Vec<IpAddr>,
}

impl GatewayObservation {
    /// Records a doubt: in `errors` (the report) and in `doubts` (the planner).
    pub fn doubt(&mut self, message: String) {
        self.errors.push(message.clone());
        self.doubts.push(message);
    }
}

/// The pool's instances as the sources see them, to tie records to hosts:
/// by address, and by instance name for records that give a host name
/// (never resolved through DNS).
#[derive(Debug, Default, Clone)]
pub struct Hosts {
    /// Lower-case instance name to the instance's address (`None` when two
    /// instances share the name or the instance has no address).
    names: HashMap<String, Option<IpAddr>>,
    /// Each address of an instance to the instance's first address.
    addresses: HashMap<IpAddr, IpAddr>,
}

impl Hosts {
    /// The hosts of `instances`.
    pub fn new(instances: &[Instance]) -> Hosts {
        let mut hosts = Hosts::default();
        for instance in instances {
            let first = instance.private_ip.or(instance.public_ip);
            hosts
                .names
                .entry(instance.name.to_ascii_lowercase())
                .and_modify(|seen| *seen = None)
                .or_insert(first);
            for ip in [instance.private_ip, instance.public_ip]
                .into_iter()
                .flatten()
            {
                if let Some(first) = first {
                    hosts.addresses.entry(ip).or_insert(first);
                }
            }
        }
        hosts
    }

    /// The address of the one instance named `name` (case-insensitive).
    pub fn by_name(&self, name: &str) -> Result<IpAddr, String> {
        match self.names.get(&name.to_ascii_lowercase()) {
            Some(Some(ip)) => Ok(*ip),
            Some(None) => Err(format!(
                "host name {name:?} names several instances, or one without an address"
            )),
            None => Err(format!(
                "host name {name:?} is no instance's name (names are never resolved)"
            )),
        }
    }

    /// One address per host: an instance's first address for any of its
    /// addresses, else `ip` itself.
    pub fn canonical(&self, ip: IpAddr) -> IpAddr {
        self.addresses.get(&ip).copied().unwrap_or(ip)
    }

    /// Whether `ip` is an address of one of the instances.
    pub fn is_instance(&self, ip: IpAddr) -> bool {
        self.addresses.contains_key(&ip)
    }
}

/// Whether `text` is a host name as RFC 3261 (and RFC 1123) writes it:
/// dot-separated labels of letters, digits and inner hyphens, the last one
/// starting with a letter, an optional final dot.
pub fn is_host_name(text: &str) -> bool {
    let text = text.strip_suffix('.').unwrap_or(text);
    let labels: Vec<&str> = text.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    !text.is_empty()
        && labels.iter().all(label_ok)
        && labels
            .last()
            .is_some_and(|l| l.as_bytes()[0].is_ascii_alphabetic())
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

/// A failed source call (connection, timeout, query), classified by kind
/// (see [`Fault`](crate::fault::Fault)).
pub type SourceError = crate::fault::Fault;

/// A source of gateways and their load.
pub trait GatewaySource {
    /// Observes every gateway of the pool, tying records to `hosts` (the
    /// pool's instances). Fails rather than return a partial view.
    fn observe(&mut self, hosts: &Hosts) -> Result<GatewayObservation, SourceError>;
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
