package aggregate

import (
	"context"
	"fmt"
	"time"
)

// Behind returns how many messages of the topic the warehouse does not hold
// yet, summed over its kafka.partitions: log end offset minus the next
// offset after each partition's last complete range.
func (a *Aggregator) Behind(ctx context.Context) (int64, error) {
	var total int64
	for p := range a.o.Kafka.Partitions {
		mk, err := a.offsets.Last(ctx, p)
		if err != nil {
			return 0, err
		}
		first, end, err := a.log().Bounds(ctx, p)
		if err != nil {
			return 0, err
		}
		// A range begun and not committed is not held yet.
		if done := mk.Resume(first).Next; end > done {
			total += end - done
		}
	}
	return total, nil
}

// WaitCaughtUp polls Behind until it is zero or ctx ends.
func (a *Aggregator) WaitCaughtUp(ctx context.Context, poll time.Duration) error {
	for {
		n, err := a.Behind(ctx)
		if err == nil && n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("aggregator still %d messages behind: %w", n, ctx.Err())
		case <-time.After(poll):
		}
	}
}
