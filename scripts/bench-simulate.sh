#!/usr/bin/env bash
# Benchmark of `scaler simulate` (release build): generates a synthetic
# working day of CALLS calls (seeded), replays it RUNS times against a pool
# uncapped at 1000 gateways (idle_min 8, load_max 0.75 by day: with the
# default 5,000 calls the day of seed 1 has 4,927 calls and peaks at about
# 690 calls and 915 gateways, so the planner assesses ~900 instances every
# simulated minute), and
# prints the simulation's figures and the CPU and wall time of each run.
# Usage: scripts/bench-simulate.sh [CALLS] [RUNS]   (default 5000 5)
set -euo pipefail
cd "$(dirname "$0")/.."
calls=${1:-5000}
runs=${2:-5}
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-target}/release/scaler
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin" -q simulate --generate-trace "$work/day.csv" --date 2026-11-23 --calls "$calls" \
    --seed 1 --timezone Europe/Paris
pool=examples/simulate/uncapped.toml
"$bin" -c "$pool" simulate --trace "$work/day.csv"
TIMEFORMAT='run: %R s wall, %U s user, %S s system'
for _ in $(seq "$runs"); do
    time "$bin" -q -c "$pool" simulate --trace "$work/day.csv"
done
