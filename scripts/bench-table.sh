#!/usr/bin/env bash
# Turns `go test -bench` output (stdin) into a Markdown table: one row per
# benchmark with its package, ns/op, throughput (events/s, else rows/s),
# allocs/op and any other metric it reports (ratio, s/query, …), under a
# line naming the machine and its load (uptime). Benchmarks that measured
# kcat in the same run (kcat_events/s, kcat_ratio) get a second table, Vigie
# beside kcat, and the school day its freshness and peak RSS. Failures and
# skips are listed after the tables;
# a failed benchmark or package makes the script exit 1, so that
# `go test … | scripts/bench-table.sh` fails when the benchmarks do.
# Plain bash and POSIX awk (mawk on Debian).
set -euo pipefail

module=""
if [ -f go.mod ]; then
  module=$(awk '$1 == "module" { print $2; exit }' go.mod)
fi
cpu=$(awk -F': *' '$1 ~ /^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
cores=$(nproc 2>/dev/null || echo "?")
gover=$( (${GO:-go} version 2>/dev/null || echo "go unknown") | sed 's/^go version //')
load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")

awk -v module="$module" -v cpu="$cpu" -v cores="$cores" -v gover="$gover" -v load="$load" -v today="$(date -u +%Y-%m-%d)" '
function commas(x,    s, neg, out) {
  neg = x < 0; if (neg) x = -x
  s = sprintf("%.0f", x); out = ""
  while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
  return (neg ? "-" : "") s out
}
# Big numbers get thousands separators, small ones keep 3 significant digits.
function num(x) {
  if (x >= 1000 || x <= -1000) return commas(x)
  if (x == int(x)) return sprintf("%d", x)
  return sprintf("%.3g", x)
}
function short(name) {
  sub(/^Benchmark/, "", name)
  sub(/-[0-9]+$/, "", name)
  return name
}
# record parses "N <v> ns/op <v> unit …" (fields from index i) for name.
function record(name, i,    j, v, u, thr, extra, hasev) {
  n++
  pkgs[n] = pkg; names[n] = short(name)
  ns[n] = ""; allocs[n] = ""; thr = ""; extra = ""; hasev = 0
  evs[n] = ""; kev[n] = ""; krat[n] = ""; p50[n] = ""; p99[n] = ""; rss[n] = ""; rp99[n] = ""; vcpu[n] = ""; kcpu[n] = ""
  for (j = i; j < NF; j += 2) if ($(j + 1) == "events/s") hasev = 1
  for (j = i; j < NF; j += 2) {
    v = $j; u = $(j + 1)
    if (u == "ns/op") ns[n] = commas(v)
    else if (u == "allocs/op") allocs[n] = commas(v)
    else if (u == "events/s" || (u == "rows/s" && !hasev)) thr = num(v) " " u
    else extra = extra ", " num(v) " " u
    if (u == "events/s") evs[n] = v
    else if (u == "kcat_events/s") { kev[n] = v; nk++ }
    else if (u == "kcat_ratio") krat[n] = v
    else if (u == "fresh_p50_s") { p50[n] = v; nd++ }
    else if (u == "fresh_p99_s") p99[n] = v
    else if (u == "peak_rss_MiB") rss[n] = v
    else if (u == "p99_ms") rp99[n] = v
    else if (u == "cpu_us/event") vcpu[n] = v
    else if (u == "kcat_cpu_us/event") kcpu[n] = v
  }
  thrs[n] = thr
  extras[n] = substr(extra, 3)
}
BEGIN { n = 0; failed = 0; pending = ""; nskip = 0; nfail = 0; nk = 0; nd = 0 }
/^pkg: / {
  pkg = $2
  if (module != "" && index(pkg, module "/") == 1) pkg = substr(pkg, length(module) + 2)
  else if (pkg == module) pkg = "."
  next
}
/^cpu: / { if (cpu == "") { cpu = $0; sub(/^cpu: /, "", cpu) }; next }
/^Benchmark[^ \t]*[ \t]+[0-9]+[ \t]+[0-9.e+]+ ns\/op/ { record($1, 3); pending = ""; next }
# A benchmark that printed while it ran: its name (and what it printed),
# then the numbers alone on a later line.
/^Benchmark[^ \t]*/ { pending = $1; next }
/^[ \t]*[0-9]+[ \t]+[0-9.e+]+ ns\/op/ { if (pending != "") { record(pending, 2); pending = "" }; next }
/^--- SKIP: / { skipped[++nskip] = pkg ": " short($3); getline; sub(/^[ \t]+/, ""); skipwhy[nskip] = $0; next }
/^--- FAIL: / { failed = 1; fails[++nfail] = pkg ": " short($3); next }
/^FAIL|^panic:|build failed|\[setup failed\]/ { failed = 1; fails[++nfail] = $0; next }
END {
  printf "Machine: %s cores (nproc), %s, %s; %s; load average %s at the end of the run.\n\n", cores, (cpu == "" ? "unknown CPU" : cpu), gover, today, load
  if (n == 0) { print "No benchmark results on stdin." } else {
    print "| package | benchmark | ns/op | events/s or rows/s | allocs/op | other metrics |"
    print "|---|---|--:|--:|--:|---|"
    for (i = 1; i <= n; i++)
      printf "| %s | %s | %s | %s | %s | %s |\n", pkgs[i], names[i], ns[i], thrs[i], allocs[i], extras[i]
  }
  if (nk > 0) {
    print ""
    print "| path | Vigie events/s | kcat events/s, same run | ratio | CPU µs/event, Vigie / kcat | other |"
    print "|---|--:|--:|--:|--:|---|"
    for (i = 1; i <= n; i++) if (kev[i] != "")
      printf "| %s %s | %s | %s | %s | %s | %s |\n", pkgs[i], names[i], num(evs[i]), num(kev[i]), num(krat[i]),
        (vcpu[i] == "" ? "" : num(vcpu[i]) " / " num(kcpu[i])), (rp99[i] == "" ? "" : "request p99 " num(rp99[i]) " ms")
  }
  if (nd > 0) {
    print ""
    print "| school day | events/s | CPU µs/event | freshness p50 | freshness p99 | peak RSS |"
    print "|---|--:|--:|--:|--:|--:|"
    for (i = 1; i <= n; i++) if (p50[i] != "")
      printf "| %s | %s | %s | %s s | %s s | %s MiB |\n", names[i], num(evs[i]), num(vcpu[i]), num(p50[i]), num(p99[i]), num(rss[i])
  }
  if (nskip > 0) { print ""; print "Skipped:"; for (i = 1; i <= nskip; i++) printf "- %s: %s\n", skipped[i], skipwhy[i] }
  if (nfail > 0) { print ""; print "FAILED:"; for (i = 1; i <= nfail; i++) printf "- %s\n", fails[i] }
  exit (failed || n == 0) ? 1 : 0
}'
