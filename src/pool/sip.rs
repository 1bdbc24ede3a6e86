//! The SIP gateway source: Kamailio's MySQL/MariaDB database. Registered
//! gateways are the unexpired `location` rows of the pool's usernames, with
//! the two columns SIPMediaGW adds (`locked`, `to_stop`); a gateway is in a
//! call when an active `dialog` row's `callee_contact` names it. Observation
//! is two plain scans joined in memory (linear, unlike the original's
//! correlated `LIKE` subquery per row); a drain is one transaction per host
//! that marks only still-idle rows and rolls back unless all were marked;
//! a destroyed host's rows are deleted.

use super::{DrainOutcome, Gateway, GatewayObservation, GatewaySource, GatewayState, SourceError};
use crate::duration::HumanDuration;
use crate::secret::{Secret, SecretSource};
use mysql::prelude::Queryable;
use mysql::{Conn, Opts, OptsBuilder, TxOpts};
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::time::Duration;

/// `[sip]` keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SipConfig {
    /// `mysql://user@host:port/database`.
    pub url: String,
    /// Password in clear (discouraged).
    pub password: Option<String>,
    /// Environment variable holding the password.
    pub password_env: Option<String>,
    /// File holding the password.
    pub password_file: Option<std::path::PathBuf>,
    /// TCP connect timeout.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: HumanDuration,
    /// Read/write timeout of each query.
    #[serde(default = "default_query_timeout")]
    pub query_timeout: HumanDuration,
}

fn default_connect_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(5))
}

fn default_query_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(10))
}

impl SipConfig {
    /// Where the password comes from.
    pub fn password_source(&self) -> SecretSource {
        SecretSource::new(
            self.password.clone(),
            self.password_env.clone(),
            self.password_file.clone(),
        )
    }
}

/// The URL without any credentials, for messages.
pub fn redacted_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// A gateway row as read, before grouping.
#[derive(Debug, Clone)]
struct Row {
    id: u64,
    username: String,
    contact: String,
    received: Option<String>,
    locked: bool,
    to_stop: bool,
}

/// The Kamailio database source of one pool.
pub struct SipSource {
    opts: Opts,
    url: String,
    prefix: String,
    conn: Option<Conn>,
    /// Row ids of each gateway (username) seen by the last observation.
    rows: BTreeMap<String, Vec<u64>>,
}

impl SipSource {
    /// A source for the gateways whose usernames carry `prefix`. Resolves the
    /// password now; connects on first use.
    pub fn new(config: &SipConfig, prefix: &str) -> Result<SipSource, String> {
        let password: Option<Secret> = config.password_source().resolve("sip.password")?;
        let base = Opts::from_url(&config.url).map_err(|e| {
            format!(
                "sip.url: invalid MySQL URL {}: {e}",
                redacted_url(&config.url)
            )
        })?;
        let mut builder = OptsBuilder::from_opts(base)
            .prefer_socket(false)
            .tcp_connect_timeout(Some(config.connect_timeout.0))
            .read_timeout(Some(config.query_timeout.0))
            .write_timeout(Some(config.query_timeout.0));
        if let Some(password) = password {
            builder = builder.pass(Some(password.expose()));
        }
        Ok(SipSource {
            opts: builder.into(),
            url: redacted_url(&config.url),
            prefix: prefix.to_string(),
            conn: None,
            rows: BTreeMap::new(),
        })
    }

    fn conn(&mut self) -> Result<&mut Conn, SourceError> {
        if self.conn.is_none() {
            let conn = Conn::new(self.opts.clone()).map_err(|e| {
                SourceError(format!("Kamailio database {}: {}", self.url, clean(&e)))
            })?;
            self.conn = Some(conn);
        }
        Ok(self.conn.as_mut().expect("connection was just set"))
    }

    fn fail(&mut self, what: &str, e: mysql::Error) -> SourceError {
        self.conn = None;
        let mut message = format!("Kamailio database {}: {what}: {}", self.url, clean(&e));
        if message.contains("Unknown column")
            && (message.contains("locked") || message.contains("to_stop"))
        {
            message.push_str(
                " (add SIPMediaGW's columns: ALTER TABLE location ADD COLUMN locked INT NOT NULL DEFAULT 0, ADD COLUMN to_stop INT NOT NULL DEFAULT 0)",
            );
        }
        SourceError(message)
    }

    /// Checks the connection and the schema (`check`): the tables and the two
    /// added columns.
    pub fn check_schema(&mut self) -> Result<String, SourceError> {
        let columns: Vec<String> = match self.conn()?.query(
            "SELECT column_name FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND table_name = 'location' AND column_name IN ('locked', 'to_stop')",
        ) {
            Ok(c) => c,
            Err(e) => return Err(self.fail("schema check", e)),
        };
        let missing: Vec<&str> = ["locked", "to_stop"]
            .into_iter()
            .filter(|c| !columns.iter().any(|have| have.eq_ignore_ascii_case(c)))
            .collect();
        if !missing.is_empty() {
            return Err(SourceError(format!(
                "Kamailio database {}: table location lacks column(s) {} (ALTER TABLE location ADD COLUMN locked INT NOT NULL DEFAULT 0, ADD COLUMN to_stop INT NOT NULL DEFAULT 0)",
                self.url,
                missing.join(", ")
            )));
        }
        let observed = self.observe()?;
        Ok(format!("{} gateway(s) registered", observed.gateways.len()))
    }

    fn read_rows(&mut self) -> Result<Vec<Row>, SourceError> {
        let pattern = format!("%{}%", escape_like(&self.prefix));
        let result = self.conn()?.exec_map(
            "SELECT id, username, contact, received, locked, to_stop FROM location \
             WHERE username LIKE ? AND expires > NOW()",
            (pattern,),
            |(id, username, contact, received, locked, to_stop): (
                u64,
                String,
                String,
                Option<String>,
                i64,
                i64,
            )| Row {
                id,
                username,
                contact,
                received,
                locked: locked != 0,
                to_stop: to_stop != 0,
            },
        );
        result.map_err(|e| self.fail("reading location", e))
    }

    fn read_dialogs(&mut self) -> Result<Vec<String>, SourceError> {
        let result = self
            .conn()?
            .query("SELECT callee_contact FROM dialog WHERE state < 5");
        result.map_err(|e| self.fail("reading dialog", e))
    }
}

fn clean(e: &mysql::Error) -> String {
    crate::net_error::mysql(e)
}

fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Whether a username belongs to the pool: SIPMediaGW names gateways
/// `<host>.<prefix>.<n>`, so the prefix must be one dot-separated label (or
/// start the name).
pub fn username_matches(username: &str, prefix: &str) -> bool {
    username.starts_with(prefix) || username.split('.').any(|label| label == prefix)
}

/// Host and port of a SIP URI such as `sip:user@1.2.3.4:5060;transport=udp`,
/// `<sip:[::1]:5060>` or `sip:10.0.0.1:5270`. `None` for a host name or junk.
pub fn uri_host_port(uri: &str) -> Option<(IpAddr, Option<u16>)> {
    let uri = uri.trim().trim_start_matches('<');
    let rest = uri
        .strip_prefix("sips:")
        .or_else(|| uri.strip_prefix("sip:"))?;
    let rest = rest.split(['>', ';', '?']).next()?;
    let hostport = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    if let Some(v6) = hostport.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        let ip: IpAddr = host.parse().ok()?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().ok()?),
            None if after.is_empty() => None,
            None => return None,
        };
        return Some((ip, port));
    }
    let (host, port) = match hostport.split_once(':') {
        Some((h, p)) => (h, Some(p.parse().ok()?)),
        None => (hostport, None),
    };
    Some((host.parse().ok()?, port))
}

/// The user part of a SIP URI (`sip:USER@host`).
fn uri_user(uri: &str) -> Option<&str> {
    let uri = uri.trim().trim_start_matches('<');
    let rest = uri
        .strip_prefix("sips:")
        .or_else(|| uri.strip_prefix("sip:"))?;
    let before_params = rest.split([';', '>', '?']).next()?;
    before_params.rsplit_once('@').map(|(user, _)| user)
}

/// The `alias=IP~PORT~PROTO` parameter Kamailio's NAT helper adds to contacts.
pub fn uri_alias(uri: &str) -> Option<(IpAddr, u16)> {
    let start = uri.find("alias=")? + "alias=".len();
    let value = uri[start..].split([';', '>', '&']).next()?;
    let mut parts = value.split('~');
    let ip = parts.next()?;
    let ip: IpAddr = ip
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()?;
    let port: u16 = parts.next()?.parse().ok()?;
    Some((ip, port))
}

/// A host and, when known, its port.
type Address = (IpAddr, Option<u16>);

/// Who is in a call, from the active dialogs' callee contacts.
#[derive(Debug, Default)]
struct InCall {
    usernames: HashSet<String>,
    aliases: HashSet<(IpAddr, u16)>,
}

impl InCall {
    fn from_contacts(contacts: &[String]) -> InCall {
        let mut in_call = InCall::default();
        for contact in contacts {
            if let Some(user) = uri_user(contact) {
                in_call.usernames.insert(user.to_string());
            }
            if let Some(alias) = uri_alias(contact) {
                in_call.aliases.insert(alias);
            }
        }
        in_call
    }

    fn names(&self, row: &Row, address: Option<(IpAddr, Option<u16>)>) -> bool {
        self.usernames.contains(&row.username)
            || address
                .is_some_and(|(ip, port)| port.is_some_and(|p| self.aliases.contains(&(ip, p))))
    }
}

/// Groups rows into gateways (one per username); pure, so it is unit-tested.
fn gateways_from(
    rows: Vec<Row>,
    dialogs: &[String],
    prefix: &str,
) -> (GatewayObservation, BTreeMap<String, Vec<u64>>) {
    let in_call = InCall::from_contacts(dialogs);
    let mut observation = GatewayObservation::default();
    let mut by_user: BTreeMap<String, (Vec<Row>, Option<Address>)> = BTreeMap::new();
    for row in rows {
        if !username_matches(&row.username, prefix) {
            continue;
        }
        let received = row.received.as_deref().filter(|r| !r.trim().is_empty());
        let address = match received {
            Some(r) => uri_host_port(r),
            None => uri_host_port(&row.contact),
        };
        if address.is_none() {
            observation.errors.push(format!(
                "location row {} ({}): no IP address in received {:?} or contact {:?}",
                row.id, row.username, row.received, row.contact
            ));
            continue;
        }
        let entry = by_user
            .entry(row.username.clone())
            .or_insert_with(|| (Vec::new(), address));
        entry.0.push(row);
    }
    let mut ids = BTreeMap::new();
    for (username, (rows, address)) in by_user {
        let Some((host, _)) = address else { continue };
        let call = rows.iter().any(|r| in_call.names(r, address));
        let draining = rows.iter().all(|r| r.to_stop);
        let locked = rows.iter().any(|r| r.locked);
        let state = if draining {
            GatewayState::Draining
        } else if locked || call {
            GatewayState::Busy
        } else {
            GatewayState::Idle
        };
        ids.insert(username.clone(), rows.iter().map(|r| r.id).collect());
        observation.gateways.push(Gateway {
            id: username,
            host,
            state,
            in_call: call || (locked && !draining),
        });
    }
    (observation, ids)
}

impl GatewaySource for SipSource {
    fn observe(&mut self) -> Result<GatewayObservation, SourceError> {
        let rows = self.read_rows()?;
        let dialogs = self.read_dialogs()?;
        let (observation, ids) = gateways_from(rows, &dialogs, &self.prefix);
        self.rows = ids;
        Ok(observation)
    }

    fn drain(&mut self, host: IpAddr, gateways: &[Gateway]) -> Result<DrainOutcome, SourceError> {
        let ids: Vec<u64> = gateways
            .iter()
            .filter(|g| g.state != GatewayState::Draining)
            .flat_map(|g| self.rows.get(&g.id).cloned().unwrap_or_default())
            .collect();
        if ids.is_empty() {
            return Ok(DrainOutcome::Drained);
        }
        let usernames: Vec<String> = gateways.iter().map(|g| g.id.clone()).collect();
        let placeholders = vec!["?"; ids.len()].join(", ");
        let update = format!(
            "UPDATE location SET locked = 1, to_stop = 1 WHERE id IN ({placeholders}) AND locked = 0"
        );
        let url = self.url.clone();
        let conn = self.conn()?;
        let outcome = (|| -> Result<DrainOutcome, mysql::Error> {
            let mut tx = conn.start_transaction(TxOpts::default())?;
            tx.exec_drop(&update, ids.clone())?;
            let marked = tx.affected_rows();
            if marked != ids.len() as u64 {
                tx.rollback()?;
                return Ok(DrainOutcome::Busy(format!(
                    "{host}: only {marked} of {} registration(s) were still idle",
                    ids.len()
                )));
            }
            let contacts: Vec<String> =
                tx.query("SELECT callee_contact FROM dialog WHERE state < 5")?;
            let in_call = InCall::from_contacts(&contacts);
            if let Some(busy) = usernames.iter().find(|u| in_call.usernames.contains(*u)) {
                tx.rollback()?;
                return Ok(DrainOutcome::Busy(format!(
                    "{host}: {busy} has a call in progress"
                )));
            }
            if in_call.aliases.iter().any(|(ip, _)| *ip == host) {
                tx.rollback()?;
                return Ok(DrainOutcome::Busy(format!(
                    "{host}: a call in progress names this host"
                )));
            }
            tx.commit()?;
            Ok(DrainOutcome::Drained)
        })();
        outcome.map_err(|e| {
            self.conn = None;
            SourceError(format!(
                "Kamailio database {url}: draining {host}: {}",
                clean(&e)
            ))
        })
    }

    /// Deletes the registrations of a destroyed host. Left in place they
    /// would count until they expire (up to `max_expires`, an hour in
    /// SIPMediaGW's script), and a real Kamailio keeps `locked` and `to_stop`
    /// when a new registration of the same contact (same username, new
    /// Call-ID) updates the row: a new instance given the same address would
    /// inherit the marks and be destroyed as `to_stop`, or, with a new
    /// contact beside the old row, be counted busy. With usrloc `db_mode = 3`
    /// the table is Kamailio's only copy, so this is what an un-REGISTER does.
    fn forget(&mut self, host: IpAddr, gateways: &[Gateway]) -> Result<(), SourceError> {
        let ids: Vec<u64> = gateways
            .iter()
            .flat_map(|g| self.rows.get(&g.id).cloned().unwrap_or_default())
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let placeholders = vec!["?"; ids.len()].join(", ");
        let delete = format!("DELETE FROM location WHERE id IN ({placeholders})");
        let result = self.conn()?.exec_drop(&delete, ids);
        result.map_err(|e| self.fail(&format!("forgetting the registrations of {host}"), e))
    }

    fn describe(&self) -> String {
        format!("Kamailio database {}", self.url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        id: u64,
        username: &str,
        contact: &str,
        received: Option<&str>,
        locked: bool,
        to_stop: bool,
    ) -> Row {
        Row {
            id,
            username: username.into(),
            contact: contact.into(),
            received: received.map(String::from),
            locked,
            to_stop,
        }
    }

    #[test]
    fn parses_the_uris_kamailio_writes() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            uri_host_port("sip:127.0.1.10:5270"),
            Some((ip("127.0.1.10"), Some(5270)))
        );
        assert_eq!(
            uri_host_port("sip:127.0.1.10.mediagw.0@127.0.2.10:5060;transport=udp"),
            Some((ip("127.0.2.10"), Some(5060)))
        );
        assert_eq!(
            uri_host_port("<sip:gw@[::1]:5060>"),
            Some((ip("::1"), Some(5060)))
        );
        assert_eq!(
            uri_host_port("sip:gw@10.0.0.1"),
            Some((ip("10.0.0.1"), None))
        );
        assert_eq!(uri_host_port("sip:gw@example.com:5060"), None);
        assert_eq!(uri_host_port("garbage"), None);
        assert_eq!(uri_host_port("sip:gw@1.2.3.4:notaport"), None);
        assert_eq!(
            uri_alias("sip:u@127.0.2.10:5060;alias=127.0.1.10~5270~1"),
            Some((ip("127.0.1.10"), 5270))
        );
        assert_eq!(
            uri_user("sip:127.0.1.10.mediagw.0@127.0.2.10:5060;alias=x"),
            Some("127.0.1.10.mediagw.0")
        );
    }

    #[test]
    fn matches_the_pool_prefix_as_a_label() {
        assert!(username_matches("127.0.1.10.mediagw.0", "mediagw"));
        assert!(username_matches("mediagw-3", "mediagw"));
        assert!(!username_matches("127.0.1.10.mediagw2.0", "mediagw"));
    }

    #[test]
    fn host_from_received_else_contact_and_busy_by_username_or_alias() {
        let rows = vec![
            row(
                1,
                "127.0.1.10.mediagw.0",
                "sip:127.0.1.10.mediagw.0@127.0.2.10:5060",
                Some("sip:127.0.1.10:5270"),
                false,
                false,
            ),
            row(
                2,
                "127.0.1.10.mediagw.1",
                "sip:127.0.1.10.mediagw.1@127.0.2.10:5062",
                Some("sip:127.0.1.10:5272"),
                false,
                false,
            ),
            row(
                3,
                "127.0.1.11.mediagw.0",
                "sip:127.0.1.11.mediagw.0@127.0.1.11:5060",
                None,
                false,
                false,
            ),
            row(
                4,
                "127.0.1.12.mediagw.0",
                "sip:127.0.1.12.mediagw.0@127.0.1.12:5060",
                None,
                true,
                false,
            ),
            row(
                5,
                "127.0.1.13.mediagw.0",
                "sip:127.0.1.13.mediagw.0@127.0.1.13:5060",
                None,
                true,
                true,
            ),
            row(
                6,
                "bad.mediagw.0",
                "sip:bad.mediagw.0@gw.example.com",
                None,
                false,
                false,
            ),
            row(7, "someone-else", "sip:x@127.0.1.14", None, false, false),
        ];
        let dialogs = vec![
            "sip:whoever@127.0.2.10:5060;alias=127.0.1.10~5272~1".to_string(),
            "sip:127.0.1.11.mediagw.0@127.0.1.11:5060".to_string(),
        ];
        let (obs, ids) = gateways_from(rows, &dialogs, "mediagw");
        let states: Vec<(&str, String, GatewayState)> = obs
            .gateways
            .iter()
            .map(|g| (g.id.as_str(), g.host.to_string(), g.state))
            .collect();
        assert_eq!(
            states,
            [
                (
                    "127.0.1.10.mediagw.0",
                    "127.0.1.10".to_string(),
                    GatewayState::Idle
                ),
                (
                    "127.0.1.10.mediagw.1",
                    "127.0.1.10".to_string(),
                    GatewayState::Busy
                ),
                (
                    "127.0.1.11.mediagw.0",
                    "127.0.1.11".to_string(),
                    GatewayState::Busy
                ),
                (
                    "127.0.1.12.mediagw.0",
                    "127.0.1.12".to_string(),
                    GatewayState::Busy
                ),
                (
                    "127.0.1.13.mediagw.0",
                    "127.0.1.13".to_string(),
                    GatewayState::Draining
                ),
            ]
        );
        assert_eq!(obs.errors.len(), 1);
        assert!(obs.errors[0].contains("bad.mediagw.0"));
        assert_eq!(ids["127.0.1.10.mediagw.0"], vec![1]);
    }

    /// Rows in exactly the form a real Kamailio 5.6.3 wrote them in the
    /// end-to-end suite (tests/e2e_kamailio.rs; source ports change from run
    /// to run): SIPp gateways on 127.0.1.10 behind a NAT (advertising
    /// 127.0.2.10), on 127.0.1.11 and 127.0.1.12 without one.
    #[test]
    fn reads_what_kamailio_5_6_3_writes() {
        let rows = vec![
            row(
                1,
                "127.0.1.10.mediagw.0",
                "sip:127.0.1.10.mediagw.0@127.0.2.10:5060",
                Some("sip:127.0.1.10:45839"),
                false,
                false,
            ),
            row(
                2,
                "127.0.1.10.mediagw.1",
                "sip:127.0.1.10.mediagw.1@127.0.2.10:5062",
                Some("sip:127.0.1.10:45841"),
                false,
                false,
            ),
            row(
                3,
                "127.0.1.11.mediagw.0",
                "sip:127.0.1.11.mediagw.0@127.0.1.11:41003",
                None,
                false,
                false,
            ),
            row(
                4,
                "127.0.1.12.mediagw.0",
                "sip:127.0.1.12.mediagw.0@127.0.1.12:5270",
                None,
                false,
                false,
            ),
        ];
        // A confirmed call to a NATed gateway, and one to a gateway without NAT.
        let dialogs = vec![
            "sip:127.0.1.10.mediagw.1@127.0.2.10:5062;alias=127.0.1.10~45841~1".to_string(),
            "sip:127.0.1.12.mediagw.0@127.0.1.12:5270".to_string(),
        ];
        let (obs, _) = gateways_from(rows, &dialogs, "mediagw");
        let seen: Vec<(String, GatewayState)> = obs
            .gateways
            .iter()
            .map(|g| (format!("{} on {}", g.id, g.host), g.state))
            .collect();
        assert_eq!(
            seen,
            [
                (
                    "127.0.1.10.mediagw.0 on 127.0.1.10".to_string(),
                    GatewayState::Idle
                ),
                (
                    "127.0.1.10.mediagw.1 on 127.0.1.10".to_string(),
                    GatewayState::Busy
                ),
                (
                    "127.0.1.11.mediagw.0 on 127.0.1.11".to_string(),
                    GatewayState::Idle
                ),
                (
                    "127.0.1.12.mediagw.0 on 127.0.1.12".to_string(),
                    GatewayState::Busy
                ),
            ]
        );
        assert!(obs.errors.is_empty());
        // The NATed call is found by its alias alone too (a gateway whose
        // Contact user is not its registered username).
        let in_call = InCall::from_contacts(&[
            "sip:anonymous@127.0.2.10:5062;alias=127.0.1.10~45841~1".to_string(),
        ]);
        let nated = row(
            2,
            "127.0.1.10.mediagw.1",
            "sip:127.0.1.10.mediagw.1@127.0.2.10:5062",
            Some("sip:127.0.1.10:45841"),
            false,
            false,
        );
        let address = uri_host_port(nated.received.as_deref().unwrap_or_default());
        assert!(in_call.names(&nated, address));
    }

    #[test]
    fn urls_are_printed_without_credentials() {
        assert_eq!(
            redacted_url("mysql://kamailio:pw@127.0.0.1:3306/kamailio"),
            "mysql://127.0.0.1:3306/kamailio"
        );
        assert_eq!(redacted_url("mysql://127.0.0.1/k"), "mysql://127.0.0.1/k");
    }
}
