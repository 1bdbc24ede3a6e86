//! The SIP gateway source: Kamailio's MySQL/MariaDB database. Registered
//! gateways are the unexpired `location` rows of the pool's usernames, with
//! the two columns SIPMediaGW adds (`locked`, `to_stop`); a gateway is in a
//! call when a `dialog` row that is not terminated names it ([`calls`]).
//! Observation is two plain scans joined in memory (linear, unlike the
//! original's correlated `LIKE` subquery per row); a drain is one
//! transaction per host that marks only still-idle rows, re-reads the
//! dialogs, and rolls back unless all were marked and no call may be on the
//! host; a destroyed host's rows are deleted. Values are read column by
//! column, so a NULL or an unexpected type is an error naming the row,
//! never a panic.

mod calls;
pub mod uri;

use super::{
    DrainOutcome, Gateway, GatewayObservation, GatewaySource, GatewayState, Hosts, SourceError,
    SourceRecord,
};
use crate::duration::HumanDuration;
use crate::secret::{Secret, SecretSource};
use calls::{Dialog, Directory, Row, RowIds, gateways_from};
use mysql::prelude::{FromValue, Queryable};
use mysql::{Conn, Opts, OptsBuilder, TxOpts, Value};
use serde::Deserialize;
use std::collections::HashSet;
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
    /// systemd credential holding the password (`$CREDENTIALS_DIRECTORY/NAME`).
    pub password_credential: Option<String>,
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
        .with_credential(self.password_credential.clone())
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

/// The Kamailio database source of one pool.
pub struct SipSource {
    opts: Opts,
    url: String,
    prefix: String,
    conn: Option<Conn>,
    /// Row ids of each gateway (username) seen by the last observation.
    rows: RowIds,
    /// Who lived where at the last observation, to tie calls in a drain.
    directory: Directory,
    /// Rows of destroyed hosts left out of observations (`hide_records`).
    hidden: HashSet<SourceRecord>,
}

impl SipSource {
    /// A source for the gateways whose usernames carry `prefix`. Resolves the
    /// password now; connects on first use.
    pub fn new(config: &SipConfig, prefix: &str) -> Result<SipSource, SourceError> {
        let password: Option<Secret> = config
            .password_source()
            .resolve("sip.password")
            .map_err(SourceError::Secret)?;
        let base = Opts::from_url(&config.url).map_err(|e| {
            SourceError::config(format!(
                "sip.url: invalid MySQL URL {}: {e}",
                redacted_url(&config.url)
            ))
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
            rows: RowIds::new(),
            directory: Directory::default(),
            hidden: HashSet::new(),
        })
    }

    fn conn(&mut self) -> Result<&mut Conn, SourceError> {
        if self.conn.is_none() {
            let conn = Conn::new(self.opts.clone()).map_err(|e| {
                let host = self.opts.get_ip_or_hostname().to_string();
                SourceError::mysql(&e)
                    .or_dns(&host, self.opts.get_tcp_port())
                    .context(format!("Kamailio database {}", self.url))
            })?;
            self.conn = Some(conn);
        }
        Ok(self.conn.as_mut().expect("connection was just set"))
    }

    fn fail(&mut self, what: &str, e: mysql::Error) -> SourceError {
        self.conn = None;
        let fault =
            SourceError::mysql(&e).context(format!("Kamailio database {}: {what}", self.url));
        match fault {
            SourceError::Schema(m) => SourceError::Schema(format!(
                "{m} (scaler reads location's id, username, contact, received, expires and SIPMediaGW's columns, added by: ALTER TABLE location ADD COLUMN locked INT NOT NULL DEFAULT 0, ADD COLUMN to_stop INT NOT NULL DEFAULT 0; and dialog's id, callee_contact, state)"
            )),
            other => other,
        }
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
            return Err(SourceError::Schema(format!(
                "Kamailio database {}: table location lacks column(s) {} (ALTER TABLE location ADD COLUMN locked INT NOT NULL DEFAULT 0, ADD COLUMN to_stop INT NOT NULL DEFAULT 0)",
                self.url,
                missing.join(", ")
            )));
        }
        let observed = self.observe(&Hosts::default())?;
        Ok(format!("{} gateway(s) registered", observed.gateways.len()))
    }

    /// Whether the account may do what a pass does besides reading: mark
    /// rows in the drain transaction (`UPDATE location`) and forget a
    /// destroyed host (`DELETE FROM location`). The statements match no row,
    /// so nothing changes; the server checks the privilege all the same.
    pub fn check_privileges(&mut self) -> Result<(), SourceError> {
        let needed = [
            (
                "drain",
                "UPDATE location SET locked = locked, to_stop = to_stop WHERE 1 = 0",
            ),
            ("forget", "DELETE FROM location WHERE 1 = 0"),
        ];
        for (what, statement) in needed {
            let result = self.conn()?.query_drop(statement);
            if let Err(e) = result {
                let failed = self.fail(&format!("the account cannot {what} ({statement})"), e);
                return Err(failed.map(|m| {
                    format!(
                        "{m} (the pass needs SELECT on location and dialog, UPDATE and DELETE on location)"
                    )
                }));
            }
        }
        Ok(())
    }

    /// Every `location` row of the pool's usernames, expired ones included
    /// (they tell where a username lives), and the rows that cannot be read.
    fn read_rows(&mut self) -> Result<(Vec<Row>, Vec<String>), SourceError> {
        let pattern = format!("%{}%", escape_like(&self.prefix));
        let result: Result<Vec<mysql::Row>, _> = self.conn()?.exec(
            "SELECT id, username, contact, received, locked, to_stop, expires > NOW() FROM location \
             WHERE username LIKE ?",
            (pattern,),
        );
        let rows = result.map_err(|e| self.fail("reading location", e))?;
        let mut read = Vec::with_capacity(rows.len());
        let mut unreadable = Vec::new();
        for row in rows {
            match location_row(row, &self.prefix) {
                Ok(Some(row)) => read.push(row),
                Ok(None) => {}
                Err(Unreadable::Row(e)) => unreadable.push(e),
                Err(Unreadable::Schema(e)) => {
                    return Err(SourceError::Schema(format!(
                        "Kamailio database {}: {e}",
                        self.url
                    )));
                }
            }
        }
        Ok((read, unreadable))
    }

    fn read_dialogs(&mut self) -> Result<Vec<Dialog>, SourceError> {
        let result: Result<Vec<mysql::Row>, _> = self.conn()?.query(DIALOGS);
        let rows = result.map_err(|e| self.fail("reading dialog", e))?;
        Ok(rows.into_iter().filter_map(dialog_row).collect())
    }
}

/// Every dialog with its state: the terminated ones (state 5) are skipped
/// in memory, and a state Kamailio does not write is a doubt.
const DIALOGS: &str = "SELECT id, callee_contact, state FROM dialog";

/// Why a row cannot be used.
enum Unreadable {
    /// This row (a doubt).
    Row(String),
    /// The table: a nullable `locked`/`to_stop` column holding NULL.
    Schema(String),
}

/// Column `index` of `row`: `None` for NULL, an error for another type.
fn column<T: FromValue>(row: &mysql::Row, index: usize) -> Result<Option<T>, String> {
    match row.as_ref(index) {
        None => Err(format!("column {index} is missing")),
        Some(Value::NULL) => Ok(None),
        Some(value) => mysql::from_value_opt::<T>(value.clone())
            .map(Some)
            .map_err(|_| {
                let shown: String = value.as_sql(false).chars().take(60).collect();
                format!("unexpected value {shown}")
            }),
    }
}

/// One `location` row; `None` for another pool's (the `LIKE` also matches
/// usernames whose label only contains the prefix).
fn location_row(row: mysql::Row, prefix: &str) -> Result<Option<Row>, Unreadable> {
    let id: Option<u64> = column(&row, 0).ok().flatten();
    let record = id.map_or_else(
        || "location row with an unreadable id".to_string(),
        |id| format!("location row {id}"),
    );
    let bad = |what: &str, e: String| {
        Unreadable::Row(format!("{record}: {what}: {e}: its host is unknown"))
    };
    let text = |index: usize, what: &str| -> Result<Option<String>, Unreadable> {
        column::<Vec<u8>>(&row, index)
            .and_then(|v| {
                v.map(String::from_utf8)
                    .transpose()
                    .map_err(|_| "not UTF-8".to_string())
            })
            .map_err(|e| bad(what, e))
    };
    let username = text(1, "username")?.ok_or_else(|| bad("username", "NULL".into()))?;
    if !username_matches(&username, prefix) {
        return Ok(None);
    }
    let contact = text(2, "contact")?.unwrap_or_default();
    let received = text(3, "received")?;
    let flag = |index: usize, name: &str| -> Result<bool, Unreadable> {
        match column::<i64>(&row, index) {
            Ok(Some(value)) => Ok(value != 0),
            Ok(None) => Err(Unreadable::Schema(format!(
                "{record} ({username}) has NULL in column {name}: the column must be NOT NULL \
                 (UPDATE location SET {name} = 0 WHERE {name} IS NULL; ALTER TABLE location MODIFY {name} INT NOT NULL DEFAULT 0)"
            ))),
            Err(e) => Err(bad(name, e)),
        }
    };
    let locked = flag(4, "locked")?;
    let to_stop = flag(5, "to_stop")?;
    let live = match column::<i64>(&row, 6) {
        Ok(Some(live)) => live != 0,
        Ok(None) => return Err(bad("expires", "NULL".into())),
        Err(e) => return Err(bad("expires", e)),
    };
    Ok(Some(Row {
        id: id.ok_or_else(|| bad("id", "unreadable".into()))?,
        username,
        contact,
        received,
        locked,
        to_stop,
        live,
    }))
}

/// A dialog row's record name and callee contact; `None` when terminated.
fn dialog_row(row: mysql::Row) -> Option<Dialog> {
    let id: Option<u64> = column(&row, 0).ok().flatten();
    let record = id.map_or_else(
        || "dialog row with an unreadable id".to_string(),
        |id| format!("dialog row {id}"),
    );
    match column::<i64>(&row, 2) {
        Ok(Some(5)) => return None,
        Ok(Some(1..=4)) => {}
        Ok(Some(state)) => {
            return Some(Err(format!(
                "{record}: state {state} is not one of Kamailio's (1 to 5)"
            )));
        }
        Ok(None) => return Some(Err(format!("{record}: state is NULL"))),
        Err(e) => return Some(Err(format!("{record}: state: {e}"))),
    }
    let contact = column::<Vec<u8>>(&row, 1)
        .map_err(|e| format!("{record}: callee_contact: {e}"))
        .and_then(|c| c.ok_or_else(|| format!("{record}: callee_contact is NULL")))
        .and_then(|c| {
            String::from_utf8(c).map_err(|_| format!("{record}: callee_contact is not UTF-8"))
        });
    Some(contact.map(|contact| (record, contact)))
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

/// Why a call may be on `host` (whose gateways are `gateways`), re-read
/// inside a drain: a dialog tied to the host or one of its gateways, or one
/// that cannot be read or tied (when in doubt, the host is busy).
fn call_on(
    directory: &Directory,
    dialogs: &[Dialog],
    host: IpAddr,
    gateways: &[Gateway],
) -> Option<String> {
    let host = directory.canonical(host);
    for dialog in dialogs {
        let (record, contact) = match dialog {
            Ok(dialog) => dialog,
            Err(e) => return Some(format!("{e}: a call may be on this host")),
        };
        match directory.tie(contact) {
            Err(e) => {
                return Some(format!(
                    "{record}: callee_contact {contact:?}: {e}: a call may be on this host"
                ));
            }
            Ok(tied) => {
                if let Some(busy) = gateways.iter().find(|g| tied.usernames.contains(&g.id)) {
                    return Some(format!("{} has a call in progress ({record})", busy.id));
                }
                if tied.hosts.contains(&host) {
                    return Some(format!("a call in progress is on this host ({record})"));
                }
            }
        }
    }
    None
}

/// Whether a username belongs to the pool: SIPMediaGW names gateways
/// `<host>.<prefix>.<n>`, so the prefix must be one dot-separated label (or
/// start the name).
pub fn username_matches(username: &str, prefix: &str) -> bool {
    username.starts_with(prefix) || username.split('.').any(|label| label == prefix)
}

impl GatewaySource for SipSource {
    fn observe(&mut self, hosts: &Hosts) -> Result<GatewayObservation, SourceError> {
        let (mut rows, unreadable) = self.read_rows()?;
        rows.retain(|r| {
            !self.hidden.contains(&SourceRecord {
                gateway: r.username.clone(),
                id: r.id,
            })
        });
        let dialogs = self.read_dialogs()?;
        let (mut observation, ids, directory) = gateways_from(rows, &dialogs, &self.prefix, hosts);
        for doubt in unreadable {
            observation.doubt(doubt);
        }
        self.rows = ids;
        self.directory = directory;
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
        let placeholders = vec!["?"; ids.len()].join(", ");
        let update = format!(
            "UPDATE location SET locked = 1, to_stop = 1 WHERE id IN ({placeholders}) AND locked = 0"
        );
        let url = self.url.clone();
        self.conn()?;
        let directory = std::mem::take(&mut self.directory);
        let conn = self.conn.as_mut().expect("connected above");
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
            let dialogs: Vec<mysql::Row> = tx.query(DIALOGS)?;
            let dialogs: Vec<_> = dialogs.into_iter().filter_map(dialog_row).collect();
            if let Some(why) = call_on(&directory, &dialogs, host, gateways) {
                tx.rollback()?;
                return Ok(DrainOutcome::Busy(format!(
                    "{host}: {why} (nothing was marked)"
                )));
            }
            tx.commit()?;
            Ok(DrainOutcome::Drained)
        })();
        self.directory = directory;
        outcome.map_err(|e| {
            self.conn = None;
            SourceError::mysql(&e).context(format!("Kamailio database {url}: draining {host}"))
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
        let records = self.records(gateways);
        self.forget_records(host, &records).map(|_| ())
    }

    fn records(&self, gateways: &[Gateway]) -> Vec<SourceRecord> {
        let ids = |g: &Gateway| self.rows.get(&g.id).cloned().unwrap_or_default();
        gateways
            .iter()
            .flat_map(|g| {
                ids(g).into_iter().map(|id| SourceRecord {
                    gateway: g.id.clone(),
                    id,
                })
            })
            .collect()
    }

    /// Deletes the rows by id and username together (an id alone could
    /// name another gateway's row once the table's counter was reset), and
    /// only rows marked to stop or idle: a row `locked` but not `to_stop`
    /// has a call assigned since (a new gateway re-registered into it and
    /// was given one), so it is left to expire rather than touched.
    fn forget_records(
        &mut self,
        host: IpAddr,
        records: &[SourceRecord],
    ) -> Result<u64, SourceError> {
        if records.is_empty() {
            return Ok(0);
        }
        let pairs = vec!["(?, ?)"; records.len()].join(", ");
        let delete = format!(
            "DELETE FROM location WHERE (id, username) IN ({pairs}) AND (to_stop = 1 OR locked = 0)"
        );
        let params: Vec<mysql::Value> = records
            .iter()
            .flat_map(|r| [r.id.into(), r.gateway.clone().into()])
            .collect();
        let conn = self.conn()?;
        let result = conn
            .exec_drop(&delete, params)
            .map(|()| conn.affected_rows());
        result.map_err(|e| self.fail(&format!("forgetting the registrations of {host}"), e))
    }

    fn hide_records(&mut self, records: &[SourceRecord]) {
        self.hidden.extend(records.iter().cloned());
    }

    fn describe(&self) -> String {
        format!("Kamailio database {}", self.url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_pool_prefix_as_a_label() {
        assert!(username_matches("127.0.1.10.mediagw.0", "mediagw"));
        assert!(username_matches("mediagw-3", "mediagw"));
        assert!(!username_matches("127.0.1.10.mediagw2.0", "mediagw"));
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
