package aggregate

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/vigie-fr/vigie/internal/broker"
	"github.com/vigie-fr/vigie/internal/broker/brokertest"
	"github.com/vigie-fr/vigie/internal/warehouse"
	"github.com/vigie-fr/vigie/schemas"
)

// One collector sends the id of another's event first (to hide it, as
// "whoever sends an id first wins" allowed); the real event still lands,
// and each collector's own re-sends are still dropped, before and after a
// restart of the aggregator.
func TestAnotherCollectorsIDDoesNotShadowARealEvent(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	kcfg := brokertest.Config(4)
	b := brokertest.Start(t, kcfg)
	db := openWarehouse(t, ctx)
	ts := time.Date(2021, 4, 6, 6, 30, 0, 0, time.UTC)
	msg := func(collector, outcome string) kafka.Message {
		lat := 120.0
		ev := schemas.Event{ID: "ent-idf-0001", TS: ts, Platform: "ent", Service: "ent-11", Region: "11",
			Kind: "page", Outcome: outcome, Source: "beacon"}
		if outcome == "ok" {
			ev.LatencyMS = &lat
		}
		v, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		m := kafka.Message{Key: []byte(ev.PartitionKey()), Value: v}
		if collector != "" {
			m.Headers = []kafka.Header{{Key: schemas.CollectorHeader, Value: []byte(collector)}}
		}
		return m
	}
	write := func(msgs ...kafka.Message) {
		w := broker.NewWriter(b.Access(), kcfg.Topic, kcfg)
		defer w.Close()
		if err := w.WriteMessages(ctx, msgs...); err != nil {
			t.Fatal(err)
		}
	}
	rows := func() [][]any {
		res, err := db.Query(ctx, "SELECT collector, outcome, count() FROM vigie.events GROUP BY collector, outcome ORDER BY collector", nil)
		if err != nil {
			t.Fatal(err)
		}
		return res.Rows
	}
	want := func(stage string) {
		t.Helper()
		got := rows()
		exp := [][2]string{{"", "timeout"}, {"ent-idf", "ok"}, {"squatter", "error"}}
		if len(got) != len(exp) {
			t.Fatalf("%s: events by collector %v, want one each of %v", stage, got, exp)
		}
		for i, e := range exp {
			if warehouse.AsString(got[i][0]) != e[0] || warehouse.AsString(got[i][1]) != e[1] || warehouse.AsInt64(got[i][2]) != 1 {
				t.Errorf("%s: row %d = %v, want %s %s once", stage, i, got[i], e[0], e[1])
			}
		}
	}

	// The squatter first, then the real event, then a message from a
	// producer that names no collector, then everyone's re-sends.
	write(msg("squatter", "error"), msg("ent-idf", "ok"), msg("", "timeout"))
	write(msg("ent-idf", "ok"), msg("squatter", "error"), msg("", "timeout"))
	agg, stop := startAggregator(t, ctx, b.Addrs(), db)
	waitCaughtUp(t, ctx, agg)
	stop()
	want("first run")

	// A restarted aggregator rebuilds its memory per collector from the
	// events table: re-sends are still dropped.
	write(msg("ent-idf", "ok"), msg("squatter", "error"), msg("", "timeout"))
	agg, stop = startAggregator(t, ctx, b.Addrs(), db)
	waitCaughtUp(t, ctx, agg)
	stop()
	want("after a restart")
}

func TestDedupKeyKeepsCollectorAndIDApart(t *testing.T) {
	if dedupKey("a", "b\x00c") == dedupKey("a\x00b", "c") || dedupKey("", "ab") == dedupKey("a", "b") || dedupKey("ab", "c") == dedupKey("a", "bc") {
		t.Fatal("dedupKey mixes (collector, id) pairs up")
	}
	if a, b := dedupKey("ent-idf", "1"), dedupKey("ent-idf", "1"); a != b {
		t.Fatal("dedupKey gives one pair two keys")
	}
}
