package aggregate

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/internal/broker"
	"github.com/vigie-fr/vigie/internal/broker/brokertest"
)

// The broker goes away in the middle of the stream and comes back on the
// same log and port (a Kafka restart); more events arrive after it. The
// aggregator rides through without losing or doubling an event.
func TestABrokerOutageMidStreamChangesNoTotal(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	kdir := t.TempDir()
	b, err := broker.StartEmbedded(ctx, kdir, 0, quiet)
	if err != nil {
		t.Fatal(err)
	}
	_, portS, _ := net.SplitHostPort(b.Addrs()[0])
	port, _ := strconv.Atoi(portS)
	kcfg := brokertest.Config(4)
	if err := broker.EnsureTopics(ctx, b.Addrs(), kcfg, quiet); err != nil {
		t.Fatal(err)
	}
	msgs, valid := testEvents(8000)
	half := len(msgs) / 2
	w := broker.NewWriter(b.Addrs(), kcfg.Topic, kcfg)
	if err := w.WriteMessages(ctx, msgs[:half]...); err != nil {
		t.Fatal(err)
	}
	w.Close()

	db := openWarehouse(t, ctx)
	agg, stop := startAggregator(t, ctx, b.Addrs(), db)

	// Let it fold part of the first half, then take the broker down.
	deadline := time.Now().Add(60 * time.Second)
	for {
		n, err := agg.Behind(ctx, 4)
		if err == nil && n < int64(half)*3/4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the aggregator made no progress before the outage (behind %d, %v)", n, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.Close()
	time.Sleep(3 * time.Second)
	b, err = broker.StartEmbedded(ctx, kdir, port, quiet)
	if err != nil {
		t.Fatalf("restart the broker on port %d: %v", port, err)
	}
	defer b.Close()
	w = broker.NewWriter(b.Addrs(), kcfg.Topic, kcfg)
	if err := w.WriteMessages(ctx, msgs[half:]...); err != nil {
		t.Fatal(err)
	}
	w.Close()
	waitCaughtUp(t, ctx, agg)
	stop()
	checkTotals(t, ctx, db, valid)
}
