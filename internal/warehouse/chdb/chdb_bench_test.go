package chdb

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/aggregate/window"
	"github.com/vigie-fr/vigie/internal/store"
	"github.com/vigie-fr/vigie/schemas"
)

// benchRawRows are n rows of vigie.events as the aggregator writes them.
func benchRawRows(n int) []store.Event {
	r := rand.New(rand.NewPCG(3, 4))
	base := time.Date(2021, 4, 6, 6, 0, 0, 0, time.UTC)
	rows := make([]store.Event, n)
	for i := range rows {
		reg := schemas.Regions[i%len(schemas.Regions)]
		outcome, status := "ok", uint16(200)
		var lat *float32
		if i%8 < 6 {
			l := float32(math.Exp(5 + r.NormFloat64()))
			lat = &l
		} else {
			outcome, status = "error", 503
		}
		rows[i] = store.Event{ID: fmt.Sprintf("ev-%08d", i), TS: base.Add(time.Duration(i) * 13 * time.Millisecond),
			Platform: "ent", Service: "ent-" + reg, Region: reg, Academy: "ac-" + reg, Kind: "page", Outcome: outcome,
			Status: status, LatencyMS: lat, User: 1 + r.Uint64N(50_000), Role: "student", Source: "beacon",
			Attrs: map[string]string{"ua": "firefox"}, Partition: uint32(i % 4), Offset: int64(i / 4)}
	}
	return rows
}

// windowRows folds n events spread over regions × platforms × minutes
// into agg_in rows, the way the aggregator does (package window).
func windowRows(n, minutes int, seed uint64) []store.Window {
	r := rand.New(rand.NewPCG(seed, 5))
	base := time.Date(2021, 4, 6, 4, 0, 0, 0, time.UTC)
	s := window.NewSet()
	var ev schemas.Event
	for i := range n {
		reg := schemas.Regions[i%len(schemas.Regions)]
		plat := schemas.Platforms[(i/len(schemas.Regions))%2]
		ev = schemas.Event{
			TS:       base.Add(time.Duration(r.Int64N(int64(minutes) * int64(time.Minute)))),
			Platform: plat, Service: plat + "-" + reg, Region: reg, Kind: "page", Outcome: "ok", Status: 200,
		}
		if i%8 < 6 {
			l := math.Exp(5 + r.NormFloat64())
			ev.LatencyMS = &l
		} else {
			ev.Outcome, ev.Status = "timeout", 504
		}
		s.Add(&ev, 1+r.Uint64N(300_000))
	}
	return s.Rows()
}

// BenchmarkWarehouse measures the chDB transport on the real schema
// (store.Migrate): the two INSERTs of an aggregator flush, through the
// store's encoders with a token each as production sends them, and the
// store's two reads of a morning of a million events: its minute windows
// (what detection reads) and its region × hour grid (the heatmap). One engine per
// process, so the sub-benchmarks share one, isolated by database.
// Targets (docs/benchmarks.md): raw events ≥ 100,000 rows/s, windows
// ≥ 500,000 events/s, each read under 1 s.
func BenchmarkWarehouse(b *testing.B) {
	db, err := Open(b.TempDir())
	if errors.Is(err, ErrLibraryMissing) {
		b.Skipf("%v", err)
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	ctx := context.Background()
	for _, name := range []string{"bench_insert", "bench_query"} {
		if _, err := store.Migrate(ctx, db, store.MigrateOptions{Database: name}); err != nil {
			b.Fatal(err)
		}
	}
	ins, err := store.New(db, "bench_insert")
	if err != nil {
		b.Fatal(err)
	}
	qs, err := store.New(db, "bench_query")
	if err != nil {
		b.Fatal(err)
	}
	count := func(q string) uint64 {
		b.Helper()
		res, err := db.Query(ctx, q, nil)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := res.Rows[0][0].(uint64)
		return n
	}

	b.Run("events_insert_20000", func(b *testing.B) {
		rows := benchRawRows(20_000)
		before := count("SELECT count() FROM bench_insert.events")
		ops := 0
		for b.Loop() {
			ops++
			if err := ins.InsertEvents(ctx, rows, fmt.Sprintf("bench/events/%d/%d", before, ops)); err != nil {
				b.Fatal(err)
			}
		}
		if got := count("SELECT count() FROM bench_insert.events"); got != before+uint64(ops*len(rows)) {
			b.Fatalf("%d rows in events, want %d", got, before+uint64(ops*len(rows)))
		}
		b.ReportMetric(float64(ops*len(rows))/b.Elapsed().Seconds(), "rows/s")
	})

	b.Run("agg_in_insert_100k_events", func(b *testing.B) {
		const events = 100_000
		rows := windowRows(events, 60, 6) // 18 regions × 2 platforms × 60 minutes
		before := count("SELECT sum(n_total) FROM bench_insert.agg_minute")
		ops := 0
		for b.Loop() {
			ops++
			if err := ins.InsertWindows(ctx, rows, fmt.Sprintf("bench/agg_in/%d/%d", before, ops)); err != nil {
				b.Fatal(err)
			}
		}
		if got := count("SELECT sum(n_total) FROM bench_insert.agg_minute"); got != before+uint64(ops*events) {
			b.Fatalf("%d events in agg_minute, want %d", got, before+uint64(ops*events))
		}
		b.ReportMetric(float64(ops*len(rows))/b.Elapsed().Seconds(), "rows/s")
		b.ReportMetric(float64(ops*events)/b.Elapsed().Seconds(), "events/s")
	})

	// One million events over 18 regions × 2 platforms × 12 hours: 25,920
	// minute windows, loaded once (outside the timing) in chunks the size
	// of a flush.
	const queryEvents, hours = 1_000_000, 12
	rows := windowRows(queryEvents, hours*60, 7)
	for start := 0; start < len(rows); start += 5000 {
		if err := qs.InsertWindows(ctx, rows[start:min(start+5000, len(rows))], fmt.Sprintf("bench/load/%d", start)); err != nil {
			b.Fatal(err)
		}
	}
	from, to := time.Date(2021, 4, 6, 4, 0, 0, 0, time.UTC), time.Date(2021, 4, 6, 4+hours, 0, 0, 0, time.UTC)
	series := len(schemas.Regions) * len(schemas.Platforms)

	// What incident detection reads for a morning: every minute window of
	// every series, here the 25,920 windows of the million events.
	b.Run("minute_stats_read_25920_windows_1M_events", func(b *testing.B) {
		var got []store.Stats
		for b.Loop() {
			var err error
			if got, err = qs.Stats(ctx, store.Minute, from, to); err != nil {
				b.Fatal(err)
			}
		}
		var total uint64
		for _, m := range got {
			total += m.Events
		}
		if len(got) != len(rows) || len(got) != series*hours*60 || total != queryEvents {
			b.Fatalf("%d minute windows summing %d events, want %d summing %d", len(got), total, series*hours*60, queryEvents)
		}
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/query")
		b.ReportMetric(float64(len(got)), "windows")
	})

	// What the dashboard's heatmap reads: region × hour cells of each
	// platform from the hour table, whose size depends on series and
	// hours, not on events (432 hour windows hold the million events).
	b.Run("hour_grid_read_432_windows_1M_events", func(b *testing.B) {
		var cells int
		var total uint64
		for b.Loop() {
			cells, total = 0, 0
			for _, p := range schemas.Platforms {
				grid, err := qs.Grid(ctx, p, store.Hour, from, to)
				if err != nil {
					b.Fatal(err)
				}
				cells += len(grid)
				for _, c := range grid {
					total += c.Events
				}
			}
		}
		if cells != series*hours || total != queryEvents {
			b.Fatalf("%d region × hour cells summing %d events, want %d summing %d", cells, total, series*hours, queryEvents)
		}
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/query")
		b.ReportMetric(float64(cells), "windows")
	})
}
