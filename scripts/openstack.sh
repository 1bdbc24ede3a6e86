#!/usr/bin/env bash
# A small real OpenStack cloud on 127.0.0.1 for tests/openstack_provider.rs:
# Keystone, Placement, Nova (API, conductor, scheduler, compute with the
# fake virt driver `fake.MediumFakeDriver`), Glance (file store, one tiny
# image) and Neutron (ML2, no agents), on MariaDB (databases `scaler_os_*`)
# and RabbitMQ (vhost `scaler_os`).
#
#   scripts/openstack.sh start    start it, or reuse the stack already running
#   scripts/openstack.sh status   exit 0 when every service answers
#   scripts/openstack.sh stop     stop what `start` started
#
# The services are installed from scripts/openstack/requirements.txt (fully
# pinned) into a virtual environment cached outside the clone, under
# $SCALER_OS_CACHE (default /var/cache/scaler-openstack), keyed by that
# file's hash: later runs on the same machine reuse it. Configuration,
# keys, images, pid files and logs live under $SCALER_OS_RUN (default
# /var/tmp/scaler-openstack; logs in log/). A cold start drops and
# recreates the `scaler_os_*` databases. When every service answers,
# `$SCALER_OS_RUN/stack.env` (KEY=VALUE lines: URLs, admin credentials,
# flavor and image names) is what the tests read. The stack is left
# running after the tests so the next run reuses it; `stop` ends it.
# Every wait is bounded; a service that does not answer fails the script
# with its name and the tail of its log.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
here=$repo/scripts/openstack

CACHE=${SCALER_OS_CACHE:-/var/cache/scaler-openstack}
RUN=${SCALER_OS_RUN:-/var/tmp/scaler-openstack}
LOG=$RUN/log
PIDS=$RUN/pids
STATE=$RUN/stack.env
PYTHON=${SCALER_OS_PYTHON:-python3}
# Fixed loopback ports, below the kernel's ephemeral range (tests pick free
# ephemeral ports, so they never collide with these).
KEYSTONE_PORT=25000
PLACEMENT_PORT=25078
NOVA_PORT=25074
GLANCE_PORT=25092
NEUTRON_PORT=25096
export SCALER_OS_KEYSTONE_PORT=$KEYSTONE_PORT SCALER_OS_PLACEMENT_PORT=$PLACEMENT_PORT \
  SCALER_OS_NOVA_PORT=$NOVA_PORT SCALER_OS_GLANCE_PORT=$GLANCE_PORT SCALER_OS_NEUTRON_PORT=$NEUTRON_PORT
IP=127.0.0.1
REGION=RegionOne
RABBIT_USER=scaler_os
RABBIT_PASS=scaler-os-rabbit
DB_URL_BASE="mysql+pymysql://scaler:scaler@$IP:3306"
SERVICES=(keystone placement nova-api nova-conductor nova-scheduler nova-compute glance neutron)

say() { echo "openstack: $*" >&2; }
die() { say "FAILED: $*"; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# --- the virtual environment -------------------------------------------------

venv_path() {
  local hash
  hash=$(cat "$here/requirements.txt" | sha256sum | cut -c1-16)
  echo "$CACHE/venv-$hash"
}

ensure_venv() {
  VENV=$(venv_path)
  if [ -f "$VENV/.complete" ]; then
    return
  fi
  say "installing the services into $VENV (a few minutes, once per machine)"
  as_root mkdir -p "$CACHE"
  [ -w "$CACHE" ] || as_root chown "$(id -u):$(id -g)" "$CACHE"
  # Built in place (a venv's scripts carry its path); `.complete` marks it done.
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  if ! "$VENV/bin/pip" install -q --no-deps -r "$here/requirements.txt" >"$CACHE/install.log" 2>&1; then
    tail -20 "$CACHE/install.log" >&2
    die "pip install of scripts/openstack/requirements.txt failed (log: $CACHE/install.log)"
  fi
  touch "$VENV/.complete"
}

# --- MariaDB and RabbitMQ ----------------------------------------------------

DATABASES=(keystone placement nova_api nova nova_cell0 glance neutron)

reset_databases() {
  local sql=""
  for db in "${DATABASES[@]}"; do
    sql+="DROP DATABASE IF EXISTS scaler_os_$db; CREATE DATABASE scaler_os_$db CHARACTER SET utf8mb4;"
  done
  as_root mysql --protocol=socket -uroot -e "$sql" || die "MariaDB: cannot create the scaler_os_* databases (is scripts/services.sh run?)"
}

ensure_rabbitmq() {
  if ! command -v rabbitmq-server >/dev/null && [ ! -x /usr/sbin/rabbitmq-server ]; then
    say "installing rabbitmq-server"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rabbitmq-server >&2
  fi
  if [ ! -f /etc/rabbitmq/rabbitmq-env.conf ] || ! grep -q '^NODE_IP_ADDRESS=127.0.0.1' /etc/rabbitmq/rabbitmq-env.conf; then
    # Loopback only: AMQP, the node distribution port and epmd.
    as_root mkdir -p /etc/rabbitmq
    printf '%s\n' 'NODENAME=rabbit@localhost' 'NODE_IP_ADDRESS=127.0.0.1' 'ERL_EPMD_ADDRESS=127.0.0.1' \
      'export ERL_FLAGS="-kernel inet_dist_use_interface {127,0,0,1}"' | as_root tee /etc/rabbitmq/rabbitmq-env.conf >/dev/null
  fi
  if ! as_root timeout 30 rabbitmqctl -q status >/dev/null 2>&1; then
    say "starting RabbitMQ"
    as_root service rabbitmq-server start >&2 2>&1 || as_root env ERL_EPMD_ADDRESS=127.0.0.1 rabbitmq-server -detached >&2 2>&1 || true
    as_root timeout 90 rabbitmqctl -q wait --timeout 80 /var/lib/rabbitmq/mnesia/rabbit@localhost.pid >/dev/null 2>&1 \
      || timeout 60 bash -c 'until rabbitmqctl -q status >/dev/null 2>&1; do sleep 1; done' \
      || die "RabbitMQ did not start (log: /var/log/rabbitmq/)"
  fi
  as_root timeout 30 rabbitmqctl -q add_vhost scaler_os >/dev/null 2>&1 || true
  as_root timeout 30 rabbitmqctl -q add_user "$RABBIT_USER" "$RABBIT_PASS" >/dev/null 2>&1 \
    || as_root timeout 30 rabbitmqctl -q change_password "$RABBIT_USER" "$RABBIT_PASS" >/dev/null
  as_root timeout 30 rabbitmqctl -q set_permissions -p scaler_os "$RABBIT_USER" '.*' '.*' '.*' >/dev/null \
    || die "RabbitMQ: cannot grant $RABBIT_USER the vhost scaler_os"
}

# --- configuration -----------------------------------------------------------

render_configs() {
  local admin_password=$1
  mkdir -p "$RUN"/{etc,log,pids,keystone,nova,glance/images,neutron,lock}
  for service in keystone placement nova glance neutron; do
    mkdir -p "$RUN/etc/$service"
    for template in "$here/$service"/*; do
      sed -e "s|@RUN@|$RUN|g" -e "s|@IP@|$IP|g" -e "s|@DB@|$DB_URL_BASE|g" \
        -e "s|@KEYSTONE_PORT@|$KEYSTONE_PORT|g" -e "s|@PLACEMENT_PORT@|$PLACEMENT_PORT|g" \
        -e "s|@NOVA_PORT@|$NOVA_PORT|g" -e "s|@GLANCE_PORT@|$GLANCE_PORT|g" \
        -e "s|@NEUTRON_PORT@|$NEUTRON_PORT|g" -e "s|@REGION@|$REGION|g" \
        -e "s|@RABBIT@|rabbit://$RABBIT_USER:$RABBIT_PASS@$IP:5672/scaler_os|g" \
        -e "s|@ADMIN_PASSWORD@|$admin_password|g" "$template" >"$RUN/etc/$service/$(basename "$template")"
    done
  done
  # The paste pipelines the wheels ship.
  cp "$VENV/etc/nova/api-paste.ini" "$RUN/etc/nova/api-paste.ini"
  cp "$VENV/etc/glance/glance-api-paste.ini" "$RUN/etc/glance/glance-api-paste.ini"
  cp "$VENV/etc/neutron/api-paste.ini" "$RUN/etc/neutron/api-paste.ini"
  chmod -R go-rwx "$RUN/etc"
}

# --- processes -----------------------------------------------------------------

# run NAME COMMAND...: starts a process in its own session, logs to log/NAME.log.
run() {
  local name=$1
  shift
  setsid "$@" >>"$LOG/$name.log" 2>&1 </dev/null 9>&- &
  echo $! >"$PIDS/$name.pid"
}

# uwsgi_app NAME PORT MODULE PROCESSES ENV=VALUE...
uwsgi_app() {
  local name=$1 port=$2 module=$3 processes=$4
  shift 4
  local envs=()
  for e in "$@"; do envs+=(--env "$e"); done
  run "$name" "$VENV/bin/uwsgi" --master --die-on-term --need-app --lazy-apps \
    --http-socket "$IP:$port" --processes "$processes" --threads 1 \
    --buffer-size 65535 --http-keepalive --add-header "Connection: close" \
    --home "$VENV" --module "$module" "${envs[@]}" --env "PATH=$VENV/bin:/usr/bin:/bin" \
    --procname-prefix "scaler-os-"
}

alive() { [ -f "$PIDS/$1.pid" ] && kill -0 "$(cat "$PIDS/$1.pid")" 2>/dev/null; }

fail_service() {
  local name=$1 what=$2
  say "$name: $what; last lines of $LOG/$name.log:"
  tail -25 "$LOG/$name.log" >&2 2>/dev/null || true
  die "$name did not come up ($what; log: $LOG/$name.log)"
}

# wait_http NAME URL SECONDS: until URL answers with any HTTP status < 500.
wait_http() {
  local name=$1 url=$2 seconds=$3 code
  local deadline=$((SECONDS + seconds))
  while [ $SECONDS -lt $deadline ]; do
    alive "$name" || fail_service "$name" "the process exited"
    code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$url" || true)
    if [ -n "$code" ] && [ "$code" != 000 ] && [ "$code" -lt 500 ]; then return 0; fi
    sleep 1
  done
  fail_service "$name" "$url did not answer within ${seconds}s"
}

# manage NAME COMMAND...: a set-up step, logged; fails naming it.
manage() {
  local name=$1
  shift
  echo "+ $*" >>"$LOG/$name.log"
  timeout 600 "$@" >>"$LOG/$name.log" 2>&1 || fail_service "$name" "set-up step '$*' failed"
}

# The harness's own files: a stack started by another version is restarted.
harness_hash() { cat "$0" "$here"/*/* "$here/setup.py" "$here/requirements.txt" | sha256sum | cut -c1-16; }

answers() {
  [ -f "$STATE" ] || return 1
  grep -qx "SCALER_OS_HARNESS=$(harness_hash)" "$STATE" || return 1
  for service in "${SERVICES[@]}"; do alive "$service" || return 1; done
  local url
  for url in "http://$IP:$KEYSTONE_PORT/v3" "http://$IP:$PLACEMENT_PORT/" "http://$IP:$NOVA_PORT/" \
    "http://$IP:$GLANCE_PORT/versions" "http://$IP:$NEUTRON_PORT/"; do
    curl -s -f -o /dev/null -m 5 "$url" || return 1
  done
}

stop() {
  local pid
  for service in "${SERVICES[@]}"; do
    if [ -f "$PIDS/$service.pid" ]; then
      pid=$(cat "$PIDS/$service.pid")
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    fi
  done
  for service in "${SERVICES[@]}"; do
    [ -f "$PIDS/$service.pid" ] || continue
    pid=$(cat "$PIDS/$service.pid")
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    rm -f "$PIDS/$service.pid"
  done
  rm -f "$STATE"
}

start_stack() {
  local admin_password
  admin_password=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
  stop
  rm -rf "$RUN/keystone" "$RUN/nova" "$RUN/glance" "$RUN/neutron" "$RUN/lock" "$LOG"
  mkdir -p "$LOG" "$PIDS"
  reset_databases
  render_configs "$admin_password"
  export PATH="$VENV/bin:$PATH"
  local etc=$RUN/etc

  say "keystone"
  manage keystone keystone-manage --config-file "$etc/keystone/keystone.conf" db_sync
  manage keystone keystone-manage --config-file "$etc/keystone/keystone.conf" fernet_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)"
  manage keystone keystone-manage --config-file "$etc/keystone/keystone.conf" credential_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)"
  manage keystone keystone-manage --config-file "$etc/keystone/keystone.conf" bootstrap \
    --bootstrap-password "$admin_password" --bootstrap-region-id "$REGION" \
    --bootstrap-admin-url "http://$IP:$KEYSTONE_PORT/v3" --bootstrap-internal-url "http://$IP:$KEYSTONE_PORT/v3" \
    --bootstrap-public-url "http://$IP:$KEYSTONE_PORT/v3"
  uwsgi_app keystone $KEYSTONE_PORT keystone.wsgi.api:application 2 "OS_KEYSTONE_CONFIG_DIR=$etc/keystone"

  say "databases of placement, nova, glance, neutron (in parallel)"
  local nova_conf=(--config-file "$etc/nova/nova.conf") jobs=()
  manage placement placement-manage --config-file "$etc/placement/placement.conf" db sync &
  jobs+=($!)
  manage glance glance-manage --config-file "$etc/glance/glance-api.conf" db_sync &
  jobs+=($!)
  manage neutron neutron-db-manage --config-file "$etc/neutron/neutron.conf" --config-file "$etc/neutron/ml2_conf.ini" upgrade head &
  jobs+=($!)
  (
    manage nova-api nova-manage "${nova_conf[@]}" api_db sync
    manage nova-api nova-manage "${nova_conf[@]}" cell_v2 map_cell0 --database_connection "$DB_URL_BASE/scaler_os_nova_cell0?charset=utf8"
    manage nova-api nova-manage "${nova_conf[@]}" cell_v2 create_cell --name cell1
    manage nova-api nova-manage "${nova_conf[@]}" db sync
  ) &
  jobs+=($!)
  local failed=0
  for job in "${jobs[@]}"; do wait "$job" || failed=1; done
  [ $failed = 0 ] || die "a database migration failed (named above)"

  wait_http keystone "http://$IP:$KEYSTONE_PORT/v3" 120
  say "catalog, flavors"
  manage keystone "$VENV/bin/python" "$here/setup.py" catalog "$RUN"

  say "placement, nova, glance, neutron"
  uwsgi_app placement $PLACEMENT_PORT placement.wsgi.api:application 1 "OS_PLACEMENT_CONFIG_DIR=$etc/placement"
  uwsgi_app nova-api $NOVA_PORT nova.wsgi.osapi_compute:application 2 "OS_NOVA_CONFIG_DIR=$etc/nova"
  uwsgi_app glance $GLANCE_PORT glance.wsgi.api:application 1 "OS_GLANCE_CONFIG_DIR=$etc/glance"
  uwsgi_app neutron $NEUTRON_PORT neutron.wsgi.api:application 1 "OS_NEUTRON_CONFIG_DIR=$etc/neutron" "OS_NEUTRON_CONFIG_FILES=neutron.conf;ml2_conf.ini"
  run nova-conductor nova-conductor "${nova_conf[@]}"
  run nova-scheduler nova-scheduler "${nova_conf[@]}"
  run nova-compute nova-compute "${nova_conf[@]}"

  wait_http placement "http://$IP:$PLACEMENT_PORT/" 120
  wait_http nova-api "http://$IP:$NOVA_PORT/" 120
  wait_http glance "http://$IP:$GLANCE_PORT/versions" 120
  wait_http neutron "http://$IP:$NEUTRON_PORT/" 120

  say "image, compute host"
  manage nova-compute "$VENV/bin/python" "$here/setup.py" compute "$RUN"
  local mapped=0
  for _ in $(seq 30); do
    manage nova-compute nova-manage "${nova_conf[@]}" cell_v2 discover_hosts
    if "$VENV/bin/python" "$here/setup.py" hypervisor "$RUN" >>"$LOG/nova-compute.log" 2>&1; then mapped=1; break; fi
    sleep 2
  done
  [ $mapped = 1 ] || fail_service nova-compute "Nova lists no hypervisor after discover_hosts"
  manage glance "$VENV/bin/python" "$here/setup.py" image "$RUN"
  for service in "${SERVICES[@]}"; do alive "$service" || fail_service "$service" "the process exited"; done

  umask 077
  cat >"$STATE.tmp" <<STATE
SCALER_OS_AUTH_URL=http://$IP:$KEYSTONE_PORT/v3
SCALER_OS_REGION=$REGION
SCALER_OS_ADMIN_USER=admin
SCALER_OS_ADMIN_PASSWORD=$admin_password
SCALER_OS_ADMIN_PROJECT=admin
SCALER_OS_NOVA_URL=http://$IP:$NOVA_PORT/v2.1
SCALER_OS_GLANCE_URL=http://$IP:$GLANCE_PORT/v2
SCALER_OS_IMAGE=scaler-os-image
SCALER_OS_FLAVOR=scaler.tiny
SCALER_OS_FLAVOR_SMALL=scaler.small
SCALER_OS_FLAVOR_HUGE=scaler.huge
SCALER_OS_LOG=$LOG
SCALER_OS_HARNESS=$(harness_hash)
STATE
  mv "$STATE.tmp" "$STATE"
}

# One start or stop at a time on this machine.
mkdir -p "$RUN"
exec 9>"$RUN/.lock"
flock -w 900 9 || die "another scripts/openstack.sh holds $RUN/.lock"

case "${1:-start}" in
  start)
    if answers; then
      say "reusing the stack already running (state: $STATE)"
      exit 0
    fi
    began=$SECONDS
    ensure_venv
    ensure_rabbitmq
    start_stack
    say "ready in $((SECONDS - began))s: Keystone http://$IP:$KEYSTONE_PORT/v3 (state: $STATE, logs: $LOG)"
    ;;
  status)
    answers && say "running (state: $STATE)" || { say "not running"; exit 1; }
    ;;
  stop)
    stop
    say "stopped"
    ;;
  *)
    echo "usage: scripts/openstack.sh [start|status|stop]" >&2
    exit 64
    ;;
esac
