#!/usr/bin/env bash
# Which headroom rule generalises to days it was not chosen on (release
# build). One slot all day (`idle_min`, `load_max`, `sqrt_headroom`,
# max_gateways 3000; examples/sip.toml for the rest of the configuration).
# For each family of rules (idle_min alone; with load_max; with
# sqrt_headroom; with both), the cheapest rule (vCPU-hours) of a grid that
# misses no call and rejects at most 0.2 % of the calls on five training
# Mondays (seeds 1-5, the days of scripts/suggest-eval.sh) is chosen; it is
# then replayed on two sets of unseen Mondays (seeds 101-105 and 201-205),
# which choose nothing. Prints one line per (family, days): the rule,
# calls, vCPU-hours, ratio to the zero-delay lower bound, missed, rejected
# (share of calls) and instances created, summed over the five days.
# Usage: scripts/rule-eval.sh   (1,350 rules x 5 days: a few minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=$(realpath "${CARGO_TARGET_DIR:-target}/release/scaler")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export bin work

# days NAME SEED_BASE WEEK_OFFSET: five Mondays, seeds SEED_BASE+1 ...
days() {
    local i
    for i in 1 2 3 4 5; do
        "$bin" -q simulate --generate-trace "$work/$1-$i.csv" --calls 3500 \
            --date "$(date -u -d "2026-11-02 + $(( (i - 1 + $3) * 7 )) days" +%F)" \
            --seed $(( $2 + i )) --timezone Europe/Paris
    done
}
days train 0 0
days test100 100 5
days test200 200 5

# The example without its [schedule] tables.
awk '/^\[/ { skip = ($0 ~ /^\[schedule[].]/) } !skip' examples/sip.toml > "$work/base.toml"

# rule IDLE LOAD_MAX BETA SET: one TSV line, the rule and its sums on SET.
rule() {
    local config="$work/rule-$1-$2-$3.toml"
    { cat "$work/base.toml"
      printf '[schedule]\ntimezone = "Europe/Paris"\n[schedule.default]\n'
      printf '"00:00" = { idle_min = %s, load_max = %s, sqrt_headroom = %s, max_gateways = 3000 }\n' "$1" "$2" "$3"
    } > "$config"
    for f in "$work/$4"-?.csv; do
        "$bin" -c "$config" --format json simulate --trace "$f"
    done | jq -rs --arg rule "$1	$2	$3" '
        "\($rule)\t\(map(.calls) | add)\t\(map(.vcpu_hours) | add)\t\(map(.lower_bound_vcpu_hours) | add)\t\(map(.missed) | add)\t\(map(.rejected) | add)\t\(map(.created) | add)"'
}
export -f rule

for idle in 1 2 4 6 8 10 12 15 20 25 30 40 50 60 80; do
    for load_max in 1.0 0.95 0.9 0.85 0.8 0.75 0.7 0.65 0.6; do
        for beta in 0 0.5 1 1.5 2 2.5 3 3.5 4 5; do
            echo "$idle $load_max $beta train"
        done
    done
done | xargs -P "$(nproc)" -n 4 bash -c 'rule "$@"' _ > "$work/train.tsv"

# The cheapest rule of a family (an awk condition on $2 = load_max, $3 =
# beta) with no call missed and at most 0.2 % rejected, or nothing.
cheapest() {
    awk -F'\t' "($1) && \$7 == 0 && \$8 <= 0.002 * \$4" "$work/train.tsv" | sort -t$'\t' -k5,5g | head -n 1
}

printf 'family\tdays\tidle_min\tload_max\tsqrt_headroom\tcalls\tvCPU-h\tratio\tmissed\trejected\tcreated\n'
show() { # family days line
    awk -F'\t' -v family="$1" -v days="$2" '{ printf "%s\t%s\t%s\t%s\t%s\t%d\t%.0f\t%.3f\t%d\t%d (%.2f %%)\t%d\n", family, days, $1, $2, $3, $4, $5, $5 / $6, $7, $8, 100 * $8 / $4, $9 }' <<<"$3"
}
for family in "idle_min alone:\$2 == 1 && \$3 == 0" "with load_max:\$3 == 0" \
    "with sqrt_headroom:\$2 == 1" "with both:1"; do
    name=${family%%:*}
    best=$(cheapest "${family#*:}")
    if [ -z "$best" ]; then
        printf '%s\ttrain (seeds 1-5)\tno rule of the grid serves the training days\n' "$name"
        continue
    fi
    show "$name" "train (seeds 1-5)" "$best"
    read -r idle load_max beta _ <<<"$best"
    show "$name" "test (seeds 101-105)" "$(rule "$idle" "$load_max" "$beta" test100)"
    show "$name" "test (seeds 201-205)" "$(rule "$idle" "$load_max" "$beta" test200)"
done
