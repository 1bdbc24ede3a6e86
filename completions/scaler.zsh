#compdef scaler

autoload -U is-at-least

_scaler() {
    typeset -A opt_args
    typeset -a _arguments_options
    local ret=1

    if is-at-least 5.2; then
        _arguments_options=(-s -S -C)
    else
        _arguments_options=(-s -C)
    fi

    local context curcontext="$curcontext" state line
    _arguments "${_arguments_options[@]}" : \
'-c+[Configuration file]:PATH:_files' \
'--config=[Configuration file]:PATH:_files' \
'--format=[Report format on stdout]:FORMAT:((text\:"Short human text (one line when nothing changed)"
json\:"One JSON object (schema_version 1)"))' \
'--metrics-file=[After \`run\` and \`cleanup\`, write node_exporter textfile metrics here (overrides \[metrics\] textfile)]:PATH:_files' \
'(-q --quiet)*-v[More log output on stderr (-v info\: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides]' \
'(-q --quiet)*--verbose[More log output on stderr (-v info\: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides]' \
'-q[Print nothing unless something changed or failed (and draw no progress on stderr)]' \
'--quiet[Print nothing unless something changed or failed (and draw no progress on stderr)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
'-V[Print version]' \
'--version[Print version]' \
":: :_scaler_commands" \
"*::: :->scaler" \
&& ret=0
    case $state in
    (scaler)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:scaler-command-$line[1]:"
        case $line[1] in
            (run)
_arguments "${_arguments_options[@]}" : \
'--every=[Stay running\: a pass at each multiple of DURATION (1s to 1d, whole seconds), e.g. 1m]:DURATION:_default' \
'-c+[Configuration file]:PATH:_files' \
'--config=[Configuration file]:PATH:_files' \
'--format=[Report format on stdout]:FORMAT:((text\:"Short human text (one line when nothing changed)"
json\:"One JSON object (schema_version 1)"))' \
'--metrics-file=[After \`run\` and \`cleanup\`, write node_exporter textfile metrics here (overrides \[metrics\] textfile)]:PATH:_files' \
'--dry-run[Decide but change nothing (same as \`plan\`)]' \
'(-q --quiet)*-v[More log output on stderr (-v info\: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides]' \
'(-q --quiet)*--verbose[More log output on stderr (-v info\: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides]' \
'-q[Print nothing unless something changed or failed (and draw no progress on stderr)]' \
'--quiet[Print nothing unless something changed or failed (and draw no progress on stderr)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
&& ret=0
;;
(plan)
_arguments "${_arguments_options[@]}" : \
'--at=[Evaluate the schedule at HH\:MM\[\:SS\] today (schedule timezone) or at an RFC 3339 date-time]:TIME:_default' \
'--busy=[What-if\: decide on N busy gateways instead of the observed count (the report'\''s what_if; observed stays as observed)]:N:_default' \
'-c+[Configuration file]:PATH:_files' \
'--config=[Configuration file]:PATH:_files' \
'--format=[Report format on stdout]:FORMAT:((text\:"Short human text (one line when nothing changed)"
json\:"One JSON object (schema_version 1)"))' \
'--metrics-file=[After \`run\` and \`cleanup\`, write node_exporter textfile metrics here (overrides \[metrics\] textfile)]:PATH:_files' \
'--dry-run[Accepted for symmetry with \`run\`; \`plan\` never changes anything]' \
'--detailed-exitcode[Exit 2 when the plan has changes, 0 when it has none]' \
'(-q --quiet)*-v[More log output on stderr (-v info\: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides]' \
'(-q --quiet)*--verbose[More log output on stderr (-v info\: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides]' \
'-q[Print nothing unless something changed or failed (and draw no progress on stderr)]' \
'--quiet[Print nothing unless something changed or failed (and draw no progress on stderr)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
&& ret=0
;;
(cleanup)
_arguments "${_arguments_options[@]}" : \
'-c+[Configuration file]:PATH:_files' \
'--config=[Configuration file]:PATH:_files' \
'--format=[Report format on stdout]:FORMAT:((text\:"Short human text (one line when nothing changed)"
json\:"One JSON object (schema_version 1)"))' \
'--metrics-file=[After \`run\` and \`cleanup\`, write node_exporter textfile metrics here (overrides \[metrics\] textfile)]:PATH:_files' \
'--dry-run[Show what would be destroyed, changing nothing]' \
'(-q --quiet)*-v[More log output on stderr (-v info\: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides]' \
'(-q --quiet)*--verbose[More log output on stderr (-v info\: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides]' \
'-q[Print nothing unless something changed or failed (and draw no progress on stderr)]' \
'--quiet[Print nothing unless something changed or failed (and draw no progress on stderr)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
&& ret=0
;;
(status)
_arguments "${_arguments_options[@]}" : \
'-c+[Configuration file]:PATH:_files' \
'--config=[Configuration file]:PATH:_files' \
'--format=[Report format on stdout]:FORMAT:((text\:"Short human text (one line when nothing changed)"
json\:"One JSON object (schema_version 1)"))' \
'--metrics-file=[After \`run\` and \`cleanup\`, write node_exporter textfile metrics here (overrides \[metrics\] textfile)]:PATH:_files' \
'(-q --quiet)*-v[More log output on stderr (-v info\: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides]' \
'(-q --quiet)*--verbose[More log output on stderr (-v info\: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides]' \
'-q[Print nothing unless something changed or failed (and draw no progress on stderr)]' \
'--quiet[Print nothing unless something changed or failed (and draw no progress on stderr)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
&& ret=0
;;
(check)
_arguments "${_arguments_options[@]}" : \
'-c+[Configuration file]:PATH:_files' \
'--config=[Configuration file]:PATH:_files' \
'--format=[Report format on stdout]:FORMAT:((text\:"Short human text (one line when nothing changed)"
json\:"One JSON object (schema_version 1)"))' \
'--metrics-file=[After \`run\` and \`cleanup\`, write node_exporter textfile metrics here (overrides \[metrics\] textfile)]:PATH:_files' \
'--offline[Validate the configuration only; connect to nothing]' \
'(-q --quiet)*-v[More log output on stderr (-v info\: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides]' \
'(-q --quiet)*--verbose[More log output on stderr (-v info\: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides]' \
'-q[Print nothing unless something changed or failed (and draw no progress on stderr)]' \
'--quiet[Print nothing unless something changed or failed (and draw no progress on stderr)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
&& ret=0
;;
(config)
_arguments "${_arguments_options[@]}" : \
'-c+[Configuration file]:PATH:_files' \
'--config=[Configuration file]:PATH:_files' \
'--format=[Report format on stdout]:FORMAT:((text\:"Short human text (one line when nothing changed)"
json\:"One JSON object (schema_version 1)"))' \
'--metrics-file=[After \`run\` and \`cleanup\`, write node_exporter textfile metrics here (overrides \[metrics\] textfile)]:PATH:_files' \
'(-q --quiet)*-v[More log output on stderr (-v info\: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides]' \
'(-q --quiet)*--verbose[More log output on stderr (-v info\: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides]' \
'-q[Print nothing unless something changed or failed (and draw no progress on stderr)]' \
'--quiet[Print nothing unless something changed or failed (and draw no progress on stderr)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
":: :_scaler__subcmd__config_commands" \
"*::: :->config" \
&& ret=0

    case $state in
    (config)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:scaler-config-command-$line[1]:"
        case $line[1] in
            (import)
_arguments "${_arguments_options[@]}" : \
'--from=[The tool FILE comes from (default\: detected, a .env naming REPLICA_ or OPENSTACK_ variables is SimpleScaleVM'\''s)]:FROM:((sipmediagw\:"SIPMediaGW'\''s scaler.json"
simplescalevm\:"SimpleScaleVM'\''s .env (a replicas pool on openstack)"))' \
'-o+[Write the TOML to FILE instead of stdout]:FILE:_files' \
'--output=[Write the TOML to FILE instead of stdout]:FILE:_files' \
'--name=[pool.name (default\: derived from gw_name_prefix)]:NAME:_default' \
'--kind=[pool.kind (default\: sip when the file has sip_db, else media when it has redis)]:KIND:((sip\:"Load from Kamailio'\''s database (sip_db)"
media\:"Load from Redis (redis)"))' \
'--timezone=[schedule.timezone, an IANA name (default\: the host'\''s, from TZ, /etc/timezone or /etc/localtime, since SIPMediaGW used local time)]:TZ:_default' \
'--max-gateways=[max_gateways for slots without maxGw (older files had no cap); max_replicas for SimpleScaleVM]:N:_default' \
'-c+[Configuration file]:PATH:_files' \
'--config=[Configuration file]:PATH:_files' \
'--format=[Report format on stdout]:FORMAT:((text\:"Short human text (one line when nothing changed)"
json\:"One JSON object (schema_version 1)"))' \
'--metrics-file=[After \`run\` and \`cleanup\`, write node_exporter textfile metrics here (overrides \[metrics\] textfile)]:PATH:_files' \
'--force[Replace FILE if it exists]' \
'(-q --quiet)*-v[More log output on stderr (-v info\: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides]' \
'(-q --quiet)*--verbose[More log output on stderr (-v info\: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides]' \
'-q[Print nothing unless something changed or failed (and draw no progress on stderr)]' \
'--quiet[Print nothing unless something changed or failed (and draw no progress on stderr)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
':file -- The configuration to convert\: SIPMediaGW'\''s scaler.json or SimpleScaleVM'\''s .env:_files' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_scaler__subcmd__config__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:scaler-config-help-command-$line[1]:"
        case $line[1] in
            (import)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
        esac
    ;;
esac
;;
(simulate)
_arguments "${_arguments_options[@]}" : \
'--trace=[The call trace\: CSV lines \`start,end\` in RFC 3339 with offset (optional header)]:FILE.csv:_files' \
'(--generate-trace)--from=[Start of the replay (RFC 3339); default\: local midnight of the first call'\''s day]:TIME:_default' \
'(--generate-trace)--to=[End of the replay (RFC 3339); default\: when the last call ends]:TIME:_default' \
'--boot-delay=[Time from an instance'\''s creation to its registered gateways]:DURATION:_default' \
'--boot-jitter=[Upper bound of a uniform random delay added to --boot-delay, per instance]:DURATION:_default' \
'--seed=[Random seed (boot jitter, generated trace)\: the same seed gives the same result]:N:_default' \
'--vcpu-hour-price=[Price of one vCPU-hour, for \`cost\` (default 1\: cost in vCPU-hours)]:PRICE:_default' \
'(--generate-trace)--svg=[Also draw calls, gateways, max_gateways, rejected and missed over time, and the cumulative cost, as SVG]:FILE.svg:_files' \
'(--trace)--generate-trace=[Instead of replaying\: write a synthetic working-day trace to FILE (its shape drawn from --seed)]:FILE:_files' \
'--date=[--generate-trace\: the local date of the day (YYYY-MM-DD)]:DATE:_default' \
'--calls=[--generate-trace\: a typical day'\''s calls (each seed'\''s day has its own volume, within ±30 %)]:N:_default' \
'(--generate-trace)--reservations=[Bookings to replay\: the JSON of \`scaler reserve list --format json\`, or an iCalendar file (.ics)]:FILE:_files' \
'--timezone=[--generate-trace\: the timezone of the day'\''s wall-clock shape (IANA name)]:TZ:_default' \
'-c+[Configuration file]:PATH:_files' \
'--config=[Configuration file]:PATH:_files' \
'--format=[Report format on stdout]:FORMAT:((text\:"Short human text (one line when nothing changed)"
json\:"One JSON object (schema_version 1)"))' \
'--metrics-file=[After \`run\` and \`cleanup\`, write node_exporter textfile metrics here (overrides \[metrics\] textfile)]:PATH:_files' \
'(--generate-trace)--skip-bad-lines[Leave out unparsable trace lines when they are at most 1 % of the lines (named in the notes)]' \
'(-q --quiet)*-v[More log output on stderr (-v info\: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides]' \
'(-q --quiet)*--verbose[More log output on stderr (-v info\: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides]' \
'-q[Print nothing unless something changed or failed (and draw no progress on stderr)]' \
'--quiet[Print nothing unless something changed or failed (and draw no progress on stderr)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
&& ret=0
;;
(schedule)
_arguments "${_arguments_options[@]}" : \
'-c+[Configuration file]:PATH:_files' \
'--config=[Configuration file]:PATH:_files' \
'--format=[Report format on stdout]:FORMAT:((text\:"Short human text (one line when nothing changed)"
json\:"One JSON object (schema_version 1)"))' \
'--metrics-file=[After \`run\` and \`cleanup\`, write node_exporter textfile metrics here (overrides \[metrics\] textfile)]:PATH:_files' \
'(-q --quiet)*-v[More log output on stderr (-v info\: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides]' \
'(-q --quiet)*--verbose[More log output on stderr (-v info\: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides]' \
'-q[Print nothing unless something changed or failed (and draw no progress on stderr)]' \
'--quiet[Print nothing unless something changed or failed (and draw no progress on stderr)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
":: :_scaler__subcmd__schedule_commands" \
"*::: :->schedule" \
&& ret=0

    case $state in
    (schedule)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:scaler-schedule-command-$line[1]:"
        case $line[1] in
            (suggest)
_arguments "${_arguments_options[@]}" : \
'*--trace=[A call trace (CSV \`start,end\`, RFC 3339); repeat for several files]:FILE.csv:_files' \
'--granularity=[Slot length (divides a day)\: 15m, 30m, 1h ...]:DURATION:_default' \
'--max-missed=[Calls missed allowed, summed over all days of the traces]:N:_default' \
'--max-rejected=[Rejected attempts allowed (retried ones included), summed over all days; default\: any]:N:_default' \
'--boot-delay=[Time from an instance'\''s creation to its registered gateways (as \`simulate\`)]:DURATION:_default' \
'--boot-jitter=[Upper bound of a uniform random delay added to --boot-delay (as \`simulate\`)]:DURATION:_default' \
'--seed=[Seed of the simulated boot jitter\: the same seed gives the same schedule]:N:_default' \
'--margin=[Safety margin for unseen days\: idle_min = ceil(searched × (1 + MARGIN)) on the schedule searched per slot (idle_min, then load_max), load_max as searched; default\: the headroom that leave-one-day-out validation finds cheapest among those serving the held-out days]:MARGIN:_default' \
'-c+[Configuration file]:PATH:_files' \
'--config=[Configuration file]:PATH:_files' \
'--format=[Report format on stdout]:FORMAT:((text\:"Short human text (one line when nothing changed)"
json\:"One JSON object (schema_version 1)"))' \
'--metrics-file=[After \`run\` and \`cleanup\`, write node_exporter textfile metrics here (overrides \[metrics\] textfile)]:PATH:_files' \
'(-q --quiet)*-v[More log output on stderr (-v info\: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides]' \
'(-q --quiet)*--verbose[More log output on stderr (-v info\: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides]' \
'-q[Print nothing unless something changed or failed (and draw no progress on stderr)]' \
'--quiet[Print nothing unless something changed or failed (and draw no progress on stderr)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_scaler__subcmd__schedule__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:scaler-schedule-help-command-$line[1]:"
        case $line[1] in
            (suggest)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
        esac
    ;;
esac
;;
(trace)
_arguments "${_arguments_options[@]}" : \
'-c+[Configuration file]:PATH:_files' \
'--config=[Configuration file]:PATH:_files' \
'--format=[Report format on stdout]:FORMAT:((text\:"Short human text (one line when nothing changed)"
json\:"One JSON object (schema_version 1)"))' \
'--metrics-file=[After \`run\` and \`cleanup\`, write node_exporter textfile metrics here (overrides \[metrics\] textfile)]:PATH:_files' \
'(-q --quiet)*-v[More log output on stderr (-v info\: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides]' \
'(-q --quiet)*--verbose[More log output on stderr (-v info\: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides]' \
'-q[Print nothing unless something changed or failed (and draw no progress on stderr)]' \
'--quiet[Print nothing unless something changed or failed (and draw no progress on stderr)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
":: :_scaler__subcmd__trace_commands" \
"*::: :->trace" \
&& ret=0

    case $state in
    (trace)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:scaler-trace-command-$line[1]:"
        case $line[1] in
            (export)
_arguments "${_arguments_options[@]}" : \
'--db=[Kamailio'\''s database, mysql\://user@host\:port/database (default\: the configuration'\''s \[sip\] url)]:URL:_default' \
'(--password-file)--password-env=[With --db\: the environment variable holding the database password]:VAR:_default' \
'--password-file=[With --db\: a file holding the database password (trailing newline removed)]:PATH:_files' \
'--from=[Only calls whose first INVITE is at or after TIME (RFC 3339)]:TIME:_default' \
'--to=[Only calls whose first INVITE is before TIME (RFC 3339); with bounds, calls over a day count as without BYE]:TIME:_default' \
'--db-time-zone=[The zone acc.time was written in, set as the session'\''s time_zone (+01\:00, or a name when the server has its timezone tables); default\: the server'\''s]:ZONE:_default' \
'--timeout=[Bound of the connection and of each read and write (the wait for the first row included)]:DURATION:_default' \
'-o+[Write the CSV to FILE (complete or not at all) instead of stdout]:FILE:_files' \
'--output=[Write the CSV to FILE (complete or not at all) instead of stdout]:FILE:_files' \
'-c+[Configuration file]:PATH:_files' \
'--config=[Configuration file]:PATH:_files' \
'--format=[Report format on stdout]:FORMAT:((text\:"Short human text (one line when nothing changed)"
json\:"One JSON object (schema_version 1)"))' \
'--metrics-file=[After \`run\` and \`cleanup\`, write node_exporter textfile metrics here (overrides \[metrics\] textfile)]:PATH:_files' \
'(-q --quiet)*-v[More log output on stderr (-v info\: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides]' \
'(-q --quiet)*--verbose[More log output on stderr (-v info\: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides]' \
'-q[Print nothing unless something changed or failed (and draw no progress on stderr)]' \
'--quiet[Print nothing unless something changed or failed (and draw no progress on stderr)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_scaler__subcmd__trace__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:scaler-trace-help-command-$line[1]:"
        case $line[1] in
            (export)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
        esac
    ;;
esac
;;
(reserve)
_arguments "${_arguments_options[@]}" : \
'-c+[Configuration file]:PATH:_files' \
'--config=[Configuration file]:PATH:_files' \
'--format=[Report format on stdout]:FORMAT:((text\:"Short human text (one line when nothing changed)"
json\:"One JSON object (schema_version 1)"))' \
'--metrics-file=[After \`run\` and \`cleanup\`, write node_exporter textfile metrics here (overrides \[metrics\] textfile)]:PATH:_files' \
'(-q --quiet)*-v[More log output on stderr (-v info\: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides]' \
'(-q --quiet)*--verbose[More log output on stderr (-v info\: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides]' \
'-q[Print nothing unless something changed or failed (and draw no progress on stderr)]' \
'--quiet[Print nothing unless something changed or failed (and draw no progress on stderr)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
":: :_scaler__subcmd__reserve_commands" \
"*::: :->reserve" \
&& ret=0

    case $state in
    (reserve)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:scaler-reserve-command-$line[1]:"
        case $line[1] in
            (add)
_arguments "${_arguments_options[@]}" : \
'--start=[When the meeting starts (RFC 3339, or YYYY-MM-DDTHH\:MM in the schedule'\''s timezone)]:TIME:_default' \
'--end=[When it ends]:TIME:_default' \
'--gateways=[Gateways to book (at least 1)]:N:_default' \
'--note=[Free text shown with the booking]:TEXT:_default' \
'-c+[Configuration file]:PATH:_files' \
'--config=[Configuration file]:PATH:_files' \
'--format=[Report format on stdout]:FORMAT:((text\:"Short human text (one line when nothing changed)"
json\:"One JSON object (schema_version 1)"))' \
'--metrics-file=[After \`run\` and \`cleanup\`, write node_exporter textfile metrics here (overrides \[metrics\] textfile)]:PATH:_files' \
'--replace[Replace a booking of the same name]' \
'(-q --quiet)*-v[More log output on stderr (-v info\: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides]' \
'(-q --quiet)*--verbose[More log output on stderr (-v info\: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides]' \
'-q[Print nothing unless something changed or failed (and draw no progress on stderr)]' \
'--quiet[Print nothing unless something changed or failed (and draw no progress on stderr)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
':name -- The booking'\''s name (letters, digits, '\''-'\'', '\''_'\'', '\''.'\'', '\''@'\''):_default' \
&& ret=0
;;
(list)
_arguments "${_arguments_options[@]}" : \
'-c+[Configuration file]:PATH:_files' \
'--config=[Configuration file]:PATH:_files' \
'--format=[Report format on stdout]:FORMAT:((text\:"Short human text (one line when nothing changed)"
json\:"One JSON object (schema_version 1)"))' \
'--metrics-file=[After \`run\` and \`cleanup\`, write node_exporter textfile metrics here (overrides \[metrics\] textfile)]:PATH:_files' \
'(-q --quiet)*-v[More log output on stderr (-v info\: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides]' \
'(-q --quiet)*--verbose[More log output on stderr (-v info\: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides]' \
'-q[Print nothing unless something changed or failed (and draw no progress on stderr)]' \
'--quiet[Print nothing unless something changed or failed (and draw no progress on stderr)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
&& ret=0
;;
(remove)
_arguments "${_arguments_options[@]}" : \
'-c+[Configuration file]:PATH:_files' \
'--config=[Configuration file]:PATH:_files' \
'--format=[Report format on stdout]:FORMAT:((text\:"Short human text (one line when nothing changed)"
json\:"One JSON object (schema_version 1)"))' \
'--metrics-file=[After \`run\` and \`cleanup\`, write node_exporter textfile metrics here (overrides \[metrics\] textfile)]:PATH:_files' \
'(-q --quiet)*-v[More log output on stderr (-v info\: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides]' \
'(-q --quiet)*--verbose[More log output on stderr (-v info\: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides]' \
'-q[Print nothing unless something changed or failed (and draw no progress on stderr)]' \
'--quiet[Print nothing unless something changed or failed (and draw no progress on stderr)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
':name -- The booking'\''s name:_default' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_scaler__subcmd__reserve__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:scaler-reserve-help-command-$line[1]:"
        case $line[1] in
            (add)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(list)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(remove)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
        esac
    ;;
esac
;;
(resume)
_arguments "${_arguments_options[@]}" : \
'-c+[Configuration file]:PATH:_files' \
'--config=[Configuration file]:PATH:_files' \
'--format=[Report format on stdout]:FORMAT:((text\:"Short human text (one line when nothing changed)"
json\:"One JSON object (schema_version 1)"))' \
'--metrics-file=[After \`run\` and \`cleanup\`, write node_exporter textfile metrics here (overrides \[metrics\] textfile)]:PATH:_files' \
'(-q --quiet)*-v[More log output on stderr (-v info\: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides]' \
'(-q --quiet)*--verbose[More log output on stderr (-v info\: each step of a pass and its time, -vv debug, -vvv trace); RUST_LOG overrides]' \
'-q[Print nothing unless something changed or failed (and draw no progress on stderr)]' \
'--quiet[Print nothing unless something changed or failed (and draw no progress on stderr)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_scaler__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:scaler-help-command-$line[1]:"
        case $line[1] in
            (run)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(plan)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(cleanup)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(status)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(check)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(config)
_arguments "${_arguments_options[@]}" : \
":: :_scaler__subcmd__help__subcmd__config_commands" \
"*::: :->config" \
&& ret=0

    case $state in
    (config)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:scaler-help-config-command-$line[1]:"
        case $line[1] in
            (import)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
(simulate)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(schedule)
_arguments "${_arguments_options[@]}" : \
":: :_scaler__subcmd__help__subcmd__schedule_commands" \
"*::: :->schedule" \
&& ret=0

    case $state in
    (schedule)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:scaler-help-schedule-command-$line[1]:"
        case $line[1] in
            (suggest)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
(trace)
_arguments "${_arguments_options[@]}" : \
":: :_scaler__subcmd__help__subcmd__trace_commands" \
"*::: :->trace" \
&& ret=0

    case $state in
    (trace)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:scaler-help-trace-command-$line[1]:"
        case $line[1] in
            (export)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
(reserve)
_arguments "${_arguments_options[@]}" : \
":: :_scaler__subcmd__help__subcmd__reserve_commands" \
"*::: :->reserve" \
&& ret=0

    case $state in
    (reserve)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:scaler-help-reserve-command-$line[1]:"
        case $line[1] in
            (add)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(list)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(remove)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
(resume)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
        esac
    ;;
esac
}

(( $+functions[_scaler_commands] )) ||
_scaler_commands() {
    local commands; commands=(
'run:Run one full pass\: observe, clean up, scale (what cron calls)' \
'plan:Show what a pass would do, changing nothing' \
'cleanup:Only destroy what must go (to_stop, error, no public IP, never registered)' \
'status:One line per pool instance and what the next pass would do to it; changes nothing' \
'check:Validate the configuration and try every connection; changes nothing' \
'config:Configuration tools\: \`config import scaler.json\` converts a SIPMediaGW configuration' \
'simulate:Replay a call trace through the planner with a simulated provider; measure service and cost' \
'schedule:Schedule tools\: \`schedule suggest --trace calls.csv\` learns a \[schedule\] from call history' \
'trace:Call traces\: \`trace export\` writes the calls of Kamailio'\''s \`acc\` table as the CSV simulate reads' \
'reserve:Book capacity ahead for scheduled meetings\: \`reserve add\`, \`reserve list\`, \`reserve remove\`' \
'resume:Lift the suspension of creation a crash loop caused (instances lost in a row without registering)' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'scaler commands' commands "$@"
}
(( $+functions[_scaler__subcmd__check_commands] )) ||
_scaler__subcmd__check_commands() {
    local commands; commands=()
    _describe -t commands 'scaler check commands' commands "$@"
}
(( $+functions[_scaler__subcmd__cleanup_commands] )) ||
_scaler__subcmd__cleanup_commands() {
    local commands; commands=()
    _describe -t commands 'scaler cleanup commands' commands "$@"
}
(( $+functions[_scaler__subcmd__config_commands] )) ||
_scaler__subcmd__config_commands() {
    local commands; commands=(
'import:Convert a SIPMediaGW scaler.json or a SimpleScaleVM .env to scaler'\''s TOML; secrets are never copied' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'scaler config commands' commands "$@"
}
(( $+functions[_scaler__subcmd__config__subcmd__help_commands] )) ||
_scaler__subcmd__config__subcmd__help_commands() {
    local commands; commands=(
'import:Convert a SIPMediaGW scaler.json or a SimpleScaleVM .env to scaler'\''s TOML; secrets are never copied' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'scaler config help commands' commands "$@"
}
(( $+functions[_scaler__subcmd__config__subcmd__help__subcmd__help_commands] )) ||
_scaler__subcmd__config__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'scaler config help help commands' commands "$@"
}
(( $+functions[_scaler__subcmd__config__subcmd__help__subcmd__import_commands] )) ||
_scaler__subcmd__config__subcmd__help__subcmd__import_commands() {
    local commands; commands=()
    _describe -t commands 'scaler config help import commands' commands "$@"
}
(( $+functions[_scaler__subcmd__config__subcmd__import_commands] )) ||
_scaler__subcmd__config__subcmd__import_commands() {
    local commands; commands=()
    _describe -t commands 'scaler config import commands' commands "$@"
}
(( $+functions[_scaler__subcmd__help_commands] )) ||
_scaler__subcmd__help_commands() {
    local commands; commands=(
'run:Run one full pass\: observe, clean up, scale (what cron calls)' \
'plan:Show what a pass would do, changing nothing' \
'cleanup:Only destroy what must go (to_stop, error, no public IP, never registered)' \
'status:One line per pool instance and what the next pass would do to it; changes nothing' \
'check:Validate the configuration and try every connection; changes nothing' \
'config:Configuration tools\: \`config import scaler.json\` converts a SIPMediaGW configuration' \
'simulate:Replay a call trace through the planner with a simulated provider; measure service and cost' \
'schedule:Schedule tools\: \`schedule suggest --trace calls.csv\` learns a \[schedule\] from call history' \
'trace:Call traces\: \`trace export\` writes the calls of Kamailio'\''s \`acc\` table as the CSV simulate reads' \
'reserve:Book capacity ahead for scheduled meetings\: \`reserve add\`, \`reserve list\`, \`reserve remove\`' \
'resume:Lift the suspension of creation a crash loop caused (instances lost in a row without registering)' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'scaler help commands' commands "$@"
}
(( $+functions[_scaler__subcmd__help__subcmd__check_commands] )) ||
_scaler__subcmd__help__subcmd__check_commands() {
    local commands; commands=()
    _describe -t commands 'scaler help check commands' commands "$@"
}
(( $+functions[_scaler__subcmd__help__subcmd__cleanup_commands] )) ||
_scaler__subcmd__help__subcmd__cleanup_commands() {
    local commands; commands=()
    _describe -t commands 'scaler help cleanup commands' commands "$@"
}
(( $+functions[_scaler__subcmd__help__subcmd__config_commands] )) ||
_scaler__subcmd__help__subcmd__config_commands() {
    local commands; commands=(
'import:Convert a SIPMediaGW scaler.json or a SimpleScaleVM .env to scaler'\''s TOML; secrets are never copied' \
    )
    _describe -t commands 'scaler help config commands' commands "$@"
}
(( $+functions[_scaler__subcmd__help__subcmd__config__subcmd__import_commands] )) ||
_scaler__subcmd__help__subcmd__config__subcmd__import_commands() {
    local commands; commands=()
    _describe -t commands 'scaler help config import commands' commands "$@"
}
(( $+functions[_scaler__subcmd__help__subcmd__help_commands] )) ||
_scaler__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'scaler help help commands' commands "$@"
}
(( $+functions[_scaler__subcmd__help__subcmd__plan_commands] )) ||
_scaler__subcmd__help__subcmd__plan_commands() {
    local commands; commands=()
    _describe -t commands 'scaler help plan commands' commands "$@"
}
(( $+functions[_scaler__subcmd__help__subcmd__reserve_commands] )) ||
_scaler__subcmd__help__subcmd__reserve_commands() {
    local commands; commands=(
'add:Book N gateways from START − \[reservations\] lead until END' \
'list:List the bookings\: those of \`reserve add\` and the calendar'\''s (its last good copy)' \
'remove:Remove a booking made with \`reserve add\`' \
    )
    _describe -t commands 'scaler help reserve commands' commands "$@"
}
(( $+functions[_scaler__subcmd__help__subcmd__reserve__subcmd__add_commands] )) ||
_scaler__subcmd__help__subcmd__reserve__subcmd__add_commands() {
    local commands; commands=()
    _describe -t commands 'scaler help reserve add commands' commands "$@"
}
(( $+functions[_scaler__subcmd__help__subcmd__reserve__subcmd__list_commands] )) ||
_scaler__subcmd__help__subcmd__reserve__subcmd__list_commands() {
    local commands; commands=()
    _describe -t commands 'scaler help reserve list commands' commands "$@"
}
(( $+functions[_scaler__subcmd__help__subcmd__reserve__subcmd__remove_commands] )) ||
_scaler__subcmd__help__subcmd__reserve__subcmd__remove_commands() {
    local commands; commands=()
    _describe -t commands 'scaler help reserve remove commands' commands "$@"
}
(( $+functions[_scaler__subcmd__help__subcmd__resume_commands] )) ||
_scaler__subcmd__help__subcmd__resume_commands() {
    local commands; commands=()
    _describe -t commands 'scaler help resume commands' commands "$@"
}
(( $+functions[_scaler__subcmd__help__subcmd__run_commands] )) ||
_scaler__subcmd__help__subcmd__run_commands() {
    local commands; commands=()
    _describe -t commands 'scaler help run commands' commands "$@"
}
(( $+functions[_scaler__subcmd__help__subcmd__schedule_commands] )) ||
_scaler__subcmd__help__subcmd__schedule_commands() {
    local commands; commands=(
'suggest:Learn a \[schedule\] from call traces\: searches idle_min per slot, checking each candidate with the simulator' \
    )
    _describe -t commands 'scaler help schedule commands' commands "$@"
}
(( $+functions[_scaler__subcmd__help__subcmd__schedule__subcmd__suggest_commands] )) ||
_scaler__subcmd__help__subcmd__schedule__subcmd__suggest_commands() {
    local commands; commands=()
    _describe -t commands 'scaler help schedule suggest commands' commands "$@"
}
(( $+functions[_scaler__subcmd__help__subcmd__simulate_commands] )) ||
_scaler__subcmd__help__subcmd__simulate_commands() {
    local commands; commands=()
    _describe -t commands 'scaler help simulate commands' commands "$@"
}
(( $+functions[_scaler__subcmd__help__subcmd__status_commands] )) ||
_scaler__subcmd__help__subcmd__status_commands() {
    local commands; commands=()
    _describe -t commands 'scaler help status commands' commands "$@"
}
(( $+functions[_scaler__subcmd__help__subcmd__trace_commands] )) ||
_scaler__subcmd__help__subcmd__trace_commands() {
    local commands; commands=(
'export:Write the calls of Kamailio'\''s \`acc\` table as a CSV trace (\`start,end,callid\`, UTC)' \
    )
    _describe -t commands 'scaler help trace commands' commands "$@"
}
(( $+functions[_scaler__subcmd__help__subcmd__trace__subcmd__export_commands] )) ||
_scaler__subcmd__help__subcmd__trace__subcmd__export_commands() {
    local commands; commands=()
    _describe -t commands 'scaler help trace export commands' commands "$@"
}
(( $+functions[_scaler__subcmd__plan_commands] )) ||
_scaler__subcmd__plan_commands() {
    local commands; commands=()
    _describe -t commands 'scaler plan commands' commands "$@"
}
(( $+functions[_scaler__subcmd__reserve_commands] )) ||
_scaler__subcmd__reserve_commands() {
    local commands; commands=(
'add:Book N gateways from START − \[reservations\] lead until END' \
'list:List the bookings\: those of \`reserve add\` and the calendar'\''s (its last good copy)' \
'remove:Remove a booking made with \`reserve add\`' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'scaler reserve commands' commands "$@"
}
(( $+functions[_scaler__subcmd__reserve__subcmd__add_commands] )) ||
_scaler__subcmd__reserve__subcmd__add_commands() {
    local commands; commands=()
    _describe -t commands 'scaler reserve add commands' commands "$@"
}
(( $+functions[_scaler__subcmd__reserve__subcmd__help_commands] )) ||
_scaler__subcmd__reserve__subcmd__help_commands() {
    local commands; commands=(
'add:Book N gateways from START − \[reservations\] lead until END' \
'list:List the bookings\: those of \`reserve add\` and the calendar'\''s (its last good copy)' \
'remove:Remove a booking made with \`reserve add\`' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'scaler reserve help commands' commands "$@"
}
(( $+functions[_scaler__subcmd__reserve__subcmd__help__subcmd__add_commands] )) ||
_scaler__subcmd__reserve__subcmd__help__subcmd__add_commands() {
    local commands; commands=()
    _describe -t commands 'scaler reserve help add commands' commands "$@"
}
(( $+functions[_scaler__subcmd__reserve__subcmd__help__subcmd__help_commands] )) ||
_scaler__subcmd__reserve__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'scaler reserve help help commands' commands "$@"
}
(( $+functions[_scaler__subcmd__reserve__subcmd__help__subcmd__list_commands] )) ||
_scaler__subcmd__reserve__subcmd__help__subcmd__list_commands() {
    local commands; commands=()
    _describe -t commands 'scaler reserve help list commands' commands "$@"
}
(( $+functions[_scaler__subcmd__reserve__subcmd__help__subcmd__remove_commands] )) ||
_scaler__subcmd__reserve__subcmd__help__subcmd__remove_commands() {
    local commands; commands=()
    _describe -t commands 'scaler reserve help remove commands' commands "$@"
}
(( $+functions[_scaler__subcmd__reserve__subcmd__list_commands] )) ||
_scaler__subcmd__reserve__subcmd__list_commands() {
    local commands; commands=()
    _describe -t commands 'scaler reserve list commands' commands "$@"
}
(( $+functions[_scaler__subcmd__reserve__subcmd__remove_commands] )) ||
_scaler__subcmd__reserve__subcmd__remove_commands() {
    local commands; commands=()
    _describe -t commands 'scaler reserve remove commands' commands "$@"
}
(( $+functions[_scaler__subcmd__resume_commands] )) ||
_scaler__subcmd__resume_commands() {
    local commands; commands=()
    _describe -t commands 'scaler resume commands' commands "$@"
}
(( $+functions[_scaler__subcmd__run_commands] )) ||
_scaler__subcmd__run_commands() {
    local commands; commands=()
    _describe -t commands 'scaler run commands' commands "$@"
}
(( $+functions[_scaler__subcmd__schedule_commands] )) ||
_scaler__subcmd__schedule_commands() {
    local commands; commands=(
'suggest:Learn a \[schedule\] from call traces\: searches idle_min per slot, checking each candidate with the simulator' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'scaler schedule commands' commands "$@"
}
(( $+functions[_scaler__subcmd__schedule__subcmd__help_commands] )) ||
_scaler__subcmd__schedule__subcmd__help_commands() {
    local commands; commands=(
'suggest:Learn a \[schedule\] from call traces\: searches idle_min per slot, checking each candidate with the simulator' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'scaler schedule help commands' commands "$@"
}
(( $+functions[_scaler__subcmd__schedule__subcmd__help__subcmd__help_commands] )) ||
_scaler__subcmd__schedule__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'scaler schedule help help commands' commands "$@"
}
(( $+functions[_scaler__subcmd__schedule__subcmd__help__subcmd__suggest_commands] )) ||
_scaler__subcmd__schedule__subcmd__help__subcmd__suggest_commands() {
    local commands; commands=()
    _describe -t commands 'scaler schedule help suggest commands' commands "$@"
}
(( $+functions[_scaler__subcmd__schedule__subcmd__suggest_commands] )) ||
_scaler__subcmd__schedule__subcmd__suggest_commands() {
    local commands; commands=()
    _describe -t commands 'scaler schedule suggest commands' commands "$@"
}
(( $+functions[_scaler__subcmd__simulate_commands] )) ||
_scaler__subcmd__simulate_commands() {
    local commands; commands=()
    _describe -t commands 'scaler simulate commands' commands "$@"
}
(( $+functions[_scaler__subcmd__status_commands] )) ||
_scaler__subcmd__status_commands() {
    local commands; commands=()
    _describe -t commands 'scaler status commands' commands "$@"
}
(( $+functions[_scaler__subcmd__trace_commands] )) ||
_scaler__subcmd__trace_commands() {
    local commands; commands=(
'export:Write the calls of Kamailio'\''s \`acc\` table as a CSV trace (\`start,end,callid\`, UTC)' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'scaler trace commands' commands "$@"
}
(( $+functions[_scaler__subcmd__trace__subcmd__export_commands] )) ||
_scaler__subcmd__trace__subcmd__export_commands() {
    local commands; commands=()
    _describe -t commands 'scaler trace export commands' commands "$@"
}
(( $+functions[_scaler__subcmd__trace__subcmd__help_commands] )) ||
_scaler__subcmd__trace__subcmd__help_commands() {
    local commands; commands=(
'export:Write the calls of Kamailio'\''s \`acc\` table as a CSV trace (\`start,end,callid\`, UTC)' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'scaler trace help commands' commands "$@"
}
(( $+functions[_scaler__subcmd__trace__subcmd__help__subcmd__export_commands] )) ||
_scaler__subcmd__trace__subcmd__help__subcmd__export_commands() {
    local commands; commands=()
    _describe -t commands 'scaler trace help export commands' commands "$@"
}
(( $+functions[_scaler__subcmd__trace__subcmd__help__subcmd__help_commands] )) ||
_scaler__subcmd__trace__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'scaler trace help help commands' commands "$@"
}

if [ "$funcstack[1]" = "_scaler" ]; then
    _scaler "$@"
else
    compdef _scaler scaler
fi
