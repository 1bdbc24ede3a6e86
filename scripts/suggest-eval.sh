#!/usr/bin/env bash
# Evaluation of `scaler schedule suggest` (release build): generates TRAIN
# synthetic Mondays (seeds 1..TRAIN) and TEST other Mondays (seeds 101..),
# typical days of 3,500 calls (each seed's day has its own volume, ±30 %,
# and its own peak hours), in a temporary directory; learns a schedule on
# the training days for each margin given; then replays the test days (and
# the training days) with `scaler simulate` for examples/sip.toml as written
# by hand and for each suggestion (its [schedule] replacing the example's),
# and prints one line per (schedule, days): calls, vCPU-hours / lower bound,
# missed, rejected attempts (and their share of calls) and churn (instances
# created), summed over the days, and the run time of each suggestion.
# MARGIN `auto` runs suggest without --margin: the margin is then chosen by
# leave-one-day-out validation over the training days (its held-out figures
# are printed on stderr).
# Usage: scripts/suggest-eval.sh [TRAIN] [TEST] [MARGIN ...]  (default 5 5 auto 0 1)
# TEST_SEED (default 100): test day i has seed TEST_SEED + i (another set of unseen days).
# TRAIN_DAYS=consecutive: training day i is 2026-10-31 + i - 1 (Saturday,
# Sunday, Monday ...: one day per weekday) instead of a Monday.
# SUGGEST_ARGS adds flags to `schedule suggest` (e.g. "--granularity 5m",
# "--max-rejected 0").
set -euo pipefail
cd "$(dirname "$0")/.."
train=${1:-5}
test=${2:-5}
shift $(( $# < 2 ? $# : 2 ))
margins=("$@")
[ ${#margins[@]} -gt 0 ] || margins=(auto 0 1)
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-target}/release/scaler
example=examples/sip.toml
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Mondays from 2026-11-02 on: training days first, then test days.
monday() { date -u -d "2026-11-02 + $(( $1 * 7 )) days" +%F; }
train_files=()
for i in $(seq 1 "$train"); do
    f="$work/train-$i.csv"
    date=$(monday $(( i - 1 )))
    [ "${TRAIN_DAYS:-}" != consecutive ] || date=$(date -u -d "2026-10-31 + $(( i - 1 )) days" +%F)
    "$bin" -q simulate --generate-trace "$f" --date "$date" --calls 3500 \
        --seed "$i" --timezone Europe/Paris
    train_files+=("$f")
done
test_files=()
for i in $(seq 1 "$test"); do
    f="$work/test-$i.csv"
    "$bin" -q simulate --generate-trace "$f" --date "$(monday $(( train + i - 1 )))" --calls 3500 \
        --seed $(( ${TEST_SEED:-100} + i )) --timezone Europe/Paris
    test_files+=("$f")
done

# Sums calls, vCPU-hours, lower bound, missed, rejected, created over the days.
replay() { # config label days...
    local config=$1 label=$2
    shift 2
    for f in "$@"; do
        "$bin" -c "$config" --format json simulate --trace "$f"
    done | jq -rs --arg name "$label" '
        (map(.vcpu_hours) | add) as $v | (map(.lower_bound_vcpu_hours) | add) as $lb
        | (map(.calls) | add) as $c | (map(.rejected) | add) as $r
        | "\($name)\t\($c)\t\($v * 10 | round / 10)\t\(($v / $lb) * 1000 | round / 1000)\t\(map(.missed) | add)\t\($r) (\($r / $c * 10000 | round / 100) %)\t\(map(.created) | add)"'
}

printf 'schedule\tdays\tcalls\tvCPU-h\tratio\tmissed\trejected\tcreated\n'
replay "$example" "by hand (examples/sip.toml)	train" "${train_files[@]}"
replay "$example" "by hand (examples/sip.toml)	test" "${test_files[@]}"
trace_args=()
for f in "${train_files[@]}"; do trace_args+=(--trace "$f"); done
for margin in "${margins[@]}"; do
    start=$(date +%s%N)
    margin_args=(--margin "$margin")
    [ "$margin" != auto ] || margin_args=()
    "$bin" -c "$example" schedule suggest "${trace_args[@]}" "${margin_args[@]}" ${SUGGEST_ARGS:-} > "$work/schedule.toml"
    end=$(date +%s%N)
    # The example with its [schedule] section (and subtables) replaced.
    awk '/^\[/ { skip = ($0 ~ /^\[schedule[].]/) } !skip' "$example" > "$work/suggested.toml"
    cat "$work/schedule.toml" >> "$work/suggested.toml"
    "$bin" -q -c "$work/suggested.toml" check --offline
    label="suggested, margin $margin"
    replay "$work/suggested.toml" "$label	train" "${train_files[@]}"
    replay "$work/suggested.toml" "$label	test" "${test_files[@]}"
    echo "# suggest --margin $margin on $train days: $(( (end - start) / 1000000 )) ms wall; $(grep -m1 '^# Searched' "$work/schedule.toml" | sed 's/^# //')" >&2
    grep -E '^# (Then load_max|Leave-one-day-out|  |Used|With the headroom)' "$work/schedule.toml" >&2 || true
done
