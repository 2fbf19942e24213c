#!/usr/bin/env bash
# Make sure Debian's Chromium is installed for the admin's browser tests (tests/e2e), which drive it
# with Playwright. Playwright's own browser download is not used: this machine's network does not
# reach it, and the Debian build is the one the operators' machines get security updates for.
set -euo pipefail

CHROMIUM=${FINCORE_E2E_CHROMIUM:-/usr/bin/chromium}
[[ -x "$CHROMIUM" ]] && exit 0
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
  echo "browser: $CHROMIUM is missing — install it (Debian: sudo apt-get install chromium) and run again" >&2
  exit 1
fi
echo "browser: installing chromium" >&2
DEBIAN_FRONTEND=noninteractive apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
