#!/usr/bin/env bash
# Install the Debian packages the test suite needs on a fresh machine:
# chromium for the Playwright browser tests (Playwright never downloads a browser here).
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v initdb >/dev/null || need+=(postgresql-15)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
  echo "installing Debian packages: ${need[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
