package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie-fr/vigie/internal/broker"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/warehouse/chdb"
)

func readyz(t *testing.T, url string) (int, Readiness) {
	t.Helper()
	resp, err := http.Get(url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r Readiness
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("/readyz is not JSON: %v", err)
	}
	return resp.StatusCode, r
}

// /readyz says what each part is doing, and follows them: the broker going
// away turns it 503 naming the broker, within a few seconds, and its
// return brings 200 back.
func TestReadinessFollowsEveryPart(t *testing.T) {
	if _, err := os.Stat(chdb.LibraryPath()); err != nil {
		t.Skip("libchdb.so is not installed: run scripts/install-chdb.sh")
	}
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Kafka.Partitions = 2
	a, err := New(cfg, All, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer a.Shutdown(context.Background())
	code, r := readyz(t, a.URL())
	want := map[string]string{partBroker: "ok", partWarehouse: "ok", partDisk: "ok", partIngest: "ok", partAggregator: "ok"}
	if code != http.StatusOK || !r.Ready || r.Phase != "running" || !equal(r.Parts, want) {
		t.Fatalf("readyz = %d %+v, want 200 with %v", code, r, want)
	}
	_, port, _ := net.SplitHostPort(a.kafka.Brokers()[0])
	a.embedded.Close()
	until := func(what string, ok func(int, Readiness) bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			code, r := readyz(t, a.URL())
			if ok(code, r) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("readyz = %d %+v %s, want it within 10 s", code, r, what)
			}
		}
	}
	until("after the broker went away: want 503 naming the broker", func(code int, r Readiness) bool {
		return code == http.StatusServiceUnavailable && strings.HasPrefix(r.Parts[partBroker], "unreachable")
	})
	p, _ := strconv.Atoi(port)
	b, err := broker.StartEmbedded(ctx, cfg.DataDir, p, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	a.embedded = b // closed by Shutdown
	until("after the broker came back: want 200", func(code int, r Readiness) bool {
		return code == http.StatusOK && r.Parts[partBroker] == "ok"
	})
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// Ingest answers 503 with Retry-After until it is wired and while the disk
// is full, never 404; then the real handler answers.
func TestIngestAnswersRetryLaterUntilItCanAccept(t *testing.T) {
	h, err := newHealth(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	g := &ingestGate{h: h}
	try := func() (int, string) {
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/events", strings.NewReader("{}")))
		return rec.Code, rec.Header().Get("Retry-After")
	}
	if code, retry := try(); code != http.StatusServiceUnavailable || retry == "" {
		t.Errorf("before ingest is wired: %d, Retry-After %q; want 503 with Retry-After", code, retry)
	}
	g.open(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	if code, _ := try(); code != http.StatusOK {
		t.Errorf("once wired: %d, want the handler's 200", code)
	}
	h.set(partDisk, "full")
	if code, retry := try(); code != http.StatusServiceUnavailable || retry == "" {
		t.Errorf("disk full: %d, Retry-After %q; want 503 with Retry-After", code, retry)
	}
	h.set(partDisk, "")
	if code, _ := try(); code != http.StatusOK {
		t.Errorf("disk freed: %d, want 200", code)
	}
}

// A data dir with less than min_free_mb free is refused at start, naming
// the key, before anything is written there.
func TestAFullDiskIsRefusedAtStart(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Listen = "127.0.0.1:0"
	free, err := freeBytes(cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MinFreeMB = int(free>>20) + 1024 // more than there is
	a, err := New(cfg, All, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	err = a.Start(context.Background())
	defer a.Shutdown(context.Background())
	if err == nil || !strings.Contains(err.Error(), "min_free_mb") {
		t.Fatalf("start on a disk below min_free_mb: %v, want an error naming min_free_mb", err)
	}
	if entries, _ := os.ReadDir(cfg.DataDir); len(entries) != 0 {
		t.Errorf("data dir holds %d entries after a refused start, want none", len(entries))
	}
}
