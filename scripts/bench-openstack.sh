#!/usr/bin/env bash
# Benchmark of one OpenStack listing: a mock Keystone + Nova on 127.0.0.1
# (Python's http.server, answering like "List Servers Detailed" with
# `limit`/`marker` pages and `servers_links`) holds SERVERS pool servers;
# `scaler plan` (release build) lists them in pages of PAGE and the script
# prints the pass timings from the JSON report. The gateway source is an
# empty Kamailio database (as in bench-sip.sh). Nothing leaves 127.0.0.1: the
# servers' addresses are documentation ranges that nothing contacts.
# Usage: scripts/bench-openstack.sh [SERVERS] [PAGE] [RUNS]   (default 5000 1000 5)
set -euo pipefail
cd "$(dirname "$0")/.."
servers=${1:-5000}
page=${2:-1000}
runs=${3:-5}
db=scaler_bench_openstack
scripts/services.sh mariadb
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
sql() { as_root mysql --protocol=socket -uroot "$@"; }
{
  echo "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db; USE $db;"
  cat /usr/share/kamailio/mysql/{standard,usrloc,dialog}-create.sql
  echo 'ALTER TABLE location ADD COLUMN locked INT NOT NULL DEFAULT 0, ADD COLUMN to_stop INT NOT NULL DEFAULT 0;'
} | sql
sql -e "GRANT ALL PRIVILEGES ON $db.* TO 'scaler'@'127.0.0.1'"

work=$(mktemp -d)
mock_pid=
cleanup() {
  if [ -n "$mock_pid" ]; then kill "$mock_pid" 2>/dev/null || true; fi
  rm -rf "$work"
  sql -e "DROP DATABASE IF EXISTS $db"
}
trap cleanup EXIT

cat > "$work/mock.py" <<'PY'
import json, sys, datetime, urllib.parse
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
count = int(sys.argv[1])
created = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
servers = [{
    "id": f"00000000-0000-4000-8000-{n:012d}", "name": f"bench-20260101000000-{n}",
    "status": "ACTIVE", "OS-EXT-STS:vm_state": "active", "OS-EXT-STS:task_state": None,
    "addresses": {"Ext-Net": [
        {"addr": f"198.51.{n // 250 % 256}.{n % 250 + 1}", "version": 4, "OS-EXT-IPS:type": "fixed"},
        {"addr": f"2001:db8::{n:x}", "version": 6, "OS-EXT-IPS:type": "fixed"}]},
    "flavor": {"id": "f16", "links": []}, "metadata": {"scaler-pool": "bench"},
    "created": created, "updated": created, "image": {"id": "img", "links": []},
    "key_name": None, "tenant_id": "p", "user_id": "u", "hostId": "h", "progress": 0,
    "links": [{"rel": "self", "href": f"http://openstack.example.com/servers/{n}"}],
} for n in range(count)]
index = {s["id"]: i for i, s in enumerate(servers)}
flavors = [{"id": "f16", "name": "b3-64", "vcpus": 16, "ram": 64000, "disk": 100}]

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
    def send(self, status, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        base = f"http://127.0.0.1:{self.server.server_port}"
        catalog = [{"type": "compute", "endpoints": [{"interface": "public", "region_id": "R", "region": "R", "url": base + "/v2.1"}]}]
        self.send(201, {"token": {"catalog": catalog, "methods": ["password"]}}, [("X-Subject-Token", "bench-token")])
    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path.endswith("/flavors/detail"):
            return self.send(200, {"flavors": flavors})
        limit = int(query.get("limit", ["1000"])[0])
        start = index[query["marker"][0]] + 1 if "marker" in query else 0
        chunk = servers[start:start + limit]
        body = {"servers": chunk}
        if len(chunk) == limit:
            body["servers_links"] = [{"rel": "next", "href": f"http://127.0.0.1/v2.1/servers/detail?limit={limit}&marker={chunk[-1]['id']}"}]
        self.send(200, body)

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_port, flush=True)
server.serve_forever()
PY
python3 "$work/mock.py" "$servers" > "$work/port" &
mock_pid=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port")
echo "bench: $servers servers at a mock Nova on 127.0.0.1:$port, pages of $page" >&2

cat > "$work/scaler.toml" <<TOML
[pool]
name = "bench"
kind = "sip"
gateway_prefix = "mediagw"
cpu_per_gateway = 4
no_public_ip_timeout = "off"
register_timeout = "100h"     # keep the plan (and the report) small
[schedule.default]
"00:00" = { idle_min = 10, load_max = 0.75, max_gateways = 100000 }
[sip]
url = "mysql://scaler@127.0.0.1:3306/$db"
password_env = "BENCH_DB_PASSWORD"
[provider]
kind = "openstack"
auth_url = "http://127.0.0.1:$port/v3"
region = "R"
username = "bench"
project_name = "bench"
password_env = "BENCH_OS_PASSWORD"
image = "00000000-0000-4000-8000-00000000abcd"
public_network = "Ext-Net"
flavors = ["b3-64"]
page_size = $page
TOML
cargo build --release --quiet
binary=${CARGO_TARGET_DIR:-target}/release/scaler
for i in $(seq "$runs"); do
  start=$(date +%s%N)
  BENCH_DB_PASSWORD=scaler BENCH_OS_PASSWORD=bench "$binary" -c "$work/scaler.toml" --format json plan > "$work/report.json"
  end=$(date +%s%N)
  python3 -c '
import json, sys
r = json.load(open(sys.argv[1])); t = r["timings"]; i = r["observed"]["instances"]
print("run %s: wall %.1f ms; provider %.1f ms, database %.1f ms, plan %.1f ms; instances %d (active %d)" % (sys.argv[2], int(sys.argv[3]) / 1e6, t["provider_ms"], t["gateways_ms"], t["plan_ms"], i["total"], i["active"]))
' "$work/report.json" "$i" "$((end - start))"
done
