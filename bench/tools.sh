#!/usr/bin/env bash
# The load generator of `make bench`: wrk, from Debian's packages when running as root
# (pgbench comes with PostgreSQL, which deploy/dev/services.sh installs). Idempotent.
set -euo pipefail

command -v wrk >/dev/null && exit 0
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
  echo "bench: wrk is missing — install it (Debian: sudo apt-get install wrk) and run again" >&2
  exit 1
fi
echo "bench: installing wrk" >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null 2>&1 || {
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
}
