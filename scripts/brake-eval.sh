#!/usr/bin/env bash
# Evaluation of the per-pass brakes (`limits.max_create_per_run`,
# `limits.max_destroy_per_run`) in the simulator, on bursty working days.
#
# A bursty day is the generator's working day (`scaler simulate
# --generate-trace`, 3,500 calls, the given seed) plus BURSTS bursts: at a
# random minute between 08:00 and 18:00 local time, 100 to 300 people
# (uniform) join within the same minute, for calls of log-normal length
# (median 45 minutes, 1 to 180 minutes) - a webinar or an all-hands. The
# bursts are drawn by Python's `random` seeded with the day's seed, so a
# seed always gives the same day.
#
# For each configuration of examples/ and examples/simulate/ (one day of
# each seed, default boots of 60 s + up to 60 s) it prints, summed over the
# days: missed calls, rejected attempts, vCPU-hours and instances created,
#   - with no brakes (both caps 10,000, the most allowed),
#   - with max_create_per_run = N for each N of CREATE_CAPS (no destroy cap),
#   - with max_destroy_per_run = N for each N of DESTROY_CAPS (no create cap),
#   - with the defaults (no [limits] brake keys).
# Choose the defaults on seeds 1-5 (the default), publish on 101-105 (README
# "Brakes"):
#   scripts/brake-eval.sh "1 2 3 4 5"
#   scripts/brake-eval.sh "101 102 103 104 105" defaults
# The second form prints only the no-brake and the default rows.
# Usage: scripts/brake-eval.sh [SEEDS] [all|defaults]; SCALER=path/to/scaler
# uses that binary instead of building the release one.
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-"1 2 3 4 5"}
mode=${2:-all}
bursts=${BURSTS:-4}
create_caps=${CREATE_CAPS:-"5 10 20 30 50 100"}
destroy_caps=${DESTROY_CAPS:-"5 10 20 50"}
if [ -z "${SCALER:-}" ]; then
    cargo build --release --quiet
    SCALER=${CARGO_TARGET_DIR:-target}/release/scaler
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One bursty day per seed.
for seed in $seeds; do
    "$SCALER" -q simulate --generate-trace "$work/base-$seed.csv" --date 2026-11-24 \
        --calls 3500 --seed "$seed" --timezone Europe/Paris
    python3 - "$work/base-$seed.csv" "$work/day-$seed.csv" "$seed" "$bursts" <<'PY'
import math, random, sys
from datetime import datetime, timedelta
src, dst, seed, bursts = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)
lines = open(src).read().splitlines()
header, calls = lines[0], lines[1:]
# The generated day's own offset (Europe/Paris, winter: +01:00).
day = datetime.fromisoformat(calls[0].split(",")[0]).replace(hour=0, minute=0, second=0)
out = list(calls)
for _ in range(bursts):
    minute = day + timedelta(minutes=rng.randrange(8 * 60, 18 * 60))
    for _ in range(rng.randint(100, 300)):
        start = minute + timedelta(seconds=rng.uniform(0, 59))
        length = min(180.0, max(1.0, math.exp(rng.gauss(math.log(45), 0.6))))
        end = start + timedelta(minutes=length)
        out.append(f"{start.isoformat(timespec='seconds')},{end.isoformat(timespec='seconds')}")
out.sort()
open(dst, "w").write(header + "\n" + "\n".join(out) + "\n")
PY
done

# A configuration with its brake keys replaced by `$2`.
with_limits() {
    python3 - "$1" "$2" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
text = re.sub(r"(?m)^max_(create|destroy)_per_run\s*=.*\n", "", text)
keys = sys.argv[2].replace(";", "\n")
if re.search(r"(?m)^\[limits\]", text):
    text = re.sub(r"(?m)^\[limits\]\n", "[limits]\n" + keys + "\n", text, count=1)
else:
    text += "\n[limits]\n" + keys + "\n"
print(text)
PY
}

# Sums missed, rejected, vCPU-hours and created over the days.
replay() {
    local config=$1 total_missed=0 total_rejected=0 total_vcpu=0 total_created=0
    for seed in $seeds; do
        read -r missed rejected vcpu created < <("$SCALER" -c "$config" --format json \
            simulate --trace "$work/day-$seed.csv" --seed "$seed" |
            python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["missed"], j["rejected"], j["vcpu_hours"], j["created"])')
        total_missed=$((total_missed + missed))
        total_rejected=$((total_rejected + rejected))
        total_vcpu=$(python3 -c "print($total_vcpu + $vcpu)")
        total_created=$((total_created + created))
    done
    printf '%s | %s | %.0f | %s' "$total_missed" "$total_rejected" "$total_vcpu" "$total_created"
}

row() {
    local name=$1 label=$2 keys=$3
    with_limits "$file" "$keys" > "$work/config.toml"
    # Relative paths in the configuration stay as they were.
    echo "| \`$name\` | $label | $(replay "$work/config.toml") |"
}

echo "seeds: $seeds; $bursts bursts a day"
echo
echo "| configuration | brakes | missed | rejected | vCPU-hours | created |"
echo "|---|---|---|---|---|---|"
for file in examples/sip.toml examples/simulate/*.toml; do
    name=${file#examples/}
    row "$name" "none" "max_create_per_run = 10000;max_destroy_per_run = 10000"
    if [ "$mode" = all ]; then
        for n in $create_caps; do
            row "$name" "max_create_per_run = $n" "max_create_per_run = $n;max_destroy_per_run = 10000"
        done
        for n in $destroy_caps; do
            row "$name" "max_destroy_per_run = $n" "max_create_per_run = 10000;max_destroy_per_run = $n"
        done
    fi
    row "$name" "defaults" ""
done
