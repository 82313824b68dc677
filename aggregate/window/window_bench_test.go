package window

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/schemas"
)

// benchEvents are n events spread over 18 regions × 2 platforms × 60
// minutes (one service per region and platform: 2160 windows), with
// log-normal latencies, a 1-in-8 failure rate and 50,000 users.
func benchEvents(n int) (events []schemas.Event, users []uint64) {
	r := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2021, 4, 6, 6, 0, 0, 0, time.UTC)
	outcomes := []string{"ok", "ok", "ok", "ok", "ok", "ok", "error", "timeout"}
	events = make([]schemas.Event, n)
	users = make([]uint64, n)
	for i := range events {
		reg := schemas.Regions[i%len(schemas.Regions)]
		plat := schemas.Platforms[(i/len(schemas.Regions))%2]
		ev := schemas.Event{
			ID: "ev", TS: base.Add(time.Duration(r.IntN(3600_000)) * time.Millisecond),
			Platform: plat, Service: plat + "-" + reg, Region: reg, Kind: "page",
			Outcome: outcomes[r.IntN(len(outcomes))], Status: 200,
		}
		if ev.Outcome == "ok" {
			l := math.Exp(5 + r.NormFloat64())
			ev.LatencyMS = &l
		} else {
			ev.Status = 503
		}
		events[i] = ev
		users[i] = 1 + r.Uint64N(50_000)
	}
	return events, users
}

// BenchmarkSetAddRows folds 100,000 events into a fresh Set and renders its
// agg_in rows: the aggregator's CPU work per flush, without Kafka or the
// warehouse. Target: ≥ 1,000,000 events/s, so that the fold is never what
// limits the aggregator.
func BenchmarkSetAddRows(b *testing.B) {
	const n = 100_000
	events, users := benchEvents(n)
	b.ReportAllocs()
	var rows int
	for b.Loop() {
		s := NewSet()
		for i := range events {
			s.Add(&events[i], users[i])
		}
		rows = len(s.Rows())
	}
	if rows != 18*2*60 {
		b.Fatalf("%d windows, want %d", rows, 18*2*60)
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(rows), "windows")
}
