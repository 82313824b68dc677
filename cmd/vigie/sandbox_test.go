package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/dashboards/sqlapi"
	"github.com/vigie-fr/vigie/internal/sandbox/sandboxtest"
)

// The attack table of the SQL sandbox through a real `vigie serve`: every
// statement refused with 403 on POST /api/v1/sql and with a clear error by
// `vigie query`, the canary and the data dir's own key neither read nor
// changed, no file made, no connection opened.
func TestServeRefusesTheAttackTable(t *testing.T) {
	needChDB(t)
	dir := filepath.Join(t.TempDir(), "data")
	s := startServe(t, dir)
	w := sandboxtest.NewWitness(t)
	key := readFile(t, filepath.Join(dir, "hmac.key"))
	tok, err := sqlapi.ReadToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	var answers bytes.Buffer
	for _, a := range w.Attacks("vigie") {
		t.Run(a.Name, func(t *testing.T) {
			code, body := postSQL(t, s.url, tok, a.SQL)
			answers.WriteString(body)
			if code != http.StatusForbidden || !strings.Contains(body, "refused") {
				t.Errorf("POST /api/v1/sql: %d %s, want 403 and a refusal", code, body)
			}
			r := vigie(t, time.Minute, nil, "query", "--data-dir", dir, "--listen", s.listen, a.SQL)
			answers.WriteString(r.stdout + r.stderr)
			if r.code == 0 || !strings.Contains(r.stderr, "refused") || r.stdout != "" {
				t.Errorf("vigie query: exit %d, stdout %q, stderr %q; want a refusal", r.code, r.stdout, r.stderr)
			}
			w.Check(t, []byte(body+r.stdout+r.stderr))
		})
	}
	if bytes.Contains(answers.Bytes(), bytes.TrimSpace(key)) {
		t.Error("an answer holds the data dir's HMAC key")
	}
	if got := readFile(t, filepath.Join(dir, "hmac.key")); !bytes.Equal(got, key) {
		t.Error("the data dir's HMAC key changed")
	}
	if !strings.Contains(s.log(), `msg="sql: query refused"`) || !strings.Contains(s.log(), `status=403`) {
		t.Errorf("refusals are not logged:\n%s", tail(s.log()))
	}
	for _, q := range []string{"SELECT count() FROM vigie.events", "SHOW TABLES", "SELECT name FROM system.columns WHERE table = 'hour_stats' LIMIT 1"} {
		if code, body := postSQL(t, s.url, tok, q); code != http.StatusOK {
			t.Errorf("%q: %d %s, want 200", q, code, body)
		}
	}
}

// Under hostile SQL (a memory-hungry statement, slow ones, many at once)
// ingest keeps answering 200, the aggregator keeps writing what arrives
// within seconds, and SIGTERM ends the process while the slow statements
// still run.
func TestServeKeepsIngestingUnderHostileSQL(t *testing.T) {
	needChDB(t)
	dir := filepath.Join(t.TempDir(), "data")
	s := startServe(t, dir, "VIGIE_WAREHOUSE_QUERY_TIMEOUT=20s", "VIGIE_SANDBOX_MAX_MEMORY_BYTES=268435456")
	tok, err := sqlapi.ReadToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	pid := s.cmd.Process.Pid
	baseRSS := rssBytes(t, pid)

	// Memory first: max_memory_usage stops it, whatever else runs.
	code, body := postSQL(t, s.url, tok, "SELECT groupArray(toString(number)) FROM numbers(300000000)")
	if code != http.StatusBadRequest || !strings.Contains(body, "MEMORY_LIMIT_EXCEEDED") {
		t.Errorf("memory-hungry statement: %d %s, want 400 MEMORY_LIMIT_EXCEEDED", code, body)
	}
	afterMemory := rssBytes(t, pid)
	// Then slow ones and many at once, left running.
	hostile := []string{
		"SELECT sum(cityHash64(number)) FROM numbers(1000000000000)",
		"SELECT count() FROM numbers(1000000000000) WHERE NOT ignore(sipHash64(number))",
	}
	for range 12 {
		hostile = append(hostile, "SELECT count() FROM numbers(300000000) WHERE NOT ignore(sipHash64(number))")
	}
	var wg sync.WaitGroup
	var stopped atomic.Int64
	for _, q := range hostile {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, _ := postSQLNoFail(s.url, tok, q); code == http.StatusServiceUnavailable {
				stopped.Add(1)
			}
		}()
	}
	time.Sleep(time.Second) // the statements are running or waiting for a session

	maxRSS := max(baseRSS, afterMemory)
	var lags []time.Duration
	for round := range 5 {
		before := metric(t, s, "vigie_aggregate_events_total")
		const n = 200
		start := time.Now()
		resp, err := http.Post(s.url+"/v1/events", "application/x-ndjson", bytes.NewReader(hostileRoundEvents(round, n)))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("round %d: POST /v1/events answered %d under hostile SQL", round, resp.StatusCode)
		}
		// Folded and then written: events_total has them, and a flush
		// after that moment wrote rows.
		for metric(t, s, "vigie_aggregate_events_total") < before+n {
			if time.Since(start) > 30*time.Second {
				t.Fatalf("round %d: the aggregator did not fold %d events in 30 s under hostile SQL:\n%s", round, n, tail(s.log()))
			}
			time.Sleep(50 * time.Millisecond)
		}
		rows := metric(t, s, "vigie_aggregate_flush_rows_total")
		for metric(t, s, "vigie_aggregate_flush_rows_total") == rows {
			if time.Since(start) > 30*time.Second {
				t.Fatalf("round %d: no flush in 30 s under hostile SQL", round)
			}
			time.Sleep(50 * time.Millisecond)
		}
		lags = append(lags, time.Since(start))
		maxRSS = max(maxRSS, rssBytes(t, pid))
	}
	t.Logf("ingest-to-warehouse lag under hostile SQL: %v; RSS %d MiB at start, at most %d MiB under load", lags, baseRSS>>20, maxRSS>>20)
	for i, l := range lags {
		// "A few seconds": flushes are every second; the bound leaves room
		// for a loaded two-core machine.
		if l > 10*time.Second {
			t.Errorf("round %d: events took %s to reach the warehouse under hostile SQL", i, l)
		}
	}
	if maxRSS-baseRSS > 2<<30 {
		t.Errorf("RSS grew by %d MiB under hostile SQL (memory limit 256 MiB per statement, 2 sessions)", (maxRSS-baseRSS)>>20)
	}

	// The slow statements are still running: SIGTERM must not wait for them.
	code, took := s.terminate(t, 30*time.Second)
	t.Logf("serve stopped %s after SIGTERM with slow ad-hoc statements running", took.Round(time.Millisecond))
	if code != 0 {
		t.Errorf("serve exited %d after SIGTERM:\n%s", code, tail(s.log()))
	}
	wg.Wait()
	if stopped.Load() == 0 {
		t.Errorf("no running statement was answered 503 at shutdown:\n%s", tail(s.log()))
	}
}

func hostileRoundEvents(round, n int) []byte {
	var b bytes.Buffer
	for i := range n {
		ts := time.Now().Add(-time.Duration(i) * time.Second).UTC()
		line, _ := json.Marshal(map[string]any{
			"id": fmt.Sprintf("hostile-%d-%d-%d", time.Now().UnixNano(), round, i), "ts": ts.Format(time.RFC3339),
			"platform": "ent", "service": "ent-24", "region": "24", "kind": "page",
			"outcome": "ok", "status": 200, "latency_ms": 120,
		})
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func postSQL(t *testing.T, base, tok, sql string) (int, string) {
	t.Helper()
	code, body := postSQLNoFail(base, tok, sql)
	if code == 0 {
		t.Fatalf("POST /api/v1/sql: %s", body)
	}
	return code, body
}

// postSQLNoFail posts sql; code 0 means the request failed (body says why).
func postSQLNoFail(base, tok, sql string) (int, string) {
	req, _ := http.NewRequest(http.MethodPost, base+sqlapi.Path, strings.NewReader(sql))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := (&http.Client{Timeout: 2 * time.Minute}).Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rssBytes is the resident memory of process pid.
func rssBytes(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}
