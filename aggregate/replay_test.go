package aggregate

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/aggregate/window"
	"github.com/vigie-fr/vigie/internal/store"
	"github.com/vigie-fr/vigie/schemas"
)

// A generation can end while a partition replays a begun range (a
// rebalance, a shutdown). What it holds then is part of that range: flushed
// as a range of its own it would carry a new token and write again the rows
// the begun range already wrote. The next owner replays the range whole.
func TestAGenerationEndingMidReplayFlushesNothing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rec := &insertLog{Warehouse: openWarehouse(t, ctx)}
	opts := childOptions([]string{"127.0.0.1:9"}, rec) // New opens nothing: no broker needed
	defer opts.DLQ.Close()
	agg, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	// A worker that has folded offsets 0-4 of a range begun as 0-9.
	holding := func(replayEnd int64) *worker {
		w := &worker{p: 2, gen: 7, replayEnd: replayEnd, set: window.NewSet()}
		latency := 80.0
		for off := range int64(5) {
			ev := schemas.Event{ID: fmt.Sprintf("replayed-%d", off), TS: time.Date(2021, 4, 6, 8, 0, int(off), 0, time.UTC),
				Platform: "ent", Service: "ent-11", Region: "11", Kind: "page", Outcome: "ok", LatencyMS: &latency}
			if off == 0 {
				w.first, w.since = off, time.Now()
			}
			w.pending++
			w.next = off + 1
			w.set.Add(&ev, 0)
			w.raw = append(w.raw, rawEvent(&ev, 0, "", w.p, off, 0))
		}
		return w
	}

	agg.finalFlush(ctx, holding(9), quiet)
	if len(rec.inserts) != 0 {
		t.Fatalf("a generation ending at offset 4 of a replay of 0-9 wrote %d inserts (first into %s), want none", len(rec.inserts), rec.inserts[0].table)
	}

	// The same worker outside a replay flushes what it holds: the test sees
	// inserts when there are some.
	agg.finalFlush(ctx, holding(-1), quiet)
	var tables []string
	for _, in := range rec.inserts {
		tables = append(tables, in.table)
	}
	want := []string{store.TableClaims, store.TableOffsets, store.TableEvents, store.TableWindows, store.TableOffsets}
	if !slices.Equal(tables, want) {
		t.Fatalf("a generation ending outside a replay wrote %v, want %v", tables, want)
	}
	r := store.Range{Topic: opts.Kafka.Topic, Partition: 2, First: 0, Last: 4}
	if got := rec.inserts[2].settings["insert_deduplication_token"]; got != r.Token(store.TableEvents) {
		t.Errorf("final flush token %v, want %s", got, r.Token(store.TableEvents))
	}
}
