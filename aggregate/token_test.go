package aggregate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/vigie-fr/vigie/internal/broker"
	"github.com/vigie-fr/vigie/internal/broker/brokertest"
	"github.com/vigie-fr/vigie/internal/store"
	"github.com/vigie-fr/vigie/internal/warehouse"
	"github.com/vigie-fr/vigie/schemas"
)

// The insert de-duplication token is what tells a replayed flush (drop it)
// from a new flush whose rows happen to be identical (keep it). The tables
// also drop a block whose content hash they already hold, so random data
// cannot tell whether the token is sent: these tests can.

// insertLog records every insert the aggregator sends: table, columns, rows
// and settings, in order.
type insertLog struct {
	warehouse.Warehouse
	mu      sync.Mutex
	inserts []recordedInsert
}

type recordedInsert struct {
	table    string // without the database
	columns  []string
	rows     [][]any
	settings warehouse.Settings
}

func (l *insertLog) Insert(ctx context.Context, b *warehouse.Batch, s warehouse.Settings) error {
	err := l.Warehouse.Insert(ctx, b, s)
	if err == nil {
		l.mu.Lock()
		l.inserts = append(l.inserts, recordedInsert{
			table: b.Table[strings.LastIndexByte(b.Table, '.')+1:], columns: b.Columns, rows: b.Rows, settings: s,
		})
		l.mu.Unlock()
	}
	return err
}

// column returns row[name] of an insert.
func (r *recordedInsert) column(row []any, name string) any {
	for i, c := range r.columns {
		if c == name {
			return row[i]
		}
	}
	panic(fmt.Sprintf("insert into %s has no column %s (columns %v)", r.table, name, r.columns))
}

// integer returns row[name] of an insert, an integer of any Go type.
func (r *recordedInsert) integer(row []any, name string) int64 {
	v := reflect.ValueOf(r.column(row, name))
	switch {
	case v.CanInt():
		return v.Int()
	case v.CanUint():
		return int64(v.Uint())
	}
	panic(fmt.Sprintf("insert into %s: column %s holds %T, not an integer", r.table, name, v.Interface()))
}

func TestEveryAggregatorInsertCarriesTheTokenOfItsRange(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	kcfg := brokertest.Config(4)
	rec := &insertLog{Warehouse: openWarehouse(t, ctx)}
	msgs, valid := foldAll(t, ctx, 3000, rec)

	// Replay the log: a 'before' marker opens a range of its partition, the
	// events and windows of that range must carry its tokens, its 'after'
	// marker closes it. Partitions flush concurrently, so ranges interleave.
	open := map[int]store.Range{}        // partition → range begun, not committed
	events := map[store.Range]uint64{}   // rows of each range's events insert
	windowed := map[store.Range]uint64{} // sum of n_total of its windows insert
	covered := map[int]int64{}           // partition → next offset after its committed ranges
	claimed := map[int]store.Range{}     // partition → range claimed last (fencing: claims precede markers)
	var flushes, eventRows uint64
	for i, in := range rec.inserts {
		switch in.table {
		case store.TableClaims:
			row := in.rows[0]
			c := store.Range{Topic: kcfg.Topic, Partition: int(in.integer(row, "partition")),
				First: in.integer(row, "first_offset"), Last: in.integer(row, "last_offset")}
			want := fmt.Sprintf("claim/%s/%s/%d/e0/%d", kcfg.Group, kcfg.Topic, c.Partition, c.First)
			if token, _ := in.settings["insert_deduplication_token"].(string); token != want {
				t.Errorf("insert %d: claim of %d-%d with token %q, want %q", i, c.First, c.Last, token, want)
			}
			claimed[c.Partition] = c
		case store.TableOffsets:
			if len(in.rows) != 1 {
				t.Fatalf("insert %d: %d marker rows, want 1", i, len(in.rows))
			}
			row := in.rows[0]
			r := store.Range{Topic: kcfg.Topic, Partition: int(in.integer(row, "partition")),
				First: in.integer(row, "first_offset"), Last: in.integer(row, "last_offset")}
			switch state := in.column(row, "state"); state {
			case store.StateBefore:
				if o, ok := open[r.Partition]; ok {
					t.Fatalf("insert %d: range %d-%d of partition %d begun while %d-%d is open", i, r.First, r.Last, r.Partition, o.First, o.Last)
				}
				if r.First != covered[r.Partition] {
					t.Errorf("insert %d: partition %d range starts at %d, the previous one ended before %d", i, r.Partition, r.First, covered[r.Partition])
				}
				if claimed[r.Partition] != r {
					t.Errorf("insert %d: range %d-%d of partition %d begun without its claim (last claim %+v)", i, r.First, r.Last, r.Partition, claimed[r.Partition])
				}
				open[r.Partition] = r
			case store.StateAfter:
				if open[r.Partition] != r {
					t.Fatalf("insert %d: 'after' for %d-%d of partition %d, open range is %+v", i, r.First, r.Last, r.Partition, open[r.Partition])
				}
				if events[r] != windowed[r] {
					t.Errorf("range %+v: %d raw events but %d events in its windows", r, events[r], windowed[r])
				}
				delete(open, r.Partition)
				covered[r.Partition] = r.Last + 1
				flushes++
			default:
				t.Fatalf("insert %d: marker state %v", i, state)
			}
		case store.TableEvents, store.TableWindows:
			token, _ := in.settings["insert_deduplication_token"].(string)
			var r store.Range
			found := false
			for _, o := range open {
				if o.Token(in.table) == token {
					r, found = o, true
				}
			}
			if !found {
				t.Fatalf("insert %d into %s carries token %q, which is the token of no range begun and not committed (open: %v)", i, in.table, token, open)
			}
			if in.settings["async_insert"] != 0 || in.settings["deduplicate_blocks_in_dependent_materialized_views"] != 1 {
				t.Errorf("insert %d into %s: settings %v, want a synchronous insert that de-duplicates in the views too", i, in.table, in.settings)
			}
			if in.table == store.TableEvents {
				if events[r] != 0 {
					t.Errorf("range %+v: a second events insert", r)
				}
				for _, row := range in.rows {
					p, off := int(in.integer(row, "kafka_partition")), in.integer(row, "kafka_offset")
					if p != r.Partition || off < r.First || off > r.Last {
						t.Errorf("event at %d/%d sent with the token of range %d-%d of partition %d", p, off, r.First, r.Last, r.Partition)
					}
				}
				events[r] = uint64(len(in.rows))
				eventRows += uint64(len(in.rows))
			} else {
				if windowed[r] != 0 {
					t.Errorf("range %+v: a second windows insert", r)
				}
				for _, row := range in.rows {
					windowed[r] += uint64(in.integer(row, "n_total"))
				}
			}
		default:
			t.Errorf("insert %d into unexpected table %s", i, in.table)
		}
	}
	if len(open) != 0 {
		t.Errorf("ranges begun and never committed: %v", open)
	}
	if eventRows != uint64(len(valid)) {
		t.Errorf("%d events sent, want %d (no retry or replay happened)", eventRows, len(valid))
	}
	var logEnd int64
	for _, next := range covered {
		logEnd += next
	}
	if logEnd != int64(len(msgs)) {
		t.Errorf("committed ranges cover %d offsets, the log holds %d messages", logEnd, len(msgs))
	}
	if flushes < 8 {
		t.Errorf("only %d flushes; the test needs several per partition", flushes)
	}
}

// cutAfterWindows makes the process "die" right after its n-th windows
// insert is written: that insert and every later one answer an error, so
// the flush's 'after' marker is never written and the range must be
// replayed by the next aggregator.
type cutAfterWindows struct {
	warehouse.Warehouse
	n   int
	cut chan struct{}

	mu   sync.Mutex
	seen int
}

var errCut = errors.New("the aggregator died here")

func (c *cutAfterWindows) Insert(ctx context.Context, b *warehouse.Batch, s warehouse.Settings) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen >= c.n {
		return errCut
	}
	if err := c.Warehouse.Insert(ctx, b, s); err != nil {
		return err
	}
	if strings.HasSuffix(b.Table, "."+store.TableWindows) {
		c.seen++
		if c.seen == c.n {
			close(c.cut)
			return errCut
		}
	}
	return nil
}

// One synthetic probe a minute per service: probes in the same minute with
// the same outcome, latency and user give flushes whose window rows are
// byte for byte the same. Each must count; the replay of one must not.
func TestFlushesWithIdenticalWindowRowsAllCountAndAReplayDoesNot(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	kcfg := brokertest.Config(4)
	b := brokertest.Start(t, kcfg)
	latency := 120.0
	probe := func(id string, sec int) kafka.Message {
		ev := schemas.Event{ID: id, TS: time.Date(2021, 4, 6, 8, 0, sec, 0, time.UTC),
			Platform: "ent", Service: "ent-11", Region: "11", Kind: "probe", Outcome: "ok", Status: 200,
			LatencyMS: &latency, User: "00000000000000a1", Source: "probe"}
		v, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		return kafka.Message{Key: []byte(ev.PartitionKey()), Value: v}
	}
	produce := func(m kafka.Message) {
		t.Helper()
		w := broker.NewWriter(b.Access(), kcfg.Topic, kcfg)
		defer w.Close()
		if err := w.WriteMessages(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	db := openWarehouse(t, ctx)

	// First aggregator: the first probe is flushed and committed; the
	// second is flushed up to its windows, and the process dies before
	// the 'after' marker.
	cut := &cutAfterWindows{Warehouse: db, n: 2, cut: make(chan struct{})}
	agg, stop := startAggregator(t, ctx, b.Addrs(), cut)
	produce(probe("probe-0800-a", 10))
	waitCaughtUp(t, ctx, agg)
	produce(probe("probe-0800-b", 40))
	select {
	case <-cut.cut:
	case <-ctx.Done():
		t.Fatal("the second flush never reached its windows insert")
	}
	stop()

	// A third probe arrives while no aggregator runs. The second
	// aggregator must replay exactly the begun range, offset 1 alone, with
	// its tokens, though offset 2 is already there to read: re-cut as one
	// range 1-2, the replay would carry a new token and count the second
	// probe twice.
	produce(probe("probe-0800-c", 50))
	rec := &insertLog{Warehouse: db}
	agg, stop = startAggregator(t, ctx, b.Addrs(), rec)
	waitCaughtUp(t, ctx, agg)
	stop()
	var p int
	var tokens []string
	for _, in := range rec.inserts {
		switch in.table {
		case store.TableOffsets:
			p = int(in.integer(in.rows[0], "partition"))
		case store.TableWindows:
			tokens = append(tokens, in.settings["insert_deduplication_token"].(string))
		}
	}
	replay, next := store.Range{Topic: kcfg.Topic, Partition: p, First: 1, Last: 1}, store.Range{Topic: kcfg.Topic, Partition: p, First: 2, Last: 2}
	if want := []string{replay.Token(store.TableWindows), next.Token(store.TableWindows)}; !slices.Equal(tokens, want) {
		t.Fatalf("the second aggregator's windows inserts carry tokens %q, want %q: the begun range replayed alone, then the new probe", tokens, want)
	}

	res, err := db.Query(ctx, `SELECT (SELECT count() FROM vigie.events),
       (SELECT sum(events) FROM vigie.minute_stats), (SELECT sum(events) FROM vigie.hour_stats),
       (SELECT sum(latency_n) FROM vigie.agg_minute)`, nil)
	if err != nil {
		t.Fatal(err)
	}
	row := res.Rows[0]
	got := [4]uint64{u64(row[0]), u64(row[1]), u64(row[2]), u64(row[3])}
	if want := [4]uint64{3, 3, 3, 3}; got != want {
		t.Errorf("raw events, events in minute windows, in hour windows, latencies in minute windows = %v, want %v", got, want)
	}
}
