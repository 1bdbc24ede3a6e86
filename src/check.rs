//! `scaler check`: the configuration, then one line per dependency (the
//! gateway source, the provider, scaler's own output files), each ok or
//! failed with a classified reason (`dns`, `refused`, `timeout`, `auth`,
//! `schema`, `secret`, `privilege`, `error`) that an operator can act on at
//! 3 a.m. The gateway source line also proves the account may do what a pass
//! does (drain, forget), with statements that change nothing. The
//! configuration is validated by the same loader as `run`'s. Exit 0 only
//! when every line is ok, else 69; `--offline` validates only.

use crate::config::{Config, PoolKind};
use crate::exit::Exit;
use crate::pool;
use crate::provider::{Instance, InstanceState};
use crate::report::{CheckLine, PoolInfo, Report};
use std::path::Path;

/// Runs `check`: every line, then the exit status.
pub fn run(config: &Config, offline: bool, metrics_flag: Option<&Path>) -> Report {
    let mut report = Report::new("check");
    report.pool = Some(PoolInfo {
        name: config.pool.name.clone(),
        kind: config.pool.kind.as_str().into(),
    });
    report.checks.push(line(
        "config",
        Ok(format!("{} is valid", config.path.display())),
    ));
    if !offline {
        if config.pool.kind != PoolKind::Replicas {
            report
                .checks
                .push(line(config.pool.kind.as_str(), gateway_source(config)));
        }
        let listed = provider(config);
        let instances = listed.as_ref().map(|(_, list)| list.clone()).ok();
        report
            .checks
            .push(line("provider", listed.map(|(detail, _)| detail)));
        if config.probe.is_some() {
            report
                .checks
                .push(line("probe", probe(config, instances.as_deref())));
        }
        report.checks.extend(own_files(config, metrics_flag));
        report
            .checks
            .push(line("files", files(config, metrics_flag)));
    }
    let failed = report.checks.iter().any(|c| !c.ok);
    report.exit_code = if failed {
        Exit::Unavailable.code()
    } else {
        Exit::Ok.code()
    };
    report
}

/// The gateway source: connected, and with the schema scaler needs.
fn gateway_source(config: &Config) -> Result<String, String> {
    match (config.pool.kind, &config.sip, &config.media) {
        // One connection: the schema check observes the gateways too.
        (PoolKind::Sip, Some(sip), _) => {
            let mut source = pool::sip::SipSource::new(sip, &config.pool.gateway_prefix)?;
            let name = crate::pool::GatewaySource::describe(&source);
            let _call = crate::watchdog::doing(format!("{name}: checking the schema"));
            // The schema check reads location and dialog; then what a drain writes.
            let detail = source.check_schema().map_err(|e| e.0)?;
            source.check_privileges().map_err(|e| e.0)?;
            Ok(format!("{name}: {detail}; may drain and forget"))
        }
        (PoolKind::Media, _, Some(media)) => {
            let mut source = pool::media::MediaSource::new(media, &config.pool.name)?;
            let name = crate::pool::GatewaySource::describe(&source);
            let _call = crate::watchdog::doing(format!("{name}: checking the scripts"));
            // Observes too, then loads the drain scripts and runs them on nothing.
            let detail = source.check_scripts().map_err(|e| e.0)?;
            source.check_privileges().map_err(|e| e.0)?;
            Ok(format!("{name}: {detail}; may drain and forget"))
        }
        _ => {
            let mut source = crate::source_for(config)
                .map_err(|e| e.to_string())?
                .ok_or("this pool kind has no gateway source")?;
            let name = source.describe();
            source
                .observe(&crate::pool::Hosts::default())
                .map(|o| format!("{name}: {} gateway(s)", o.gateways.len()))
                .map_err(|e| e.0)
        }
    }
}

/// One status probe, of the first active instance (none yet is fine).
fn probe(config: &Config, instances: Option<&[Instance]>) -> Result<String, String> {
    let prober = crate::prober_for(config)
        .map_err(|e| e.to_string())?
        .ok_or("no [probe] section")?;
    let instances = instances.ok_or("the provider could not list the instances to probe")?;
    let Some(active) = instances.iter().find(|i| i.state == InstanceState::Active) else {
        return Ok("no active instance to probe yet".to_string());
    };
    let url = prober.url_for(active)?;
    let _call = crate::watchdog::doing(format!("status probe of {}", active.name));
    prober.probe(&url).map(|s| {
        let capacity = s
            .capacity
            .map_or(String::new(), |c| format!(", capacity {c}"));
        format!(
            "{} answered termination {}{capacity}",
            active.name, s.termination
        )
    })
}

/// The provider: the pool's instances listed, and runtime flavors found.
fn provider(config: &Config) -> Result<(String, Vec<Instance>), String> {
    let mut provider = crate::provider_for(config).map_err(|e| e.to_string())?;
    let label = crate::watched::provider_label(&config.provider);
    let _call = crate::watchdog::doing(format!("{label}: listing instances"));
    let list = provider.list().map_err(|e| e.message)?;
    let mut detail = format!("{} instance(s) of pool {}", list.len(), config.pool.name);
    let wanted = config.provider.runtime_instance_types();
    if !wanted.is_empty() {
        let types = provider.provider_instance_types().map_err(|e| e.message)?;
        if let Some(missing) = wanted.iter().find(|n| !types.contains_key(*n)) {
            return Err(format!("no flavor named {missing:?}"));
        }
        let types: Vec<String> = types
            .iter()
            .map(|(n, v)| format!("{n} = {v} vCPUs"))
            .collect();
        detail.push_str(&format!("; flavors: {}", types.join(", ")));
    }
    Ok((detail, list))
}

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
    /// Connected, but the account may not do everything a pass does.
    Privilege,
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
            Reason::Privilege => "privilege",
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
        "_credential: ",
        "give only one of",
    ]) {
        Reason::Secret
    } else if any(&["command denied", "noperm", "can't run this command"]) {
        Reason::Privilege
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
/// temporary file there and renames it, so the directory must be writable)
/// and `path` itself can be replaced by a file (it is not a directory).
fn writable_dir_of(path: &Path) -> Result<String, String> {
    if path.is_dir() {
        return Err(format!(
            "{} is a directory: name a file (scaler writes it and renames it into place)",
            path.display()
        ));
    }
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

/// Whether the files a pass writes are usable by this user (see `paths`).
fn files(config: &Config, metrics_flag: Option<&Path>) -> Result<String, String> {
    let problems = crate::paths::problems(config, metrics_flag);
    if problems.is_empty() {
        Ok(format!(
            "the lock, state and output files are usable by {}",
            crate::paths::User::current()
        ))
    } else {
        Err(problems.join("; "))
    }
}

/// The lines for scaler's own files: the metrics textfile when metrics are
/// on; the state file when metrics are on or the file exists (every pass
/// reads it, and one that cannot be read stops `run` with exit 78).
pub fn own_files(config: &Config, metrics_flag: Option<&Path>) -> Vec<CheckLine> {
    let textfile = crate::metrics::textfile(config, metrics_flag);
    let mut lines: Vec<CheckLine> = textfile
        .map(|t| line("metrics", writable_dir_of(t)))
        .into_iter()
        .collect();
    let path = &config.state_path;
    let state = match crate::state::load(path, &config.pool.name) {
        Ok(Some(s)) => writable_dir_of(path).map(|_| {
            format!(
                "{}: schema_version {}, counters since {}, {} pending forget(s)",
                path.display(),
                s.schema_version,
                s.started_at.format("%Y-%m-%d %H:%M:%SZ"),
                s.pending_forgets.len()
            )
        }),
        // Nothing to say about a file the first pass creates, without metrics.
        Ok(None) if textfile.is_none() => return lines,
        // The first pass creates the file (and its directory): nothing to write now.
        Ok(None) => match path.parent().filter(|d| d.is_dir()) {
            Some(_) => writable_dir_of(path).map(|_| format!("{} will be created", path.display())),
            None => Ok(format!(
                "{} will be created with its directory",
                path.display()
            )),
        },
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
            (
                "Kamailio database mysql://127.0.0.1:3306/k: the account cannot drain (UPDATE location SET locked = locked WHERE 1 = 0): MySqlError { ERROR 1142 (42000): UPDATE command denied to user 'ro'@'localhost' for table `k`.`location` }",
                Reason::Privilege,
            ),
            (
                "Redis redis://127.0.0.1:6379/0: NOPERM User ro has no permissions to run the 'evalsha' command",
                Reason::Privilege,
            ),
            (
                "Redis redis://127.0.0.1:6379/0: the account cannot drain or forget: ResponseError: The user executing the script can't run this command or subcommand script: 01b2, on @user_script:8.",
                Reason::Privilege,
            ),
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
