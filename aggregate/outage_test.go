package aggregate

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/internal/broker"
	"github.com/vigie-fr/vigie/internal/broker/brokertest"
	"github.com/vigie-fr/vigie/internal/warehouse"
	"github.com/vigie-fr/vigie/internal/warehouse/chdb"
)

// The broker goes away in the middle of the stream and comes back on the
// same log and port (a Kafka restart); more events arrive after it. The
// aggregator rides through without losing or doubling an event.
func TestABrokerOutageMidStreamChangesNoTotal(t *testing.T) {
	if _, err := os.Stat(chdb.LibraryPath()); err != nil {
		t.Skip("libchdb.so is not installed: run scripts/install-chdb.sh")
	}
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

	db, err := chdb.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := warehouse.Migrate(ctx, db, warehouse.MigrateOptions{Database: testDB}); err != nil {
		t.Fatal(err)
	}
	opts := childOptions(b.Addrs(), db)
	opts.Log = quiet
	agg, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- agg.Run(runCtx) }()

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
	if err := agg.WaitCaughtUp(ctx, 4, 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	stop()
	<-done

	want := truth(valid)
	res, err := db.Query(ctx, `SELECT toString(bucket), platform, service, region, events, ok FROM vigie.hour_stats`, nil)
	if err != nil {
		t.Fatal(err)
	}
	var sum uint64
	for _, r := range res.Rows {
		k := fmt.Sprintf("%v|%v|%v|%v", r[0], r[1], r[2], r[3])
		tw := want[k]
		if tw == nil || u64(r[4]) != tw.events || u64(r[5]) != tw.ok {
			t.Errorf("window %s: events/ok %v/%v, want %+v", k, r[4], r[5], tw)
		}
		sum += u64(r[4])
	}
	res, err = db.Query(ctx, `SELECT count(), uniqExact(id) FROM vigie.events`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, ids := u64(res.Rows[0][0]), u64(res.Rows[0][1]); n != uint64(len(valid)) || ids != n || sum != n || len(res.Rows) != 1 {
		t.Errorf("after the outage: %d raw rows, %d ids, %d in windows; want %d of each", n, ids, sum, len(valid))
	}
}
