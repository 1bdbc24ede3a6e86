
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'scaler' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'scaler'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'scaler' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--metrics-file', '--metrics-file', [CompletionResultType]::ParameterName, 'After `run` and `cleanup`, write node_exporter textfile metrics here (overrides [metrics] textfile)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing unless something changed or failed (and draw no progress on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing unless something changed or failed (and draw no progress on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Run one full pass: observe, clean up, scale (what cron calls)')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Show what a pass would do, changing nothing')
            [CompletionResult]::new('cleanup', 'cleanup', [CompletionResultType]::ParameterValue, 'Only destroy what must go (to_stop, error, no public IP, never registered)')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'One line per pool instance and what the next pass would do to it; changes nothing')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Validate the configuration and try every connection; changes nothing')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Configuration tools: `config import scaler.json` converts a SIPMediaGW configuration')
            [CompletionResult]::new('simulate', 'simulate', [CompletionResultType]::ParameterValue, 'Replay a call trace through the planner with a simulated provider; measure service and cost')
            [CompletionResult]::new('schedule', 'schedule', [CompletionResultType]::ParameterValue, 'Schedule tools: `schedule suggest --trace calls.csv` learns a [schedule] from call history')
            [CompletionResult]::new('trace', 'trace', [CompletionResultType]::ParameterValue, 'Call traces: `trace export` writes the calls of Kamailio''s `acc` table as the CSV simulate reads')
            [CompletionResult]::new('reserve', 'reserve', [CompletionResultType]::ParameterValue, 'Book capacity ahead for scheduled meetings: `reserve add`, `reserve list`, `reserve remove`')
            [CompletionResult]::new('resume', 'resume', [CompletionResultType]::ParameterValue, 'Lift the suspension of creation a crash loop caused (instances lost in a row without registering)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'scaler;run' {
            [CompletionResult]::new('--every', '--every', [CompletionResultType]::ParameterName, 'Stay running: a pass at each multiple of DURATION (1s to 1d, whole seconds), e.g. 1m')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--metrics-file', '--metrics-file', [CompletionResultType]::ParameterName, 'After `run` and `cleanup`, write node_exporter textfile metrics here (overrides [metrics] textfile)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Decide but change nothing (same as `plan`)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing unless something changed or failed (and draw no progress on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing unless something changed or failed (and draw no progress on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'scaler;plan' {
            [CompletionResult]::new('--at', '--at', [CompletionResultType]::ParameterName, 'Evaluate the schedule at HH:MM[:SS] today (schedule timezone) or at an RFC 3339 date-time')
            [CompletionResult]::new('--busy', '--busy', [CompletionResultType]::ParameterName, 'What-if: decide on N busy gateways instead of the observed count (the report''s what_if; observed stays as observed)')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--metrics-file', '--metrics-file', [CompletionResultType]::ParameterName, 'After `run` and `cleanup`, write node_exporter textfile metrics here (overrides [metrics] textfile)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Accepted for symmetry with `run`; `plan` never changes anything')
            [CompletionResult]::new('--detailed-exitcode', '--detailed-exitcode', [CompletionResultType]::ParameterName, 'Exit 2 when the plan has changes, 0 when it has none')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing unless something changed or failed (and draw no progress on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing unless something changed or failed (and draw no progress on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'scaler;cleanup' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--metrics-file', '--metrics-file', [CompletionResultType]::ParameterName, 'After `run` and `cleanup`, write node_exporter textfile metrics here (overrides [metrics] textfile)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show what would be destroyed, changing nothing')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing unless something changed or failed (and draw no progress on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing unless something changed or failed (and draw no progress on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'scaler;status' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--metrics-file', '--metrics-file', [CompletionResultType]::ParameterName, 'After `run` and `cleanup`, write node_exporter textfile metrics here (overrides [metrics] textfile)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing unless something changed or failed (and draw no progress on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing unless something changed or failed (and draw no progress on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'scaler;check' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--metrics-file', '--metrics-file', [CompletionResultType]::ParameterName, 'After `run` and `cleanup`, write node_exporter textfile metrics here (overrides [metrics] textfile)')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Validate the configuration only; connect to nothing')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing unless something changed or failed (and draw no progress on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing unless something changed or failed (and draw no progress on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'scaler;config' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--metrics-file', '--metrics-file', [CompletionResultType]::ParameterName, 'After `run` and `cleanup`, write node_exporter textfile metrics here (overrides [metrics] textfile)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing unless something changed or failed (and draw no progress on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing unless something changed or failed (and draw no progress on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Convert a SIPMediaGW scaler.json or a SimpleScaleVM .env to scaler''s TOML; secrets are never copied')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'scaler;config;import' {
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'The tool FILE comes from (default: detected, a .env naming REPLICA_ or OPENSTACK_ variables is SimpleScaleVM''s)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write the TOML to FILE instead of stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write the TOML to FILE instead of stdout')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'pool.name (default: derived from gw_name_prefix)')
            [CompletionResult]::new('--kind', '--kind', [CompletionResultType]::ParameterName, 'pool.kind (default: sip when the file has sip_db, else media when it has redis)')
            [CompletionResult]::new('--timezone', '--timezone', [CompletionResultType]::ParameterName, 'schedule.timezone, an IANA name (default: the host''s, from TZ, /etc/timezone or /etc/localtime, since SIPMediaGW used local time)')
            [CompletionResult]::new('--max-gateways', '--max-gateways', [CompletionResultType]::ParameterName, 'max_gateways for slots without maxGw (older files had no cap); max_replicas for SimpleScaleVM')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--metrics-file', '--metrics-file', [CompletionResultType]::ParameterName, 'After `run` and `cleanup`, write node_exporter textfile metrics here (overrides [metrics] textfile)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace FILE if it exists')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing unless something changed or failed (and draw no progress on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing unless something changed or failed (and draw no progress on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'scaler;config;help' {
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Convert a SIPMediaGW scaler.json or a SimpleScaleVM .env to scaler''s TOML; secrets are never copied')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'scaler;config;help;import' {
            break
        }
        'scaler;config;help;help' {
            break
        }
        'scaler;simulate' {
            [CompletionResult]::new('--trace', '--trace', [CompletionResultType]::ParameterName, 'The call trace: CSV lines `start,end` in RFC 3339 with offset (optional header)')
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Start of the replay (RFC 3339); default: local midnight of the first call''s day')
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'End of the replay (RFC 3339); default: when the last call ends')
            [CompletionResult]::new('--boot-delay', '--boot-delay', [CompletionResultType]::ParameterName, 'Time from an instance''s creation to its registered gateways')
            [CompletionResult]::new('--boot-jitter', '--boot-jitter', [CompletionResultType]::ParameterName, 'Upper bound of a uniform random delay added to --boot-delay, per instance')
            [CompletionResult]::new('--seed', '--seed', [CompletionResultType]::ParameterName, 'Random seed (boot jitter, generated trace): the same seed gives the same result')
            [CompletionResult]::new('--vcpu-hour-price', '--vcpu-hour-price', [CompletionResultType]::ParameterName, 'Price of one vCPU-hour, for `cost` (default 1: cost in vCPU-hours)')
            [CompletionResult]::new('--svg', '--svg', [CompletionResultType]::ParameterName, 'Also draw calls, gateways, max_gateways, rejected and missed over time, and the cumulative cost, as SVG')
            [CompletionResult]::new('--generate-trace', '--generate-trace', [CompletionResultType]::ParameterName, 'Instead of replaying: write a synthetic working-day trace to FILE (its shape drawn from --seed)')
            [CompletionResult]::new('--date', '--date', [CompletionResultType]::ParameterName, '--generate-trace: the local date of the day (YYYY-MM-DD)')
            [CompletionResult]::new('--calls', '--calls', [CompletionResultType]::ParameterName, '--generate-trace: a typical day''s calls (each seed''s day has its own volume, within ±30 %)')
            [CompletionResult]::new('--reservations', '--reservations', [CompletionResultType]::ParameterName, 'Bookings to replay: the JSON of `scaler reserve list --format json`, or an iCalendar file (.ics)')
            [CompletionResult]::new('--timezone', '--timezone', [CompletionResultType]::ParameterName, '--generate-trace: the timezone of the day''s wall-clock shape (IANA name)')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--metrics-file', '--metrics-file', [CompletionResultType]::ParameterName, 'After `run` and `cleanup`, write node_exporter textfile metrics here (overrides [metrics] textfile)')
            [CompletionResult]::new('--skip-bad-lines', '--skip-bad-lines', [CompletionResultType]::ParameterName, 'Leave out unparsable trace lines when they are at most 1 % of the lines (named in the notes)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing unless something changed or failed (and draw no progress on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing unless something changed or failed (and draw no progress on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'scaler;schedule' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--metrics-file', '--metrics-file', [CompletionResultType]::ParameterName, 'After `run` and `cleanup`, write node_exporter textfile metrics here (overrides [metrics] textfile)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing unless something changed or failed (and draw no progress on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing unless something changed or failed (and draw no progress on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('suggest', 'suggest', [CompletionResultType]::ParameterValue, 'Learn a [schedule] from call traces: searches idle_min per slot, checking each candidate with the simulator')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'scaler;schedule;suggest' {
            [CompletionResult]::new('--trace', '--trace', [CompletionResultType]::ParameterName, 'A call trace (CSV `start,end`, RFC 3339); repeat for several files')
            [CompletionResult]::new('--granularity', '--granularity', [CompletionResultType]::ParameterName, 'Slot length (divides a day): 15m, 30m, 1h ...')
            [CompletionResult]::new('--max-missed', '--max-missed', [CompletionResultType]::ParameterName, 'Calls missed allowed, summed over all days of the traces')
            [CompletionResult]::new('--max-rejected', '--max-rejected', [CompletionResultType]::ParameterName, 'Rejected attempts allowed (retried ones included), summed over all days; default: any')
            [CompletionResult]::new('--boot-delay', '--boot-delay', [CompletionResultType]::ParameterName, 'Time from an instance''s creation to its registered gateways (as `simulate`)')
            [CompletionResult]::new('--boot-jitter', '--boot-jitter', [CompletionResultType]::ParameterName, 'Upper bound of a uniform random delay added to --boot-delay (as `simulate`)')
            [CompletionResult]::new('--seed', '--seed', [CompletionResultType]::ParameterName, 'Seed of the simulated boot jitter: the same seed gives the same schedule')
            [CompletionResult]::new('--margin', '--margin', [CompletionResultType]::ParameterName, 'Safety margin for unseen days: idle_min = ceil(searched × (1 + MARGIN)) on the schedule searched per slot (idle_min, then load_max), load_max as searched; default: the headroom that leave-one-day-out validation finds cheapest among those serving the held-out days')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--metrics-file', '--metrics-file', [CompletionResultType]::ParameterName, 'After `run` and `cleanup`, write node_exporter textfile metrics here (overrides [metrics] textfile)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing unless something changed or failed (and draw no progress on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing unless something changed or failed (and draw no progress on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'scaler;schedule;help' {
            [CompletionResult]::new('suggest', 'suggest', [CompletionResultType]::ParameterValue, 'Learn a [schedule] from call traces: searches idle_min per slot, checking each candidate with the simulator')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'scaler;schedule;help;suggest' {
            break
        }
        'scaler;schedule;help;help' {
            break
        }
        'scaler;trace' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--metrics-file', '--metrics-file', [CompletionResultType]::ParameterName, 'After `run` and `cleanup`, write node_exporter textfile metrics here (overrides [metrics] textfile)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing unless something changed or failed (and draw no progress on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing unless something changed or failed (and draw no progress on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Write the calls of Kamailio''s `acc` table as a CSV trace (`start,end,callid`, UTC)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'scaler;trace;export' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'Kamailio''s database, mysql://user@host:port/database (default: the configuration''s [sip] url)')
            [CompletionResult]::new('--password-env', '--password-env', [CompletionResultType]::ParameterName, 'With --db: the environment variable holding the database password')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'With --db: a file holding the database password (trailing newline removed)')
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Only calls whose first INVITE is at or after TIME (RFC 3339)')
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'Only calls whose first INVITE is before TIME (RFC 3339); with bounds, calls over a day count as without BYE')
            [CompletionResult]::new('--db-time-zone', '--db-time-zone', [CompletionResultType]::ParameterName, 'The zone acc.time was written in, set as the session''s time_zone (+01:00, or a name when the server has its timezone tables); default: the server''s')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Bound of the connection and of each read and write (the wait for the first row included)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write the CSV to FILE (complete or not at all) instead of stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write the CSV to FILE (complete or not at all) instead of stdout')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--metrics-file', '--metrics-file', [CompletionResultType]::ParameterName, 'After `run` and `cleanup`, write node_exporter textfile metrics here (overrides [metrics] textfile)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing unless something changed or failed (and draw no progress on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing unless something changed or failed (and draw no progress on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'scaler;trace;help' {
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Write the calls of Kamailio''s `acc` table as a CSV trace (`start,end,callid`, UTC)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'scaler;trace;help;export' {
            break
        }
        'scaler;trace;help;help' {
            break
        }
        'scaler;reserve' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--metrics-file', '--metrics-file', [CompletionResultType]::ParameterName, 'After `run` and `cleanup`, write node_exporter textfile metrics here (overrides [metrics] textfile)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing unless something changed or failed (and draw no progress on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing unless something changed or failed (and draw no progress on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Book N gateways from START − [reservations] lead until END')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the bookings: those of `reserve add` and the calendar''s (its last good copy)')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Remove a booking made with `reserve add`')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'scaler;reserve;add' {
            [CompletionResult]::new('--start', '--start', [CompletionResultType]::ParameterName, 'When the meeting starts (RFC 3339, or YYYY-MM-DDTHH:MM in the schedule''s timezone)')
            [CompletionResult]::new('--end', '--end', [CompletionResultType]::ParameterName, 'When it ends')
            [CompletionResult]::new('--gateways', '--gateways', [CompletionResultType]::ParameterName, 'Gateways to book (at least 1)')
            [CompletionResult]::new('--note', '--note', [CompletionResultType]::ParameterName, 'Free text shown with the booking')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--metrics-file', '--metrics-file', [CompletionResultType]::ParameterName, 'After `run` and `cleanup`, write node_exporter textfile metrics here (overrides [metrics] textfile)')
            [CompletionResult]::new('--replace', '--replace', [CompletionResultType]::ParameterName, 'Replace a booking of the same name')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing unless something changed or failed (and draw no progress on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing unless something changed or failed (and draw no progress on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'scaler;reserve;list' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--metrics-file', '--metrics-file', [CompletionResultType]::ParameterName, 'After `run` and `cleanup`, write node_exporter textfile metrics here (overrides [metrics] textfile)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing unless something changed or failed (and draw no progress on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing unless something changed or failed (and draw no progress on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'scaler;reserve;remove' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--metrics-file', '--metrics-file', [CompletionResultType]::ParameterName, 'After `run` and `cleanup`, write node_exporter textfile metrics here (overrides [metrics] textfile)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing unless something changed or failed (and draw no progress on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing unless something changed or failed (and draw no progress on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'scaler;reserve;help' {
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Book N gateways from START − [reservations] lead until END')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the bookings: those of `reserve add` and the calendar''s (its last good copy)')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Remove a booking made with `reserve add`')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'scaler;reserve;help;add' {
            break
        }
        'scaler;reserve;help;list' {
            break
        }
        'scaler;reserve;help;remove' {
            break
        }
        'scaler;reserve;help;help' {
            break
        }
        'scaler;resume' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--metrics-file', '--metrics-file', [CompletionResultType]::ParameterName, 'After `run` and `cleanup`, write node_exporter textfile metrics here (overrides [metrics] textfile)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing unless something changed or failed (and draw no progress on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing unless something changed or failed (and draw no progress on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'scaler;help' {
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Run one full pass: observe, clean up, scale (what cron calls)')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Show what a pass would do, changing nothing')
            [CompletionResult]::new('cleanup', 'cleanup', [CompletionResultType]::ParameterValue, 'Only destroy what must go (to_stop, error, no public IP, never registered)')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'One line per pool instance and what the next pass would do to it; changes nothing')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Validate the configuration and try every connection; changes nothing')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Configuration tools: `config import scaler.json` converts a SIPMediaGW configuration')
            [CompletionResult]::new('simulate', 'simulate', [CompletionResultType]::ParameterValue, 'Replay a call trace through the planner with a simulated provider; measure service and cost')
            [CompletionResult]::new('schedule', 'schedule', [CompletionResultType]::ParameterValue, 'Schedule tools: `schedule suggest --trace calls.csv` learns a [schedule] from call history')
            [CompletionResult]::new('trace', 'trace', [CompletionResultType]::ParameterValue, 'Call traces: `trace export` writes the calls of Kamailio''s `acc` table as the CSV simulate reads')
            [CompletionResult]::new('reserve', 'reserve', [CompletionResultType]::ParameterValue, 'Book capacity ahead for scheduled meetings: `reserve add`, `reserve list`, `reserve remove`')
            [CompletionResult]::new('resume', 'resume', [CompletionResultType]::ParameterValue, 'Lift the suspension of creation a crash loop caused (instances lost in a row without registering)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'scaler;help;run' {
            break
        }
        'scaler;help;plan' {
            break
        }
        'scaler;help;cleanup' {
            break
        }
        'scaler;help;status' {
            break
        }
        'scaler;help;check' {
            break
        }
        'scaler;help;config' {
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Convert a SIPMediaGW scaler.json or a SimpleScaleVM .env to scaler''s TOML; secrets are never copied')
            break
        }
        'scaler;help;config;import' {
            break
        }
        'scaler;help;simulate' {
            break
        }
        'scaler;help;schedule' {
            [CompletionResult]::new('suggest', 'suggest', [CompletionResultType]::ParameterValue, 'Learn a [schedule] from call traces: searches idle_min per slot, checking each candidate with the simulator')
            break
        }
        'scaler;help;schedule;suggest' {
            break
        }
        'scaler;help;trace' {
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Write the calls of Kamailio''s `acc` table as a CSV trace (`start,end,callid`, UTC)')
            break
        }
        'scaler;help;trace;export' {
            break
        }
        'scaler;help;reserve' {
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Book N gateways from START − [reservations] lead until END')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the bookings: those of `reserve add` and the calendar''s (its last good copy)')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Remove a booking made with `reserve add`')
            break
        }
        'scaler;help;reserve;add' {
            break
        }
        'scaler;help;reserve;list' {
            break
        }
        'scaler;help;reserve;remove' {
            break
        }
        'scaler;help;resume' {
            break
        }
        'scaler;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
