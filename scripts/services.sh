#!/usr/bin/env bash
# Installs and starts what the test suite needs, reusing whatever is already
# installed and running: MariaDB with a `scaler` test account, Redis, the
# Kamailio schema files, Kamailio and SIPp (end-to-end suite), moto's EC2
# emulator, and podman with runc (the container image). Safe to run again;
# prints what it does on stderr.
# `scripts/services.sh mariadb` prepares only MariaDB and the schema files
# (what the quick start needs).
set -euo pipefail
only=${1:-all}

say() { echo "services: $*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
[ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server)
[ -f /usr/share/kamailio/mysql/usrloc-create.sql ] || missing+=(kamailio-mysql-modules)
if [ "$only" = all ]; then
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v kamailio >/dev/null || [ -x /usr/sbin/kamailio ] || missing+=(kamailio)
  command -v sipp >/dev/null || missing+=(sip-tester)
  command -v systemd-analyze >/dev/null || missing+=(systemd)   # tests/examples.rs verifies the units
  # tests/operator.rs: the package's sysusers.d/tmpfiles.d files, passes run as its user.
  command -v systemd-sysusers >/dev/null || missing+=(systemd)
  command -v systemd-tmpfiles >/dev/null || missing+=(systemd)
  command -v setpriv >/dev/null || missing+=(util-linux)
  # tests/container.rs: scripts/container.sh builds the image with podman; runc runs it.
  command -v podman >/dev/null || missing+=(podman)
  command -v runc >/dev/null || missing+=(runc)
fi
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

if [ "$only" = all ] && ! python3 -c 'import moto.server, flask' 2>/dev/null; then
  say "installing moto[server]"
  python3 -m pip install -q 'moto[server]' >&2
fi
# tests/container.rs parses examples/compose.yml with PyYAML.
if [ "$only" = all ] && ! python3 -c 'import yaml' 2>/dev/null; then
  say "installing PyYAML"
  python3 -m pip install -q PyYAML >&2
fi

# MariaDB on 127.0.0.1:3306.
if ! mysqladmin --protocol=socket -uroot ping >/dev/null 2>&1; then
  say "starting MariaDB"
  as_root install -d -o mysql -g mysql /run/mysqld
  as_root service mariadb start >&2 2>&1 || as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
  for _ in $(seq 60); do mysqladmin --protocol=socket -uroot ping >/dev/null 2>&1 && break; sleep 0.5; done
  mysqladmin --protocol=socket -uroot ping >/dev/null 2>&1 || { say "MariaDB did not start"; exit 1; }
fi
as_root mysql --protocol=socket -uroot <<'SQL'
CREATE USER IF NOT EXISTS 'scaler'@'127.0.0.1' IDENTIFIED BY 'scaler';
CREATE USER IF NOT EXISTS 'scaler'@'localhost' IDENTIFIED BY 'scaler';
GRANT ALL PRIVILEGES ON `scaler\_%`.* TO 'scaler'@'127.0.0.1' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON `scaler\_%`.* TO 'scaler'@'localhost' WITH GRANT OPTION;
-- tests/check.rs creates restricted accounts (SELECT only...) to see `check` refuse them.
GRANT CREATE USER ON *.* TO 'scaler'@'127.0.0.1';
GRANT CREATE USER ON *.* TO 'scaler'@'localhost';
CREATE USER IF NOT EXISTS 'scaler_secret'@'127.0.0.1' IDENTIFIED BY 'S3cret-Never-Printed-42';
GRANT ALL PRIVILEGES ON `scaler\_%`.* TO 'scaler_secret'@'127.0.0.1';
FLUSH PRIVILEGES;
SQL

[ "$only" = all ] || { say "ready: MariaDB (scaler/scaler on 127.0.0.1:3306), Kamailio schema"; exit 0; }

# Redis on 127.0.0.1:6379.
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  say "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >&2
  for _ in $(seq 40); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.25; done
  redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || { say "Redis did not start"; exit 1; }
fi
say "ready: MariaDB (scaler/scaler on 127.0.0.1:3306), Redis (127.0.0.1:6379), Kamailio schema, SIPp, moto"
