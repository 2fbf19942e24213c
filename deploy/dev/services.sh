#!/usr/bin/env bash
# Make sure PostgreSQL, RabbitMQ and Redis answer on localhost (`make services`).
#
# A service that is installed but stopped is started; one that is missing is installed from
# Debian's packages when running as root (otherwise this says what to install). Idempotent:
# services that already answer are left alone.
set -euo pipefail

log() { printf 'services: %s\n' "$*" >&2; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for_port() {  # name port seconds
  local waited=0
  until port_open "$2"; do
    if (( waited >= $3 )); then log "$1 did not come up on port $2 within $3 s"; exit 1; fi
    sleep 1; waited=$((waited + 1))
  done
}

install_packages() {  # debian-package...
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
    log "missing: $* — install them (Debian: sudo apt-get install $*) and run again"
    exit 1
  fi
  log "installing $*"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_postgresql() {
  port_open 5432 && return
  if ! command -v pg_ctlcluster >/dev/null; then
    install_packages postgresql
    # A fresh cluster asks for passwords over TCP; the development URL has none.
    local hba
    hba=$(ls /etc/postgresql/*/main/pg_hba.conf | head -n 1)
    sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
  fi
  log "starting PostgreSQL"
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  wait_for_port PostgreSQL 5432 60
}

ensure_redis() {
  port_open 6379 && return
  command -v redis-server >/dev/null || install_packages redis-server
  log "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/fincore.log
  wait_for_port Redis 6379 30
}

ensure_rabbitmq() {
  port_open 5672 && return
  command -v rabbitmq-server >/dev/null || install_packages rabbitmq-server
  log "starting RabbitMQ"
  rabbitmq-server -detached
  wait_for_port RabbitMQ 5672 120
}

ensure_test_vhost() {
  # The test suite's RabbitMQ traffic stays in its own vhost, away from `make run`'s.
  local vhost=fincore_test
  if rabbitmqctl -q list_vhosts 2>/dev/null | grep -qx "$vhost"; then return; fi
  log "creating RabbitMQ vhost $vhost"
  rabbitmqctl -q add_vhost "$vhost" >/dev/null
  rabbitmqctl -q set_permissions -p "$vhost" guest '.*' '.*' '.*' >/dev/null
}

ensure_postgresql
ensure_redis
ensure_rabbitmq
if [[ "${1:-}" == "--test" ]]; then ensure_test_vhost; fi
log "PostgreSQL, RabbitMQ and Redis are up"
