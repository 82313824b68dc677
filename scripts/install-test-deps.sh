#!/usr/bin/env bash
# Installs the Debian packages the test suite runs for real, besides Go and
# libchdb.so: headless Chromium for the dashboard test, nginx for the
# access-log tailing test (ingest/tail), Prometheus (with promtool) and
# Alertmanager for the alerting tests, aiosmtpd (an SMTP server) for the
# report e-mails, poppler-utils for the PDF layout test, and kcat
# (librdkafka's command-line client) for `make bench`, which compares Vigie
# with it. Each test starts its own server on a
# loopback port. Installs only what is missing, so a second run does
# nothing; a package that cannot be installed is not fatal: its test skips
# and says why.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium fonts-dejavu-core)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
{ command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; } || missing+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
command -v kcat >/dev/null 2>&1 || missing+=(kcat)
# The report e-mail tests' SMTP server (Debian's python, not a venv's) and
# the PDF layout test's pdftotext/pdftoppm.
/usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1 || missing+=(python3-aiosmtpd)
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-test-deps: missing ${missing[*]} and I am not root; the tests that need them will be skipped" >&2
  exit 0
fi
echo "install-test-deps: installing Debian's ${missing[*]}…" >&2
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d: the packages must not start system services (nginx on port
# 80, Prometheus on 9090); the tests start their own.
restore_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && restore_policy=1
fi
if ! { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
  echo "install-test-deps: could not install ${missing[*]}; the tests that need them will be skipped" >&2
fi
if [ "$restore_policy" = 1 ]; then
  rm -f /usr/sbin/policy-rc.d
fi
# Where a system manager started them anyway, stop them (no-op in
# containers without systemd).
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl disable --now prometheus prometheus-alertmanager prometheus-node-exporter >/dev/null 2>&1 || true
fi
