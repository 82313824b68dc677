#!/usr/bin/env bash
# Installs the Debian packages the test suite runs for real, besides Go and
# libchdb.so: headless Chromium for the dashboard test and nginx for the
# access-log tailing test (ingest/tail), which starts its own nginx on a
# loopback port. Does nothing for what is already there; a package that cannot
# be installed is not fatal: its test skips and says why.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium fonts-dejavu-core)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-test-deps: ${need[*]} missing and I am not root; the tests that need them will be skipped" >&2
  exit 0
fi
echo "install-test-deps: installing ${need[*]} (headless browser for the dashboard test, nginx for the log-tailing test)…" >&2
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d: the package must not start a system nginx on port 80; the
# test starts its own, on a loopback port, with its own configuration.
restore_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && restore_policy=1
fi
if ! { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }; then
  echo "install-test-deps: could not install ${need[*]}; the tests that need them will be skipped" >&2
fi
if [ "$restore_policy" = 1 ]; then
  rm -f /usr/sbin/policy-rc.d
fi
