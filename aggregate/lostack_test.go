package aggregate

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/internal/warehouse"
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
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	flaky := &lostAcks{Warehouse: openWarehouse(t, ctx)}
	_, valid := foldAll(t, ctx, 5000, flaky)
	if flaky.lost < 10 {
		t.Fatalf("only %d acknowledgements were lost; the test needs many", flaky.lost)
	}
	checkTotals(t, ctx, flaky.Warehouse, valid)
}
