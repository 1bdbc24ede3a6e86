//! The in-memory join of `location` rows, `dialog` rows and the pool's
//! instances into gateways, calls and doubts (pure, so it is unit-tested).
//!
//! A registration lives on the host of its `received` URI, else of its
//! `contact`; a host name counts only when it is one instance's name. A
//! call (a dialog's `callee_contact`) is tied to hosts by its user part (a
//! username, registered or with an expired row), by its `alias=` and by its
//! own host and port, matched against the registrations' contact and
//! received addresses and against the instances' addresses and names. A
//! record that cannot be read, or a call that could be on several hosts or on
//! a host known only by a name that is no instance's, is a doubt.

use super::uri::{Host, SipUri};
use super::username_matches;
use crate::pool::{Gateway, GatewayObservation, GatewayState, Hosts};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::IpAddr;

/// A `location` row as read.
#[derive(Debug, Clone)]
pub(super) struct Row {
    pub id: u64,
    pub username: String,
    pub contact: String,
    pub received: Option<String>,
    pub locked: bool,
    pub to_stop: bool,
    /// `expires` is in the future: the registration counts. Expired rows
    /// only tell where a username lives.
    pub live: bool,
}

/// Where one registration lives, and the addresses that name it.
struct Placed {
    host: IpAddr,
    /// Contact and received `(ip, port)`.
    addresses: Vec<(IpAddr, u16)>,
}

/// The host of a registration, from `received`, else `contact`.
fn place(row: &Row, hosts: &Hosts) -> Result<Placed, String> {
    let contact =
        SipUri::parse(&row.contact).map_err(|e| format!("contact {:?}: {e}", row.contact));
    let received = match row.received.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(SipUri::parse(text).map_err(|e| format!("received {text:?}: {e}"))?),
    };
    let (uri, what) = match (&received, &contact) {
        (Some(uri), _) => (uri, "received"),
        (None, Ok(uri)) => (uri, "contact"),
        (None, Err(e)) => return Err(e.clone()),
    };
    let host = match &uri.host {
        Host::Ip(ip) => *ip,
        Host::Name(name) => hosts.by_name(name).map_err(|e| format!("{what}: {e}"))?,
    };
    let mut addresses = Vec::new();
    for uri in received.iter().chain(contact.as_ref().ok()) {
        let ip = match &uri.host {
            Host::Ip(ip) => Some(*ip),
            Host::Name(name) => hosts.by_name(name).ok(),
        };
        addresses.extend(ip.map(|ip| (ip, uri.port_or_default())));
    }
    Ok(Placed { host, addresses })
}

/// A dialog in progress: `(record, callee_contact)`, or why its row cannot
/// be read.
pub(super) type Dialog = Result<(String, String), String>;

/// A host and, for a registered gateway, its username.
type Resident = (IpAddr, Option<String>);

/// Who lives where: what calls are matched against.
#[derive(Debug, Default)]
pub(super) struct Directory {
    hosts: Hosts,
    /// Username of a registered gateway to its host.
    live_users: HashMap<String, IpAddr>,
    /// Username to the hosts of its expired rows.
    expired_users: HashMap<String, BTreeSet<IpAddr>>,
    /// Usernames with an expired row that gives no usable host.
    unplaced: HashSet<String>,
    /// Exact contact or received address to the host and, for a registered
    /// gateway, its username.
    addresses: HashMap<(IpAddr, u16), BTreeSet<Resident>>,
    /// Any IP of a registration to the (canonical) hosts it may name.
    ips: HashMap<IpAddr, BTreeSet<IpAddr>>,
}

/// What one call is tied to.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Tied {
    /// Registered gateways (usernames) in the call.
    pub usernames: BTreeSet<String>,
    /// Hosts (canonical addresses) the call is on.
    pub hosts: BTreeSet<IpAddr>,
}

impl Directory {
    /// The host as the instances know it.
    pub fn canonical(&self, ip: IpAddr) -> IpAddr {
        self.hosts.canonical(ip)
    }

    fn learn(&mut self, row: &Row, placed: &Placed) {
        let host = self.canonical(placed.host);
        if row.live {
            self.live_users.insert(row.username.clone(), placed.host);
        } else {
            self.expired_users
                .entry(row.username.clone())
                .or_default()
                .insert(placed.host);
        }
        let user = row.live.then(|| row.username.clone());
        for &(ip, port) in &placed.addresses {
            self.addresses
                .entry((ip, port))
                .or_default()
                .insert((placed.host, user.clone()));
            self.ips.entry(ip).or_default().insert(host);
        }
        self.ips.entry(placed.host).or_default().insert(host);
    }

    /// The hosts an IP may name: the instance it belongs to, the hosts of
    /// the registrations it appears in.
    fn hosts_of(&self, ip: IpAddr) -> BTreeSet<IpAddr> {
        let mut found = self.ips.get(&ip).cloned().unwrap_or_default();
        if self.hosts.is_instance(ip) {
            found.insert(self.canonical(ip));
        }
        found
    }

    /// Ties the call whose callee contact is `contact`; an error is a doubt.
    pub fn tie(&self, contact: &str) -> Result<Tied, String> {
        let uri = SipUri::parse(contact)?;
        let mut tied = Tied::default();
        if let Some(user) = &uri.user {
            if let Some(host) = self.live_users.get(user) {
                tied.usernames.insert(user.clone());
                tied.hosts.insert(self.canonical(*host));
            }
            for host in self.expired_users.get(user).into_iter().flatten() {
                tied.hosts.insert(self.canonical(*host));
            }
            if tied.hosts.is_empty() && self.unplaced.contains(user) {
                return Err(format!(
                    "names gateway {user}, whose expired registration has no usable address"
                ));
            }
        }
        let mut addresses = Vec::new();
        if let Some(alias) = uri.alias() {
            addresses.push(alias?);
        }
        match &uri.host {
            Host::Ip(ip) => addresses.push((*ip, uri.port_or_default())),
            Host::Name(name) => match self.hosts.by_name(name) {
                Ok(ip) => {
                    tied.hosts.insert(self.canonical(ip));
                }
                Err(e) if tied.hosts.is_empty() && addresses.is_empty() => return Err(e),
                Err(_) => {}
            },
        }
        for (ip, port) in addresses {
            if let Some(found) = self.addresses.get(&(ip, port)) {
                for (host, user) in found {
                    tied.hosts.insert(self.canonical(*host));
                    tied.usernames.extend(user.clone());
                }
                continue;
            }
            let candidates = self.hosts_of(ip);
            if candidates.len() > 1 && tied.hosts.is_empty() {
                let list: Vec<String> = candidates.iter().map(IpAddr::to_string).collect();
                return Err(format!(
                    "{ip}:{port} may be on any of the hosts {}",
                    list.join(", ")
                ));
            }
            tied.hosts.extend(candidates);
        }
        Ok(tied)
    }
}

/// The calls of the pool, from the dialogs' callee contacts (`(record,
/// contact)`, or why the dialog row cannot be read).
#[derive(Debug, Default)]
struct Calls {
    usernames: HashSet<String>,
    hosts: BTreeSet<IpAddr>,
}

fn calls(directory: &Directory, dialogs: &[Dialog], observation: &mut GatewayObservation) -> Calls {
    let mut calls = Calls::default();
    for dialog in dialogs {
        let tied = match dialog {
            Ok((record, contact)) => directory
                .tie(contact)
                .map_err(|e| format!("{record}: callee_contact {contact:?}: {e}")),
            Err(e) => Err(e.clone()),
        };
        match tied {
            Ok(tied) => {
                calls.usernames.extend(tied.usernames);
                calls.hosts.extend(tied.hosts);
            }
            Err(e) => observation.doubt(format!("{e}: a call may be on any host")),
        }
    }
    calls
}

/// Row ids of each gateway (username) of the observation.
pub(super) type RowIds = BTreeMap<String, Vec<u64>>;

/// Groups the pool's rows into gateways (one per username) and ties the
/// dialogs to them. `dialogs` are `(record, callee_contact)` of the
/// dialogs in progress, or why one cannot be read.
pub(super) fn gateways_from(
    rows: Vec<Row>,
    dialogs: &[Dialog],
    prefix: &str,
    hosts: &Hosts,
) -> (GatewayObservation, RowIds, Directory) {
    let mut observation = GatewayObservation::default();
    let mut directory = Directory {
        hosts: hosts.clone(),
        ..Directory::default()
    };
    let mut by_user: BTreeMap<String, Vec<(Row, IpAddr)>> = BTreeMap::new();
    for row in rows {
        if !username_matches(&row.username, prefix) {
            continue;
        }
        match place(&row, hosts) {
            Ok(placed) => {
                directory.learn(&row, &placed);
                if row.live {
                    by_user
                        .entry(row.username.clone())
                        .or_default()
                        .push((row, placed.host));
                }
            }
            Err(e) if row.live => observation.doubt(format!(
                "location row {} ({}): {e}: its host is unknown",
                row.id, row.username
            )),
            Err(_) => {
                directory.unplaced.insert(row.username.clone());
            }
        }
    }
    let calls = calls(&directory, dialogs, &mut observation);
    let mut ids = BTreeMap::new();
    for (username, rows) in by_user {
        let on: BTreeSet<IpAddr> = rows.iter().map(|(_, h)| directory.canonical(*h)).collect();
        if on.len() > 1 {
            let list: Vec<String> = on.iter().map(IpAddr::to_string).collect();
            observation.doubt(format!(
                "gateway {username} is registered from several hosts ({})",
                list.join(", ")
            ));
            continue;
        }
        let host = rows[0].1;
        let call = calls.usernames.contains(&username);
        let draining = rows.iter().all(|(r, _)| r.to_stop);
        let locked = rows.iter().any(|(r, _)| r.locked);
        let state = if draining {
            GatewayState::Draining
        } else if locked || call {
            GatewayState::Busy
        } else {
            GatewayState::Idle
        };
        ids.insert(username.clone(), rows.iter().map(|(r, _)| r.id).collect());
        observation.gateways.push(Gateway {
            id: username,
            host,
            state,
            in_call: call || (locked && !draining),
        });
    }
    observation.busy_hosts = calls.hosts.into_iter().collect();
    (observation, ids, directory)
}

#[cfg(test)]
mod tests;
