//! `scaler`: keeps a pool of SIP/WebRTC media gateway VMs at the right size.
//! The library behind the binary: `main` parses the command line, loads the
//! configuration, wires the provider and the gateway source, runs the
//! command and prints its report. README.md is the contract,
//! docs/DESIGN.md the design.

pub mod acc;
pub mod check;
pub mod cli;
pub mod config;
pub mod crash_loop;
pub mod decision;
pub mod duration;
pub mod error;
pub mod every;
pub mod exit;
pub mod fault;
pub mod forget;
pub mod generate;
pub mod host_timezone;
pub mod import;
pub mod keys;
pub mod limits;
pub mod lock;
pub mod metrics;
pub mod model;
pub mod pass;
pub mod paths;
pub mod plan;
pub mod pool;
pub mod probe;
pub mod progress;
pub mod provider;
pub mod report;
pub mod reservations;
pub mod reserve;
pub mod resume;
pub mod schedule;
pub mod secret;
pub mod simulate;
pub mod state;
pub mod status;
pub mod suggest;
pub mod watchdog;
pub mod watched;

use clap::Parser;
use cli::{At, Cli, Command, Format};
use config::{Config, PoolKind, ProviderConfig};
use error::Error;
use exit::Exit;
use pass::{PassOptions, Steps};
use pool::GatewaySource;
use provider::Provider;
use report::Report;
use std::io::Write;

/// Runs the command line of this process and returns its exit status.
pub fn main() -> Exit {
    // `scaler generate ...` (man page, completions) stays out of the CLI it documents.
    if let Some(exit) = generate::intercept() {
        return exit;
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    Exit::Ok
                }
                // A bare `scaler` (or `scaler config`): the usage, on stderr, is an error.
                _ => Exit::Usage,
            };
        }
    };
    init_logging(&cli);
    // `trace export` prints a CSV trace, not a report.
    if let Command::Trace(command) = &cli.command {
        return acc::run(command, &cli.config, cli.quiet);
    }
    // `run --every` supervises passes, each a child process with its own report.
    if let Command::Run(args) = &cli.command
        && let Some(every) = args.every
    {
        return every::run(&cli, args, every);
    }
    let command = command_name(&cli.command);
    let dispatched = dispatch(&cli);
    // From here on the pass prints its own report, unless the watchdog
    // stopped it first (then this waits for the watchdog to exit).
    watchdog::finish_or_wait();
    let report = match dispatched {
        Ok(mut report) => {
            report.dry_run = is_dry_run(&cli.command);
            report
        }
        Err(e) => {
            let exit = e.exit();
            eprintln!("scaler: {e:#}");
            let mut report = Report::new(command);
            report.dry_run = is_dry_run(&cli.command);
            report.errors.push(format!("{e:#}"));
            report.exit_code = exit.code();
            if cli.format == Format::Json {
                print(&report.to_json());
            }
            return exit;
        }
    };
    emit(&report, cli.format, cli.quiet);
    Exit::from_code(report.exit_code).unwrap_or(Exit::Internal)
}

/// Prints a report in the chosen format (`-q`: only an eventful one).
fn emit(report: &Report, format: Format, quiet: bool) {
    match format {
        Format::Json => print(&report.to_json()),
        Format::Text if report.toml.is_some() => emit_toml(report),
        Format::Text if quiet && !report.is_eventful() => {}
        Format::Text => print(report.to_text().trim_end()),
    }
}

/// Text mode of a command that makes a file (`config import`, `schedule
/// suggest`): the TOML as it is on stdout, or the file it was written to,
/// and the notes, on stderr.
fn emit_toml(report: &Report) {
    for note in &report.notes {
        eprintln!("scaler: note: {note}");
    }
    match (&report.output, &report.toml) {
        (Some(path), _) => eprintln!("scaler: wrote {path}"),
        (None, Some(toml)) => {
            let _ = std::io::stdout().lock().write_all(toml.as_bytes());
        }
        (None, None) => {}
    }
}

/// Arms the watchdog for a command that talks to peers (all but `check
/// --offline`): at its bound it prints this command's report with the error
/// naming what hung (and, for a pass that may act, writes the metrics
/// file), then exits.
fn arm_watchdog(cli: &Cli, config: &Config, started: std::time::Instant) {
    let acting = match &cli.command {
        Command::Run(args) => !args.dry_run,
        Command::Cleanup(args) => !args.dry_run,
        Command::Check(args) if args.offline => return,
        _ => false,
    };
    let command = command_name(&cli.command);
    let (format, quiet) = (cli.format, cli.quiet);
    let pool = report::PoolInfo {
        name: config.pool.name.clone(),
        kind: config.pool.kind.as_str().to_string(),
    };
    let metrics = acting.then(|| (config.clone(), cli.metrics_file.clone()));
    let on_fire = move |fired: &watchdog::Fired| {
        let mut report = Report::new(command);
        report.pool = Some(pool);
        report.errors.push(fired.message.clone());
        let begun = fired
            .started
            .iter()
            .map(|a| format!("started before the stop: {a}"));
        report.notes.extend(begun);
        report.exit_code = fired.exit.code();
        emit(&report, format, quiet);
        let _ = std::io::stdout().flush();
        if let Some((config, flag)) = metrics {
            let now = chrono::Utc::now();
            let took = started.elapsed();
            metrics::after_pass(&config, flag.as_deref(), &mut report, took, now);
        }
    };
    watchdog::arm(started, config.limits.deadline.0, Box::new(on_fire));
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
    let mut filter = format!("scaler={level}");
    // `run --every` logs each pass's start and exit status at info, shown by
    // default (with -q: only what went wrong).
    if matches!(&cli.command, Command::Run(args) if args.every.is_some()) && cli.verbose == 0 {
        let every = if cli.quiet { "warn" } else { "info" };
        filter.push_str(&format!(",scaler::every={every}"));
    }
    let env = env_logger::Env::default().default_filter_or(filter);
    let _ = env_logger::Builder::from_env(env)
        .format_timestamp_secs()
        .try_init();
}

/// Whether the command decides without acting (`plan`, `run`/`cleanup --dry-run`).
fn is_dry_run(command: &Command) -> bool {
    match command {
        Command::Run(args) => args.dry_run,
        Command::Cleanup(args) => args.dry_run,
        Command::Plan(_) | Command::Status(_) => true,
        _ => false,
    }
}

fn command_name(command: &Command) -> &'static str {
    match command {
        Command::Run(_) => "run",
        Command::Plan(_) => "plan",
        Command::Cleanup(_) => "cleanup",
        Command::Status(_) => status::NAME,
        Command::Check(_) => "check",
        Command::Config(_) => import::NAME,
        Command::Simulate(_) => "simulate",
        Command::Schedule(_) => suggest::NAME,
        Command::Trace(_) => "trace",
        Command::Reserve(_) => "reserve",
        Command::Resume => resume::NAME,
    }
}

/// Builds the configured provider (resolving its credentials).
pub fn provider_for(config: &Config) -> Result<Box<dyn Provider>, Error> {
    Ok(match &config.provider {
        ProviderConfig::Local(local) => Box::new(provider::local::LocalProvider::new(
            &config.pool.name,
            local.clone(),
        )),
        ProviderConfig::OpenStack(openstack) => Box::new(
            provider::openstack::OpenStackProvider::new(&config.pool.name, (**openstack).clone())
                .map_err(|e| Error::Fault(e.context(config.path.display())))?,
        ),
        ProviderConfig::Ec2(ec2) => Box::new(
            provider::ec2::Ec2Provider::new(&config.pool.name, ec2.clone())
                .map_err(|e| Error::Fault(e.context(config.path.display())))?,
        ),
        ProviderConfig::Command(command) => Box::new(provider::command::CommandProvider::new(
            &config.pool.name,
            command.clone(),
        )),
    })
}

/// Adds the instance types whose vCPUs the provider reads at run time
/// (OpenStack `flavors`) to the configured ones, and checks the result.
pub fn add_provider_instance_types(
    config: &mut Config,
    provider: &mut dyn Provider,
) -> Result<(), Error> {
    let wanted = config.provider.runtime_instance_types().to_vec();
    if wanted.is_empty() {
        return Ok(());
    }
    let found = provider
        .provider_instance_types()
        .map_err(|e| Error::Unavailable(format!("provider: {e}")))?;
    if let Some(missing) = wanted.iter().find(|name| !found.contains_key(*name)) {
        return Err(Error::Config(format!(
            "{}: provider.flavors: the provider has no flavor named {missing:?}",
            config.path.display()
        )));
    }
    for (name, vcpus) in found {
        config.instance_types.entry(name).or_insert(vcpus);
    }
    config::check_instance_types(&config.instance_types, config.pool.min_type_vcpus())
        .map_err(|e| Error::Config(format!("{}: {e}", config.path.display())))
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
                .map_err(|e| Error::Fault(e.context(config.path.display())))?;
            Ok(Some(Box::new(source)))
        }
        PoolKind::Replicas => Ok(None),
        PoolKind::Media => {
            let media = config
                .media
                .as_ref()
                .ok_or_else(|| Error::Config("missing section [media]".into()))?;
            let source = pool::media::MediaSource::new(media, &config.pool.name)
                .map_err(|e| Error::Fault(e.context(config.path.display())))?;
            Ok(Some(Box::new(source)))
        }
    }
}

/// Builds the status prober when `[probe]` is configured (resolving its token).
pub fn prober_for(config: &Config) -> Result<Option<probe::Prober>, Error> {
    config
        .probe
        .as_ref()
        .map(|p| {
            probe::Prober::new(p, config.pool.kind == PoolKind::Replicas)
                .map_err(|e| Error::Fault(e.context(config.path.display())))
        })
        .transpose()
}

/// The pool's state file, read before a pass: it holds the scale-down clock
/// and the pending forgets, so a file that cannot be read or understood
/// stops the pass (exit 78) before anything is observed or changed.
fn pass_state(config: &Config) -> Result<state::State, Error> {
    let now = chrono::Utc::now();
    state::load(&config.state_path, &config.pool.name)
        .map(|s| s.unwrap_or_else(|| state::State::new(&config.pool.name, now)))
        .map_err(|e| Error::Config(e.to_string()))
}

/// Takes the pass lock, as a call the watchdog sees; a Redis lock is then
/// also released by the watchdog if it stops the pass.
fn take_lock(config: &Config) -> Result<lock::PassLock, Error> {
    let held = {
        let _call = watchdog::doing(lock::describe(&config.lock));
        lock::acquire(&config.lock)?
    };
    log::info!("pass lock acquired: {held:?}");
    if let Some(release) = held.releaser() {
        watchdog::on_fire(release);
    }
    Ok(held)
}

/// Saves since when a gateway pool has been above its target, for
/// `limits.scale_down_delay` (after a full pass that could act).
fn remember_above_target(config: &Config, report: &mut Report, now: chrono::DateTime<chrono::Utc>) {
    if config.pool.kind == PoolKind::Replicas || config.limits.scale_down_delay.0.is_zero() {
        return;
    }
    let since = report.above_target_since;
    if let Err(e) = state::update(&config.state_path, &config.pool.name, now, |s| {
        s.scale_down.above_target_since = since;
    }) {
        report
            .errors
            .push(format!("state: {e} (limits.scale_down_delay restarts)"));
    }
}

/// Saves the crash-loop memory a pass that could act leaves (instances
/// lost without registering, the suspension of creation), when it changed.
/// A pass that decided nothing (it stopped before) leaves it as it was.
fn remember_crash_loop(
    config: &Config,
    report: &mut Report,
    before: &crash_loop::CrashLoop,
    now: chrono::DateTime<chrono::Utc>,
) {
    let Some(after) = report.crash_loop.clone().filter(|after| after != before) else {
        return;
    };
    if let Err(e) = state::update(&config.state_path, &config.pool.name, now, |s| {
        s.crash_loop = after;
    }) {
        report.errors.push(format!(
            "state: {e} (the crash-loop count and suspension of creation are not kept)"
        ));
    }
}

/// The bookings in force at `at` (store and calendar), and the decision's
/// input built from them and the state's windows.
fn pass_reservations(
    config: &Config,
    state: &state::State,
    at: chrono::DateTime<chrono::Utc>,
) -> (reserve::ForPass, decision::Reservations) {
    let loaded = reserve::for_pass(config, state, at);
    let reservations = decision::Reservations {
        in_force: loaded.bookings.clone(),
        busy_at_open: state
            .reservations
            .open
            .iter()
            .map(|(key, w)| (key.clone(), w.busy_at_open))
            .collect(),
    };
    (loaded, reservations)
}

/// The reservations of a pass into its report (a store or calendar that
/// could not be read: exit 3) and, after a full pass that could act, the
/// windows in force with their busy count at opening into the state file.
fn after_reservations(config: &Config, report: &mut Report, loaded: reserve::ForPass, save: bool) {
    report.notes.extend(loaded.notes);
    let ok = [Exit::Ok.code(), Exit::Changes.code()];
    if loaded.degraded && ok.contains(&report.exit_code) {
        report.exit_code = Exit::Partial.code();
    }
    let open: std::collections::BTreeMap<String, state::OpenWindow> = loaded
        .bookings
        .iter()
        .filter_map(|b| {
            let busy_at_open = *report.busy_at_open.get(&b.key())?;
            let window = state::OpenWindow {
                booking: b.clone(),
                busy_at_open,
            };
            Some((b.key(), window))
        })
        .collect();
    report.reservations = (!loaded.bookings.is_empty()).then_some(loaded.bookings);
    if !save || (open.is_empty() && !loaded.had_open) {
        return;
    }
    let now = chrono::Utc::now();
    if let Err(e) = state::update(&config.state_path, &config.pool.name, now, |s| {
        s.reservations.open = open;
    }) {
        report.errors.push(format!(
            "state: {e} (the reservation windows' busy count at opening is not kept)"
        ));
    }
}

/// The provider and the gateway source of a pass.
type Backends = (Box<dyn Provider>, Option<Box<dyn GatewaySource>>);

/// Builds the provider (adding its runtime instance types to the
/// configuration for a full pass) and the gateway source, both seen by the
/// watchdog.
fn watched_backends(config: &mut Config, steps: Steps) -> Result<Backends, Error> {
    let label = watched::provider_label(&config.provider);
    let mut provider: Box<dyn Provider> =
        Box::new(watched::WatchedProvider::new(provider_for(config)?, label));
    if steps == Steps::Full {
        add_provider_instance_types(config, provider.as_mut())?;
    }
    let source = source_for(config)?
        .map(|s| Box::new(watched::WatchedSource::new(s)) as Box<dyn GatewaySource>);
    Ok((provider, source))
}

fn dispatch(cli: &Cli) -> Result<Report, Error> {
    // `simulate` loads the configuration itself (and needs none to generate a trace).
    let show = progress::Show::for_stderr(cli.quiet);
    if let Command::Simulate(args) = &cli.command {
        return simulate::command(args, &cli.config, show);
    }
    // They make a TOML file (in the report); `schedule suggest` loads the configuration itself.
    if let Command::Config(command) = &cli.command {
        return import::command(command);
    }
    if let Command::Schedule(command) = &cli.command {
        return suggest::command(command, &cli.config, show);
    }
    let started = std::time::Instant::now();
    let config = config::load(&cli.config)?;
    let now = chrono::Utc::now();
    arm_watchdog(cli, &config, started);
    let (steps, dry_run, at, busy, detailed) = match &cli.command {
        Command::Check(args) => {
            return Ok(check::run(
                &config,
                args.offline,
                cli.metrics_file.as_deref(),
            ));
        }
        // Handled above (config, schedule) or in `main` (trace: a CSV, not a report).
        Command::Config(_) | Command::Schedule(_) | Command::Trace(_) => {
            return Ok(Report::new(command_name(&cli.command)));
        }
        Command::Reserve(command) => return reserve::command(command, &config),
        Command::Resume => return resume::command(&config),
        Command::Run(args) => (Steps::Full, args.dry_run, None, None, false),
        Command::Plan(args) => (
            Steps::Full,
            true,
            args.at,
            args.busy,
            args.detailed_exitcode,
        ),
        Command::Cleanup(args) => (Steps::CleanupOnly, args.dry_run, None, None, false),
        // The same observation and decision as `plan`, mapped onto the instances.
        Command::Status(_) => (Steps::Full, true, None, None, false),
        // Handled above, before the configuration is loaded.
        Command::Simulate(args) => return simulate::command(args, &cli.config, show),
    };
    let shape = PassShape {
        steps,
        dry_run,
        at,
        busy,
        detailed,
    };
    let outcome = pass_command(cli, config, started, now, shape)?;
    Ok(match &cli.command {
        Command::Status(_) => status::report(outcome),
        _ => outcome.report,
    })
}

/// What `run`, `plan` or `cleanup` asks of a pass.
struct PassShape {
    steps: Steps,
    dry_run: bool,
    at: Option<At>,
    busy: Option<u32>,
    detailed: bool,
}

/// Takes the lock, builds the backends and the state, runs one pass and
/// keeps what it leaves for the next (reservations, the scale-down clock,
/// metrics). A dry run (`plan`, `status`, `--dry-run`) takes no lock.
fn pass_command(
    cli: &Cli,
    mut config: Config,
    started: std::time::Instant,
    now: chrono::DateTime<chrono::Utc>,
    shape: PassShape,
) -> Result<pass::Outcome, Error> {
    let PassShape {
        steps,
        dry_run,
        at,
        busy,
        detailed,
    } = shape;
    let at = match at {
        None => now,
        Some(At::Instant(instant)) => instant,
        Some(At::Today(time)) => config.schedule.today_at(now, time),
    };
    let _lock = if dry_run {
        None
    } else {
        // Before anything is written: files this user cannot use are a configuration error.
        paths::check(&config, cli.metrics_file.as_deref())?;
        Some(take_lock(&config)?)
    };
    let (mut provider, mut source) = watched_backends(&mut config, steps)?;
    let state = pass_state(&config)?;
    let (loaded, reservations) = pass_reservations(&config, &state, at);
    let options = PassOptions {
        command: command_name(&cli.command),
        steps,
        dry_run,
        now,
        at,
        busy_override: busy,
        deadline: started + config.limits.deadline.0,
        above_target_since: (!config.limits.scale_down_delay.0.is_zero())
            .then_some(state.scale_down.above_target_since)
            .flatten(),
        pending_forgets: state.pending_forgets,
        reservations,
        crash_loop: state.crash_loop.clone(),
    };
    let prober = prober_for(&config)?;
    let mut outcome = pass::run(
        &config,
        provider.as_mut(),
        source.as_deref_mut(),
        prober.as_ref(),
        &options,
    );
    let report = &mut outcome.report;
    if detailed && report.exit_code == 0 && !report.actions.is_empty() {
        report.exit_code = Exit::Changes.code();
    }
    after_reservations(&config, report, loaded, !dry_run && steps == Steps::Full);
    if !dry_run && steps == Steps::Full {
        remember_above_target(&config, report, now);
    }
    if !dry_run {
        remember_crash_loop(&config, report, &state.crash_loop, now);
        let flag = cli.metrics_file.as_deref();
        metrics::after_pass(&config, flag, report, started.elapsed(), chrono::Utc::now());
    }
    Ok(outcome)
}
