#!/usr/bin/env bash
# Shared shell functions for deploy/local/up, deploy/local/down and tests/run.
#
# Source it; it only defines functions and variables:
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" && trib_init
#
# Everything here works on a fresh Debian machine: it needs bash, coreutils and util-linux,
# and installs the rest (apt packages, Rust, tansu, PostgreSQL) only when it is missing.
set -euo pipefail

# ---------------------------------------------------------------------------------------------
# Paths and defaults
# ---------------------------------------------------------------------------------------------

# Sets the paths every script shares and exports CARGO_TARGET_DIR.
trib_init() {
  TRIB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  TRIBUTARY_HOME=${TRIBUTARY_HOME:-$HOME/.local/state/tributary}
  TRIB_LOG_DIR=$TRIBUTARY_HOME/logs
  TRIB_CACHE=$HOME/.cache/tributary
  TRIB_TOOLS=$TRIB_CACHE/tools
  TANSU_VERSION=${TANSU_VERSION:-0.6.0}
  TANSU_BIN=$TRIB_TOOLS/bin/tansu
  export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$TRIB_CACHE/target}
  # Incremental state grows by gigabytes per build and only helps repeated
  # edits in one checkout; the scripts build once per run.
  export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
  mkdir -p "$TRIB_LOG_DIR" "$TRIB_CACHE"
  chmod 700 "$TRIBUTARY_HOME"
  # A rustup installed by an earlier run (or by us) may not be on PATH yet.
  if ! command -v cargo >/dev/null 2>&1 && [[ -x $HOME/.cargo/bin/cargo ]]; then
    PATH=$HOME/.cargo/bin:$PATH
  fi
}

log() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# Runs a command as root: directly when we are root, through sudo otherwise. What it runs may
# start a daemon (pg_ctlcluster restart, start-stop-daemon, apt's postinst scripts), so the lock
# descriptors (8: deploy/local/up's lock, 9: the tansu install's) are not passed on: a server
# that inherited one would hold the lock for as long as it runs, and every later `up` would wait.
as_root() {
  if [[ $EUID -eq 0 ]]; then
    "$@" 8>&- 9>&-
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@" 8>&- 9>&-
  else
    die "need root (or sudo) to run: $*"
  fi
}

# Prints the last lines of a log file, framed, to stderr.
show_log_tail() {
  local file=$1 lines=${2:-40}
  [[ -f $file ]] || return 0
  printf -- '----- last %s lines of %s -----\n' "$lines" "$file" >&2
  tail -n "$lines" "$file" >&2 || true
  printf -- '-----\n' >&2
}

# ---------------------------------------------------------------------------------------------
# Packages and toolchains
# ---------------------------------------------------------------------------------------------

TRIB_APT_UPDATED=0

# Installs the Debian packages that are not installed yet (one apt-get call for all of them).
apt_install() {
  local pkg status missing=()
  for pkg in "$@"; do
    # shellcheck disable=SC2016 # ${Status} is dpkg-query's format, not a shell expansion
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  command -v apt-get >/dev/null 2>&1 || die "missing packages ${missing[*]} and no apt-get to install them"
  log "installing Debian packages: ${missing[*]}"
  if ((TRIB_APT_UPDATED == 0)); then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
    TRIB_APT_UPDATED=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}

# What building the workspace needs: a C toolchain for librdkafka (rdkafka's bundled build runs
# ./configure && make), zlib for its libz feature, curl for rustup, jq for the scripts.
ensure_build_deps() {
  apt_install build-essential pkg-config libssl-dev zlib1g-dev ca-certificates curl jq
}

# psql and pg_isready, without a server.
ensure_psql() {
  if ! command -v psql >/dev/null 2>&1 || ! command -v pg_isready >/dev/null 2>&1; then
    apt_install postgresql-client
  fi
}

# Rust through rustup when cargo is missing (or too old for the workspace's rust-version).
ensure_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    log "installing Rust with rustup"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
      sh -s -- -y --profile minimal --no-modify-path >&2
    PATH=$HOME/.cargo/bin:$PATH
  fi
  local want have
  want=$(sed -n '/^rust-version *= */{s/^rust-version *= *"\([0-9.]*\)".*/\1/p;q;}' "$TRIB_ROOT/Cargo.toml")
  have=$(rustc --version | awk '{print $2}')
  if [[ -n $want ]] && ! version_ge "$have" "$want"; then
    command -v rustup >/dev/null 2>&1 ||
      die "rustc $have is older than the workspace's rust-version $want (and there is no rustup to update it)"
    log "rustc $have is older than $want: rustup update stable"
    rustup update stable >&2
    rustup default stable >&2
  fi
}

# ensure_rust_components rustfmt|clippy...: the cargo subcommands the checks need.
ensure_rust_components() {
  local component
  for component in "$@"; do
    case $component in
      rustfmt) cargo fmt --version >/dev/null 2>&1 && continue ;;
      clippy) cargo clippy --version >/dev/null 2>&1 && continue ;;
    esac
    command -v rustup >/dev/null 2>&1 || die "cargo $component is missing and there is no rustup to add it"
    log "adding Rust component $component"
    rustup component add "$component" >&2
  done
}

# version_ge A B: true when dotted version A >= B.
version_ge() {
  [[ $(printf '%s\n%s\n' "$2" "$1" | sort -V | sed -n 1p) == "$2" ]]
}

# Pids (other than ours) whose command line matches the extended regex $1. Reads /proc so that
# it works without procps.
pids_matching() {
  local dir pid cmd
  for dir in /proc/[0-9]*; do
    pid=${dir#/proc/}
    [[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
    cmd=$(tr '\0' ' ' <"$dir/cmdline" 2>/dev/null) || continue
    [[ $cmd =~ $1 ]] && printf '%s\n' "$pid"
  done
  return 0
}

# The tansu broker binary, cached under ~/.cache/tributary/tools. The first install compiles
# it (~10 minutes); an install already running into the same root is waited for, not repeated.
ensure_tansu() {
  [[ -x $TANSU_BIN ]] && return 0
  mkdir -p "$TRIB_TOOLS"
  local install_log=$TRIB_CACHE/tansu-install.log
  # fd 9: see start_bg.
  exec 9>"$TRIB_CACHE/tansu-install.lock"
  flock 9
  if [[ ! -x $TANSU_BIN ]] && [[ -n $(pids_matching "cargo install .*tansu.*--root $TRIB_TOOLS") ]]; then
    log "waiting for the tansu install already running (log: $install_log)"
    while [[ -n $(pids_matching "cargo install .*tansu.*--root $TRIB_TOOLS") ]]; do sleep 5; done
  fi
  if [[ ! -x $TANSU_BIN ]]; then
    log "installing tansu $TANSU_VERSION into $TRIB_TOOLS (about 10 minutes, once; log: $install_log)"
    if ! env -u CARGO_TARGET_DIR cargo install --locked "tansu@$TANSU_VERSION" --features dynostore --root "$TRIB_TOOLS" \
      >"$install_log" 2>&1; then
      show_log_tail "$install_log"
      die "tansu install failed"
    fi
  fi
  exec 9>&-
  [[ -x $TANSU_BIN ]] || die "tansu install finished but $TANSU_BIN is missing (log: $install_log)"
}

# ---------------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------------

# True when the pid is a live (not zombie) process.
pid_running() {
  local pid=$1 stat
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

# pidfile_alive PIDFILE [EXE_NAME]: true when the pid file names a running process (whose
# command line contains EXE_NAME, so that a recycled pid does not count).
pidfile_alive() {
  local pidfile=$1 name=${2:-} pid cmd
  [[ -s $pidfile ]] || return 1
  pid=$(<"$pidfile")
  pid_running "$pid" || return 1
  [[ -z $name ]] && return 0
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmd == *"$name"* ]]
}

# start_bg PIDFILE LOGFILE CMD...: starts CMD in a session of its own (so it outlives this
# script and its terminal, and its children share its process group), appending to LOGFILE.
# The lock descriptors (8: deploy/local/up's lock, 9: the tansu install's) are not passed on:
# a process that inherited one would hold the lock for as long as it runs.
start_bg() {
  local pidfile=$1 logfile=$2
  shift 2
  printf '\n=== %s: starting %s\n' "$(date -u +%FT%TZ)" "$*" >>"$logfile"
  setsid "$@" >>"$logfile" 2>&1 </dev/null 8>&- 9>&- &
  printf '%s\n' "$!" >"$pidfile"
}

# Members of process group $1.
pids_in_group() {
  local dir stat fields
  for dir in /proc/[0-9]*; do
    stat=$(cat "$dir/stat" 2>/dev/null) || continue
    # Fields after "pid (comm) ": state ppid pgrp ...
    read -r -a fields <<<"${stat##*) }"
    [[ ${fields[2]} == "$1" && ${fields[0]} != Z ]] && printf '%s\n' "${dir#/proc/}"
  done
  return 0
}

# stop_pidfile PIDFILE NAME [TIMEOUT_SECONDS]: SIGTERM the process, wait for it, then SIGKILL
# it and whatever is left in its process group (start_bg made it the group leader).
stop_pidfile() {
  local pidfile=$1 name=$2 timeout=${3:-30} pid i left
  if [[ ! -s $pidfile ]]; then
    return 0
  fi
  pid=$(<"$pidfile")
  if pidfile_alive "$pidfile"; then
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < timeout * 10; i++)); do
      pid_running "$pid" || break
      sleep 0.1
    done
    if pid_running "$pid"; then
      warn "$name did not stop within ${timeout}s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  # Children that outlived their parent (e.g. workers of a killed control plane).
  left=$(pids_in_group "$pid")
  if [[ -n $left ]]; then
    warn "$name left processes behind ($(echo "$left" | tr '\n' ' ')): SIGTERM"
    kill -TERM -- "-$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      [[ -z $(pids_in_group "$pid") ]] && break
      sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

# ---------------------------------------------------------------------------------------------
# Network
# ---------------------------------------------------------------------------------------------

# port_open HOST PORT: something accepts TCP connections there.
port_open() {
  # shellcheck disable=SC2016 # $1 and $2 expand in the inner bash
  timeout 2 bash -c ': >"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# wait_port HOST PORT SECONDS [PID]: waits until the port accepts connections; fails early when
# PID (the process expected to open it) dies.
wait_port() {
  local host=$1 port=$2 timeout=$3 pid=${4:-} i
  for ((i = 0; i < timeout * 5; i++)); do
    port_open "$host" "$port" && return 0
    if [[ -n $pid ]] && ! pid_running "$pid"; then return 1; fi
    sleep 0.2
  done
  return 1
}

is_loopback() {
  case $1 in
    127.* | localhost | ::1 | "") return 0 ;;
    *) return 1 ;;
  esac
}

# split_host_port HOST:PORT (also [v6]:port, scheme://host:port) -> sets SPLIT_HOST, SPLIT_PORT.
split_host_port() {
  local hp=${1#*://}
  hp=${hp%%/*}
  SPLIT_PORT=${hp##*:}
  SPLIT_HOST=${hp%:*}
  SPLIT_HOST=${SPLIT_HOST#[}
  SPLIT_HOST=${SPLIT_HOST%]}
  [[ $SPLIT_PORT =~ ^[0-9]+$ && $SPLIT_HOST != "$hp" ]] || die "expected HOST:PORT, got '$1'"
}

# ---------------------------------------------------------------------------------------------
# Kafka broker
# ---------------------------------------------------------------------------------------------

# ensure_broker BOOTSTRAP PIDFILE LOGFILE: makes sure a Kafka-compatible broker answers at the
# first BOOTSTRAP address. Uses whatever listens there; otherwise, when the address is on
# loopback, starts tansu (in-memory storage) and records it in PIDFILE. Sets BROKER_STARTED=1
# when the broker in PIDFILE is ours (started now or by an earlier run).
ensure_broker() {
  local bootstrap=$1 pidfile=$2 logfile=$3 host port url
  split_host_port "${bootstrap%%,*}"
  host=$SPLIT_HOST port=$SPLIT_PORT
  BROKER_STARTED=0
  if pidfile_alive "$pidfile" tansu; then
    BROKER_STARTED=1
    if wait_port "$host" "$port" 30 "$(<"$pidfile")"; then
      log "broker: tansu already running (pid $(<"$pidfile")) at $host:$port"
      return 0
    fi
    stop_pidfile "$pidfile" tansu 5
  fi
  rm -f "$pidfile"
  if port_open "$host" "$port"; then
    log "broker: using the one listening at $host:$port"
    return 0
  fi
  is_loopback "$host" || die "no Kafka broker reachable at $host:$port (KAFKA_BOOTSTRAP=$bootstrap)"
  ensure_tansu
  [[ $host == *:* ]] && host="[$host]"
  url="tcp://$host:$port"
  log "broker: starting tansu at $url (in-memory storage; log: $logfile)"
  start_bg "$pidfile" "$logfile" "$TANSU_BIN" broker --storage-engine memory://tansu/ \
    --listener-url "$url" --advertised-listener-url "$url"
  # shellcheck disable=SC2034 # read by the sourcing script
  BROKER_STARTED=1
  if ! wait_port "$SPLIT_HOST" "$port" 30 "$(<"$pidfile")"; then
    show_log_tail "$logfile"
    stop_pidfile "$pidfile" tansu 5
    die "tansu did not start listening on $url"
  fi
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------------

# pg_parse_url URL -> sets PG_HOST, PG_PORT, PG_DB, PG_ADMIN_URL (the same server, database
# "postgres"). URL form: postgres[ql]://[user[:password]@]host[:port]/db[?params].
pg_parse_url() {
  local url=$1 rest query="" authority hostport
  [[ $url =~ ^postgres(ql)?:// ]] || die "DATABASE_URL must be a postgres:// URL, got '$url'"
  rest=${url#*://}
  if [[ $rest == *\?* ]]; then query="?${rest#*\?}"; fi
  rest=${rest%%\?*}
  authority=${rest%%/*}
  PG_DB=${rest#"$authority"}
  PG_DB=${PG_DB#/}
  hostport=${authority##*@}
  if [[ $hostport == \[* ]]; then
    PG_HOST=${hostport%%]*}
    PG_HOST=${PG_HOST#[}
    PG_PORT=${hostport#*]}
    PG_PORT=${PG_PORT#:}
  elif [[ $hostport == *:* ]]; then
    PG_HOST=${hostport%%:*}
    PG_PORT=${hostport#*:}
  else
    PG_HOST=$hostport
    PG_PORT=""
  fi
  PG_PORT=${PG_PORT:-5432}
  PG_DB=${PG_DB:-postgres}
  PG_ADMIN_URL="${url%%://*}://$authority/postgres$query"
}

pg_ready() {
  pg_isready -q -t 3 -d "$1" >/dev/null 2>&1
}

# Local clusters (Debian's postgresql-common) listening on port $1, as "version name status".
pg_local_clusters() {
  command -v pg_lsclusters >/dev/null 2>&1 || return 0
  pg_lsclusters -h 2>/dev/null | awk -v port="$1" '$3 == port { print $1, $2, $4 }'
}

# Debian's default pg_hba.conf asks for a password over TCP; a stack that we installed
# ourselves trusts loopback connections instead, like the DATABASE_URL default expects.
pg_trust_loopback() {
  local version=$1 name=$2 hba="/etc/postgresql/$1/$2/pg_hba.conf"
  [[ -f $hba ]] || return 0
  log "postgres: trusting loopback TCP connections in $hba (local development only)"
  as_root sed -i -E \
    's#^(host[[:space:]]+all[[:space:]]+all[[:space:]]+(127\.0\.0\.1/32|::1/128)[[:space:]]+)[a-z0-9-]+#\1trust#' \
    "$hba"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" "$name" reload >&2 || true
}

# ensure_postgres URL [STARTED_MARKER]: a PostgreSQL server answers at URL. When it does not
# and URL is on loopback: installs Debian's postgresql when no cluster exists, and starts the
# stopped cluster on that port (writing "version name" to STARTED_MARKER when given).
ensure_postgres() {
  local url=$1 marker=${2:-} installed=0 version name status i
  ensure_psql
  pg_parse_url "$url"
  if pg_ready "$url"; then
    log "postgres: reachable at $PG_HOST:$PG_PORT"
  else
    is_loopback "$PG_HOST" || die "no PostgreSQL server reachable at $PG_HOST:$PG_PORT (DATABASE_URL)"
    if [[ -z $(pg_local_clusters "$PG_PORT") ]]; then
      if ! dpkg-query -W postgresql >/dev/null 2>&1 || [[ ! -d /etc/postgresql ]] ||
        [[ -z $(ls -A /etc/postgresql) ]]; then
        apt_install postgresql
        installed=1
      fi
    fi
    [[ -n $(pg_local_clusters "$PG_PORT") ]] ||
      die "no local PostgreSQL cluster on port $PG_PORT (see pg_lsclusters); set DATABASE_URL"
    while read -r version name status; do
      if ((installed)); then pg_trust_loopback "$version" "$name"; fi
      if [[ $status != online ]]; then
        log "postgres: starting cluster $version/$name"
        as_root pg_ctlcluster --skip-systemctl-redirect "$version" "$name" start >&2
        if [[ -n $marker ]]; then printf '%s %s\n' "$version" "$name" >"$marker"; fi
      fi
    done < <(pg_local_clusters "$PG_PORT")
    for ((i = 0; i < 30; i++)); do
      pg_ready "$url" && break
      sleep 1
    done
    pg_ready "$url" || die "PostgreSQL at $PG_HOST:$PG_PORT did not become ready"
  fi
  psql "$PG_ADMIN_URL" -wXAtqc 'select 1' >/dev/null 2>&1 ||
    die "PostgreSQL at $PG_HOST:$PG_PORT refused the connection for DATABASE_URL (user or password?): $(psql "$PG_ADMIN_URL" -wXAtqc 'select 1' 2>&1 | head -n 1)"
  pg_ensure_logical "$url"
}

# pg_ensure_logical URL: the Postgres CDC source needs wal_level=logical. A local cluster on
# another level is switched and restarted (this ends its open sessions); a remote one is only
# reported.
pg_ensure_logical() {
  local url=$1 level version name _status i
  pg_parse_url "$url"
  level=$(psql "$PG_ADMIN_URL" -wXAtqc 'show wal_level' 2>/dev/null || true)
  [[ $level != logical ]] || return 0
  if ! is_loopback "$PG_HOST" || [[ -z $(pg_local_clusters "$PG_PORT") ]]; then
    log "postgres: wal_level is '$level', not logical: the Postgres CDC source will not work"
    return 0
  fi
  log "postgres: setting wal_level=logical and restarting (was '$level')"
  psql "$PG_ADMIN_URL" -wXqc 'alter system set wal_level = logical' >&2
  while read -r version name _status; do
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" "$name" restart >&2
  done < <(pg_local_clusters "$PG_PORT")
  for ((i = 0; i < 30; i++)); do
    pg_ready "$url" && break
    sleep 1
  done
  pg_ready "$url" || die "PostgreSQL at $PG_HOST:$PG_PORT did not come back after the restart"
}

# ensure_database URL: creates the database named by URL when it does not exist.
ensure_database() {
  pg_parse_url "$1"
  [[ $PG_DB =~ ^[A-Za-z0-9_-]+$ ]] || die "unsupported database name '$PG_DB' in DATABASE_URL"
  if [[ $(psql "$PG_ADMIN_URL" -wXAtqc "select 1 from pg_database where datname = '$PG_DB'") != 1 ]]; then
    log "postgres: creating database $PG_DB"
    psql "$PG_ADMIN_URL" -wXqc "create database \"$PG_DB\"" >&2
  fi
}

# ---------------------------------------------------------------------------------------------
# Secrets
# ---------------------------------------------------------------------------------------------

# rand_string LENGTH ALPHABET: uniformly random characters from ALPHABET (/dev/urandom).
rand_string() {
  local len=$1 alphabet=$2 out="" n=${#2} limit b
  limit=$((256 - 256 % n))
  while ((${#out} < len)); do
    for b in $(od -An -tu1 -N64 /dev/urandom); do
      ((b < limit)) || continue
      out+=${alphabet:b%n:1}
      ((${#out} < len)) || break
    done
  done
  printf '%s' "$out"
}

# random_base64 BYTES: standard base64 of BYTES random bytes (for keys the binaries decode).
random_base64() {
  head -c "$1" /dev/urandom | base64 -w0
}

# stored_secret FILE GENERATOR [ARGS...]: the value kept in FILE; on first use, GENERATOR's
# output is stored there (mode 600).
stored_secret() {
  local file=$1
  shift
  if [[ ! -s $file ]]; then
    (
      umask 077
      "$@" >"$file.tmp"
      mv "$file.tmp" "$file"
    )
  fi
  cat "$file"
}

# shellcheck disable=SC2034 # alphabets for rand_string, used by the sourcing scripts
TRIB_UPPER_ALNUM=ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789
# shellcheck disable=SC2034
TRIB_ALNUM=ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789

# ---------------------------------------------------------------------------------------------
# The external systems the connector tests talk to (MariaDB, Redis, Mosquitto, NATS with
# JetStream, RabbitMQ), each on its standard loopback port: installed from Debian and started when
# nothing answers there.
# ---------------------------------------------------------------------------------------------

ensure_test_services() {
  if ! port_open 127.0.0.1 3306; then
    apt_install mariadb-server
    log "starting MariaDB"
    as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    wait_port 127.0.0.1 3306 30 || die "MariaDB did not start on 127.0.0.1:3306"
    # The tests connect as root without a password over TCP.
    as_root mariadb -u root -e "ALTER USER 'root'@'localhost' IDENTIFIED BY ''" >/dev/null 2>&1 || true
  fi
  ensure_mariadb_binlog
  if ! port_open 127.0.0.1 6379; then
    apt_install redis-server
    log "starting Redis"
    as_root mkdir -p /var/lib/redis /var/log/redis
    as_root redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/tributary.log
    wait_port 127.0.0.1 6379 30 || die "Redis did not start on 127.0.0.1:6379"
  fi
  if ! port_open 127.0.0.1 1883; then
    apt_install mosquitto
    log "starting Mosquitto"
    as_root mosquitto -d -c /etc/mosquitto/mosquitto.conf
    wait_port 127.0.0.1 1883 30 || die "Mosquitto did not start on 127.0.0.1:1883"
  fi
  if ! port_open 127.0.0.1 4222; then
    apt_install nats-server
    log "starting NATS with JetStream"
    as_root mkdir -p /var/lib/nats-server
    as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
      -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
    wait_port 127.0.0.1 4222 30 || die "NATS did not start on 127.0.0.1:4222"
  fi
  if ! port_open 127.0.0.1 5672; then
    # The RabbitMQ connector tests also use rabbitmqctl (to cut connections).
    apt_install rabbitmq-server
    log "starting RabbitMQ"
    as_root rabbitmq-server -detached
    # The Erlang VM takes several seconds to boot.
    wait_port 127.0.0.1 5672 90 || die "RabbitMQ did not start on 127.0.0.1:5672"
  fi
}

# ensure_mariadb_binlog: MySqlCdcSourceV2 reads the row-based binary log. A local MariaDB (or
# MySQL) on 127.0.0.1:3306 without it gets a conf.d file turning it on (log_bin, binlog_format=ROW,
# binlog_row_image=FULL, a server_id) and is restarted once; a server that already logs rows is
# left alone, and no server is started here. The restarted server gets no descriptor of ours
# (setsid, standard streams to /dev/null, the lock descriptors 8 and 9 closed), so it never holds
# a lock of this script (see start_bg).
ensure_mariadb_binlog() {
  local conf_dir=/etc/mysql/mariadb.conf.d conf_file cnf=/etc/mysql/my.cnf log_bin format pid i
  conf_file=$conf_dir/60-tributary-binlog.cnf
  port_open 127.0.0.1 3306 || return 0
  command -v mariadb >/dev/null 2>&1 || return 0
  log_bin=$(mariadb -h 127.0.0.1 -u root -NBe 'select @@log_bin' 2>/dev/null || true)
  format=$(mariadb -h 127.0.0.1 -u root -NBe 'select @@binlog_format' 2>/dev/null || true)
  [[ -n $log_bin ]] || { log "mariadb: cannot query 127.0.0.1:3306 as root; binary log not checked"; return 0; }
  [[ $log_bin == 1 && $format == ROW ]] && return 0
  [[ -x /usr/sbin/mariadbd ]] || { log "mariadb: binary log off (log_bin=$log_bin, format=$format): MySqlCdcSourceV2 will not work"; return 0; }
  log "mariadb: turning on the row-based binary log (log_bin=$log_bin, binlog_format=$format) and restarting"
  as_root mkdir -p "$conf_dir"
  printf '%s\n' '# Written by tributary deploy/local/lib.sh (ensure_mariadb_binlog): MySqlCdcSourceV2.' \
    '[mysqld]' 'server_id = 1' 'log_bin = mysql-bin' 'binlog_format = ROW' 'binlog_row_image = FULL' \
    'expire_logs_days = 2' | as_root tee "$conf_file" >/dev/null
  if [[ -f $cnf ]] && ! grep -Eq "^[[:space:]]*!includedir[[:space:]]+$conf_dir/?[[:space:]]*$" "$cnf"; then
    printf '\n!includedir %s/\n' "$conf_dir" | as_root tee -a "$cnf" >/dev/null
  fi
  pid=$(cat /run/mysqld/mysqld.pid 2>/dev/null || pgrep -xo mariadbd || true)
  as_root mariadb-admin -h 127.0.0.1 -u root shutdown >/dev/null 2>&1 ||
    { [[ -n $pid ]] && as_root kill "$pid"; } || true
  for ((i = 0; i < 60; i++)); do
    { [[ -z $pid ]] || ! pid_running "$pid"; } && ! port_open 127.0.0.1 3306 && break
    sleep 0.5
  done
  as_root setsid start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd \
    </dev/null >/dev/null 2>&1 8>&- 9>&-
  wait_port 127.0.0.1 3306 30 || die "MariaDB did not come back on 127.0.0.1:3306 after turning on the binary log"
  log_bin=$(mariadb -h 127.0.0.1 -u root -NBe 'select @@log_bin, @@binlog_format' 2>/dev/null || true)
  [[ $log_bin == $'1\tROW' ]] || die "MariaDB restarted without the row-based binary log (got '$log_bin'); see $conf_file"
}
