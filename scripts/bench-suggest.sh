#!/usr/bin/env bash
# Benchmark of `scaler schedule suggest` (release build): generates the five
# training Mondays of scripts/suggest-eval.sh (3,500 calls, seeds 1..5,
# Europe/Paris, from 2026-11-02 on), learns a schedule from them with
# examples/sip.toml RUNS times, and prints the wall and CPU (user + system)
# time of each run, then their minimum, median and maximum. The machine's
# core count and load average are printed first: on a shared machine the
# wall time says more about the other jobs than about scaler.
# Usage: scripts/bench-suggest.sh [RUNS]   (default 5)
# SCALER=path/to/scaler times that binary instead of building this tree
# (to compare two builds under the same load, one after the other).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
bin=${SCALER:-}
if [ -z "$bin" ]; then
    cargo build --release --quiet
    bin=${CARGO_TARGET_DIR:-target}/release/scaler
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

trace_args=()
for i in 1 2 3 4 5; do
    f="$work/train-$i.csv"
    "$bin" -q simulate --generate-trace "$f" --date "$(date -u -d "2026-11-02 + $(( (i - 1) * 7 )) days" +%F)" \
        --calls 3500 --seed "$i" --timezone Europe/Paris
    trace_args+=(--trace "$f")
done

echo "# $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
times="$work/times"
for run in $(seq "$runs"); do
    /usr/bin/time -o "$work/time" -f '%e %U %S' \
        "$bin" -c examples/sip.toml schedule suggest "${trace_args[@]}" > "$work/schedule.toml"
    read -r wall user system < "$work/time"
    cpu=$(awk -v u="$user" -v s="$system" 'BEGIN { printf "%.2f", u + s }')
    echo "$wall $cpu" >> "$times"
    echo "run $run: $wall s wall, $cpu s CPU"
done
grep -m1 '^# Searched' "$work/schedule.toml"
echo "# load average now $(cut -d' ' -f1-3 /proc/loadavg)"

# min, median and max of column $1 of the times.
stats() {
    sort -n -k"$1" "$times" | awk -v c="$1" '{ v[NR] = $c }
        END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
              printf "min %.2f s, median %.2f s, max %.2f s", v[1], m, v[NR] }'
}
echo "wall: $(stats 1)"
echo "CPU:  $(stats 2)"
