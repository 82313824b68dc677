package aggregate

import (
	"context"

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
	if at.ReplayEnd < 0 && !a.noFence {
		// A range claimed from here but not committed (a member died or
		// stalled after its claim): it is replayed exactly, whoever claimed it.
		last, found, err := a.offsets.Claimed(ctx, p, mk.Epoch, at.Next)
		if err != nil {
			return nil, err
		}
		if found {
			at.ReplayEnd = last
		}
	}
	w := &worker{p: p, gen: gen, epoch: mk.Epoch, next: at.Next, replayEnd: at.ReplayEnd, set: window.NewSet()}
	if w.next < logFirst {
		a.o.Log.Error("the warehouse's offset is below the log start: events were deleted by Kafka retention before they were aggregated",
			"partition", p, "warehouse_offset", w.next, "log_start", logFirst, "lost", logFirst-w.next)
		a.m.lost.Add(float64(logFirst - w.next))
		w.next, w.replayEnd = logFirst, -1
	}
	if a.o.Config.DedupHorizon > 0 {
		if err := a.loadSeen(ctx, w); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// loadSeen rebuilds the partition's de-duplication memory from the events
// the warehouse received within the horizon: what an uninterrupted run
// would remember now.
func (a *Aggregator) loadSeen(ctx context.Context, w *worker) error {
	w.ids = newSeen(a.o.Config.DedupHorizon)
	arrivals, err := a.store.Arrivals(ctx, w.p, a.o.Now().Add(-a.o.Config.DedupHorizon))
	if err != nil {
		return err
	}
	for _, ar := range arrivals {
		w.ids.remember(dedupKey(ar.Collector, ar.ID), ar.At)
	}
	return nil
}

func (a *Aggregator) log() Log {
	return Log{Access: a.o.Access, Topic: a.o.Kafka.Topic, ErrorLog: a.o.Log}
}
