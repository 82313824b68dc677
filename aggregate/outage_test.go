package aggregate

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/internal/broker"
	"github.com/vigie-fr/vigie/internal/broker/brokertest"
	"github.com/vigie-fr/vigie/internal/warehouse"
)

// holdAfter lets n inserts through, then holds every later one until
// release is closed: the aggregator stops in the middle of a flush, with
// messages read and not committed, for as long as the test needs.
type holdAfter struct {
	warehouse.Warehouse
	n       int
	held    chan struct{} // closed when the first insert is held
	release chan struct{}

	mu   sync.Mutex
	seen int
}

func (h *holdAfter) Insert(ctx context.Context, b *warehouse.Batch, s warehouse.Settings) error {
	h.mu.Lock()
	h.seen++
	hold := h.seen > h.n
	if h.seen == h.n+1 {
		close(h.held)
	}
	h.mu.Unlock()
	if hold {
		select {
		case <-h.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return h.Warehouse.Insert(ctx, b, s)
}

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
	if err := broker.EnsureTopics(ctx, b.Access(), kcfg, quiet); err != nil {
		t.Fatal(err)
	}
	msgs, valid := testEvents(8000)
	half := len(msgs) / 2
	w := broker.NewWriter(b.Access(), kcfg.Topic, kcfg)
	if err := w.WriteMessages(ctx, msgs[:half]...); err != nil {
		t.Fatal(err)
	}
	w.Close()

	db := openWarehouse(t, ctx)
	hold := &holdAfter{Warehouse: db, n: 40, held: make(chan struct{}), release: make(chan struct{})}
	agg, stop := startAggregator(t, ctx, b.Addrs(), hold)

	// Let it write a few flushes of the first half (a flush is five
	// inserts: claim, before, events, windows, after) and stop inside the
	// next one; the broker goes down while the aggregator is mid-stream:
	// it has read messages it has not committed, and more are waiting.
	select {
	case <-hold.held:
	case <-ctx.Done():
		t.Fatal("the aggregator never got past its first flushes")
	}
	behind, err := agg.Behind(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if behind == 0 || behind == int64(half) {
		t.Fatalf("%d of %d messages behind when the broker goes down; the outage must fall mid-stream", behind, half)
	}
	t.Logf("the broker goes down with the aggregator inside a flush, %d of %d messages behind", behind, half)
	b.Close()
	close(hold.release)
	time.Sleep(3 * time.Second)
	b, err = broker.StartEmbedded(ctx, kdir, port, quiet)
	if err != nil {
		t.Fatalf("restart the broker on port %d: %v", port, err)
	}
	defer b.Close()
	w = broker.NewWriter(b.Access(), kcfg.Topic, kcfg)
	if err := w.WriteMessages(ctx, msgs[half:]...); err != nil {
		t.Fatal(err)
	}
	w.Close()
	waitCaughtUp(t, ctx, agg)
	stop()
	checkTotals(t, ctx, db, valid)
}
