package aggregate

import (
	"context"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/vigie-fr/vigie/aggregate/window"
)

// resume decides where partition p starts, from the offset store: after
// the last committed range, or at the start of a range that was begun and
// not committed. The stored offset is checked against the log: offsets
// outside it mean data was lost to retention or the topic was recreated,
// which must be loud.
func (a *Aggregator) resume(ctx context.Context, p int, gen int32) (*worker, error) {
	mk, err := a.offsets.Last(ctx, p)
	if err != nil {
		return nil, err
	}
	logFirst, logEnd, err := a.logBounds(ctx, p)
	if err != nil {
		return nil, err
	}
	at := mk.Resume(logFirst)
	w := &worker{p: p, gen: gen, next: at.Next, replayEnd: at.ReplayEnd, set: window.NewSet(), seen: map[uint64]int64{}}
	if w.next < logFirst {
		a.o.Log.Error("the warehouse's offset is below the log start: events were deleted by Kafka retention before they were aggregated",
			"partition", p, "warehouse_offset", w.next, "log_start", logFirst, "lost", logFirst-w.next)
		a.m.lost.Add(float64(logFirst - w.next))
		w.next, w.replayEnd = logFirst, -1
	}
	if w.next > logEnd {
		a.o.Log.Error("the warehouse's offset is past the log end: the topic was recreated or the broker lost its data; starting at the log start",
			"partition", p, "warehouse_offset", w.next, "log_end", logEnd)
		w.next, w.replayEnd = logFirst, -1
	}
	if a.o.Config.DedupWindow > 0 && w.next > logFirst {
		if err := a.loadSeen(ctx, w); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// loadSeen rebuilds the dedup memory from the events the warehouse holds
// for offsets [next-window, next): exactly what an uninterrupted run would
// remember at this offset.
func (a *Aggregator) loadSeen(ctx context.Context, w *worker) error {
	ids, err := a.store.IDs(ctx, w.p, w.next-int64(a.o.Config.DedupWindow), w.next)
	if err != nil {
		return err
	}
	for _, id := range ids {
		w.seen[dedupKey(id.Collector, id.ID)] = id.Offset
	}
	return nil
}

func (a *Aggregator) logBounds(ctx context.Context, p int) (first, end int64, err error) {
	c := &kafka.Client{Addr: kafka.TCP(a.o.Brokers...), Timeout: 10 * time.Second}
	resp, err := c.ListOffsets(ctx, &kafka.ListOffsetsRequest{
		Topics: map[string][]kafka.OffsetRequest{a.o.Kafka.Topic: {kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p)}},
	})
	if err != nil {
		return 0, 0, fmt.Errorf("list offsets of %s/%d: %w", a.o.Kafka.Topic, p, err)
	}
	for _, po := range resp.Topics[a.o.Kafka.Topic] {
		if po.Partition == p {
			if po.Error != nil {
				return 0, 0, fmt.Errorf("list offsets of %s/%d: %w", a.o.Kafka.Topic, p, po.Error)
			}
			return po.FirstOffset, po.LastOffset, nil
		}
	}
	return 0, 0, fmt.Errorf("list offsets of %s/%d: partition missing from the answer", a.o.Kafka.Topic, p)
}
