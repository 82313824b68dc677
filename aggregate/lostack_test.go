package aggregate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/internal/broker"
	"github.com/vigie-fr/vigie/internal/broker/brokertest"
	"github.com/vigie-fr/vigie/internal/warehouse"
	"github.com/vigie-fr/vigie/internal/warehouse/chdb"
)

// lostAcks writes every insert but reports every seventh one as failed, as a
// server whose answer is lost on the network would: the retry resends the
// same rows with the same token, and the engine must drop them. (A flush
// is four inserts; one failure in seven lets retries get through.)
type lostAcks struct {
	warehouse.Warehouse
	mu   sync.Mutex
	n    int
	lost int
}

func (l *lostAcks) Insert(ctx context.Context, b *warehouse.Batch, s warehouse.Settings) error {
	if err := l.Warehouse.Insert(ctx, b, s); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	if l.n%7 == 0 {
		l.lost++
		return errors.New("connection reset by peer (the insert was written)")
	}
	return nil
}

func TestInsertsWhoseAcknowledgementIsLostAreNotCountedTwice(t *testing.T) {
	if _, err := os.Stat(chdb.LibraryPath()); err != nil {
		t.Skip("libchdb.so is not installed: run scripts/install-chdb.sh")
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b := brokertest.Start(t, brokertest.Config(4))
	msgs, valid := testEvents(5000)
	w := broker.NewWriter(b.Addrs(), "vigie.events.v1", brokertest.Config(4))
	if err := w.WriteMessages(ctx, msgs...); err != nil {
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
	flaky := &lostAcks{Warehouse: db}
	opts := childOptions(b.Addrs(), flaky)
	opts.Log = quiet
	agg, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- agg.Run(runCtx) }()
	if err := agg.WaitCaughtUp(ctx, 4, 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	stop()
	<-done
	if flaky.lost < 10 {
		t.Fatalf("only %d acknowledgements were lost; the test needs many", flaky.lost)
	}
	want := truth(valid)
	res, err := db.Query(ctx, `SELECT toString(bucket), platform, service, region, events, ok, users FROM vigie.hour_stats`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != len(want) {
		t.Errorf("%d hour windows, want %d", len(res.Rows), len(want))
	}
	for _, r := range res.Rows {
		k := fmt.Sprintf("%v|%v|%v|%v", r[0], r[1], r[2], r[3])
		tw := want[k]
		if tw == nil || u64(r[4]) != tw.events || u64(r[5]) != tw.ok || u64(r[6]) != uint64(len(tw.users)) {
			t.Errorf("window %s: events/ok/users %v/%v/%v, want %+v", k, r[4], r[5], r[6], tw)
		}
	}
	res, err = db.Query(ctx, `SELECT count(), uniqExact(id) FROM vigie.events`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, ids := u64(res.Rows[0][0]), u64(res.Rows[0][1]); n != uint64(len(valid)) || ids != n {
		t.Errorf("%d raw rows for %d ids, want %d (%d acknowledgements lost)", n, ids, len(valid), flaky.lost)
	}
}
