package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/dashboards/report"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/warehouse/chdb"
)

// With only probes feeding it (no beacon, no log), an outage of a portal is
// reported as an incident by the report's code, through the whole pipeline:
// probes inside serve → Kafka → aggregator → warehouse → report.
//
// Today's rule needs incidents.min_events (20) attempts in a minute and
// incidents.min_minutes (5) bad minutes, so the portal is probed by 8
// targets every 200 ms of a clock running 60 times fast: about 40 probes a
// simulated minute. docs/collectors.md says how many probes a minute the
// rule needs.
func TestProbesAloneReportAPortalOutageAsAnIncident(t *testing.T) {
	if _, err := os.Stat(chdb.LibraryPath()); err != nil {
		t.Skip("libchdb.so is not installed: run scripts/install-chdb.sh")
	}
	const speed = 60
	t0 := time.Date(2022, 3, 1, 7, 0, 0, 0, time.UTC) // 08:00 in Paris
	var mu sync.Mutex
	var r0 time.Time
	now := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return t0.Add(time.Since(r0) * speed)
	}
	outageFrom, outageTo := t0.Add(4*time.Minute), t0.Add(12*time.Minute)
	portal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if v := now(); !v.Before(outageFrom) && v.Before(outageTo) {
			http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "<h1>Bienvenue sur l'ENT Occitanie</h1>")
	}))
	defer portal.Close()

	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Aggregate.FlushInterval = 100 * time.Millisecond
	cfg.Probe.InServe = true
	cfg.Probe.Interval, cfg.Probe.Timeout = 200*time.Millisecond, 200*time.Millisecond
	for i := range 8 {
		cfg.Probe.Targets = append(cfg.Probe.Targets, config.ProbeTarget{
			Name: fmt.Sprintf("ent-76-%d", i), URL: portal.URL + "/", Platform: "ent", Service: "ent-76", Region: "76", ExpectText: "Bienvenue",
		})
	}
	a, err := New(cfg, All, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	a.probeNow = now
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	mu.Lock()
	r0 = time.Now()
	mu.Unlock()
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := a.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	}()
	end := t0.Add(16 * time.Minute)
	for now().Before(end) {
		time.Sleep(100 * time.Millisecond)
	}
	a.stopProbes()
	<-a.probesDone
	if err := a.WaitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := report.Build(ctx, a.Store(), t0, end, cfg.Incidents)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Incidents) != 1 {
		t.Fatalf("%d incidents, want the one outage of ent-76: %+v", len(rep.Incidents), rep.Incidents)
	}
	in := rep.Incidents[0]
	near := func(got, want time.Time) bool { d := got.Sub(want); return d >= -time.Minute && d <= time.Minute }
	if in.Service != "ent-76" || in.Region != "76" || !near(in.Start, outageFrom) || !near(in.End, outageTo) || in.Reason != "availability" {
		t.Errorf("incident %s/%s %s–%s (%s); want ent-76/76 %s–%s (±1 min), availability",
			in.Service, in.Region, in.Start.Format("15:04"), in.End.Format("15:04"), in.Reason, outageFrom.Format("15:04"), outageTo.Format("15:04"))
	}
	if in.WorstAvailability != 0 {
		t.Errorf("worst availability %v, want 0: every probe of a minute inside the outage fails", in.WorstAvailability)
	}
}
