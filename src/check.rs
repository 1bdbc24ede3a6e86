//! `scaler check` helpers: one line per dependency, each ok or failed with a
//! classified reason (`dns`, `refused`, `timeout`, `auth`, `schema`,
//! `secret`, `error`) that an operator can act on at 3 a.m., plus the checks
//! of scaler's own files (metrics textfile, state file directories).

use crate::config::Config;
use crate::report::CheckLine;
use std::path::Path;

/// Why a dependency check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The host name does not resolve.
    Dns,
    /// Nothing listens there (connection refused, host unreachable).
    Refused,
    /// No answer in time.
    Timeout,
    /// Credentials refused.
    Auth,
    /// Reached, but the database or store lacks what scaler needs.
    Schema,
    /// A secret could not be read (`*_env` unset, `*_file` unreadable).
    Secret,
    /// Anything else.
    Other,
}

impl Reason {
    /// The word printed after `FAILED` and in the JSON `reason`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Dns => "dns",
            Reason::Refused => "refused",
            Reason::Timeout => "timeout",
            Reason::Auth => "auth",
            Reason::Schema => "schema",
            Reason::Secret => "secret",
            Reason::Other => "error",
        }
    }
}

/// Classifies an error message from a database, Redis, HTTP or provider
/// client. The first matching rule wins; the order puts the most specific first.
pub fn classify(message: &str) -> Reason {
    let m = message.to_ascii_lowercase();
    let any = |needles: &[&str]| needles.iter().any(|n| m.contains(n));
    if any(&[
        "_env: environment variable",
        "_file: cannot read",
        "give only one of",
    ]) {
        Reason::Secret
    } else if any(&[
        "lacks column",
        "unknown column",
        "doesn't exist",
        "does not exist",
        "no such table",
        "unknown database",
        "noscript",
    ]) {
        Reason::Schema
    } else if any(&[
        "access denied",
        "authentication",
        "noauth",
        "wrongpass",
        "invalid password",
        "invalid username-password",
        "unauthorized",
        "forbidden",
        "http 401",
        "http 403",
        "status 401",
        "status 403",
        "signaturedoesnotmatch",
        "authfailure",
        "invalidclienttokenid",
    ]) {
        Reason::Auth
    } else if any(&[
        "failed to lookup address",
        "name or service not known",
        "no address associated",
        "nodename nor servname",
        "temporary failure in name resolution",
        "dns error",
        "no such host",
    ]) {
        Reason::Dns
    } else if any(&[
        "timed out",
        "timeout",
        "os error 110",
        "os error 11)",
        "resource temporarily unavailable",
        "would block",
        "deadline",
    ]) {
        Reason::Timeout
    } else if any(&[
        "connection refused",
        "os error 111",
        "no route to host",
        "network is unreachable",
        "host is unreachable",
        "connection reset",
    ]) {
        Reason::Refused
    } else {
        Reason::Other
    }
}

/// One check line from an outcome: ok with a detail, or failed with a
/// message that is classified.
pub fn line(name: &str, outcome: Result<String, String>) -> CheckLine {
    match outcome {
        Ok(detail) => CheckLine {
            name: name.into(),
            ok: true,
            reason: None,
            detail,
        },
        Err(detail) => CheckLine {
            name: name.into(),
            ok: false,
            reason: Some(classify(&detail).as_str().to_string()),
            detail,
        },
    }
}

/// Whether scaler can create files in the directory of `path` (it writes a
/// temporary file there and renames it, so the directory must be writable).
fn writable_dir_of(path: &Path) -> Result<String, String> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let probe = dir.join(format!(".scaler-check.{}.tmp", std::process::id()));
    match std::fs::write(&probe, b"") {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
            Ok(format!("{} is writable", dir.display()))
        }
        Err(e) => Err(format!("cannot write in {}: {e}", dir.display())),
    }
}

/// The lines for scaler's own output files: the metrics textfile and the
/// state file, when metrics are on.
pub fn own_files(config: &Config, metrics_flag: Option<&Path>) -> Vec<CheckLine> {
    let Some(textfile) = crate::metrics::textfile(config, metrics_flag) else {
        return Vec::new();
    };
    let mut lines = vec![line("metrics", writable_dir_of(textfile))];
    let state = match crate::state::load(&config.state_path) {
        Ok(Some(s)) => writable_dir_of(&config.state_path).map(|_| {
            format!(
                "{}: counters since {}",
                config.state_path.display(),
                s.started_at.format("%Y-%m-%d %H:%M:%SZ")
            )
        }),
        Ok(None) => std::fs::create_dir_all(
            config
                .state_path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new(".")),
        )
        .map_err(|e| format!("{}: {e}", config.state_path.display()))
        .and_then(|()| writable_dir_of(&config.state_path))
        .map(|_| format!("{} will be created", config.state_path.display())),
        Err(e) => Err(e.to_string()),
    };
    lines.push(line("state", state));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_what_clients_really_say() {
        let cases = [
            (
                "Kamailio database mysql://127.0.0.1:1/k: DriverError { Could not connect to address `127.0.0.1:1': Connection refused (os error 111) }",
                Reason::Refused,
            ),
            (
                "Kamailio database mysql://db.invalid:3306/k: IoError { failed to lookup address information: Name or service not known }",
                Reason::Dns,
            ),
            (
                "Kamailio database mysql://127.0.0.1:3306/k: MySqlError { ERROR 1045 (28000): Access denied for user 'scaler'@'localhost' (using password: YES) }",
                Reason::Auth,
            ),
            (
                "Kamailio database mysql://127.0.0.1:3306/k: table location lacks column(s) locked, to_stop (ALTER TABLE ...)",
                Reason::Schema,
            ),
            (
                "Kamailio database mysql://127.0.0.1:3306/k: MySqlError { ERROR 1146 (42S02): Table 'k.location' doesn't exist }",
                Reason::Schema,
            ),
            (
                "Kamailio database mysql://127.0.0.1:3306/k: IoError { Resource temporarily unavailable (os error 11) }",
                Reason::Timeout,
            ),
            ("Redis redis://127.0.0.1:6379/0: timed out", Reason::Timeout),
            (
                "Redis redis://127.0.0.1:6379/0: WRONGPASS invalid username-password pair",
                Reason::Auth,
            ),
            (
                "sip.password_env: environment variable KAMAILIO_DB_PASSWORD is not set",
                Reason::Secret,
            ),
            ("Keystone: HTTP 401 Unauthorized", Reason::Auth),
            ("provider: the answer has no field servers", Reason::Other),
        ];
        for (message, reason) in cases {
            assert_eq!(classify(message), reason, "{message}");
        }
    }

    #[test]
    fn failed_lines_carry_the_reason() {
        let ok = line("sip", Ok("3 gateway(s)".into()));
        assert!(ok.ok && ok.reason.is_none());
        let failed = line("sip", Err("Connection refused (os error 111)".into()));
        assert!(!failed.ok);
        assert_eq!(failed.reason.as_deref(), Some("refused"));
    }
}
