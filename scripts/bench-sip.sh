#!/usr/bin/env bash
# Benchmark of one SIP observation: seeds a MariaDB database with Kamailio's
# schema, GATEWAYS registrations (4 per host, one local-provider instance per
# host) and CALLS active dialogs, then times `scaler plan` (release build)
# several times and prints the pass timings from the JSON report.
# Usage: scripts/bench-sip.sh [GATEWAYS] [CALLS] [RUNS]   (default 4000 2000 5)
set -euo pipefail
cd "$(dirname "$0")/.."
gateways=${1:-4000}
calls=${2:-2000}
runs=${3:-5}
db=scaler_bench
scripts/services.sh mariadb
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
sql() { as_root mysql --protocol=socket -uroot "$@"; }

hosts=$(( (gateways + 3) / 4 ))
echo "bench: $gateways gateways on $hosts hosts, $calls calls" >&2
{
  echo "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db; USE $db;"
  cat /usr/share/kamailio/mysql/{standard,usrloc,dialog}-create.sql
  echo 'ALTER TABLE location ADD COLUMN locked INT NOT NULL DEFAULT 0, ADD COLUMN to_stop INT NOT NULL DEFAULT 0;'
  # Gateway g (0-based) lives on host 127.1.(h/250).(h%250+1) with h = g/4.
  cat <<SQL
INSERT INTO location (ruid, username, contact, received, expires, callid, user_agent)
SELECT CONCAT('uloc-', g), CONCAT(ip, '.mediagw.', g % 4),
       CONCAT('sip:', ip, '.mediagw.', g % 4, '@', ip, ':', 5060 + 2 * (g % 4)),
       CONCAT('sip:', ip, ':', 5060 + 2 * (g % 4)), NOW() + INTERVAL 1 HOUR, CONCAT('c-', g), 'bench'
FROM (SELECT seq - 1 AS g, CONCAT('127.1.', ((seq - 1) DIV 4) DIV 250, '.', ((seq - 1) DIV 4) % 250 + 1) AS ip
      FROM seq_1_to_${gateways}) AS gw;
INSERT INTO dialog (hash_entry, hash_id, callid, from_uri, from_tag, to_uri, to_tag, caller_cseq, callee_cseq,
                    caller_contact, callee_contact, caller_sock, callee_sock, state, start_time, req_uri)
SELECT 1, g, CONCAT('call-', g), 'sip:caller@127.0.0.1', 'ft', 'sip:gw@127.0.0.1', 'tt', '1', '1',
       'sip:caller@127.0.0.1:5090', CONCAT('sip:', username, '@', SUBSTRING_INDEX(SUBSTRING(received, 5), ':', 1), ':5060'),
       'udp:127.0.0.1:5060', 'udp:127.0.0.1:5060', 4, UNIX_TIMESTAMP(), 'sip:gw@127.0.0.1'
FROM (SELECT id AS g, username, received FROM location ORDER BY id LIMIT ${calls}) AS busy;
SQL
} | sql

work=$(mktemp -d)
trap 'rm -rf "$work"; sql -e "DROP DATABASE IF EXISTS '$db'"' EXIT
python3 - "$hosts" "$work/cloud.json" <<'PY'
import json, sys, datetime
hosts, path = int(sys.argv[1]), sys.argv[2]
created = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=2)).isoformat()
instances = [{"id": f"local-{h}", "name": f"bench-20260101000000-{h}", "pool": "bench", "state": "active",
              "private_ip": f"127.1.{h // 250}.{h % 250 + 1}", "public_ip": f"127.1.{h // 250}.{h % 250 + 1}",
              "vcpus": 16, "instance_type": "c16", "created_at": created} for h in range(hosts)]
json.dump({"next_id": hosts, "instances": instances}, open(path, "w"))
PY
cat > "$work/scaler.toml" <<TOML
[pool]
name = "bench"
kind = "sip"
gateway_prefix = "mediagw"
cpu_per_gateway = 4
[schedule.default]
"00:00" = { idle_min = 10, load_max = 0.75, max_gateways = 100000 }
[sip]
url = "mysql://scaler@127.0.0.1:3306/$db"
password_env = "BENCH_DB_PASSWORD"
[provider]
kind = "local"
state_file = "cloud.json"
[provider.instance_types]
"c16" = 16
TOML
sql -e "GRANT ALL PRIVILEGES ON $db.* TO 'scaler'@'127.0.0.1'"
cargo build --release --quiet
for i in $(seq "$runs"); do
  start=$(date +%s%N)
  out=$(BENCH_DB_PASSWORD=scaler target/release/scaler -c "$work/scaler.toml" --format json plan)
  end=$(date +%s%N)
  python3 -c '
import json, sys
r = json.loads(sys.argv[1]); t = r["timings"]; g = r["observed"]["gateways"]
print("run %s: wall %.1f ms; database %.1f ms, provider %.1f ms, plan %.1f ms; registered %d busy %d idle %d; delta %d" % (
    sys.argv[2], int(sys.argv[3]) / 1e6, t["gateways_ms"], t["provider_ms"], t["plan_ms"],
    g["registered"], g["busy"], g["idle"], r["decision"]["delta"]))
' "$out" "$i" "$((end - start))"
done
