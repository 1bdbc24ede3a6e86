#!/usr/bin/env bash
# Quick start: prepares a local MariaDB database with Kamailio's schema
# (installing MariaDB and kamailio-mysql-modules when missing), then runs one
# real pass of `scaler` with examples/quickstart.toml on the local provider.
# Extra arguments go to scaler (default: `run`), e.g. `scripts/quickstart.sh plan`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/services.sh mariadb
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! as_root mysql --protocol=socket -uroot -e 'SELECT 1 FROM scaler_quickstart.location LIMIT 1' >/dev/null 2>&1; then
  echo "quickstart: creating database scaler_quickstart with Kamailio's schema" >&2
  {
    echo 'CREATE DATABASE IF NOT EXISTS scaler_quickstart; USE scaler_quickstart;'
    cat /usr/share/kamailio/mysql/{standard,usrloc,dialog}-create.sql
    echo 'ALTER TABLE location ADD COLUMN locked INT NOT NULL DEFAULT 0, ADD COLUMN to_stop INT NOT NULL DEFAULT 0;'
  } | as_root mysql --protocol=socket -uroot
fi
mkdir -p /tmp/scaler-quickstart
export SCALER_DB_PASSWORD=scaler
[ $# -gt 0 ] || set -- run
exec cargo run --quiet -- -c examples/quickstart.toml "$@"
