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
# The services are installed with uv from scripts/openstack/requirements.txt
# (fully pinned; uWSGI as the pyuwsgi wheel, nothing to compile) into a
# virtual environment cached outside the clone, under $SCALER_OS_CACHE
# (default /var/cache/scaler-openstack), keyed by that file's hash: later
# runs on the same machine reuse it. The first start with a set of harness
# files runs every service's own database migrations, Keystone's bootstrap
# and the catalog set-up, then keeps a dump of the databases, Keystone's keys
# and the admin password there (`snapshot-<hash of the harness files>`); a
# later start recreates the `scaler_os_*` databases from it instead of
# migrating again. Configuration, keys, images, pid files and logs live
# under $SCALER_OS_RUN (default /var/tmp/scaler-openstack; logs in log/).
# When every service answers, `$SCALER_OS_RUN/stack.env` (KEY=VALUE lines:
# URLs, admin credentials, flavor and image names) is what the tests read.
# The stack is left running after the tests so the next run reuses it;
# `stop` ends it. Every phase prints how long it took. Every wait is
# bounded; a service that does not answer fails the script with its name
# and the tail of its log, and the start stops what it had started.
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
# uv, the installer, from PyPI (pinned; its own small directory in the cache).
UV_VERSION=0.13.9
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
DATABASES=(keystone placement nova_api nova nova_cell0 glance neutron)
# The bytecode of what the services import is written into the cached
# environment by the first start (an environment that forbids it would
# recompile every start); compiling all of it at install time instead
# (compileall) made the first start a minute slower on a busy 2-core VM
# and the later ones no faster.
unset PYTHONDONTWRITEBYTECODE

say() { echo "openstack: $*" >&2; }
die() { say "FAILED: $*"; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Timings: `t=$(now)` ... `took "what" "$t"` prints the seconds since.
now() { echo "${EPOCHREALTIME/./}"; }
took() {
  local us=$(($(now) - $2))
  say "$1: $((us / 1000000)).$(((us / 100000) % 10)) s"
}

# --- the virtual environment -------------------------------------------------

venv_path() {
  local hash
  hash=$({ cat "$here/requirements.txt"; "$PYTHON" -c 'import sys; print(sys.version)'; } | sha256sum | cut -c1-16)
  echo "$CACHE/venv-$hash"
}

ensure_uv() {
  UV=$CACHE/uv-$UV_VERSION/bin/uv
  [ -x "$UV" ] && return
  rm -rf "$CACHE/uv-$UV_VERSION"
  "$PYTHON" -m venv "$CACHE/uv-$UV_VERSION"
  "$CACHE/uv-$UV_VERSION/bin/pip" install -q "uv==$UV_VERSION" >>"$CACHE/install.log" 2>&1 \
    || { tail -20 "$CACHE/install.log" >&2; die "pip install uv==$UV_VERSION failed (log: $CACHE/install.log)"; }
}

ensure_venv() {
  VENV=$(venv_path)
  if [ -f "$VENV/.complete" ]; then
    return
  fi
  say "installing the services into $VENV (once per machine and requirements file)"
  as_root mkdir -p "$CACHE"
  [ -w "$CACHE" ] || as_root chown "$(id -u):$(id -g)" "$CACHE"
  : >"$CACHE/install.log"
  local t
  t=$(now)
  ensure_uv
  # Built in place (a venv's scripts carry its path); `.complete` marks it
  # done. uv keeps what it downloaded in the cache too, for the next file.
  rm -rf "$VENV"
  export UV_CACHE_DIR=$CACHE/uv-cache UV_PYTHON_DOWNLOADS=never UV_NO_PROGRESS=1
  "$UV" venv -q --python "$PYTHON" "$VENV" >>"$CACHE/install.log" 2>&1 \
    || { tail -20 "$CACHE/install.log" >&2; die "uv venv $VENV failed (log: $CACHE/install.log)"; }
  if ! "$UV" pip install -q --python "$VENV/bin/python" --no-deps -r "$here/requirements.txt" \
    >>"$CACHE/install.log" 2>&1; then
    tail -20 "$CACHE/install.log" >&2
    die "uv pip install of scripts/openstack/requirements.txt failed (log: $CACHE/install.log)"
  fi
  took "install (uv)" "$t"
  touch "$VENV/.complete"
}

# --- MariaDB and RabbitMQ ----------------------------------------------------

create_databases() {
  local sql=""
  for db in "${DATABASES[@]}"; do
    sql+="DROP DATABASE IF EXISTS scaler_os_$db; CREATE DATABASE scaler_os_$db CHARACTER SET utf8mb4;"
  done
  as_root mysql --protocol=socket -uroot -e "$sql" || die "MariaDB: cannot create the scaler_os_* databases (is scripts/services.sh run?)"
}

# AMQP login of the harness's user on its vhost (a fraction of a second,
# where each rabbitmqctl call takes seconds).
rabbit_login() {
  "$VENV/bin/python" - "$IP" "$RABBIT_USER" "$RABBIT_PASS" <<'PY' 2>/dev/null
import sys, amqp
c = amqp.Connection(sys.argv[1] + ":5672", userid=sys.argv[2], password=sys.argv[3],
                    virtual_host="scaler_os", connect_timeout=5)
c.connect()
c.close()
PY
}

ensure_rabbitmq() {
  rabbit_login && return
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
  rabbit_login || die "RabbitMQ: $RABBIT_USER cannot log in to the vhost scaler_os on $IP:5672"
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

# started PID: when the process began (clock ticks since boot), what its pid
# file records beside the pid so that a pid reused later is not taken for it.
started() { { sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f20; } 2>/dev/null; }

# run NAME COMMAND...: starts a process in its own session, logs to
# log/NAME.log; its pid file holds "PID START".
run() {
  local name=$1
  shift
  setsid "$@" >>"$LOG/$name.log" 2>&1 </dev/null 9>&- &
  echo "$! $(started $!)" >"$PIDS/$name.pid"
}

# uwsgi_app NAME PORT MODULE PROCESSES LAZY ENV=VALUE...: pyuwsgi (uWSGI
# built into a wheel) runs inside Python, so the variables are set before it
# starts (its --env would come after Python has read the environment). LAZY
# `lazy`: each worker loads the application itself (threads and RPC
# connections must not cross a fork); `fork`: loaded once, workers forked.
uwsgi_app() {
  local name=$1 port=$2 module=$3 processes=$4 lazy=()
  [ "$5" = lazy ] && lazy=(--lazy-apps)
  shift 5
  run "$name" env "$@" "PATH=$VENV/bin:/usr/bin:/bin" "$VENV/bin/uwsgi" --master --die-on-term \
    --need-app "${lazy[@]}" --http-socket "$IP:$port" --processes "$processes" --threads 1 \
    --worker-reload-mercy 5 --reload-mercy 5 \
    --buffer-size 65535 --http-keepalive --add-header "Connection: close" --module "$module"
}

# pid_of NAME: the pid in NAME's pid file while that process runs, else fails.
pid_of() {
  local pid start
  [ -f "$PIDS/$1.pid" ] || return 1
  read -r pid start <"$PIDS/$1.pid" || return 1
  [ -n "$start" ] && [ "$(started "$pid")" = "$start" ] || return 1
  echo "$pid"
}

alive() { pid_of "$1" >/dev/null; }

fail_service() {
  local name=$1 what=$2
  say "$name: $what; last lines of $LOG/$name.log:"
  tail -25 "$LOG/$name.log" >&2 2>/dev/null || true
  die "$name did not come up ($what; log: $LOG/$name.log)"
}

url_of() {
  case $1 in
    keystone) echo "http://$IP:$KEYSTONE_PORT/v3" ;;
    placement) echo "http://$IP:$PLACEMENT_PORT/" ;;
    nova-api) echo "http://$IP:$NOVA_PORT/" ;;
    glance) echo "http://$IP:$GLANCE_PORT/versions" ;;
    neutron) echo "http://$IP:$NEUTRON_PORT/" ;;
  esac
}

# wait_http SECONDS NAME...: until each service's URL answers with an HTTP
# status below 500, polled together every quarter of a second; fails on the
# first that exits or when SECONDS have passed.
wait_http() {
  local seconds=$1 name code t
  shift
  local pending=("$@") left
  local deadline=$((SECONDS + seconds))
  t=$(now)
  while [ ${#pending[@]} -gt 0 ]; do
    left=()
    for name in "${pending[@]}"; do
      alive "$name" || fail_service "$name" "the process exited"
      code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$(url_of "$name")" || true)
      if [ -n "$code" ] && [ "$code" != 000 ] && [ "$code" -lt 500 ]; then
        took "$name answers" "$T0"
      else
        left+=("$name")
      fi
    done
    pending=("${left[@]}")
    [ ${#pending[@]} -gt 0 ] || break
    [ $SECONDS -lt $deadline ] || fail_service "${pending[0]}" "$(url_of "${pending[0]}") did not answer within ${seconds}s"
    sleep 0.25
  done
}

# manage NAME COMMAND...: a set-up step, logged; fails naming it.
manage() {
  local name=$1
  shift
  echo "+ $*" >>"$LOG/$name.log"
  timeout 600 "$@" >>"$LOG/$name.log" 2>&1 || fail_service "$name" "set-up step '$*' failed"
}

# The harness's own files: a stack started by another version is restarted,
# and a database snapshot taken by another version is not used.
harness_hash() {
  cat "$repo/scripts/openstack.sh" "$here"/*/* "$here/setup.py" "$here/requirements.txt" | sha256sum | cut -c1-16
}

answers() {
  [ -f "$STATE" ] || return 1
  grep -qx "SCALER_OS_HARNESS=$(harness_hash)" "$STATE" || return 1
  for service in "${SERVICES[@]}"; do alive "$service" || return 1; done
  local service
  for service in keystone placement nova-api glance neutron; do
    curl -s -f -o /dev/null -m 5 "$(url_of "$service")" || return 1
  done
}

stop() {
  local pid service
  for service in "${SERVICES[@]}"; do
    pid=$(pid_of "$service") && { kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; }
  done
  for service in "${SERVICES[@]}"; do
    if pid=$(pid_of "$service"); then
      for _ in $(seq 60); do alive "$service" || break; sleep 0.25; done
      ! alive "$service" || kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    rm -f "$PIDS/$service.pid"
  done
  rm -f "$STATE"
}

# --- databases: migrations once, then the snapshot -------------------------------

# dump DB: into the snapshot being written.
dump() {
  as_root mysqldump --protocol=socket -uroot --single-transaction --skip-dump-date "scaler_os_$1" \
    >"$SNAP_NEW/$1.sql" 2>>"$LOG/snapshot.log" || fail_service snapshot "mysqldump of scaler_os_$1 failed"
}

# restore DB...: the snapshot's dumps, one client per database.
restore() {
  local db jobs=() t
  t=$(now)
  for db in "$@"; do
    as_root mysql --protocol=socket -uroot "scaler_os_$db" <"$SNAP/$db.sql" 2>>"$LOG/snapshot.log" &
    jobs+=($!)
  done
  for job in "${jobs[@]}"; do wait "$job" || fail_service snapshot "restoring $SNAP into scaler_os_* failed"; done
  took "restored $*" "$t"
}

# keys DIR: a new Keystone key repository, as `keystone-manage fernet_setup`
# and `credential_setup` write it (a key is 32 random bytes in URL-safe
# base64; 0 is the staged key, 1 the primary), without starting Keystone's
# code twice more.
keys() {
  (
    umask 077
    mkdir -p "$1"
    for n in 0 1; do head -c 32 /dev/urandom | base64 | tr '+/' '-_' >"$1/$n"; done
  )
}

# Two workers (one alone stops answering while a slow request holds it),
# forked from one loaded application (Keystone patches no threading).
keystone_uwsgi() {
  uwsgi_app keystone $KEYSTONE_PORT keystone.wsgi.api:application 2 fork "OS_KEYSTONE_CONFIG_DIR=$RUN/etc/keystone"
}

keystone_up() {
  local t
  t=$(now)
  if [ "$MODE" = restore ]; then
    restore keystone
    cp -a "$SNAP/keystone/." "$RUN/keystone/"
    keystone_uwsgi
  else
    local ks=(keystone-manage --config-file "$RUN/etc/keystone/keystone.conf")
    manage keystone "${ks[@]}" db_sync
    keys "$RUN/keystone/fernet-keys"
    keys "$RUN/keystone/credential-keys"
    # The application loads while the bootstrap writes the admin user.
    keystone_uwsgi
    OS_BOOTSTRAP_PASSWORD=$ADMIN_PASSWORD manage keystone "${ks[@]}" bootstrap --bootstrap-region-id "$REGION" \
      --bootstrap-admin-url "http://$IP:$KEYSTONE_PORT/v3" --bootstrap-internal-url "http://$IP:$KEYSTONE_PORT/v3" \
      --bootstrap-public-url "http://$IP:$KEYSTONE_PORT/v3"
    took "keystone: migrations, keys, bootstrap" "$t"
  fi
  wait_http 180 keystone
  if [ "$MODE" = migrate ]; then
    t=$(now)
    manage keystone "$VENV/bin/python" "$here/setup.py" catalog "$RUN"
    took "keystone: catalog" "$t"
    dump keystone
    cp -a "$RUN/keystone/." "$SNAP_NEW/keystone/"
  fi
}

# migrated SERVICE COMMAND...: SERVICE's database restored from the
# snapshot, or migrated by COMMAND (timed) and dumped for the next snapshot.
migrated() {
  local service=$1 t
  shift
  if [ "$MODE" = restore ]; then
    restore "$service"
    return
  fi
  t=$(now)
  manage "$service" "$@"
  took "$service: migrations" "$t"
  dump "$service"
}

placement_up() {
  local etc=$RUN/etc
  migrated placement placement-manage --config-file "$etc/placement/placement.conf" db sync
  uwsgi_app placement $PLACEMENT_PORT placement.wsgi.api:application 1 lazy "OS_PLACEMENT_CONFIG_DIR=$etc/placement"
}

glance_up() {
  local etc=$RUN/etc
  migrated glance glance-manage --config-file "$etc/glance/glance-api.conf" db_sync
  uwsgi_app glance $GLANCE_PORT glance.wsgi.api:application 1 lazy "OS_GLANCE_CONFIG_DIR=$etc/glance"
}

neutron_up() {
  local etc=$RUN/etc
  migrated neutron neutron-db-manage --config-file "$etc/neutron/neutron.conf" --config-file "$etc/neutron/ml2_conf.ini" upgrade head
  uwsgi_app neutron $NEUTRON_PORT neutron.wsgi.api:application 1 lazy "OS_NEUTRON_CONFIG_DIR=$etc/neutron" "OS_NEUTRON_CONFIG_FILES=neutron.conf;ml2_conf.ini"
}

# Nova but its compute service (which needs the catalog).
nova_up() {
  local etc=$RUN/etc t
  local nova_conf=(--config-file "$etc/nova/nova.conf")
  if [ "$MODE" = restore ]; then
    restore nova_api nova nova_cell0
  else
    t=$(now)
    # The API database and the cell mappings, the cell database and cell0
    # (the same migrations on another connection), side by side.
    local cell0=$DB_URL_BASE/scaler_os_nova_cell0?charset=utf8 jobs=() failed=0
    printf '[database]\nconnection = %s\n' "$cell0" >"$etc/nova/cell0.conf"
    (
      manage nova-api nova-manage "${nova_conf[@]}" api_db sync
      manage nova-api nova-manage "${nova_conf[@]}" cell_v2 map_cell0 --database_connection "$cell0"
      manage nova-api nova-manage "${nova_conf[@]}" cell_v2 create_cell --name cell1
    ) &
    jobs+=($!)
    manage nova-db nova-manage "${nova_conf[@]}" db sync --local_cell &
    jobs+=($!)
    manage nova-cell0-db nova-manage "${nova_conf[@]}" --config-file "$etc/nova/cell0.conf" db sync --local_cell &
    jobs+=($!)
    for job in "${jobs[@]}"; do wait "$job" || failed=1; done
    [ $failed = 0 ] || exit 1
    took "nova: migrations, cells" "$t"
    dump nova_api
    dump nova
    dump nova_cell0
  fi
  uwsgi_app nova-api $NOVA_PORT nova.wsgi.osapi_compute:application 2 lazy "OS_NOVA_CONFIG_DIR=$etc/nova"
  run nova-conductor nova-conductor "${nova_conf[@]}"
  run nova-scheduler nova-scheduler "${nova_conf[@]}"
}

start_stack() {
  stop
  rm -rf "$RUN/keystone" "$RUN/nova" "$RUN/glance" "$RUN/neutron" "$RUN/lock" "$LOG"
  mkdir -p "$LOG" "$PIDS"
  SNAP=$CACHE/snapshot-$(harness_hash)
  if [ -f "$SNAP/.complete" ]; then
    MODE=restore
    ADMIN_PASSWORD=$(cat "$SNAP/admin-password")
    say "databases from $SNAP"
  else
    MODE=migrate
    ADMIN_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
    SNAP_NEW=$SNAP.new-$$
    rm -rf "$SNAP" "$SNAP".new-*
    (umask 077 && mkdir -p "$SNAP_NEW/keystone" && echo "$ADMIN_PASSWORD" >"$SNAP_NEW/admin-password")
    say "migrations (the snapshot $SNAP is written afterwards)"
  fi
  create_databases
  render_configs "$ADMIN_PASSWORD"
  export PATH="$VENV/bin:$PATH"

  # Each service's database, then the service, all at once; Keystone also
  # gets its catalog before nova-compute starts (it reports to Placement
  # through it).
  local keystone nova others=() failed=0
  keystone_up & keystone=$!
  nova_up & nova=$!
  placement_up & others+=($!)
  glance_up & others+=($!)
  neutron_up & others+=($!)
  wait $keystone || failed=1
  wait $nova || failed=1
  [ $failed = 1 ] || run nova-compute nova-compute --config-file "$RUN/etc/nova/nova.conf"
  for job in "${others[@]}"; do wait "$job" || failed=1; done
  [ $failed = 0 ] || die "a service did not come up (named above)"
  wait_http 180 placement nova-api glance neutron

  local t
  t=$(now)
  manage nova-compute "$VENV/bin/python" "$here/setup.py" ready "$RUN"
  took "image, flavors, compute host" "$t"
  for service in "${SERVICES[@]}"; do alive "$service" || fail_service "$service" "the process exited"; done
  if [ "$MODE" = migrate ]; then
    # Only a snapshot of a stack that came up is kept; it replaces others.
    touch "$SNAP_NEW/.complete"
    find "$CACHE" -maxdepth 1 -name 'snapshot-*' ! -name "snapshot-$(harness_hash)*" -exec rm -rf {} + 2>/dev/null || true
    mv "$SNAP_NEW" "$SNAP"
  fi

  umask 077
  cat >"$STATE.tmp" <<STATE
SCALER_OS_AUTH_URL=http://$IP:$KEYSTONE_PORT/v3
SCALER_OS_REGION=$REGION
SCALER_OS_ADMIN_USER=admin
SCALER_OS_ADMIN_PASSWORD=$ADMIN_PASSWORD
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
    T0=$(now)
    ensure_venv
    t=$(now)
    ensure_rabbitmq
    took "rabbitmq" "$t"
    # A start that fails stops what it started (the logs stay); when it had
    # restored a snapshot, the next start migrates afresh instead.
    trap 'if [ $? != 0 ]; then
      say "stopping what this start started"
      stop
      [ "${MODE:-}" != restore ] || { say "dropping $SNAP"; rm -rf "$SNAP"; }
    fi' EXIT
    start_stack
    trap - EXIT
    took "ready ($MODE)" "$T0"
    say "Keystone http://$IP:$KEYSTONE_PORT/v3 (state: $STATE, logs: $LOG)"
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
