#!/usr/bin/env bash
# Installs what the test suite needs besides Go and libchdb.so, from Debian:
# headless Chromium for the dashboard test, Prometheus (and its promtool)
# and Alertmanager for the alerting tests. Installs only what is missing, so
# a second run does nothing. Without root it says what is missing: the tests
# that need it skip and say so.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium fonts-dejavu-core)
{ command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; } || missing+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-test-deps: missing ${missing[*]} and I am not root; the tests that need them will be skipped" >&2
  exit 0
fi
echo "install-test-deps: installing Debian's ${missing[*]}…" >&2
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
  # Not fatal: the tests that need a missing program skip (and say so).
  echo "install-test-deps: could not install ${missing[*]}; the tests that need them will be skipped" >&2
fi
# Debian starts the packaged services; the tests start their own on loopback
# ports, so stop these (no-op in containers without systemd).
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl disable --now prometheus prometheus-alertmanager prometheus-node-exporter >/dev/null 2>&1 || true
fi
