//! `scaler check`: the configuration, then one line per dependency (the
//! gateway source, the provider, scaler's own output files), each ok or
//! failed with a reason that an operator can act on at 3 a.m.: the kind of
//! the typed failure ([`Fault::reason`]: `dns`, `refused`, `timeout`,
//! `auth`, `privilege`, `schema`, `secret`, `rejected`, `data`, `config`,
//! `error`), never read from the wording. The gateway source line also proves the account may do what a pass
//! does (drain, forget), with statements that change nothing. The
//! configuration is validated by the same loader as `run`'s. Exit 0 only
//! when every line is ok, else 69; `--offline` validates only.

use crate::config::{Config, PoolKind};
use crate::error::Error;
use crate::exit::Exit;
use crate::fault::Fault;
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
        if let Some(list) = instances.as_deref()
            && list.iter().any(|i| i.adopted)
        {
            report
                .checks
                .push(line("membership", membership(config, list)));
        }
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
fn gateway_source(config: &Config) -> Result<String, Fault> {
    match (config.pool.kind, &config.sip, &config.media) {
        // One connection: the schema check observes the gateways too.
        (PoolKind::Sip, Some(sip), _) => {
            let mut source = pool::sip::SipSource::new(sip, &config.pool.gateway_prefix)?;
            let name = crate::pool::GatewaySource::describe(&source);
            let _call = crate::watchdog::doing(format!("{name}: checking the schema"));
            // The schema check reads location and dialog; then what a drain writes.
            let detail = source.check_schema()?;
            source.check_privileges()?;
            Ok(format!("{name}: {detail}; may drain and forget"))
        }
        (PoolKind::Media, _, Some(media)) => {
            let mut source = pool::media::MediaSource::new(media, &config.pool.name)?;
            let name = crate::pool::GatewaySource::describe(&source);
            let _call = crate::watchdog::doing(format!("{name}: checking the scripts"));
            // Observes too, then loads the drain scripts and runs them on nothing.
            let detail = source.check_scripts()?;
            source.check_privileges()?;
            Ok(format!("{name}: {detail}; may drain and forget"))
        }
        _ => {
            let mut source = crate::source_for(config)
                .map_err(Error::into_fault)?
                .ok_or_else(|| Fault::config("this pool kind has no gateway source"))?;
            let name = source.describe();
            source
                .observe(&crate::pool::Hosts::default())
                .map(|o| format!("{name}: {} gateway(s)", o.gateways.len()))
        }
    }
}

/// What the membership filter matches before the first `run`: the
/// instances scaler created, and the adopted ones split into those that
/// have shown they are the pool's (a registered gateway; replica pools: an
/// answered probe) and those never registered, which no clean-up destroys.
fn membership(config: &Config, instances: &[Instance]) -> Result<String, Fault> {
    let created = instances.iter().filter(|i| !i.adopted).count();
    let adopted: Vec<&Instance> = instances.iter().filter(|i| i.adopted).collect();
    let registered: Vec<bool> = if config.pool.kind == PoolKind::Replicas {
        let prober = crate::prober_for(config)
            .map_err(Error::into_fault)?
            .ok_or_else(|| Fault::config("no [probe] section"))?;
        let owned: Vec<Instance> = adopted.iter().map(|i| (*i).clone()).collect();
        let answers = prober.probe_all(&owned);
        owned
            .iter()
            .map(|i| answers.iter().any(|(id, r)| *id == i.id && r.is_ok()))
            .collect()
    } else {
        let mut source = crate::source_for(config)
            .map_err(Error::into_fault)?
            .ok_or_else(|| Fault::config("this pool kind has no gateway source"))?;
        let observed = source.observe(&crate::pool::Hosts::new(instances))?;
        adopted
            .iter()
            .map(|i| observed.gateways.iter().any(|g| i.has_address(g.host)))
            .collect()
    };
    let never: Vec<String> = adopted
        .iter()
        .zip(&registered)
        .filter(|(_, r)| !**r)
        .map(|(i, _)| format!("{} ({})", i.name, i.id))
        .collect();
    let mut detail = format!(
        "{created} created by scaler, {} adopted ({} registered, {} never registered)",
        adopted.len(),
        adopted.len() - never.len(),
        never.len()
    );
    if !never.is_empty() {
        detail.push_str(&format!(
            "; kept until they register, never destroyed before: {}",
            never.join(", ")
        ));
    }
    Ok(detail)
}

/// One status probe, of the first active instance (none yet is fine).
fn probe(config: &Config, instances: Option<&[Instance]>) -> Result<String, Fault> {
    let prober = crate::prober_for(config)
        .map_err(Error::into_fault)?
        .ok_or_else(|| Fault::config("no [probe] section"))?;
    let instances = instances
        .ok_or_else(|| Fault::unavailable("the provider could not list the instances to probe"))?;
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
fn provider(config: &Config) -> Result<(String, Vec<Instance>), Fault> {
    let mut provider = crate::provider_for(config).map_err(Error::into_fault)?;
    let label = crate::watched::provider_label(&config.provider);
    let _call = crate::watchdog::doing(format!("{label}: listing instances"));
    let list = provider.list()?;
    let mut detail = format!("{} instance(s) of pool {}", list.len(), config.pool.name);
    let wanted = config.provider.runtime_instance_types();
    if !wanted.is_empty() {
        let types = provider.provider_instance_types()?;
        if let Some(missing) = wanted.iter().find(|n| !types.contains_key(*n)) {
            return Err(Fault::config(format!("no flavor named {missing:?}")));
        }
        let types: Vec<String> = types
            .iter()
            .map(|(n, v)| format!("{n} = {v} vCPUs"))
            .collect();
        detail.push_str(&format!("; flavors: {}", types.join(", ")));
    }
    Ok((detail, list))
}

/// One check line from an outcome: ok with a detail, or failed with the
/// failure's kind as the reason and its message as the detail.
pub fn line(name: &str, outcome: Result<String, Fault>) -> CheckLine {
    match outcome {
        Ok(detail) => CheckLine {
            name: name.into(),
            ok: true,
            reason: None,
            detail,
        },
        Err(fault) => CheckLine {
            name: name.into(),
            ok: false,
            reason: Some(fault.reason().to_string()),
            detail: fault.to_string(),
        },
    }
}

/// Whether scaler can create files in the directory of `path` (it writes a
/// temporary file there and renames it, so the directory must be writable)
/// and `path` itself can be replaced by a file (it is not a directory).
fn writable_dir_of(path: &Path) -> Result<String, Fault> {
    if path.is_dir() {
        return Err(Fault::config(format!(
            "{} is a directory: name a file (scaler writes it and renames it into place)",
            path.display()
        )));
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
        Err(e) => Err(Fault::io(&e).context(format!("cannot write in {}", dir.display()))),
    }
}

/// Whether the files a pass writes are usable by this user (see `paths`).
fn files(config: &Config, metrics_flag: Option<&Path>) -> Result<String, Fault> {
    let problems = crate::paths::problems(config, metrics_flag);
    if problems.is_empty() {
        Ok(format!(
            "the lock, state and output files are usable by {}",
            crate::paths::User::current()
        ))
    } else {
        Err(Fault::config(problems.join("; ")))
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
        Err(e) => Err(state_fault(&e)),
    };
    lines.push(line("state", state));
    lines
}

/// A state file failure: an I/O error by its kind, a file that is not
/// (or not yet) a state file scaler reads as bad data.
fn state_fault(e: &crate::state::StateError) -> Fault {
    let message = e.to_string();
    match e {
        crate::state::StateError::Io { error, .. } => Fault::io(error).map(|_| message),
        _ => Fault::bad_data(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_lines_carry_the_kind_as_reason() {
        let ok = line("sip", Ok("3 gateway(s)".into()));
        assert!(ok.ok && ok.reason.is_none());
        let failed = line("sip", Err(Fault::Refused("connection refused".into())));
        assert!(!failed.ok);
        assert_eq!(failed.reason.as_deref(), Some("refused"));
        assert_eq!(failed.detail, "connection refused");
        // The wording does not matter, the kind does.
        let failed = line("sip", Err(Fault::unavailable("connection refused")));
        assert_eq!(failed.reason.as_deref(), Some("error"));
    }
}
