#!/usr/bin/env bash
# The tools of `make bench`: wrk (the load generator) and GNU time (a settlement run's peak memory),
# from Debian's packages when running as root (pgbench comes with PostgreSQL, which
# deploy/dev/services.sh installs). Idempotent.
set -euo pipefail

missing=()
command -v wrk >/dev/null || missing+=(wrk)
[[ -x /usr/bin/time ]] || missing+=(time)
[[ ${#missing[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
  echo "bench: ${missing[*]} missing — install (Debian: sudo apt-get install ${missing[*]}) and run again" >&2
  exit 1
fi
echo "bench: installing ${missing[*]}" >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || {
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}
