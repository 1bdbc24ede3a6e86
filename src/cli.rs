//! The command line, as clap derive types: every command's arguments, flags,
//! help text and the `SCALER_CONFIG` fallback. The man page and shell
//! completions are rendered from these same definitions. The commands depend
//! on these types, never the other way round: the only modules of ours used
//! here are leaves: `duration`, which parses `--boot-delay`-style values,
//! and `exit`, whose table the help shows.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

/// Keeps a pool of SIP/WebRTC media gateway VMs at the right size.
#[derive(Debug, Parser)]
#[command(
    name = "scaler",
    version,
    about = "Keeps a pool of SIP/WebRTC media gateway VMs at the right size",
    long_about = "Keeps a pool of SIP/WebRTC media gateway VMs at the right size. Cron runs `scaler run` \
                  every minute: each pass loads the configuration, lists the pool's instances at the \
                  provider, observes the gateways, cleans up, computes the load against the current \
                  time slot, scales up or drains and scales down, prints a report and exits with a \
                  documented status.",
    after_help = crate::exit::help_table()
)]
pub struct Cli {
    /// Configuration file
    #[arg(
        short = 'c',
        long,
        global = true,
        env = "SCALER_CONFIG",
        default_value = "/etc/scaler/scaler.toml",
        value_name = "PATH"
    )]
    pub config: PathBuf,

    /// Report format on stdout
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Print nothing unless something changed or failed (and draw no progress on stderr)
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// After `run` and `cleanup`, write node_exporter textfile metrics here (overrides [metrics] textfile)
    #[arg(long, global = true, value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Short human text (one line when nothing changed)
    Text,
    /// One JSON object (schema_version 1)
    Json,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one full pass: observe, clean up, scale (what cron calls)
    Run(RunArgs),
    /// Show what a pass would do, changing nothing
    Plan(PlanArgs),
    /// Only destroy what must go (to_stop, error, no public IP, never registered)
    Cleanup(CleanupArgs),
    /// One line per pool instance and what the next pass would do to it; changes nothing
    #[command(
        long_about = "One line per pool instance and what the next pass would do to it; changes \
                      nothing. It observes and decides exactly as `plan` (the same code), then prints \
                      one row per instance, sorted by name: ID, NAME, TYPE, VCPUS, STATE (building, \
                      active, error), AGE, PRIVATE and PUBLIC addresses (- when absent), REG/BUSY/DRAIN \
                      (its gateways registered, busy and draining; replica pools show CAPACITY/USED \
                      instead: the capacity its probe reported and replica_capacity minus it), \
                      PROTECTED, and NEXT: what the next pass would do to it (destroy: REASON, drain: \
                      REASON, keep, keep: protected). A summary line follows, then the decision, errors \
                      and notes. With --format json: the report of `plan` plus an `instances` array. It \
                      takes no lock, so it never waits for a running pass nor holds one back; exit \
                      statuses as `plan`."
    )]
    Status(StatusArgs),
    /// Validate the configuration and try every connection; changes nothing
    Check(CheckArgs),
    /// Configuration tools: `config import scaler.json` converts a SIPMediaGW configuration
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Replay a call trace through the planner with a simulated provider; measure service and cost
    Simulate(SimulateArgs),
    /// Schedule tools: `schedule suggest --trace calls.csv` learns a [schedule] from call history
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// Call traces: `trace export` writes the calls of Kamailio's `acc` table as the CSV simulate reads
    #[command(subcommand)]
    Trace(TraceCommand),
    /// Book capacity ahead for scheduled meetings: `reserve add`, `reserve list`, `reserve remove`
    #[command(subcommand)]
    Reserve(ReserveCommand),
    /// Lift the suspension of creation a crash loop caused (instances lost in a row without registering)
    #[command(
        after_help = "After limits.crash_loop_after instances in a row are lost without registering \
                      (unregistered, or no_public_ip and error_state while booting before any registration), passes \
                      create nothing for limits.crash_loop_backoff (doubling up to \
                      limits.crash_loop_backoff_max after each trial instance lost too) and exit 3. \
                      Fix the image, then `scaler resume` clears the suspension and the count in the \
                      state file, under the pass lock (waiting up to 10 s for a running pass, then \
                      exit 75), and says what it cleared; with nothing to clear it changes nothing and \
                      exits 0. The first registration from a new instance clears it too."
    )]
    Resume,
}

/// `reserve` subcommands.
#[derive(Debug, Subcommand)]
pub enum ReserveCommand {
    /// Book N gateways from START − [reservations] lead until END
    Add(ReserveAddArgs),
    /// List the bookings: those of `reserve add` and the calendar's (its last good copy)
    List,
    /// Remove a booking made with `reserve add`
    Remove(ReserveRemoveArgs),
}

/// `reserve add` flags.
#[derive(Debug, Args)]
#[command(
    after_help = "From START − lead (default 5 minutes) until END, the target is at least the busy \
                  count when the window opened + idle_min + N, within max_gateways and pool.max_vcpus; \
                  overlapping bookings add their N. TIME is RFC 3339 or YYYY-MM-DDTHH:MM in the \
                  schedule's timezone (a time a DST change skips is an error; one it repeats is the \
                  earlier). Bookings are kept in the state file, or in the MySQL table / Redis key of a \
                  shared [lock]. A write waits up to 10 s for a running pass's lock, then exits 75. Bad \
                  input (END not after START, N below 1, a name already booked without --replace) exits 64."
)]
pub struct ReserveAddArgs {
    /// The booking's name (letters, digits, '-', '_', '.', '@')
    #[arg(value_name = "NAME")]
    pub name: String,
    /// When the meeting starts (RFC 3339, or YYYY-MM-DDTHH:MM in the schedule's timezone)
    #[arg(long, value_name = "TIME")]
    pub start: String,
    /// When it ends
    #[arg(long, value_name = "TIME")]
    pub end: String,
    /// Gateways to book (at least 1)
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub gateways: i64,
    /// Free text shown with the booking
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
    /// Replace a booking of the same name
    #[arg(long)]
    pub replace: bool,
}

/// `reserve remove` flags.
#[derive(Debug, Args)]
pub struct ReserveRemoveArgs {
    /// The booking's name
    #[arg(value_name = "NAME")]
    pub name: String,
}

/// `trace` subcommands.
#[derive(Debug, Subcommand)]
pub enum TraceCommand {
    /// Write the calls of Kamailio's `acc` table as a CSV trace (`start,end,callid`, UTC)
    Export(TraceExportArgs),
}

/// `trace export` flags.
#[derive(Debug, Args)]
#[command(
    after_help = "A call is an INVITE row with a 2xx sip_code and the BYE rows of the same callid: it \
                  starts at its first such INVITE (re-INVITEs and repeated rows count once) and ends \
                  at its last BYE. Calls without a BYE (still running, or the BYE was lost) and BYEs \
                  without an INVITE are left out and counted on stderr. Rows are streamed in callid \
                  order; every connection, read and write is bounded by --timeout. Without --db, the \
                  configuration's [sip] url, password and timeouts are used. Exit 69 when the \
                  database cannot be reached, 78 when it has no acc table or [sip] is missing."
)]
pub struct TraceExportArgs {
    /// Kamailio's database, mysql://user@host:port/database (default: the configuration's [sip] url)
    #[arg(long, value_name = "URL")]
    pub db: Option<String>,
    /// With --db: the environment variable holding the database password
    #[arg(
        long,
        value_name = "VAR",
        requires = "db",
        conflicts_with = "password_file"
    )]
    pub password_env: Option<String>,
    /// With --db: a file holding the database password (trailing newline removed)
    #[arg(long, value_name = "PATH", requires = "db")]
    pub password_file: Option<PathBuf>,
    /// Only calls whose first INVITE is at or after TIME (RFC 3339)
    #[arg(long, value_name = "TIME", value_parser = parse_instant)]
    pub from: Option<DateTime<Utc>>,
    /// Only calls whose first INVITE is before TIME (RFC 3339); with bounds, calls over a day count as without BYE
    #[arg(long, value_name = "TIME", value_parser = parse_instant)]
    pub to: Option<DateTime<Utc>>,
    /// The zone acc.time was written in, set as the session's time_zone (+01:00, or a name when the server has its timezone tables); default: the server's
    #[arg(long, value_name = "ZONE")]
    pub db_time_zone: Option<String>,
    /// Bound of the connection and of each read and write (the wait for the first row included)
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = crate::duration::parse)]
    pub timeout: std::time::Duration,
    /// Write the CSV to FILE (complete or not at all) instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `run` flags.
#[derive(Debug, Args)]
#[command(
    after_help = "Without --every: one pass, then exit with its status (cron, systemd timers, Kubernetes \
                  CronJobs). With --every (containers): stay running and start a pass, as a child \
                  process `scaler run` with the same global flags, at each multiple of DURATION since \
                  the Unix epoch (1m: each minute boundary, UTC), never two at once; a tick that comes \
                  while a pass still runs is skipped and logged. Each pass's report goes to stdout, its \
                  exit status to the log and, with a metrics file, to `<file stem>-every.prom` beside \
                  it. SIGTERM or SIGINT: no new pass; exit 0 once the pass in flight has ended."
)]
pub struct RunArgs {
    /// Decide but change nothing (same as `plan`)
    #[arg(long)]
    pub dry_run: bool,
    /// Stay running: a pass at each multiple of DURATION (1s to 1d, whole seconds), e.g. 1m
    #[arg(long, value_name = "DURATION", value_parser = parse_every)]
    pub every: Option<Duration>,
}

/// The shortest and longest `--every`.
pub const EVERY_RANGE: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(86_400));

fn parse_every(text: &str) -> Result<Duration, String> {
    let every = crate::duration::parse(text)?;
    let (shortest, longest) = EVERY_RANGE;
    if every < shortest || every > longest || every.subsec_nanos() != 0 {
        return Err("expected a whole number of seconds from 1s to 1d, such as 1m".to_string());
    }
    Ok(every)
}

/// `plan` flags.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Accepted for symmetry with `run`; `plan` never changes anything
    #[arg(long)]
    pub dry_run: bool,
    /// Evaluate the schedule at HH:MM[:SS] today (schedule timezone) or at an RFC 3339 date-time
    #[arg(long, value_name = "TIME", value_parser = parse_at)]
    pub at: Option<At>,
    /// What-if: decide on N busy gateways instead of the observed count (the report's what_if; observed stays as observed)
    #[arg(long, value_name = "N")]
    pub busy: Option<u32>,
    /// Exit 2 when the plan has changes, 0 when it has none
    #[arg(long)]
    pub detailed_exitcode: bool,
}

/// `cleanup` flags.
#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// Show what would be destroyed, changing nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// `status` flags (none: it takes the global ones).
#[derive(Debug, Args)]
pub struct StatusArgs {}

/// `check` flags.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Validate the configuration only; connect to nothing
    #[arg(long)]
    pub offline: bool,
}

/// `simulate` flags (DESIGN.md "Simulator").
#[derive(Debug, Args)]
#[command(
    after_help = "Calls shorter than one minute are dropped; a call takes one idle gateway; with none \
                  idle it is rejected and retried 60 s later, at most twice, then counted missed. \
                  The configuration's schedule, cpu_per_gateway and instance types are used; its \
                  provider and database are not. A call ending up to 60 s before it starts (two \
                  clocks) reads as zero-length; a repeated line counts once. A bad or missing trace, \
                  or a replay longer than 31 days, exits 64. When stderr is a terminal, a bar there shows \
                  the simulated minutes, erased before the report; with -q, or off a terminal, nothing \
                  is drawn."
)]
pub struct SimulateArgs {
    /// The call trace: CSV lines `start,end` in RFC 3339 with offset (optional header)
    #[arg(
        long,
        value_name = "FILE.csv",
        required_unless_present = "generate_trace"
    )]
    pub trace: Option<PathBuf>,
    /// Start of the replay (RFC 3339); default: local midnight of the first call's day
    #[arg(long, value_name = "TIME", value_parser = parse_instant, conflicts_with = "generate_trace")]
    pub from: Option<DateTime<Utc>>,
    /// End of the replay (RFC 3339); default: when the last call ends
    #[arg(long, value_name = "TIME", value_parser = parse_instant, conflicts_with = "generate_trace")]
    pub to: Option<DateTime<Utc>>,
    /// Time from an instance's creation to its registered gateways
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = crate::duration::parse)]
    pub boot_delay: std::time::Duration,
    /// Upper bound of a uniform random delay added to --boot-delay, per instance
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = crate::duration::parse)]
    pub boot_jitter: std::time::Duration,
    /// Random seed (boot jitter, generated trace): the same seed gives the same result
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,
    /// Price of one vCPU-hour, for `cost` (default 1: cost in vCPU-hours)
    #[arg(long, value_name = "PRICE", default_value_t = 1.0)]
    pub vcpu_hour_price: f64,
    /// Also draw calls, gateways, max_gateways, rejected and missed over time, and the cumulative cost, as SVG
    #[arg(long, value_name = "FILE.svg", conflicts_with = "generate_trace")]
    pub svg: Option<PathBuf>,
    /// Leave out unparsable trace lines when they are at most 1 % of the lines (named in the notes)
    #[arg(long, conflicts_with = "generate_trace")]
    pub skip_bad_lines: bool,
    /// Instead of replaying: write a synthetic working-day trace to FILE (its shape drawn from --seed)
    #[arg(long, value_name = "FILE", conflicts_with = "trace", requires = "date")]
    pub generate_trace: Option<PathBuf>,
    /// --generate-trace: the local date of the day (YYYY-MM-DD)
    #[arg(long, value_name = "DATE", value_parser = parse_date, requires = "generate_trace")]
    pub date: Option<NaiveDate>,
    /// --generate-trace: a typical day's calls (each seed's day has its own volume, within ±30 %)
    #[arg(long, value_name = "N", default_value_t = 3500)]
    pub calls: u32,
    /// Bookings to replay: the JSON of `scaler reserve list --format json`, or an iCalendar file (.ics)
    #[arg(long, value_name = "FILE", conflicts_with = "generate_trace")]
    pub reservations: Option<PathBuf>,
    /// --generate-trace: the timezone of the day's wall-clock shape (IANA name)
    #[arg(long, value_name = "TZ", default_value = "UTC", value_parser = parse_timezone)]
    pub timezone: chrono_tz::Tz,
}

/// `scaler config ...`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Convert a SIPMediaGW scaler.json or a SimpleScaleVM .env to scaler's TOML; secrets are never copied
    Import(ImportArgs),
}

/// The tools `config import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportFrom {
    /// SIPMediaGW's scaler.json
    Sipmediagw,
    /// SimpleScaleVM's .env (a replicas pool on openstack)
    Simplescalevm,
}

/// The pool kinds a SIPMediaGW file can describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportKind {
    /// Load from Kamailio's database (sip_db)
    Sip,
    /// Load from Redis (redis)
    Media,
}

/// `config import` flags.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The configuration to convert: SIPMediaGW's scaler.json or SimpleScaleVM's .env
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The tool FILE comes from (default: detected, a .env naming REPLICA_ or OPENSTACK_ variables is SimpleScaleVM's)
    #[arg(long, value_enum)]
    pub from: Option<ImportFrom>,
    /// Write the TOML to FILE instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace FILE if it exists
    #[arg(long, requires = "output")]
    pub force: bool,
    /// pool.name (default: derived from gw_name_prefix)
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// pool.kind (default: sip when the file has sip_db, else media when it has redis)
    #[arg(long, value_enum)]
    pub kind: Option<ImportKind>,
    /// schedule.timezone, an IANA name (default: the host's, from TZ, /etc/timezone or /etc/localtime, since SIPMediaGW used local time)
    #[arg(long, value_name = "TZ")]
    pub timezone: Option<String>,
    /// max_gateways for slots without maxGw (older files had no cap); max_replicas for SimpleScaleVM
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub max_gateways: u32,
}

/// `scaler schedule ...`.
#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Learn a [schedule] from call traces: searches idle_min per slot, checking each candidate with the simulator
    Suggest(SuggestArgs),
}

/// `schedule suggest` flags.
#[derive(Debug, Args)]
#[command(
    after_help = "Prints a [schedule] section (TOML) on stdout, one comment per slot saying the value \
                  chosen and the burst of arrivals that drove it. Traces are CSV `start,end` as for \
                  `simulate`; they are split into local days. The configuration gives the timezone, \
                  cpu_per_gateway, instance types and scale-down delay. Same inputs and seed, same output. \
                  When stderr is a terminal, a spinner there counts the days replayed, erased before the \
                  output; with -q, or off a terminal, nothing is drawn."
)]
pub struct SuggestArgs {
    /// A call trace (CSV `start,end`, RFC 3339); repeat for several files
    #[arg(long, value_name = "FILE.csv", required = true)]
    pub trace: Vec<PathBuf>,
    /// Slot length (divides a day): 15m, 30m, 1h ...
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = crate::duration::parse)]
    pub granularity: Duration,
    /// Calls missed allowed, summed over all days of the traces
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub max_missed: u64,
    /// Rejected attempts allowed (retried ones included), summed over all days; default: any
    #[arg(long, value_name = "N")]
    pub max_rejected: Option<u64>,
    /// Time from an instance's creation to its registered gateways (as `simulate`)
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = crate::duration::parse)]
    pub boot_delay: Duration,
    /// Upper bound of a uniform random delay added to --boot-delay (as `simulate`)
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = crate::duration::parse)]
    pub boot_jitter: Duration,
    /// Seed of the simulated boot jitter: the same seed gives the same schedule
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,
    /// Safety margin for unseen days: idle_min = ceil(searched × (1 + MARGIN))
    /// on the schedule searched per slot (idle_min, then load_max), load_max
    /// as searched; default: the headroom that leave-one-day-out validation
    /// finds cheapest among those serving the held-out days
    #[arg(long, value_name = "MARGIN")]
    pub margin: Option<f64>,
}

/// The margins leave-one-day-out validation tries, smallest first (README
/// "Suggesting a schedule").
pub const MARGINS: [f64; 9] = [0.0, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0];
fn parse_instant(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| "expected an RFC 3339 date-time such as 2026-11-23T08:00:00+01:00".to_string())
}

fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| "expected a date such as 2026-11-23".to_string())
}

fn parse_timezone(text: &str) -> Result<chrono_tz::Tz, String> {
    text.parse().map_err(|_| {
        format!("unknown timezone {text:?} (expected an IANA name such as Europe/Paris)")
    })
}

/// A `--at` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// A wall-clock time today, in the schedule's timezone.
    Today(NaiveTime),
    /// An exact instant.
    Instant(DateTime<Utc>),
}

fn parse_at(text: &str) -> Result<At, String> {
    if let Ok(t) = NaiveTime::parse_from_str(text, "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(text, "%H:%M"))
    {
        return Ok(At::Today(t));
    }
    DateTime::parse_from_rfc3339(text)
        .map(|d| At::Instant(d.with_timezone(&Utc)))
        .map_err(|_| {
            "expected HH:MM, HH:MM:SS or an RFC 3339 date-time such as 2026-11-23T08:00:00+01:00"
                .to_string()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn at_accepts_times_and_instants() {
        assert_eq!(
            parse_at("07:30"),
            Ok(At::Today(NaiveTime::from_hms_opt(7, 30, 0).unwrap()))
        );
        assert!(matches!(
            parse_at("2026-11-23T08:00:00+01:00"),
            Ok(At::Instant(_))
        ));
        assert!(parse_at("25:00").is_err());
    }

    #[test]
    fn every_takes_whole_seconds_from_one_second_to_one_day() {
        assert_eq!(parse_every("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_every("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_every("1d"), Ok(Duration::from_secs(86_400)));
        for bad in ["0s", "500ms", "1500ms", "2d", "soon"] {
            assert!(parse_every(bad).is_err(), "{bad}");
        }
    }
}
