package aggregate

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/segmentio/kafka-go"

	"github.com/vigie-fr/vigie/internal/broker"
	"github.com/vigie-fr/vigie/internal/broker/brokertest"
	"github.com/vigie-fr/vigie/internal/warehouse"
	"github.com/vigie-fr/vigie/schemas"
)

// produce writes msgs to the events topic.
func produce(t *testing.T, ctx context.Context, brokers []string, msgs []kafka.Message) {
	t.Helper()
	k := brokertest.Config(4)
	w := broker.NewWriter(broker.Plain(brokers), k.Topic, k)
	defer w.Close()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
}

// messages are the Kafka messages of events, as the collector writes them.
func messages(events []schemas.Event) []kafka.Message {
	out := make([]kafka.Message, len(events))
	for i, ev := range events {
		b, _ := json.Marshal(ev)
		out[i] = kafka.Message{Key: []byte(ev.PartitionKey()), Value: b}
	}
	return out
}

// runUntilCaughtUp runs an aggregator whose clock is the real one shifted
// by skew, until it holds every message.
func runUntilCaughtUp(t *testing.T, ctx context.Context, brokers []string, wh warehouse.Warehouse, horizon, skew time.Duration) {
	t.Helper()
	opts := childOptions(brokers, wh)
	opts.Config.DedupHorizon = horizon
	opts.Now = func() time.Time { return time.Now().Add(skew) }
	agg, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- agg.Run(runCtx) }()
	waitCaughtUp(t, ctx, agg)
	cancel()
	<-done
	opts.DLQ.Close()
}

// A collector re-sends every event of its spool an hour after the first
// time, to an aggregator that restarted in between: no total changes.
func TestEveryEventReSentAnHourLaterChangesNoTotal(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	b := brokertest.Start(t, brokertest.Config(4))
	msgs, valid := testEvents(4000)
	produce(t, ctx, b.Addrs(), msgs)
	db := openWarehouse(t, ctx)
	runUntilCaughtUp(t, ctx, b.Addrs(), db, 24*time.Hour, 0)
	produce(t, ctx, b.Addrs(), messages(valid)) // 4000 offsets later, one hour later
	runUntilCaughtUp(t, ctx, b.Addrs(), db, 24*time.Hour, time.Hour)
	checkTotals(t, ctx, db, valid)
}

// Past the horizon a re-send is a new event, as documented: the horizon is
// the promise, not forever.
func TestAReSendPastTheHorizonCountsAgain(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	b := brokertest.Start(t, brokertest.Config(4))
	_, valid := testEvents(300)
	produce(t, ctx, b.Addrs(), messages(valid))
	db := openWarehouse(t, ctx)
	runUntilCaughtUp(t, ctx, b.Addrs(), db, 2*time.Hour, 0)
	produce(t, ctx, b.Addrs(), messages(valid[:50]))
	runUntilCaughtUp(t, ctx, b.Addrs(), db, 2*time.Hour, 3*time.Hour)
	res, err := db.Query(ctx, "SELECT count(), uniqExact(id) FROM vigie.events", nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, ids := u64(res.Rows[0][0]), u64(res.Rows[0][1]); n != 350 || ids != 300 {
		t.Fatalf("%d raw events with %d ids, want 350 with 300 (the 50 re-sent past the 2h horizon count again)", n, ids)
	}
}

// The Bloom filter has no false negatives and under 1 % false positives;
// in steady traffic (a slot sized from the slot before) it costs about 1.4
// MB per million ids, and at most 4 MB for a slot grown from nothing. An
// event is checked against a few filters whatever the horizon.
func TestTheIdFilterIsExactForNewIdsAndSmall(t *testing.T) {
	s := newSeen(24 * time.Hour)
	slot := time.Duration(s.slot) * time.Second
	at := time.Date(2021, 4, 6, 0, 0, 0, 0, time.UTC)
	const n = 1_000_000
	for k := range 2 {
		for i := range n {
			s.remember(xxhash.Sum64String(fmt.Sprintf("in-%d-%d", k, i)), at.Add(time.Duration(k)*slot))
		}
	}
	for k := range 2 {
		for i := range n {
			if !s.maybe(xxhash.Sum64String(fmt.Sprintf("in-%d-%d", k, i))) {
				t.Fatalf("id in-%d-%d was remembered but the filter says new", k, i)
			}
		}
	}
	fp := 0
	for i := range 100_000 {
		if s.maybe(xxhash.Sum64String(fmt.Sprintf("out-%d", i))) {
			fp++
		}
	}
	// Two slots' filters are asked: each under 1 %.
	if rate := float64(fp) / 100_000; rate > 0.02 {
		t.Errorf("false positive rate %.4f over two slots, want at most 0.02", rate)
	} else {
		t.Logf("false positive rate %.4f over two slots' filters", rate)
	}
	first, second := 0, 0
	for k, fs := range s.slots {
		for _, f := range fs {
			if k == at.Unix()/s.slot {
				first += len(f.bits) * 8
			} else {
				second += len(f.bits) * 8
			}
		}
	}
	if mb := float64(second) / 1e6; mb > 1.6 {
		t.Errorf("%.2f MB for a million ids in steady traffic, want at most 1.6", mb)
	} else if mbFirst := float64(first) / 1e6; mbFirst > 4.5 {
		t.Errorf("%.2f MB for the first million ids, want at most 4.5", mbFirst)
	} else {
		t.Logf("per million ids: %.2f MB in steady traffic, %.2f MB for a first slot", mb, mbFirst)
	}
	// A day of ids in steady arrival is held in a few filters, not one an hour.
	d := newSeen(24 * time.Hour)
	for m := range 48 * 60 {
		d.remember(uint64(m)+1, at.Add(time.Duration(m)*time.Minute))
		d.flushed(at.Add(time.Duration(m) * time.Minute))
	}
	if len(d.slots) > 4 {
		t.Errorf("%d filters held for a 24 h horizon, want at most 4", len(d.slots))
	}
	s.flushed(at.Add(24*time.Hour + 3*slot))
	if s.bytes() != 0 || s.maybe(xxhash.Sum64String("in-0-1")) {
		t.Error("ids past the horizon are still remembered")
	}
}
