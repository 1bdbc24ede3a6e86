//! `scaler trace export`: the calls recorded in Kamailio's accounting table
//! (`acc`, from the `acc` module writing to the database) written as the
//! CSV trace `simulate` and `schedule suggest` read. A call is an INVITE row
//! answered 2xx plus the BYE rows of the same `callid`: it starts at its
//! first such INVITE (re-INVITEs and repeated rows count once) and ends at
//! its last BYE. Rows are streamed in `callid` order and paired one call at
//! a time, so memory stays constant and time linear in the table; every
//! connection, read and write is bounded by a timeout.

use crate::cli::{TraceCommand, TraceExportArgs};
use crate::exit::Exit;
use crate::pool::sip::redacted_url;
use crate::secret::SecretSource;
use chrono::{DateTime, SecondsFormat, Utc};
use mysql::prelude::Queryable;
use mysql::{Conn, Opts, OptsBuilder};
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

/// How far a BYE may precede its INVITE (two clocks) and still make a call:
/// the trace reader tolerates the same skew.
const CLOCK_SKEW_SECONDS: i64 = 60;

/// How long a call may last and still be paired when the export is bounded:
/// rows are read from a day before `--from` to a day after `--to`, so a call
/// longer than that reads as an INVITE without BYE.
pub const LONGEST_CALL_SECONDS: i64 = 86_400;

/// MariaDB's "table doesn't exist".
const NO_SUCH_TABLE: u16 = 1146;

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// No usable database settings, or no `acc` table.
    #[error("{0}")]
    Config(String),
    /// The database could not be reached or read (timeouts included).
    #[error("{0}")]
    Unavailable(String),
    /// A bad flag value.
    #[error("{0}")]
    Usage(String),
    /// The CSV could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl ExportError {
    /// The exit status of this failure.
    pub fn exit(&self) -> Exit {
        match self {
            ExportError::Config(_) => Exit::Config,
            ExportError::Unavailable(_) => Exit::Unavailable,
            ExportError::Usage(_) => Exit::Usage,
            ExportError::Write { .. } => Exit::Internal,
        }
    }
}

/// What an export found, beside the calls it wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Calls written.
    pub calls: u64,
    /// Calls with an answered INVITE and no BYE (still running, or the BYE
    /// was lost): left out.
    pub without_bye: u64,
    /// BYEs in the window whose call has no answered INVITE: left out.
    pub bye_without_invite: u64,
    /// Answered INVITEs after a call's first one (re-INVITEs).
    pub re_invites: u64,
    /// Rows repeating the previous row of their call (counted once).
    pub duplicate_rows: u64,
    /// Calls whose BYE precedes the INVITE by at most 60 s (written: the
    /// trace reader reads them as zero-length).
    pub skewed: u64,
    /// Calls whose BYE precedes the INVITE by more than 60 s: left out.
    pub reversed: u64,
    /// Rows whose time the database cannot convert: left out.
    pub bad_rows: u64,
}

impl Counts {
    /// The one-line summary printed on stderr.
    pub fn summary(&self, source: &str) -> String {
        let mut out = format!("wrote {} call(s) from acc at {source}", self.calls);
        let parts = [
            (
                self.without_bye,
                "INVITE(s) without BYE left out (still running, or BYE lost)",
            ),
            (
                self.bye_without_invite,
                "BYE(s) without an answered INVITE left out",
            ),
            (
                self.reversed,
                "call(s) whose BYE precedes the INVITE by more than 60 s left out",
            ),
            (self.bad_rows, "row(s) with an unreadable time left out"),
            (self.re_invites, "re-INVITE(s) ignored"),
            (self.duplicate_rows, "duplicate row(s) counted once"),
            (
                self.skewed,
                "call(s) with the BYE up to 60 s before the INVITE (zero-length)",
            ),
        ];
        for (count, what) in parts.into_iter().filter(|(count, _)| *count > 0) {
            let _ = write!(out, "; {count} {what}");
        }
        out
    }
}

/// One call as exported (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedCall {
    pub start: i64,
    pub end: i64,
    pub callid: String,
}

impl ExportedCall {
    /// The CSV line: `start,end,"callid"` in UTC (quotes in the callid doubled).
    pub fn csv_line(&self) -> String {
        let time = |t: i64| {
            DateTime::<Utc>::from_timestamp(t, 0)
                .unwrap_or_default()
                .to_rfc3339_opts(SecondsFormat::Secs, true)
        };
        format!(
            "{},{},\"{}\"\n",
            time(self.start),
            time(self.end),
            self.callid.replace('"', "\"\"")
        )
    }
}

/// The rows of the call being paired.
#[derive(Debug)]
struct Group {
    callid: Vec<u8>,
    invite: Option<i64>,
    bye: Option<i64>,
    last: Option<(bool, i64)>,
    /// Re-INVITEs and repeated rows, counted once the call is known to be
    /// in the window.
    re_invites: u64,
    duplicate_rows: u64,
}

/// Pairs a stream of `acc` rows, sorted by `callid` then time, into calls.
#[derive(Debug, Default)]
pub struct Pairing {
    group: Option<Group>,
    /// Calls must start in `[from, to)` (Unix seconds).
    window: (Option<i64>, Option<i64>),
    /// What was found so far.
    pub counts: Counts,
}

impl Pairing {
    /// A pairing of the calls that start in `[from, to)`.
    pub fn new(from: Option<i64>, to: Option<i64>) -> Pairing {
        Pairing {
            window: (from, to),
            ..Pairing::default()
        }
    }

    fn in_window(&self, time: i64) -> bool {
        let (from, to) = self.window;
        from.is_none_or(|from| time >= from) && to.is_none_or(|to| time < to)
    }

    /// One row (`invite`: an answered INVITE, else a BYE); returns the
    /// previous call when this row starts another one.
    pub fn push(&mut self, callid: &[u8], invite: bool, time: Option<i64>) -> Option<ExportedCall> {
        let Some(time) = time.filter(|t| *t > 0) else {
            self.counts.bad_rows += 1;
            return None;
        };
        let done = match &self.group {
            Some(group) if group.callid == callid => None,
            _ => self.finish(),
        };
        let group = self.group.get_or_insert_with(|| Group {
            callid: callid.to_vec(),
            invite: None,
            bye: None,
            last: None,
            re_invites: 0,
            duplicate_rows: 0,
        });
        if group.last == Some((invite, time)) {
            group.duplicate_rows += 1;
            return done;
        }
        group.last = Some((invite, time));
        if invite {
            if group.invite.is_some() {
                group.re_invites += 1;
            }
            group.invite = Some(group.invite.map_or(time, |t| t.min(time)));
        } else {
            group.bye = Some(group.bye.map_or(time, |t| t.max(time)));
        }
        done
    }

    /// Ends the call being paired; returns it when it is one.
    pub fn finish(&mut self) -> Option<ExportedCall> {
        let group = self.group.take()?;
        // A call belongs to the window of its first INVITE (one that started
        // before `from` is out even when a re-INVITE falls inside), a lone
        // BYE to that of its time.
        let at = group.invite.or(group.bye)?;
        if !self.in_window(at) {
            return None;
        }
        self.counts.re_invites += group.re_invites;
        self.counts.duplicate_rows += group.duplicate_rows;
        let (start, end) = match (group.invite, group.bye) {
            (Some(start), Some(end)) => (start, end),
            (Some(_), None) => {
                self.counts.without_bye += 1;
                return None;
            }
            (None, _) => {
                self.counts.bye_without_invite += 1;
                return None;
            }
        };
        let counts = &mut self.counts;
        if end < start - CLOCK_SKEW_SECONDS {
            counts.reversed += 1;
            return None;
        }
        if end < start {
            counts.skewed += 1;
        }
        counts.calls += 1;
        Some(ExportedCall {
            start,
            end,
            callid: String::from_utf8_lossy(&group.callid).into_owned(),
        })
    }
}

/// The database to read: connection options and the URL as shown.
fn connection(args: &TraceExportArgs, config_path: &Path) -> Result<(Opts, String), ExportError> {
    let (url, password, connect, read) = match &args.db {
        Some(url) => {
            let source =
                SecretSource::new(None, args.password_env.clone(), args.password_file.clone());
            // The messages name the flags (`--password-env`), not config keys.
            let password = source
                .resolve("--password")
                .map_err(|e| ExportError::Usage(e.replace("--password_", "--password-")))?;
            (url.clone(), password, args.timeout, args.timeout)
        }
        None => {
            let config =
                crate::config::load(config_path).map_err(|e| ExportError::Config(e.to_string()))?;
            let sip = config.sip.as_ref().ok_or_else(|| {
                ExportError::Config(format!(
                    "{}: trace export needs --db URL or a [sip] section with the Kamailio database",
                    config.path.display()
                ))
            })?;
            let password = sip
                .password_source()
                .resolve("sip.password")
                .map_err(|e| ExportError::Config(format!("{}: {e}", config.path.display())))?;
            (
                sip.url.clone(),
                password,
                sip.connect_timeout.0,
                args.timeout,
            )
        }
    };
    let shown = redacted_url(&url);
    let base = Opts::from_url(&url)
        .map_err(|e| ExportError::Usage(format!("invalid MySQL URL {shown}: {e}")))?;
    let mut builder = OptsBuilder::from_opts(base)
        .prefer_socket(false)
        .tcp_connect_timeout(Some(connect))
        .read_timeout(Some(read))
        .write_timeout(Some(read));
    if let Some(password) = password {
        builder = builder.pass(Some(password.expose()));
    }
    Ok((builder.into(), shown))
}

/// The query and its parameters: answered INVITEs and BYEs in `callid`
/// then time order; when bounded, those from [`LONGEST_CALL_SECONDS`]
/// before `from` to as long after `to` (a plain range: no join, so the
/// server scans and sorts once), the window itself being applied per call.
fn query(from: Option<i64>, to: Option<i64>) -> (String, Vec<mysql::Value>) {
    let mut sql = String::from(
        "SELECT callid, method = 'INVITE', CAST(UNIX_TIMESTAMP(time) AS SIGNED) FROM acc \
         WHERE ((method = 'INVITE' AND sip_code LIKE '2%') OR method = 'BYE')",
    );
    let mut params = Vec::new();
    if let Some(from) = from {
        sql.push_str(" AND time >= FROM_UNIXTIME(?)");
        params.push(mysql::Value::Int((from - LONGEST_CALL_SECONDS).max(0)));
    }
    if let Some(to) = to {
        sql.push_str(" AND time < FROM_UNIXTIME(?)");
        params.push(mysql::Value::Int(to.saturating_add(LONGEST_CALL_SECONDS)));
    }
    sql.push_str(" ORDER BY callid, time, method");
    (sql, params)
}

/// A database failure as an export error: a missing table is the
/// configuration's fault, anything else the database's.
fn database_error(shown: &str, what: &str, e: &mysql::Error) -> ExportError {
    let message = format!(
        "Kamailio database {shown}: {what}: {}",
        crate::fault::Fault::mysql(e)
    );
    match e {
        mysql::Error::MySqlError(server) if server.code == NO_SUCH_TABLE => {
            ExportError::Config(format!(
                "{message} (the acc module must write to this database: kamailio.cfg with WITH_ACCDB, table from acc-create.sql)"
            ))
        }
        _ => ExportError::Unavailable(message),
    }
}

/// Streams the calls of `acc` into `out`; `path` names `out` in messages.
pub fn export(
    args: &TraceExportArgs,
    config_path: &Path,
    out: &mut dyn Write,
    path: &Path,
) -> Result<(Counts, String), ExportError> {
    if let (Some(from), Some(to)) = (args.from, args.to)
        && to <= from
    {
        return Err(ExportError::Usage(format!(
            "--to {to} is not after --from {from}"
        )));
    }
    let (opts, shown) = connection(args, config_path)?;
    let mut conn = Conn::new(opts).map_err(|e| database_error(&shown, "connecting", &e))?;
    if let Some(zone) = &args.db_time_zone {
        conn.exec_drop("SET time_zone = ?", (zone,)).map_err(|e| {
            ExportError::Usage(format!(
                "--db-time-zone {zone:?}: {}",
                crate::fault::Fault::mysql(&e)
            ))
        })?;
    }
    let (from, to) = (
        args.from.map(|t| t.timestamp()),
        args.to.map(|t| t.timestamp()),
    );
    let (sql, params) = query(from, to);
    let write_error = |source| ExportError::Write {
        path: path.to_path_buf(),
        source,
    };
    out.write_all(b"start,end,callid\n").map_err(write_error)?;
    let mut pairing = Pairing::new(from, to);
    let mut result = conn
        .exec_iter(sql, params)
        .map_err(|e| database_error(&shown, "reading acc", &e))?;
    let rows = result.iter().into_iter().flatten();
    for row in rows {
        let row = row.map_err(|e| database_error(&shown, "reading acc", &e))?;
        let parsed: Result<(Vec<u8>, bool, Option<i64>), _> = mysql::from_row_opt(row);
        let Ok((callid, invite, time)) = parsed else {
            pairing.counts.bad_rows += 1;
            continue;
        };
        if let Some(call) = pairing.push(&callid, invite, time) {
            out.write_all(call.csv_line().as_bytes())
                .map_err(write_error)?;
        }
    }
    if let Some(call) = pairing.finish() {
        out.write_all(call.csv_line().as_bytes())
            .map_err(write_error)?;
    }
    out.flush().map_err(write_error)?;
    Ok((pairing.counts, shown))
}

/// Runs `scaler trace export`: the CSV to stdout or `--output` (written
/// to a temporary file beside it, renamed when complete), the summary to
/// stderr (unless `quiet`).
pub fn run(command: &TraceCommand, config_path: &Path, quiet: bool) -> Exit {
    let TraceCommand::Export(args) = command;
    let outcome = match &args.output {
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            export(args, config_path, &mut out, Path::new("stdout"))
        }
        Some(path) => to_file(args, config_path, path),
    };
    match outcome {
        Ok((counts, shown)) => {
            if !quiet {
                eprintln!("scaler: trace export: {}", counts.summary(&shown));
            }
            Exit::Ok
        }
        Err(e) => {
            eprintln!("scaler: trace export: {e}");
            e.exit()
        }
    }
}

/// Exports into `path` through a temporary file, so that a failed export
/// leaves no partial trace behind.
fn to_file(
    args: &TraceExportArgs,
    config_path: &Path,
    path: &Path,
) -> Result<(Counts, String), ExportError> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    let partial = path.with_file_name(name);
    let write_error = |source| ExportError::Write {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::create(&partial).map_err(write_error)?;
    let mut out = std::io::BufWriter::new(file);
    let outcome = export(args, config_path, &mut out, path);
    drop(out);
    match outcome {
        Ok(found) => {
            std::fs::rename(&partial, path).map_err(write_error)?;
            Ok(found)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(
        rows: &[(&str, bool, i64)],
        window: (Option<i64>, Option<i64>),
    ) -> (Vec<ExportedCall>, Counts) {
        let mut pairing = Pairing::new(window.0, window.1);
        let mut calls: Vec<ExportedCall> = rows
            .iter()
            .filter_map(|(callid, invite, time)| {
                pairing.push(callid.as_bytes(), *invite, Some(*time))
            })
            .collect();
        calls.extend(pairing.finish());
        (calls, pairing.counts)
    }

    #[test]
    fn pairs_invites_with_byes_by_callid() {
        let rows = [
            ("a", true, 1_000),
            ("a", true, 1_000), // the same row twice
            ("a", true, 1_600), // a re-INVITE
            ("a", false, 2_800),
            ("b", true, 1_100),  // no BYE
            ("c", false, 1_200), // no INVITE
            ("d", true, 1_302),
            ("d", false, 1_300), // BYE 2 s early: two clocks
            ("e", true, 2_000),
            ("e", false, 1_000), // BYE far before: not a call
        ];
        let (calls, counts) = pair(&rows, (None, None));
        let spans: Vec<(&str, i64, i64)> = calls
            .iter()
            .map(|c| (c.callid.as_str(), c.start, c.end))
            .collect();
        assert_eq!(spans, [("a", 1_000, 2_800), ("d", 1_302, 1_300)]);
        assert_eq!(
            counts,
            Counts {
                calls: 2,
                without_bye: 1,
                bye_without_invite: 1,
                re_invites: 1,
                duplicate_rows: 1,
                skewed: 1,
                reversed: 1,
                bad_rows: 0,
            }
        );
        let summary = counts.summary("mysql://k@h/db");
        assert!(
            summary
                .starts_with("wrote 2 call(s) from acc at mysql://k@h/db; 1 INVITE(s) without BYE"),
            "{summary}"
        );
    }

    #[test]
    fn the_window_is_that_of_the_first_invite() {
        let rows = [
            ("a", true, 900), // started before the window
            ("a", true, 1_100),
            ("a", false, 2_000),
            ("b", true, 1_000),
            ("b", false, 1_500),
            ("c", false, 1_200), // a BYE in the window without INVITE
            ("d", false, 800),   // one before it: not this window's business
            ("e", true, 2_000),  // starts at `to`: out
            ("e", false, 2_100),
        ];
        let (calls, counts) = pair(&rows, (Some(1_000), Some(2_000)));
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].callid, "b");
        assert_eq!(counts.bye_without_invite, 1);
        assert_eq!(counts.calls, 1);
    }

    #[test]
    fn unreadable_times_are_counted() {
        let mut pairing = Pairing::new(None, None);
        assert_eq!(pairing.push(b"a", true, None), None);
        assert_eq!(pairing.push(b"a", true, Some(0)), None);
        assert_eq!(pairing.counts.bad_rows, 2);
        assert_eq!(pairing.finish(), None);
    }

    #[test]
    fn lines_are_utc_with_the_callid_quoted() {
        let call = ExportedCall {
            start: 1_795_420_800,
            end: 1_795_423_500,
            callid: "x\"y@host".into(),
        };
        assert_eq!(
            call.csv_line(),
            "2026-11-23T08:00:00Z,2026-11-23T08:45:00Z,\"x\"\"y@host\"\n"
        );
    }

    #[test]
    fn the_window_is_read_with_a_day_around_it() {
        let (sql, params) = query(None, None);
        assert!(!sql.contains("FROM_UNIXTIME") && params.is_empty(), "{sql}");
        let (sql, params) = query(Some(100_000), Some(200_000));
        assert!(
            sql.contains("AND time >= FROM_UNIXTIME(?) AND time < FROM_UNIXTIME(?)"),
            "{sql}"
        );
        assert!(!sql.contains(" IN (SELECT"), "no join: {sql}");
        assert_eq!(
            params,
            [mysql::Value::Int(13_600), mysql::Value::Int(286_400)]
        );
        assert!(sql.ends_with("ORDER BY callid, time, method"));
    }
}
