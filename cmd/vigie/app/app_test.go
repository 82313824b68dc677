package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/dashboards/report"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/warehouse/chdb"
	"github.com/vigie-fr/vigie/schemas"
)

// A day this project never saw: Monday 10 January 2022. The ENT of
// Auvergne-Rhône-Alpes (84) fails 09:12–09:47 Paris time (errors and
// quota rejections), the CNED is slow for Bretagne (53) 14:00–14:20, the
// rest is healthy. Posted through POST /v1/events of a running serve,
// with invalid events, re-sent duplicates and late events mixed in.
type truthIncident struct {
	service, region string
	start, end      time.Time
}

var (
	day      = time.Date(2022, 1, 10, 0, 0, 0, 0, time.FixedZone("CET", 3600))
	at       = func(h, m int) time.Time { return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	incTruth = []truthIncident{
		{"ent-84", "84", at(9, 12), at(9, 47)},
		{"cned-classe-virtuelle", "53", at(14, 0), at(14, 20)},
	}
)

func dayEvents() []schemas.Event {
	r := rand.New(rand.NewPCG(2022, 1))
	var evs []schemas.Event
	n := 0
	for m := 8 * 60; m < 15*60; m++ {
		t0 := at(0, m)
		for _, svc := range []struct{ platform, service, region string }{
			{"ent", "ent-84", "84"}, {"ent", "ent-11", "11"}, {"ent", "ent-53", "53"},
			{"cned", "cned-classe-virtuelle", "53"}, {"cned", "cned-classe-virtuelle", "84"},
		} {
			bad, slow := false, false
			for _, in := range incTruth {
				if in.service == svc.service && in.region == svc.region && !t0.Before(in.start) && t0.Before(in.end) {
					bad = svc.platform == "ent"
					slow = svc.platform == "cned"
				}
			}
			for i := 0; i < 30; i++ {
				ev := schemas.Event{
					ID: fmt.Sprintf("d22-%d", n), TS: t0.Add(time.Duration(r.IntN(60000)) * time.Millisecond),
					Platform: svc.platform, Service: svc.service, Region: svc.region, Kind: "page",
					Outcome: "ok", Status: 200, User: fmt.Sprintf("pupil-%s-%d", svc.region, r.IntN(300)), Role: "student",
				}
				n++
				lat := 80 + r.Float64()*300
				switch {
				case bad && i%3 == 0:
					ev.Outcome, ev.Status = "rejected", 429
				case bad && i%3 == 1:
					ev.Outcome, ev.Status = "error", 503
				case slow:
					lat = 4000 + r.Float64()*4000
				}
				if ev.Outcome == "ok" {
					ev.LatencyMS = &lat
				}
				evs = append(evs, ev)
			}
		}
	}
	return evs
}

func post(t *testing.T, url string, body []byte) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url+"/v1/events", "application/x-ndjson", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("response %d is not JSON: %s", resp.StatusCode, b)
	}
	return resp.StatusCode, out
}

// startApp starts a and shuts it down at the end of the test (at once if
// the start fails), failing the test on a shutdown error.
func startApp(t *testing.T, ctx context.Context, a *App) {
	t.Helper()
	err := a.Start(ctx)
	t.Cleanup(func() {
		if err := a.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestServeCountsAnUnseenDayExactlyAndFindsItsIncidents(t *testing.T) {
	if _, err := os.Stat(chdb.LibraryPath()); err != nil {
		t.Skip("libchdb.so is not installed: run scripts/install-chdb.sh")
	}
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Kafka.Partitions = 3
	cfg.Aggregate.FlushInterval = 100 * time.Millisecond
	a, err := New(cfg, All, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	startApp(t, ctx, a)

	evs := dayEvents()
	// Late events: the first hour's events are posted last.
	var early, late []schemas.Event
	for _, ev := range evs {
		if ev.TS.Before(at(9, 0)) {
			late = append(late, ev)
		} else {
			early = append(early, ev)
		}
	}
	ordered := append(early, late...)
	invalid := []string{
		`{"id":"bad-1","ts":"2022-01-10T09:30:00","platform":"ent","service":"ent-84","region":"84","kind":"page","outcome":"ok","latency_ms":5}`,
		`{"id":"bad-2","ts":"2022-01-10T09:30:00+01:00","platform":"ent","service":"ent-84","region":"84","kind":"page","outcome":"fine","latency_ms":5}`,
		`{"id":"bad-3","ts":"2022-01-10T09:30:00+01:00","platform":"ent","service":"ent-84","region":84,"kind":"page","outcome":"ok","latency_ms":5}`,
	}
	invalidField := map[string]string{"bad-1": "ts", "bad-2": "outcome", "bad-3": "region"}
	var accepted int
	named := map[string]string{}
	for i := 0; i < len(ordered); i += 1500 {
		batch := ordered[i:min(i+1500, len(ordered))]
		var buf bytes.Buffer
		for j, ev := range batch {
			b, _ := json.Marshal(ev)
			buf.Write(b)
			buf.WriteByte('\n')
			if j == 10 {
				buf.WriteString(invalid[(i/1500)%len(invalid)] + "\n")
			}
		}
		// Re-send the batch's first 100 events, as a client retrying would.
		for _, ev := range batch[:min(100, len(batch))] {
			b, _ := json.Marshal(ev)
			buf.Write(b)
			buf.WriteByte('\n')
		}
		code, out := post(t, a.URL(), buf.Bytes())
		if code != http.StatusOK {
			t.Fatalf("POST answered %d: %v", code, out)
		}
		accepted += int(out["accepted"].(float64))
		for _, e := range out["errors"].([]any) {
			m := e.(map[string]any)
			named[fmt.Sprint(m["id"])] = fmt.Sprint(m["field"])
		}
	}
	for id, field := range invalidField {
		if named[id] != field {
			t.Errorf("invalid event %s: response named field %q, want %q", id, named[id], field)
		}
	}
	if err := a.WaitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}

	// Exact per-hour counts.
	type key struct{ hour, service, region string }
	want := map[key][2]uint64{}
	for _, ev := range evs {
		k := key{ev.TS.UTC().Truncate(time.Hour).Format("2006-01-02 15:04:05"), ev.Service, ev.Region}
		c := want[k]
		c[0]++
		if ev.Outcome == "ok" {
			c[1]++
		}
		want[k] = c
	}
	res, err := a.Warehouse().Query(ctx, `SELECT toString(bucket), service, region, events, ok FROM vigie.hour_stats WHERE toDate(bucket) = '2022-01-10'`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != len(want) {
		t.Errorf("%d hour windows, want %d", len(res.Rows), len(want))
	}
	for _, r := range res.Rows {
		k := key{fmt.Sprint(r[0]), fmt.Sprint(r[1]), fmt.Sprint(r[2])}
		got := [2]uint64{uint64(r[3].(uint64)), uint64(r[4].(uint64))}
		if got != want[k] {
			t.Errorf("hour %v: events/ok %v, want %v", k, got, want[k])
		}
	}
	if want := len(evs) + acceptedResends(len(ordered)); accepted != want {
		t.Errorf("collector accepted %d events, want %d (every valid event and re-send)", accepted, want)
	}

	// The report finds exactly the two incidents, within two minutes.
	rep, err := report.Build(ctx, a.Store(), at(0, 0), at(24, 0), cfg.Incidents)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Incidents) != len(incTruth) {
		var got []string
		for _, in := range rep.Incidents {
			got = append(got, fmt.Sprintf("%s/%s %s–%s", in.Service, in.Region, in.Start, in.End))
		}
		t.Fatalf("report found %d incidents, want %d: %s", len(rep.Incidents), len(incTruth), strings.Join(got, "; "))
	}
	for _, tr := range incTruth {
		found := false
		for _, in := range rep.Incidents {
			if in.Service == tr.service && in.Region == tr.region {
				found = true
				if d := math.Abs(in.Start.Sub(tr.start).Minutes()); d > 2 {
					t.Errorf("%s/%s starts %s, truth %s", tr.service, tr.region, in.Start, tr.start)
				}
				if d := math.Abs(in.End.Sub(tr.end).Minutes()); d > 2 {
					t.Errorf("%s/%s ends %s, truth %s", tr.service, tr.region, in.End, tr.end)
				}
			}
		}
		if !found {
			t.Errorf("no incident for %s/%s", tr.service, tr.region)
		}
	}
}

func acceptedResends(n int) int {
	r := 0
	for i := 0; i < n; i += 1500 {
		r += min(100, n-i)
	}
	return r
}

func TestPartsRunOnTheirOwnNeedASharedClusterAndKey(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		name  string
		parts Parts
		edit  func(*config.Config)
		want  string
	}{
		{"collect without brokers", Parts{Ingest: true}, func(*config.Config) {}, "kafka.brokers"},
		{"aggregate without brokers", Parts{Aggregate: true}, func(*config.Config) {}, "kafka.brokers"},
		{"collect without a shared HMAC key", Parts{Ingest: true}, func(c *config.Config) { c.Kafka.Brokers = []string{"kafka-1:9092"} }, "ingest.hmac_key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			tc.edit(&cfg)
			_, err := New(cfg, tc.parts, quiet)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want+":") {
				t.Fatalf("New = %v, want an error naming %s", err, tc.want)
			}
		})
	}
	cfg := config.Default()
	cfg.Kafka.Brokers = []string{"kafka-1:9092"}
	cfg.Ingest.HMACKey = strings.Repeat("k", 32)
	if _, err := New(cfg, Parts{Ingest: true}, quiet); err != nil {
		t.Fatalf("a collector with brokers and a key: %v", err)
	}
}
