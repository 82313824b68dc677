package aggregate

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/vigie-fr/vigie/internal/broker"
	"github.com/vigie-fr/vigie/internal/broker/brokertest"
	"github.com/vigie-fr/vigie/internal/store"
	"github.com/vigie-fr/vigie/internal/warehouse"
	"github.com/vigie-fr/vigie/schemas"
)

// Each way a Kafka log can stop being the one the warehouse read ends the
// same way: the partitions concerned stop (no event lost to an offset
// reused by new events, none counted twice by re-reading an old one), say
// why, and an operator's `vigie offsets resume --from start` brings them
// back with exact totals: the old events the log still holds are known by
// their ids, the new ones count once.
func TestALogThatNoLongerMatchesStopsThePartitionUntilAnOperatorResumesIt(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	kcfg := brokertest.Config(4)
	segments := func(t *testing.T, kdir string) []string {
		files, _ := filepath.Glob(filepath.Join(kdir, "kafka", "partitions", kcfg.Topic+"-*", "*.dat"))
		if len(files) == 0 {
			t.Fatal("no segment file found under the embedded broker's data dir")
		}
		return files
	}
	faults := []struct {
		name string
		// newEvents is how many new events arrive after the fault: fewer
		// than the log held (its end falls below the warehouse's offset) or
		// more (the same offsets name other records).
		newEvents int
		// stopped is how many partitions must stop (-1: at least one).
		stopped int
		fault   func(t *testing.T, ctx context.Context, kdir string, brokers []string) bool // true: the broker must restart
	}{
		{"the topic is deleted and re-created, new events fewer than the old", 400, 4, func(t *testing.T, ctx context.Context, _ string, brokers []string) bool {
			c := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
			if _, err := c.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{kcfg.Topic}}); err != nil {
				t.Fatal(err)
			}
			// The deletion completes in the background: create until it takes.
			for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
				err := broker.EnsureTopics(ctx, broker.Plain(brokers), kcfg, quiet)
				if err == nil {
					return false
				}
				if time.Now().After(deadline) {
					t.Fatal(err)
				}
			}
		}},
		{"the broker's log is deleted, new events more than the old", 6000, 4, func(t *testing.T, _ context.Context, kdir string, _ []string) bool {
			if err := os.RemoveAll(filepath.Join(kdir, "kafka")); err != nil {
				t.Fatal(err)
			}
			return true
		}},
		{"five bytes are torn off every segment", 300, 4, func(t *testing.T, _ context.Context, kdir string, _ []string) bool {
			for _, f := range segments(t, kdir) {
				st, err := os.Stat(f)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.Truncate(f, st.Size()-5); err != nil {
					t.Fatal(err)
				}
			}
			return true
		}},
		{"one byte is flipped in a segment", 300, -1, func(t *testing.T, _ context.Context, kdir string, _ []string) bool {
			f := segments(t, kdir)[0]
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			b[len(b)*2/3] ^= 0x40
			if err := os.WriteFile(f, b, 0o640); err != nil {
				t.Fatal(err)
			}
			return true
		}},
	}
	for i, tc := range faults {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			kdir := t.TempDir()
			b, err := broker.StartEmbedded(ctx, kdir, 0, quiet)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { b.Close() }()
			_, portS, _ := net.SplitHostPort(b.Addrs()[0])
			port, _ := strconv.Atoi(portS)
			if err := broker.EnsureTopics(ctx, b.Access(), kcfg, quiet); err != nil {
				t.Fatal(err)
			}
			_, old := testEvents(3000)
			produce(t, ctx, b.Addrs(), messages(old))
			db := openWarehouse(t, ctx)
			runUntilCaughtUp(t, ctx, b.Addrs(), db, 24*time.Hour, 0)

			if tc.fault(t, ctx, kdir, b.Addrs()) {
				b.Close()
				if b, err = broker.StartEmbedded(ctx, kdir, port, quiet); err != nil {
					t.Fatal(err)
				}
				if err := broker.EnsureTopics(ctx, b.Access(), kcfg, quiet); err != nil {
					t.Fatal(err)
				}
			}
			// New events, and some old ones re-sent by a collector.
			_, fresh := testEvents(tc.newEvents)
			for k := range fresh {
				fresh[k].ID = "new-" + strconv.Itoa(i) + "-" + fresh[k].ID
			}
			produce(t, ctx, b.Addrs(), messages(append(fresh, old[:200]...)))

			opts := childOptions(b.Addrs(), db)
			agg, err := New(opts)
			if err != nil {
				t.Fatal(err)
			}
			runCtx, stopRun := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- agg.Run(runCtx) }()
			defer func() { stopRun(); <-done; opts.DLQ.Close() }()

			var stopped []string
			for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				stopped = agg.Stopped()
				if (tc.stopped < 0 && len(stopped) > 0) || (tc.stopped > 0 && len(stopped) == tc.stopped) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("partitions stopped: %q; want %d", stopped, tc.stopped)
				}
			}
			for _, why := range stopped {
				if !strings.Contains(why, kcfg.Topic) || !strings.Contains(why, "offset") {
					t.Errorf("stop reason %q does not name the topic and the offset", why)
				}
			}
			// Nothing of the new log was written while stopped.
			if n := rawCount(t, ctx, db); n != uint64(len(old)) {
				t.Fatalf("%d raw events while the partitions are stopped, want the %d of the old log", n, len(old))
			}

			st, err := store.New(db, testDB)
			if err != nil {
				t.Fatal(err)
			}
			offs := st.Offsets(kcfg.Group, kcfg.Topic)
			states, err := Inspect(ctx, agg.log(), offs, 4)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range states {
				if s.Problem != "" {
					if _, err := Reset(ctx, agg.log(), offs, s.Partition, "start"); err != nil {
						t.Fatal(err)
					}
				}
			}
			waitCaughtUp(t, ctx, agg)
			if s := agg.Stopped(); len(s) != 0 {
				t.Fatalf("still stopped after the reset: %q", s)
			}
			checkTotals(t, ctx, db, append(append([]schemas.Event{}, old...), fresh...))
		})
	}
}

func rawCount(t *testing.T, ctx context.Context, db warehouse.Warehouse) uint64 {
	t.Helper()
	res, err := db.Query(ctx, "SELECT count() FROM vigie.events", nil)
	if err != nil {
		t.Fatal(err)
	}
	return u64(res.Rows[0][0])
}
