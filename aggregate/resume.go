package aggregate

import (
	"context"

	"github.com/cespare/xxhash/v2"

	"github.com/vigie-fr/vigie/aggregate/window"
)

// resume decides where partition p starts, from the offset store: after
// the last committed range, or at the start of a range that was begun and
// not committed. The log must be the one the warehouse read (Log.Check: a
// *LogMismatch otherwise); offsets below its start were deleted by
// retention before they were aggregated, which must be loud.
func (a *Aggregator) resume(ctx context.Context, p int, gen int32) (*worker, error) {
	mk, err := a.offsets.Last(ctx, p)
	if err != nil {
		return nil, err
	}
	logFirst, logEnd, err := a.log().Bounds(ctx, p)
	if err != nil {
		return nil, err
	}
	if err := a.log().Check(ctx, p, mk, logFirst, logEnd); err != nil {
		return nil, err
	}
	at := mk.Resume(logFirst)
	w := &worker{p: p, gen: gen, epoch: mk.Epoch, next: at.Next, replayEnd: at.ReplayEnd, set: window.NewSet(), seen: map[uint64]int64{}}
	if w.next < logFirst {
		a.o.Log.Error("the warehouse's offset is below the log start: events were deleted by Kafka retention before they were aggregated",
			"partition", p, "warehouse_offset", w.next, "log_start", logFirst, "lost", logFirst-w.next)
		a.m.lost.Add(float64(logFirst - w.next))
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
		w.seen[xxhash.Sum64String(id.ID)] = id.Offset
	}
	return nil
}

func (a *Aggregator) log() Log {
	return Log{Brokers: a.o.Brokers, Topic: a.o.Kafka.Topic, ErrorLog: a.o.Log}
}
