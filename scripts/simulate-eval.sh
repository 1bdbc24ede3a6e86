#!/usr/bin/env bash
# The figures of README's "Comparing configurations" (release build):
# replays TRACE (default examples/trace-workday.csv) with examples/sip.toml
# and the variants in examples/simulate/, seed 1, with the default boots,
# with slow boots (3m + up to 2m) and with several limits.scale_down_delay,
# and prints one tab-separated line per run: configuration, boots, delay,
# missed (share of calls), rejected (share), peak gateways, vCPU-hours,
# ratio, instances created.
# Usage: scripts/simulate-eval.sh [TRACE]
set -euo pipefail
cd "$(dirname "$0")/.."
trace=${1:-examples/trace-workday.csv}
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-target}/release/scaler
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A copy of a configuration with its scale-down delay set (a [limits] line).
with_delay() { # config delay -> path
    local out="$work/$(basename "$1" .toml)-$2.toml"
    cp "$1" "$out"
    printf '\n[limits]\nscale_down_delay = "%s"\n' "$2" >> "$out"
    echo "$out"
}
run() { # label config boots delay [simulate flags...]
    local label=$1 config=$2 boots=$3 delay=$4
    shift 4
    "$bin" -c "$config" --format json simulate --trace "$trace" --seed 1 "$@" | jq -r \
        --arg l "$label" --arg b "$boots" --arg d "$delay" '
        "\($l)\t\($b)\t\($d)\t\(.missed) (\(.missed_share * 10000 | round / 100) %)\t\(.rejected) (\(.rejected_share * 10000 | round / 100) %)\t\(.peak_gateways)\t\(.vcpu_hours | round)\t\(.ratio)\t\(.created)"'
}
configs=(examples/sip.toml examples/simulate/uncapped.toml examples/simulate/night-buffer.toml examples/simulate/burst-buffer.toml)
# burst-buffer with a day-time idle_min of 90, for slow boots.
sed 's/"07:00" = { idle_min = 60,/"07:00" = { idle_min = 90,/' examples/simulate/burst-buffer.toml > "$work/burst-buffer-90.toml"

printf 'configuration\tboots\tdelay\tmissed\trejected\tpeak gateways\tvCPU-h\tratio\tcreated\n'
for c in "${configs[@]}"; do run "$(basename "$c")" "$c" "1m+1m" 5m; done
for c in "${configs[@]}" "$work/burst-buffer-90.toml"; do
    run "$(basename "$c")" "$c" "3m+2m" 5m --boot-delay 3m --boot-jitter 2m
done
for c in examples/sip.toml examples/simulate/burst-buffer.toml examples/simulate/uncapped.toml; do
    for d in 0s 5m 10m 20m; do
        grep -q '^\[limits\]' "$c" && { echo "$c has [limits]: edit it by hand" >&2; exit 1; }
        run "$(basename "$c")" "$(with_delay "$c" "$d")" "1m+1m" "$d"
    done
done
