#!/usr/bin/env bash
# Installs what the test suite needs besides Go and libchdb.so: headless
# Chromium for the dashboard test. Does nothing when it is already there.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-test-deps: chromium is missing and I am not root; the browser test will be skipped" >&2
  exit 0
fi
echo "install-test-deps: installing Debian's chromium (headless browser for the dashboard test)…" >&2
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null; }; then
  # Not fatal: without a browser the dashboard's browser test skips (and says so).
  echo "install-test-deps: could not install chromium; the browser test will be skipped" >&2
fi
