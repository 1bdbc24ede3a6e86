//! `scaler`: keeps a pool of SIP/WebRTC media gateway VMs at the right size.
//! The library behind the binary: `main` parses the command line, loads the
//! configuration, wires the provider and the gateway source, runs the
//! command and prints its report. See README.md and SPEC for the contract.

pub mod cli;
pub mod config;
pub mod duration;
pub mod error;
pub mod exit;
pub mod limits;
pub mod lock;
pub mod pass;
pub mod plan;
pub mod pool;
pub mod probe;
pub mod provider;
pub mod report;
pub mod schedule;
pub mod secret;

use clap::Parser;
use cli::{At, Cli, Command, Format};
use config::{Config, PoolKind, ProviderConfig};
use error::Error;
use exit::Exit;
use pass::{PassOptions, Steps};
use pool::GatewaySource;
use provider::Provider;
use report::{CheckLine, Report};
use std::io::Write;

/// Runs the command line of this process and returns its exit status.
pub fn main() -> Exit {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp
                | clap::error::ErrorKind::DisplayVersion
                | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => Exit::Ok,
                _ => Exit::Usage,
            };
        }
    };
    init_logging(&cli);
    let command = command_name(&cli.command);
    let report = match dispatch(&cli) {
        Ok(report) => report,
        Err(e) => {
            let exit = e.exit();
            eprintln!("scaler: {e:#}");
            let mut report = Report::new(command);
            report.errors.push(format!("{e:#}"));
            report.exit_code = exit.code();
            if cli.format == Format::Json {
                print(&report.to_json());
            }
            return exit;
        }
    };
    match cli.format {
        Format::Json => print(&report.to_json()),
        Format::Text if cli.quiet && !report.is_eventful() => {}
        Format::Text => print(report.to_text().trim_end()),
    }
    exit_of(report.exit_code)
}

fn exit_of(code: u8) -> Exit {
    [
        Exit::Ok,
        Exit::Internal,
        Exit::Changes,
        Exit::Partial,
        Exit::Usage,
        Exit::Unavailable,
        Exit::Locked,
        Exit::Config,
    ]
    .into_iter()
    .find(|e| e.code() == code)
    .unwrap_or(Exit::Internal)
}

/// Prints a line to stdout; a closed pipe (`scaler ... | head`) is not an error.
fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
}

fn init_logging(cli: &Cli) {
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let env = env_logger::Env::default().default_filter_or(format!("scaler={level}"));
    let _ = env_logger::Builder::from_env(env)
        .format_timestamp_secs()
        .try_init();
}

fn command_name(command: &Command) -> &'static str {
    match command {
        Command::Run(_) => "run",
        Command::Plan(_) => "plan",
        Command::Cleanup(_) => "cleanup",
        Command::Check(_) => "check",
    }
}

/// Builds the configured provider.
pub fn provider_for(config: &Config) -> Box<dyn Provider> {
    match &config.provider {
        ProviderConfig::Local(local) => Box::new(provider::local::LocalProvider::new(
            &config.pool.name,
            local.clone(),
        )),
    }
}

/// Builds the configured gateway source (resolving its secrets); replica
/// pools have none.
pub fn source_for(config: &Config) -> Result<Option<Box<dyn GatewaySource>>, Error> {
    match config.pool.kind {
        PoolKind::Sip => {
            let sip = config
                .sip
                .as_ref()
                .ok_or_else(|| Error::Config("missing section [sip]".into()))?;
            let source = pool::sip::SipSource::new(sip, &config.pool.gateway_prefix)
                .map_err(|e| Error::Config(format!("{}: {e}", config.path.display())))?;
            Ok(Some(Box::new(source)))
        }
        PoolKind::Replicas => Ok(None),
        PoolKind::Media => Err(Error::Config(format!(
            "pool.kind = {:?} is not supported by this build",
            config.pool.kind.as_str()
        ))),
    }
}

/// Builds the status prober when `[probe]` is configured (resolving its token).
pub fn prober_for(config: &Config) -> Result<Option<probe::Prober>, Error> {
    config
        .probe
        .as_ref()
        .map(|p| {
            probe::Prober::new(p, config.pool.kind == PoolKind::Replicas)
                .map_err(|e| Error::Config(format!("{}: {e}", config.path.display())))
        })
        .transpose()
}

fn dispatch(cli: &Cli) -> Result<Report, Error> {
    let config = config::load(&cli.config)?;
    let now = chrono::Utc::now();
    let (steps, dry_run, at, busy, detailed) = match &cli.command {
        Command::Check(args) => return Ok(check(&config, args.offline)),
        Command::Run(args) => (Steps::Full, args.dry_run, None, None, false),
        Command::Plan(args) => (
            Steps::Full,
            true,
            args.at,
            args.busy,
            args.detailed_exitcode,
        ),
        Command::Cleanup(args) => (Steps::CleanupOnly, args.dry_run, None, None, false),
    };
    let at = match at {
        None => now,
        Some(At::Instant(instant)) => instant,
        Some(At::Today(time)) => config.schedule.today_at(now, time),
    };
    let _lock = if dry_run {
        None
    } else {
        let held = lock::acquire(&config.lock)?;
        log::info!("pass lock acquired: {held:?}");
        Some(held)
    };
    let mut provider = provider_for(&config);
    let mut source = source_for(&config)?;
    let options = PassOptions {
        command: command_name(&cli.command),
        steps,
        dry_run,
        now,
        at,
        busy_override: busy,
        deadline: std::time::Instant::now() + config.limits.deadline.0,
    };
    let prober = prober_for(&config)?;
    let mut report = pass::execute(
        &config,
        provider.as_mut(),
        source.as_deref_mut(),
        prober.as_ref(),
        &options,
    );
    if detailed && report.exit_code == 0 && !report.actions.is_empty() {
        report.exit_code = Exit::Changes.code();
    }
    Ok(report)
}

/// `check`: the configuration, then each dependency on its own line.
fn check(config: &Config, offline: bool) -> Report {
    let mut report = Report::new("check");
    report.pool = Some(report::PoolInfo {
        name: config.pool.name.clone(),
        kind: config.pool.kind.as_str().into(),
    });
    let line = |name: &str, result: Result<String, String>| match result {
        Ok(detail) => CheckLine {
            name: name.into(),
            ok: true,
            detail,
        },
        Err(detail) => CheckLine {
            name: name.into(),
            ok: false,
            detail,
        },
    };
    report.checks.push(line(
        "config",
        Ok(format!("{} is valid", config.path.display())),
    ));
    if !offline {
        if config.pool.kind != PoolKind::Replicas {
            let database = source_for(config)
                .map_err(|e| e.to_string())
                .and_then(|source| {
                    let mut source = source.ok_or("no gateway source")?;
                    let name = source.describe();
                    source
                        .observe()
                        .map(|o| format!("{name}: {} gateway(s)", o.gateways.len()))
                        .map_err(|e| e.0)
                });
            let database = match (&config.sip, database) {
                (Some(sip), Ok(_)) => pool::sip::SipSource::new(sip, &config.pool.gateway_prefix)
                    .map_err(|e| e.to_string())
                    .and_then(|mut s| s.check_schema().map_err(|e| e.0)),
                (_, other) => other,
            };
            report
                .checks
                .push(line(config.pool.kind.as_str(), database));
        }
        let listed = provider_for(config).list();
        let provider = listed
            .as_ref()
            .map(|list| format!("{} instance(s) of pool {}", list.len(), config.pool.name))
            .map_err(|e| e.message.clone());
        report.checks.push(line("provider", provider));
        if config.probe.is_some() {
            let probed = prober_for(config)
                .map_err(|e| e.to_string())
                .and_then(|prober| {
                    let prober = prober.ok_or("no prober")?;
                    let instances = listed
                        .as_ref()
                        .map_err(|_| "provider not reachable".to_string())?;
                    let Some(active) = instances
                        .iter()
                        .find(|i| i.state == provider::InstanceState::Active)
                    else {
                        return Ok("no active instance to probe yet".to_string());
                    };
                    let url = prober.url_for(active)?;
                    prober.probe(&url).map(|s| {
                        format!(
                            "{} answered termination={} capacity={:?}",
                            active.name, s.termination, s.capacity
                        )
                    })
                });
            report.checks.push(line("probe", probed));
        }
    }
    let failed = report.checks.iter().any(|c| !c.ok);
    report.exit_code = if failed {
        Exit::Unavailable.code()
    } else {
        Exit::Ok.code()
    };
    report
}
