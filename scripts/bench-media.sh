#!/usr/bin/env bash
# Benchmark of one media observation: loads GATEWAYS gateway keys (4 per
# host, the proxy's value format, a mix of states) into Redis db 15 on
# 127.0.0.1:6379 under a prefix of their own, then runs `scaler plan`
# (release build) RUNS times and prints how long the Redis observation took
# (SCAN + pipelined MGET, from the source's own log line) and the whole pass.
# The keys are removed at the end.
# Usage: scripts/bench-media.sh [GATEWAYS] [RUNS]   (default 20000 5)
set -euo pipefail
cd "$(dirname "$0")/.."
gateways=${1:-20000}
runs=${2:-5}
db=15
prefix="scaler-bench:$$:gateway:"
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || scripts/services.sh
rcli() { redis-cli -h 127.0.0.1 -p 6379 -n "$db" "$@"; }

work=$(mktemp -d)
cleanup() {
  rcli --scan --pattern "scaler-bench:$$:*" | xargs -r -n 1000 redis-cli -h 127.0.0.1 -p 6379 -n "$db" del >/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

echo "bench: loading $gateways gateway keys into db $db under $prefix" >&2
python3 - "$gateways" "$prefix" <<'PY' | rcli --pipe >/dev/null
import sys
count, prefix = int(sys.argv[1]), sys.argv[2]
states = ["working"] * 10 + ["started"] * 8 + ["stopped", "starting"]
out = sys.stdout.buffer
for g in range(count):
    h = g // 4
    key = f"{prefix}gw-{g}".encode()
    value = (f"10.{h // 62500}.{h // 250 % 250}.{h % 250 + 1}:{8080 + g % 4}|{states[g % 20]}|media|"
             f"room-{g}|2026-01-01T08:00:00.000000|{g % 3600}|0|jitsi").encode()
    args = [b"SET", key, value]
    out.write(b"*%d\r\n" % len(args))
    for a in args:
        out.write(b"$%d\r\n%s\r\n" % (len(a), a))
PY
echo "bench: $(rcli dbsize) keys in db $db" >&2

cat > "$work/scaler.toml" <<TOML
[pool]
name = "bench"
kind = "media"
cpu_per_gateway = 4
[schedule.default]
"00:00" = { idle_min = 10, load_max = 0.75, max_gateways = 100000 }
[media]
url = "redis://127.0.0.1:6379/$db"
key_prefix = "$prefix"
drain_key = "scaler-bench:$$:drain"
[lock]
path = "pass.lock"
[provider]
kind = "local"
state_file = "cloud.json"
[provider.instance_types]
"c16" = 16
TOML
cargo build --release --quiet
scaler="${CARGO_TARGET_DIR:-target}/release/scaler"
for i in $(seq "$runs"); do
  start=$(date +%s%N)
  out=$("$scaler" -v -c "$work/scaler.toml" --format json plan 2>"$work/log") || { cat "$work/log" >&2; exit 1; }
  end=$(date +%s%N)
  line=$(grep -o 'media: .* round trips)' "$work/log" || true)
  python3 -c '
import json, sys
r = json.loads(sys.argv[1])
g = r["observed"]["gateways"]
counts = " ".join(f"{k} {g[k]}" for k in ("registered", "busy", "idle", "pending"))
wall = int(sys.argv[3]) / 1e6
print(f"run {sys.argv[2]}: {sys.argv[4]}; whole plan {wall:.1f} ms wall; {counts}")
' "$out" "$i" "$((end - start))" "$line"
done
