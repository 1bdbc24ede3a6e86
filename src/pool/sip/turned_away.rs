//! The demand a SIP pool turned away: calls that found no free gateway.
//! Kamailio's `acc` module, accounting to the database with its missed-call
//! flag set before the reply, writes one `missed_calls` row per failed
//! INVITE transaction (the schema of Kamailio's `acc-create.sql`). The pass
//! counts the distinct Call-IDs of INVITEs that failed with the configured
//! SIP codes within the last `window` (the pass interval), so no cursor is
//! kept and two hosts behind a shared lock read the same figure; a client
//! retrying the same call (same Call-ID, new CSeq) counts once.
//!
//! The read is one aggregate over a `time` range (`time >= NOW() - INTERVAL
//! n SECOND`, which an index on `time` serves). When in doubt, the demand
//! is there: a row whose `callid` is empty or whose `sip_code` is not a
//! three-digit code counts as one turned-away call. A missing table or
//! privilege is a configuration error, never a zero.

use crate::duration::HumanDuration;
use crate::fault::Fault;
use mysql::Conn;
use mysql::prelude::Queryable;
use serde::Deserialize;
use std::time::Duration;

/// The table Kamailio's `acc` module writes failed transactions to.
pub const TABLE: &str = "missed_calls";

/// What SIPMediaGW's router replies when no gateway is free: `request_gw.py`
/// leaves the request URI on the room, so `lookup("location")` fails in
/// `route[LOCATION]` and the script sends `404 Not Found`.
pub const DEFAULT_CODES: [u16; 1] = [404];

/// The longest window accepted (the pass runs each minute).
pub const MAX_WINDOW: Duration = Duration::from_secs(3600);

/// `[sip] turned_away` keys.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TurnedAwayConfig {
    /// Final SIP codes of a failed INVITE that mean "no gateway was free".
    #[serde(default = "default_codes")]
    pub codes: Vec<u16>,
    /// How far back a pass looks: the pass interval.
    #[serde(default = "default_window")]
    pub window: HumanDuration,
}

fn default_codes() -> Vec<u16> {
    DEFAULT_CODES.to_vec()
}

fn default_window() -> HumanDuration {
    HumanDuration(Duration::from_secs(60))
}

impl Default for TurnedAwayConfig {
    fn default() -> TurnedAwayConfig {
        TurnedAwayConfig {
            codes: default_codes(),
            window: default_window(),
        }
    }
}

impl TurnedAwayConfig {
    /// Checks the keys: codes are final failure codes (300 to 699), at least
    /// one; the window is 1 s to an hour.
    pub fn validate(&self) -> Result<(), String> {
        if self.codes.is_empty() {
            return Err("sip.turned_away.codes: give at least one SIP code".into());
        }
        if let Some(bad) = self.codes.iter().find(|c| !(300..=699).contains(*c)) {
            return Err(format!(
                "sip.turned_away.codes: {bad} is not a failure code of a final reply (300 to 699)"
            ));
        }
        let window = self.window.0;
        if window < Duration::from_secs(1) || window > MAX_WINDOW {
            return Err(format!(
                "sip.turned_away.window: {} is not between 1s and {}",
                self.window,
                HumanDuration(MAX_WINDOW)
            ));
        }
        Ok(())
    }

    /// The window in whole seconds (at least one).
    pub fn window_seconds(&self) -> u64 {
        self.window.0.as_secs().max(1)
    }
}

/// What one read found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TurnedAway {
    /// Distinct Call-IDs of INVITEs that failed with one of the codes.
    pub calls: u32,
    /// Rows that cannot be read (empty `callid`, a `sip_code` that is no
    /// code): each counted as one more turned-away call.
    pub unreadable: u32,
}

impl TurnedAway {
    /// The calls to add to the target.
    pub fn demand(&self) -> u32 {
        self.calls.saturating_add(self.unreadable)
    }
}

/// Whether a failed read is the operator's to fix (a missing table or
/// privilege: configuration, exit 78) rather than the database being
/// unavailable.
pub fn is_configuration(fault: &Fault) -> bool {
    matches!(fault, Fault::Schema(_) | Fault::Privilege(_))
}

/// The aggregate: distinct Call-IDs with one of the codes, and rows that
/// cannot be read, among the INVITE rows of the window. `codes` is the
/// number of placeholders for the codes.
fn statement(codes: usize) -> String {
    let placeholders = vec!["?"; codes].join(", ");
    format!(
        "SELECT COUNT(DISTINCT CASE WHEN callid <> '' AND sip_code IN ({placeholders}) THEN callid END), \
         COALESCE(SUM(callid = '' OR sip_code NOT REGEXP '^[1-6][0-9][0-9]$'), 0) \
         FROM {TABLE} WHERE time >= NOW() - INTERVAL ? SECOND AND method = 'INVITE'"
    )
}

/// Counts the calls turned away within the window on `conn`.
pub fn read(conn: &mut Conn, config: &TurnedAwayConfig) -> Result<TurnedAway, Fault> {
    let mut params: Vec<mysql::Value> = config
        .codes
        .iter()
        .map(|c| mysql::Value::from(c.to_string()))
        .collect();
    params.push(mysql::Value::from(config.window_seconds()));
    let row: Option<(u64, u64)> = conn
        .exec_first(statement(config.codes.len()), params)
        .map_err(classify)?;
    let (calls, unreadable) = row.unwrap_or_default();
    let clamp = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
    Ok(TurnedAway {
        calls: clamp(calls),
        unreadable: clamp(unreadable),
    })
}

/// The client's error, classified, with what was read and (for a missing
/// table or privilege) how to fix it.
fn classify(e: mysql::Error) -> Fault {
    let fault = Fault::mysql(&e);
    let fix = if is_configuration(&fault) {
        format!(
            " (load Kamailio's acc-create.sql, grant SELECT on {TABLE}, or remove sip.turned_away)"
        )
    } else {
        String::new()
    };
    fault.map(|m| format!("reading {TABLE} (sip.turned_away): {m}{fix}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_sipmediagw_s_reply_and_one_minute() {
        let config: TurnedAwayConfig = toml::from_str("").unwrap();
        assert_eq!(config, TurnedAwayConfig::default());
        assert_eq!(config.codes, vec![404]);
        assert_eq!(config.window_seconds(), 60);
        assert!(config.validate().is_ok());
    }

    #[test]
    fn codes_and_window_are_checked() {
        let bad = |text: &str| {
            toml::from_str::<TurnedAwayConfig>(text)
                .unwrap()
                .validate()
                .unwrap_err()
        };
        assert!(bad("codes = []").contains("at least one"));
        assert!(bad("codes = [200]").contains("200 is not a failure code"));
        assert!(bad("window = \"2h\"").contains("not between"));
        assert!(toml::from_str::<TurnedAwayConfig>("code = [404]").is_err());
    }

    #[test]
    fn the_statement_has_one_placeholder_per_code_and_a_time_range() {
        let sql = statement(2);
        assert!(sql.contains("sip_code IN (?, ?)"));
        assert!(sql.contains("time >= NOW() - INTERVAL ? SECOND"));
        assert_eq!(sql.matches('?').count(), 3);
    }

    #[test]
    fn unreadable_rows_add_to_the_demand() {
        let read = TurnedAway {
            calls: 3,
            unreadable: 2,
        };
        assert_eq!(read.demand(), 5);
    }
}
