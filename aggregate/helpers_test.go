package aggregate

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/vigie-fr/vigie/aggregate/window"
	"github.com/vigie-fr/vigie/internal/broker"
	"github.com/vigie-fr/vigie/internal/broker/brokertest"
	"github.com/vigie-fr/vigie/internal/store"
	"github.com/vigie-fr/vigie/internal/warehouse"
	"github.com/vigie-fr/vigie/internal/warehouse/chdb"
	"github.com/vigie-fr/vigie/schemas"
)

// Helpers shared by the fault tests: each runs the real aggregator against
// the embedded broker and chDB, then checks exact totals against truth().

// openWarehouse opens chDB in this process on a fresh directory, migrated.
// One engine per process: the fault tests run one after the other.
func openWarehouse(t *testing.T, ctx context.Context) *chdb.DB {
	t.Helper()
	if _, err := os.Stat(chdb.LibraryPath()); err != nil {
		t.Skip("libchdb.so is not installed: run scripts/install-chdb.sh")
	}
	db, err := chdb.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := store.Migrate(ctx, db, store.MigrateOptions{Database: testDB}); err != nil {
		t.Fatal(err)
	}
	return db
}

// startAggregator runs an aggregator in the background until the returned
// stop is called; stop waits for it to leave the group and closes its
// dead-letter writer.
func startAggregator(t *testing.T, ctx context.Context, brokers []string, wh warehouse.Warehouse) (*Aggregator, func()) {
	t.Helper()
	opts := childOptions(brokers, wh)
	opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	agg, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- agg.Run(runCtx) }()
	return agg, func() {
		cancel()
		<-done
		opts.DLQ.Close() // the aggregator writes to it but does not own it
	}
}

// foldAll writes testEvents(n) to a fresh 4-partition broker and runs an
// aggregator over wh until it holds them all; it returns the events.
func foldAll(t *testing.T, ctx context.Context, n int, wh warehouse.Warehouse) (msgs []kafka.Message, valid []schemas.Event) {
	t.Helper()
	kcfg := brokertest.Config(4)
	b := brokertest.Start(t, kcfg)
	msgs, valid = testEvents(n)
	w := broker.NewWriter(b.Access(), kcfg.Topic, kcfg)
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	w.Close()
	agg, stop := startAggregator(t, ctx, b.Addrs(), wh)
	waitCaughtUp(t, ctx, agg)
	stop()
	return msgs, valid
}

// waitCaughtUp fails the test if the aggregator does not catch up.
func waitCaughtUp(t *testing.T, ctx context.Context, agg *Aggregator) {
	t.Helper()
	if err := agg.WaitCaughtUp(ctx, 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
}

// checkTotals compares every hour window of the warehouse with the truth
// of the valid events (duplicates by id removed): every count, the unique
// users, p95 within the sketch's error; and raw rows = distinct ids.
func checkTotals(t *testing.T, ctx context.Context, db warehouse.Warehouse, valid []schemas.Event) {
	t.Helper()
	res, err := db.Query(ctx, `SELECT toString(bucket), platform, service, region, events, ok, errors, timeouts, rejected, queued, users, p95_ms
FROM vigie.hour_stats ORDER BY bucket, platform, service, region`, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := truth(valid)
	if len(res.Rows) != len(want) {
		t.Errorf("%d hour windows in the warehouse, want %d", len(res.Rows), len(want))
	}
	var sumEvents uint64
	for _, r := range res.Rows {
		k := fmt.Sprintf("%v|%v|%v|%v", r[0], r[1], r[2], r[3])
		tw := want[k]
		if tw == nil {
			t.Errorf("unexpected window %s", k)
			continue
		}
		got := [6]uint64{u64(r[4]), u64(r[5]), u64(r[6]), u64(r[7]), u64(r[8]), u64(r[9])}
		exp := [6]uint64{tw.events, tw.ok, tw.errors, tw.timeouts, tw.rejected, tw.queued}
		if got != exp {
			t.Errorf("window %s: events/ok/errors/timeouts/rejected/queued = %v, want %v", k, got, exp)
		}
		sumEvents += got[0]
		if u := u64(r[10]); u != uint64(len(tw.users)) {
			t.Errorf("window %s: %d unique users, want %d", k, u, len(tw.users))
		}
		if p95, exact := r[11].(float64), tw.latency.Quantile(0.95); math.Abs(p95-exact) > exact*window.RelativeError {
			t.Errorf("window %s: p95 %.2f ms, the sketch says %.2f", k, p95, exact)
		}
	}
	res, err = db.Query(ctx, `SELECT count(), uniqExact(id) FROM vigie.events`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, ids := u64(res.Rows[0][0]), u64(res.Rows[0][1]); n != uint64(len(valid)) || ids != n || sumEvents != n {
		t.Errorf("raw events: %d rows, %d ids, %d in windows; want %d of each", n, ids, sumEvents, len(valid))
	}
}
