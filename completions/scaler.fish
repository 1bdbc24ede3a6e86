# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_scaler_global_optspecs
    string join \n c/config= format= v/verbose q/quiet metrics-file= h/help V/version
end

function __fish_scaler_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_scaler_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_scaler_using_subcommand
    set -l cmd (__fish_scaler_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c scaler -n "__fish_scaler_needs_command" -s c -l config -d 'Configuration file' -r -F
complete -c scaler -n "__fish_scaler_needs_command" -l format -d 'Report format on stdout' -r -f -a "text\t'Short human text (one line when nothing changed)'
json\t'One JSON object (schema_version 1)'"
complete -c scaler -n "__fish_scaler_needs_command" -l metrics-file -d 'After `run` and `cleanup`, write node_exporter textfile metrics here (overrides [metrics] textfile)' -r -F
complete -c scaler -n "__fish_scaler_needs_command" -s v -l verbose -d 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c scaler -n "__fish_scaler_needs_command" -s q -l quiet -d 'Print nothing unless something changed or failed (and draw no progress on stderr)'
complete -c scaler -n "__fish_scaler_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c scaler -n "__fish_scaler_needs_command" -s V -l version -d 'Print version'
complete -c scaler -n "__fish_scaler_needs_command" -f -a "run" -d 'Run one full pass: observe, clean up, scale (what cron calls)'
complete -c scaler -n "__fish_scaler_needs_command" -f -a "plan" -d 'Show what a pass would do, changing nothing'
complete -c scaler -n "__fish_scaler_needs_command" -f -a "cleanup" -d 'Only destroy what must go (to_stop, error, no public IP, never registered)'
complete -c scaler -n "__fish_scaler_needs_command" -f -a "status" -d 'One line per pool instance and what the next pass would do to it; changes nothing'
complete -c scaler -n "__fish_scaler_needs_command" -f -a "check" -d 'Validate the configuration and try every connection; changes nothing'
complete -c scaler -n "__fish_scaler_needs_command" -f -a "config" -d 'Configuration tools: `config import scaler.json` converts a SIPMediaGW configuration'
complete -c scaler -n "__fish_scaler_needs_command" -f -a "simulate" -d 'Replay a call trace through the planner with a simulated provider; measure service and cost'
complete -c scaler -n "__fish_scaler_needs_command" -f -a "schedule" -d 'Schedule tools: `schedule suggest --trace calls.csv` learns a [schedule] from call history'
complete -c scaler -n "__fish_scaler_needs_command" -f -a "trace" -d 'Call traces: `trace export` writes the calls of Kamailio\'s `acc` table as the CSV simulate reads'
complete -c scaler -n "__fish_scaler_needs_command" -f -a "reserve" -d 'Book capacity ahead for scheduled meetings: `reserve add`, `reserve list`, `reserve remove`'
complete -c scaler -n "__fish_scaler_needs_command" -f -a "resume" -d 'Lift the suspension of creation a crash loop caused (instances lost in a row without registering)'
complete -c scaler -n "__fish_scaler_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c scaler -n "__fish_scaler_using_subcommand run" -l every -d 'Stay running: a pass at each multiple of DURATION (1s to 1d, whole seconds), e.g. 1m' -r
complete -c scaler -n "__fish_scaler_using_subcommand run" -s c -l config -d 'Configuration file' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand run" -l format -d 'Report format on stdout' -r -f -a "text\t'Short human text (one line when nothing changed)'
json\t'One JSON object (schema_version 1)'"
complete -c scaler -n "__fish_scaler_using_subcommand run" -l metrics-file -d 'After `run` and `cleanup`, write node_exporter textfile metrics here (overrides [metrics] textfile)' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand run" -l dry-run -d 'Decide but change nothing (same as `plan`)'
complete -c scaler -n "__fish_scaler_using_subcommand run" -s v -l verbose -d 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c scaler -n "__fish_scaler_using_subcommand run" -s q -l quiet -d 'Print nothing unless something changed or failed (and draw no progress on stderr)'
complete -c scaler -n "__fish_scaler_using_subcommand run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c scaler -n "__fish_scaler_using_subcommand plan" -l at -d 'Evaluate the schedule at HH:MM[:SS] today (schedule timezone) or at an RFC 3339 date-time' -r
complete -c scaler -n "__fish_scaler_using_subcommand plan" -l busy -d 'What-if: decide on N busy gateways instead of the observed count (the report\'s what_if; observed stays as observed)' -r
complete -c scaler -n "__fish_scaler_using_subcommand plan" -s c -l config -d 'Configuration file' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand plan" -l format -d 'Report format on stdout' -r -f -a "text\t'Short human text (one line when nothing changed)'
json\t'One JSON object (schema_version 1)'"
complete -c scaler -n "__fish_scaler_using_subcommand plan" -l metrics-file -d 'After `run` and `cleanup`, write node_exporter textfile metrics here (overrides [metrics] textfile)' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand plan" -l dry-run -d 'Accepted for symmetry with `run`; `plan` never changes anything'
complete -c scaler -n "__fish_scaler_using_subcommand plan" -l detailed-exitcode -d 'Exit 2 when the plan has changes, 0 when it has none'
complete -c scaler -n "__fish_scaler_using_subcommand plan" -s v -l verbose -d 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c scaler -n "__fish_scaler_using_subcommand plan" -s q -l quiet -d 'Print nothing unless something changed or failed (and draw no progress on stderr)'
complete -c scaler -n "__fish_scaler_using_subcommand plan" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c scaler -n "__fish_scaler_using_subcommand cleanup" -s c -l config -d 'Configuration file' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand cleanup" -l format -d 'Report format on stdout' -r -f -a "text\t'Short human text (one line when nothing changed)'
json\t'One JSON object (schema_version 1)'"
complete -c scaler -n "__fish_scaler_using_subcommand cleanup" -l metrics-file -d 'After `run` and `cleanup`, write node_exporter textfile metrics here (overrides [metrics] textfile)' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand cleanup" -l dry-run -d 'Show what would be destroyed, changing nothing'
complete -c scaler -n "__fish_scaler_using_subcommand cleanup" -s v -l verbose -d 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c scaler -n "__fish_scaler_using_subcommand cleanup" -s q -l quiet -d 'Print nothing unless something changed or failed (and draw no progress on stderr)'
complete -c scaler -n "__fish_scaler_using_subcommand cleanup" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c scaler -n "__fish_scaler_using_subcommand status" -s c -l config -d 'Configuration file' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand status" -l format -d 'Report format on stdout' -r -f -a "text\t'Short human text (one line when nothing changed)'
json\t'One JSON object (schema_version 1)'"
complete -c scaler -n "__fish_scaler_using_subcommand status" -l metrics-file -d 'After `run` and `cleanup`, write node_exporter textfile metrics here (overrides [metrics] textfile)' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand status" -s v -l verbose -d 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c scaler -n "__fish_scaler_using_subcommand status" -s q -l quiet -d 'Print nothing unless something changed or failed (and draw no progress on stderr)'
complete -c scaler -n "__fish_scaler_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c scaler -n "__fish_scaler_using_subcommand check" -s c -l config -d 'Configuration file' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand check" -l format -d 'Report format on stdout' -r -f -a "text\t'Short human text (one line when nothing changed)'
json\t'One JSON object (schema_version 1)'"
complete -c scaler -n "__fish_scaler_using_subcommand check" -l metrics-file -d 'After `run` and `cleanup`, write node_exporter textfile metrics here (overrides [metrics] textfile)' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand check" -l offline -d 'Validate the configuration only; connect to nothing'
complete -c scaler -n "__fish_scaler_using_subcommand check" -s v -l verbose -d 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c scaler -n "__fish_scaler_using_subcommand check" -s q -l quiet -d 'Print nothing unless something changed or failed (and draw no progress on stderr)'
complete -c scaler -n "__fish_scaler_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c scaler -n "__fish_scaler_using_subcommand config; and not __fish_seen_subcommand_from import help" -s c -l config -d 'Configuration file' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand config; and not __fish_seen_subcommand_from import help" -l format -d 'Report format on stdout' -r -f -a "text\t'Short human text (one line when nothing changed)'
json\t'One JSON object (schema_version 1)'"
complete -c scaler -n "__fish_scaler_using_subcommand config; and not __fish_seen_subcommand_from import help" -l metrics-file -d 'After `run` and `cleanup`, write node_exporter textfile metrics here (overrides [metrics] textfile)' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand config; and not __fish_seen_subcommand_from import help" -s v -l verbose -d 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c scaler -n "__fish_scaler_using_subcommand config; and not __fish_seen_subcommand_from import help" -s q -l quiet -d 'Print nothing unless something changed or failed (and draw no progress on stderr)'
complete -c scaler -n "__fish_scaler_using_subcommand config; and not __fish_seen_subcommand_from import help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c scaler -n "__fish_scaler_using_subcommand config; and not __fish_seen_subcommand_from import help" -f -a "import" -d 'Convert a SIPMediaGW scaler.json or a SimpleScaleVM .env to scaler\'s TOML; secrets are never copied'
complete -c scaler -n "__fish_scaler_using_subcommand config; and not __fish_seen_subcommand_from import help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c scaler -n "__fish_scaler_using_subcommand config; and __fish_seen_subcommand_from import" -l from -d 'The tool FILE comes from (default: detected, a .env naming REPLICA_ or OPENSTACK_ variables is SimpleScaleVM\'s)' -r -f -a "sipmediagw\t'SIPMediaGW\'s scaler.json'
simplescalevm\t'SimpleScaleVM\'s .env (a replicas pool on openstack)'"
complete -c scaler -n "__fish_scaler_using_subcommand config; and __fish_seen_subcommand_from import" -s o -l output -d 'Write the TOML to FILE instead of stdout' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand config; and __fish_seen_subcommand_from import" -l name -d 'pool.name (default: derived from gw_name_prefix)' -r
complete -c scaler -n "__fish_scaler_using_subcommand config; and __fish_seen_subcommand_from import" -l kind -d 'pool.kind (default: sip when the file has sip_db, else media when it has redis)' -r -f -a "sip\t'Load from Kamailio\'s database (sip_db)'
media\t'Load from Redis (redis)'"
complete -c scaler -n "__fish_scaler_using_subcommand config; and __fish_seen_subcommand_from import" -l timezone -d 'schedule.timezone, an IANA name (default: the host\'s, from TZ, /etc/timezone or /etc/localtime, since SIPMediaGW used local time)' -r
complete -c scaler -n "__fish_scaler_using_subcommand config; and __fish_seen_subcommand_from import" -l max-gateways -d 'max_gateways for slots without maxGw (older files had no cap); max_replicas for SimpleScaleVM' -r
complete -c scaler -n "__fish_scaler_using_subcommand config; and __fish_seen_subcommand_from import" -s c -l config -d 'Configuration file' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand config; and __fish_seen_subcommand_from import" -l format -d 'Report format on stdout' -r -f -a "text\t'Short human text (one line when nothing changed)'
json\t'One JSON object (schema_version 1)'"
complete -c scaler -n "__fish_scaler_using_subcommand config; and __fish_seen_subcommand_from import" -l metrics-file -d 'After `run` and `cleanup`, write node_exporter textfile metrics here (overrides [metrics] textfile)' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand config; and __fish_seen_subcommand_from import" -l force -d 'Replace FILE if it exists'
complete -c scaler -n "__fish_scaler_using_subcommand config; and __fish_seen_subcommand_from import" -s v -l verbose -d 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c scaler -n "__fish_scaler_using_subcommand config; and __fish_seen_subcommand_from import" -s q -l quiet -d 'Print nothing unless something changed or failed (and draw no progress on stderr)'
complete -c scaler -n "__fish_scaler_using_subcommand config; and __fish_seen_subcommand_from import" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c scaler -n "__fish_scaler_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "import" -d 'Convert a SIPMediaGW scaler.json or a SimpleScaleVM .env to scaler\'s TOML; secrets are never copied'
complete -c scaler -n "__fish_scaler_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c scaler -n "__fish_scaler_using_subcommand simulate" -l trace -d 'The call trace: CSV lines `start,end` in RFC 3339 with offset (optional header)' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand simulate" -l from -d 'Start of the replay (RFC 3339); default: local midnight of the first call\'s day' -r
complete -c scaler -n "__fish_scaler_using_subcommand simulate" -l to -d 'End of the replay (RFC 3339); default: when the last call ends' -r
complete -c scaler -n "__fish_scaler_using_subcommand simulate" -l boot-delay -d 'Time from an instance\'s creation to its registered gateways' -r
complete -c scaler -n "__fish_scaler_using_subcommand simulate" -l boot-jitter -d 'Upper bound of a uniform random delay added to --boot-delay, per instance' -r
complete -c scaler -n "__fish_scaler_using_subcommand simulate" -l seed -d 'Random seed (boot jitter, generated trace): the same seed gives the same result' -r
complete -c scaler -n "__fish_scaler_using_subcommand simulate" -l vcpu-hour-price -d 'Price of one vCPU-hour, for `cost` (default 1: cost in vCPU-hours)' -r
complete -c scaler -n "__fish_scaler_using_subcommand simulate" -l svg -d 'Also draw calls, gateways, max_gateways, rejected and missed over time, and the cumulative cost, as SVG' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand simulate" -l generate-trace -d 'Instead of replaying: write a synthetic working-day trace to FILE (its shape drawn from --seed)' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand simulate" -l date -d '--generate-trace: the local date of the day (YYYY-MM-DD)' -r
complete -c scaler -n "__fish_scaler_using_subcommand simulate" -l calls -d '--generate-trace: a typical day\'s calls (each seed\'s day has its own volume, within ±30 %)' -r
complete -c scaler -n "__fish_scaler_using_subcommand simulate" -l reservations -d 'Bookings to replay: the JSON of `scaler reserve list --format json`, or an iCalendar file (.ics)' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand simulate" -l timezone -d '--generate-trace: the timezone of the day\'s wall-clock shape (IANA name)' -r
complete -c scaler -n "__fish_scaler_using_subcommand simulate" -s c -l config -d 'Configuration file' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand simulate" -l format -d 'Report format on stdout' -r -f -a "text\t'Short human text (one line when nothing changed)'
json\t'One JSON object (schema_version 1)'"
complete -c scaler -n "__fish_scaler_using_subcommand simulate" -l metrics-file -d 'After `run` and `cleanup`, write node_exporter textfile metrics here (overrides [metrics] textfile)' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand simulate" -l skip-bad-lines -d 'Leave out unparsable trace lines when they are at most 1 % of the lines (named in the notes)'
complete -c scaler -n "__fish_scaler_using_subcommand simulate" -s v -l verbose -d 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c scaler -n "__fish_scaler_using_subcommand simulate" -s q -l quiet -d 'Print nothing unless something changed or failed (and draw no progress on stderr)'
complete -c scaler -n "__fish_scaler_using_subcommand simulate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c scaler -n "__fish_scaler_using_subcommand schedule; and not __fish_seen_subcommand_from suggest help" -s c -l config -d 'Configuration file' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand schedule; and not __fish_seen_subcommand_from suggest help" -l format -d 'Report format on stdout' -r -f -a "text\t'Short human text (one line when nothing changed)'
json\t'One JSON object (schema_version 1)'"
complete -c scaler -n "__fish_scaler_using_subcommand schedule; and not __fish_seen_subcommand_from suggest help" -l metrics-file -d 'After `run` and `cleanup`, write node_exporter textfile metrics here (overrides [metrics] textfile)' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand schedule; and not __fish_seen_subcommand_from suggest help" -s v -l verbose -d 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c scaler -n "__fish_scaler_using_subcommand schedule; and not __fish_seen_subcommand_from suggest help" -s q -l quiet -d 'Print nothing unless something changed or failed (and draw no progress on stderr)'
complete -c scaler -n "__fish_scaler_using_subcommand schedule; and not __fish_seen_subcommand_from suggest help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c scaler -n "__fish_scaler_using_subcommand schedule; and not __fish_seen_subcommand_from suggest help" -f -a "suggest" -d 'Learn a [schedule] from call traces: searches idle_min per slot, checking each candidate with the simulator'
complete -c scaler -n "__fish_scaler_using_subcommand schedule; and not __fish_seen_subcommand_from suggest help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c scaler -n "__fish_scaler_using_subcommand schedule; and __fish_seen_subcommand_from suggest" -l trace -d 'A call trace (CSV `start,end`, RFC 3339); repeat for several files' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand schedule; and __fish_seen_subcommand_from suggest" -l granularity -d 'Slot length (divides a day): 15m, 30m, 1h ...' -r
complete -c scaler -n "__fish_scaler_using_subcommand schedule; and __fish_seen_subcommand_from suggest" -l max-missed -d 'Calls missed allowed, summed over all days of the traces' -r
complete -c scaler -n "__fish_scaler_using_subcommand schedule; and __fish_seen_subcommand_from suggest" -l max-rejected -d 'Rejected attempts allowed (retried ones included), summed over all days; default: any' -r
complete -c scaler -n "__fish_scaler_using_subcommand schedule; and __fish_seen_subcommand_from suggest" -l boot-delay -d 'Time from an instance\'s creation to its registered gateways (as `simulate`)' -r
complete -c scaler -n "__fish_scaler_using_subcommand schedule; and __fish_seen_subcommand_from suggest" -l boot-jitter -d 'Upper bound of a uniform random delay added to --boot-delay (as `simulate`)' -r
complete -c scaler -n "__fish_scaler_using_subcommand schedule; and __fish_seen_subcommand_from suggest" -l seed -d 'Seed of the simulated boot jitter: the same seed gives the same schedule' -r
complete -c scaler -n "__fish_scaler_using_subcommand schedule; and __fish_seen_subcommand_from suggest" -l margin -d 'Safety margin for unseen days: idle_min = ceil(searched × (1 + MARGIN)) on the schedule searched per slot (idle_min, then load_max), load_max as searched; default: the headroom that leave-one-day-out validation finds cheapest among those serving the held-out days' -r
complete -c scaler -n "__fish_scaler_using_subcommand schedule; and __fish_seen_subcommand_from suggest" -s c -l config -d 'Configuration file' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand schedule; and __fish_seen_subcommand_from suggest" -l format -d 'Report format on stdout' -r -f -a "text\t'Short human text (one line when nothing changed)'
json\t'One JSON object (schema_version 1)'"
complete -c scaler -n "__fish_scaler_using_subcommand schedule; and __fish_seen_subcommand_from suggest" -l metrics-file -d 'After `run` and `cleanup`, write node_exporter textfile metrics here (overrides [metrics] textfile)' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand schedule; and __fish_seen_subcommand_from suggest" -s v -l verbose -d 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c scaler -n "__fish_scaler_using_subcommand schedule; and __fish_seen_subcommand_from suggest" -s q -l quiet -d 'Print nothing unless something changed or failed (and draw no progress on stderr)'
complete -c scaler -n "__fish_scaler_using_subcommand schedule; and __fish_seen_subcommand_from suggest" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c scaler -n "__fish_scaler_using_subcommand schedule; and __fish_seen_subcommand_from help" -f -a "suggest" -d 'Learn a [schedule] from call traces: searches idle_min per slot, checking each candidate with the simulator'
complete -c scaler -n "__fish_scaler_using_subcommand schedule; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c scaler -n "__fish_scaler_using_subcommand trace; and not __fish_seen_subcommand_from export help" -s c -l config -d 'Configuration file' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand trace; and not __fish_seen_subcommand_from export help" -l format -d 'Report format on stdout' -r -f -a "text\t'Short human text (one line when nothing changed)'
json\t'One JSON object (schema_version 1)'"
complete -c scaler -n "__fish_scaler_using_subcommand trace; and not __fish_seen_subcommand_from export help" -l metrics-file -d 'After `run` and `cleanup`, write node_exporter textfile metrics here (overrides [metrics] textfile)' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand trace; and not __fish_seen_subcommand_from export help" -s v -l verbose -d 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c scaler -n "__fish_scaler_using_subcommand trace; and not __fish_seen_subcommand_from export help" -s q -l quiet -d 'Print nothing unless something changed or failed (and draw no progress on stderr)'
complete -c scaler -n "__fish_scaler_using_subcommand trace; and not __fish_seen_subcommand_from export help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c scaler -n "__fish_scaler_using_subcommand trace; and not __fish_seen_subcommand_from export help" -f -a "export" -d 'Write the calls of Kamailio\'s `acc` table as a CSV trace (`start,end,callid`, UTC)'
complete -c scaler -n "__fish_scaler_using_subcommand trace; and not __fish_seen_subcommand_from export help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c scaler -n "__fish_scaler_using_subcommand trace; and __fish_seen_subcommand_from export" -l db -d 'Kamailio\'s database, mysql://user@host:port/database (default: the configuration\'s [sip] url)' -r
complete -c scaler -n "__fish_scaler_using_subcommand trace; and __fish_seen_subcommand_from export" -l password-env -d 'With --db: the environment variable holding the database password' -r
complete -c scaler -n "__fish_scaler_using_subcommand trace; and __fish_seen_subcommand_from export" -l password-file -d 'With --db: a file holding the database password (trailing newline removed)' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand trace; and __fish_seen_subcommand_from export" -l from -d 'Only calls whose first INVITE is at or after TIME (RFC 3339)' -r
complete -c scaler -n "__fish_scaler_using_subcommand trace; and __fish_seen_subcommand_from export" -l to -d 'Only calls whose first INVITE is before TIME (RFC 3339); with bounds, calls over a day count as without BYE' -r
complete -c scaler -n "__fish_scaler_using_subcommand trace; and __fish_seen_subcommand_from export" -l db-time-zone -d 'The zone acc.time was written in, set as the session\'s time_zone (+01:00, or a name when the server has its timezone tables); default: the server\'s' -r
complete -c scaler -n "__fish_scaler_using_subcommand trace; and __fish_seen_subcommand_from export" -l timeout -d 'Bound of the connection and of each read and write (the wait for the first row included)' -r
complete -c scaler -n "__fish_scaler_using_subcommand trace; and __fish_seen_subcommand_from export" -s o -l output -d 'Write the CSV to FILE (complete or not at all) instead of stdout' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand trace; and __fish_seen_subcommand_from export" -s c -l config -d 'Configuration file' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand trace; and __fish_seen_subcommand_from export" -l format -d 'Report format on stdout' -r -f -a "text\t'Short human text (one line when nothing changed)'
json\t'One JSON object (schema_version 1)'"
complete -c scaler -n "__fish_scaler_using_subcommand trace; and __fish_seen_subcommand_from export" -l metrics-file -d 'After `run` and `cleanup`, write node_exporter textfile metrics here (overrides [metrics] textfile)' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand trace; and __fish_seen_subcommand_from export" -s v -l verbose -d 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c scaler -n "__fish_scaler_using_subcommand trace; and __fish_seen_subcommand_from export" -s q -l quiet -d 'Print nothing unless something changed or failed (and draw no progress on stderr)'
complete -c scaler -n "__fish_scaler_using_subcommand trace; and __fish_seen_subcommand_from export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c scaler -n "__fish_scaler_using_subcommand trace; and __fish_seen_subcommand_from help" -f -a "export" -d 'Write the calls of Kamailio\'s `acc` table as a CSV trace (`start,end,callid`, UTC)'
complete -c scaler -n "__fish_scaler_using_subcommand trace; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c scaler -n "__fish_scaler_using_subcommand reserve; and not __fish_seen_subcommand_from add list remove help" -s c -l config -d 'Configuration file' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand reserve; and not __fish_seen_subcommand_from add list remove help" -l format -d 'Report format on stdout' -r -f -a "text\t'Short human text (one line when nothing changed)'
json\t'One JSON object (schema_version 1)'"
complete -c scaler -n "__fish_scaler_using_subcommand reserve; and not __fish_seen_subcommand_from add list remove help" -l metrics-file -d 'After `run` and `cleanup`, write node_exporter textfile metrics here (overrides [metrics] textfile)' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand reserve; and not __fish_seen_subcommand_from add list remove help" -s v -l verbose -d 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c scaler -n "__fish_scaler_using_subcommand reserve; and not __fish_seen_subcommand_from add list remove help" -s q -l quiet -d 'Print nothing unless something changed or failed (and draw no progress on stderr)'
complete -c scaler -n "__fish_scaler_using_subcommand reserve; and not __fish_seen_subcommand_from add list remove help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c scaler -n "__fish_scaler_using_subcommand reserve; and not __fish_seen_subcommand_from add list remove help" -f -a "add" -d 'Book N gateways from START − [reservations] lead until END'
complete -c scaler -n "__fish_scaler_using_subcommand reserve; and not __fish_seen_subcommand_from add list remove help" -f -a "list" -d 'List the bookings: those of `reserve add` and the calendar\'s (its last good copy)'
complete -c scaler -n "__fish_scaler_using_subcommand reserve; and not __fish_seen_subcommand_from add list remove help" -f -a "remove" -d 'Remove a booking made with `reserve add`'
complete -c scaler -n "__fish_scaler_using_subcommand reserve; and not __fish_seen_subcommand_from add list remove help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c scaler -n "__fish_scaler_using_subcommand reserve; and __fish_seen_subcommand_from add" -l start -d 'When the meeting starts (RFC 3339, or YYYY-MM-DDTHH:MM in the schedule\'s timezone)' -r
complete -c scaler -n "__fish_scaler_using_subcommand reserve; and __fish_seen_subcommand_from add" -l end -d 'When it ends' -r
complete -c scaler -n "__fish_scaler_using_subcommand reserve; and __fish_seen_subcommand_from add" -l gateways -d 'Gateways to book (at least 1)' -r
complete -c scaler -n "__fish_scaler_using_subcommand reserve; and __fish_seen_subcommand_from add" -l note -d 'Free text shown with the booking' -r
complete -c scaler -n "__fish_scaler_using_subcommand reserve; and __fish_seen_subcommand_from add" -s c -l config -d 'Configuration file' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand reserve; and __fish_seen_subcommand_from add" -l format -d 'Report format on stdout' -r -f -a "text\t'Short human text (one line when nothing changed)'
json\t'One JSON object (schema_version 1)'"
complete -c scaler -n "__fish_scaler_using_subcommand reserve; and __fish_seen_subcommand_from add" -l metrics-file -d 'After `run` and `cleanup`, write node_exporter textfile metrics here (overrides [metrics] textfile)' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand reserve; and __fish_seen_subcommand_from add" -l replace -d 'Replace a booking of the same name'
complete -c scaler -n "__fish_scaler_using_subcommand reserve; and __fish_seen_subcommand_from add" -s v -l verbose -d 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c scaler -n "__fish_scaler_using_subcommand reserve; and __fish_seen_subcommand_from add" -s q -l quiet -d 'Print nothing unless something changed or failed (and draw no progress on stderr)'
complete -c scaler -n "__fish_scaler_using_subcommand reserve; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c scaler -n "__fish_scaler_using_subcommand reserve; and __fish_seen_subcommand_from list" -s c -l config -d 'Configuration file' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand reserve; and __fish_seen_subcommand_from list" -l format -d 'Report format on stdout' -r -f -a "text\t'Short human text (one line when nothing changed)'
json\t'One JSON object (schema_version 1)'"
complete -c scaler -n "__fish_scaler_using_subcommand reserve; and __fish_seen_subcommand_from list" -l metrics-file -d 'After `run` and `cleanup`, write node_exporter textfile metrics here (overrides [metrics] textfile)' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand reserve; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c scaler -n "__fish_scaler_using_subcommand reserve; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print nothing unless something changed or failed (and draw no progress on stderr)'
complete -c scaler -n "__fish_scaler_using_subcommand reserve; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c scaler -n "__fish_scaler_using_subcommand reserve; and __fish_seen_subcommand_from remove" -s c -l config -d 'Configuration file' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand reserve; and __fish_seen_subcommand_from remove" -l format -d 'Report format on stdout' -r -f -a "text\t'Short human text (one line when nothing changed)'
json\t'One JSON object (schema_version 1)'"
complete -c scaler -n "__fish_scaler_using_subcommand reserve; and __fish_seen_subcommand_from remove" -l metrics-file -d 'After `run` and `cleanup`, write node_exporter textfile metrics here (overrides [metrics] textfile)' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand reserve; and __fish_seen_subcommand_from remove" -s v -l verbose -d 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c scaler -n "__fish_scaler_using_subcommand reserve; and __fish_seen_subcommand_from remove" -s q -l quiet -d 'Print nothing unless something changed or failed (and draw no progress on stderr)'
complete -c scaler -n "__fish_scaler_using_subcommand reserve; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c scaler -n "__fish_scaler_using_subcommand reserve; and __fish_seen_subcommand_from help" -f -a "add" -d 'Book N gateways from START − [reservations] lead until END'
complete -c scaler -n "__fish_scaler_using_subcommand reserve; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the bookings: those of `reserve add` and the calendar\'s (its last good copy)'
complete -c scaler -n "__fish_scaler_using_subcommand reserve; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove a booking made with `reserve add`'
complete -c scaler -n "__fish_scaler_using_subcommand reserve; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c scaler -n "__fish_scaler_using_subcommand resume" -s c -l config -d 'Configuration file' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand resume" -l format -d 'Report format on stdout' -r -f -a "text\t'Short human text (one line when nothing changed)'
json\t'One JSON object (schema_version 1)'"
complete -c scaler -n "__fish_scaler_using_subcommand resume" -l metrics-file -d 'After `run` and `cleanup`, write node_exporter textfile metrics here (overrides [metrics] textfile)' -r -F
complete -c scaler -n "__fish_scaler_using_subcommand resume" -s v -l verbose -d 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c scaler -n "__fish_scaler_using_subcommand resume" -s q -l quiet -d 'Print nothing unless something changed or failed (and draw no progress on stderr)'
complete -c scaler -n "__fish_scaler_using_subcommand resume" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c scaler -n "__fish_scaler_using_subcommand help; and not __fish_seen_subcommand_from run plan cleanup status check config simulate schedule trace reserve resume help" -f -a "run" -d 'Run one full pass: observe, clean up, scale (what cron calls)'
complete -c scaler -n "__fish_scaler_using_subcommand help; and not __fish_seen_subcommand_from run plan cleanup status check config simulate schedule trace reserve resume help" -f -a "plan" -d 'Show what a pass would do, changing nothing'
complete -c scaler -n "__fish_scaler_using_subcommand help; and not __fish_seen_subcommand_from run plan cleanup status check config simulate schedule trace reserve resume help" -f -a "cleanup" -d 'Only destroy what must go (to_stop, error, no public IP, never registered)'
complete -c scaler -n "__fish_scaler_using_subcommand help; and not __fish_seen_subcommand_from run plan cleanup status check config simulate schedule trace reserve resume help" -f -a "status" -d 'One line per pool instance and what the next pass would do to it; changes nothing'
complete -c scaler -n "__fish_scaler_using_subcommand help; and not __fish_seen_subcommand_from run plan cleanup status check config simulate schedule trace reserve resume help" -f -a "check" -d 'Validate the configuration and try every connection; changes nothing'
complete -c scaler -n "__fish_scaler_using_subcommand help; and not __fish_seen_subcommand_from run plan cleanup status check config simulate schedule trace reserve resume help" -f -a "config" -d 'Configuration tools: `config import scaler.json` converts a SIPMediaGW configuration'
complete -c scaler -n "__fish_scaler_using_subcommand help; and not __fish_seen_subcommand_from run plan cleanup status check config simulate schedule trace reserve resume help" -f -a "simulate" -d 'Replay a call trace through the planner with a simulated provider; measure service and cost'
complete -c scaler -n "__fish_scaler_using_subcommand help; and not __fish_seen_subcommand_from run plan cleanup status check config simulate schedule trace reserve resume help" -f -a "schedule" -d 'Schedule tools: `schedule suggest --trace calls.csv` learns a [schedule] from call history'
complete -c scaler -n "__fish_scaler_using_subcommand help; and not __fish_seen_subcommand_from run plan cleanup status check config simulate schedule trace reserve resume help" -f -a "trace" -d 'Call traces: `trace export` writes the calls of Kamailio\'s `acc` table as the CSV simulate reads'
complete -c scaler -n "__fish_scaler_using_subcommand help; and not __fish_seen_subcommand_from run plan cleanup status check config simulate schedule trace reserve resume help" -f -a "reserve" -d 'Book capacity ahead for scheduled meetings: `reserve add`, `reserve list`, `reserve remove`'
complete -c scaler -n "__fish_scaler_using_subcommand help; and not __fish_seen_subcommand_from run plan cleanup status check config simulate schedule trace reserve resume help" -f -a "resume" -d 'Lift the suspension of creation a crash loop caused (instances lost in a row without registering)'
complete -c scaler -n "__fish_scaler_using_subcommand help; and not __fish_seen_subcommand_from run plan cleanup status check config simulate schedule trace reserve resume help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c scaler -n "__fish_scaler_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "import" -d 'Convert a SIPMediaGW scaler.json or a SimpleScaleVM .env to scaler\'s TOML; secrets are never copied'
complete -c scaler -n "__fish_scaler_using_subcommand help; and __fish_seen_subcommand_from schedule" -f -a "suggest" -d 'Learn a [schedule] from call traces: searches idle_min per slot, checking each candidate with the simulator'
complete -c scaler -n "__fish_scaler_using_subcommand help; and __fish_seen_subcommand_from trace" -f -a "export" -d 'Write the calls of Kamailio\'s `acc` table as a CSV trace (`start,end,callid`, UTC)'
complete -c scaler -n "__fish_scaler_using_subcommand help; and __fish_seen_subcommand_from reserve" -f -a "add" -d 'Book N gateways from START − [reservations] lead until END'
complete -c scaler -n "__fish_scaler_using_subcommand help; and __fish_seen_subcommand_from reserve" -f -a "list" -d 'List the bookings: those of `reserve add` and the calendar\'s (its last good copy)'
complete -c scaler -n "__fish_scaler_using_subcommand help; and __fish_seen_subcommand_from reserve" -f -a "remove" -d 'Remove a booking made with `reserve add`'
