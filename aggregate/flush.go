package aggregate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/vigie-fr/vigie/internal/store"
)

// flush writes the pending range, retrying the same rows with the same
// tokens until it succeeds or ctx ends. It reports whether the range is now
// in the warehouse; when not, the caller drops the partition and the next
// owner replays from the markers.
func (a *Aggregator) flush(ctx context.Context, w *worker, log *slog.Logger) bool {
	if w.pending == 0 {
		return true
	}
	start := time.Now()
	if !a.retry(ctx, log, w, "settle re-sent ids", func() error { return a.settle(ctx, w) }) {
		return false
	}
	r := a.offsets.Range(w.p, w.first, w.next-1, w.gen)
	r.Hash, r.Epoch = w.lastHash, w.epoch
	windows := w.set.Rows()
	if !a.retry(ctx, log, w, "flush", func() error { return a.write(ctx, r, w.raw, windows) }) {
		return false
	}
	a.m.flushSeconds.Observe(time.Since(start).Seconds())
	a.m.flushRows.Add(float64(len(windows) + len(w.raw)))
	log.Debug("flushed", "first", r.First, "last", r.Last, "events", len(w.raw), "windows", len(windows))
	if w.ids != nil {
		w.ids.flushed(a.o.Now())
	}
	w.reset()
	return true
}

// retry runs step until it succeeds, backing off, or ctx ends (false).
func (a *Aggregator) retry(ctx context.Context, log *slog.Logger, w *worker, what string, step func() error) bool {
	for attempt := 1; ; attempt++ {
		err := step()
		if err == nil {
			return true
		}
		var f *fenced
		if errors.As(err, &f) {
			a.m.fenced.Inc()
			log.Warn("flush fenced: another member claimed this range first", "first", f.r.First, "last", f.r.Last, "claimed_to", f.claimed)
			w.fenced = true
			return false
		}
		a.m.flushErrors.Inc()
		if ctx.Err() != nil {
			log.Warn(what+" abandoned: generation ended", "first", w.first, "last", w.next-1, "err", err)
			return false
		}
		log.Error(what+" failed, retrying the same batch", "first", w.first, "last", w.next-1, "attempt", attempt, "err", err)
		if !sleep(ctx, min(time.Duration(attempt)*500*time.Millisecond, 5*time.Second)) {
			return false
		}
	}
}

// fenced is a flush another member's claim stopped: the range from r.First
// was claimed up to claimed by someone else (a member that took the
// partition while this one stalled), so this member must not write r.
type fenced struct {
	r       store.Range
	claimed int64
}

func (f *fenced) Error() string {
	return fmt.Sprintf("offsets %d-%d of partition %d: another member claimed %d-%d first", f.r.First, f.r.Last, f.r.Partition, f.r.First, f.claimed)
}

// write is one attempt at range r: its claim (the first claim of a start
// offset wins: a member that stalled while another took its partition
// finds the other's claim and writes nothing), the 'before' marker, the raw events and
// the window rows, each insert with the range's token, then the 'after'
// marker. Any of them may fail or be cut by a crash; a retry or a replay
// sends the same rows with the same tokens, and the engine drops what it
// already holds.
func (a *Aggregator) write(ctx context.Context, r store.Range, events []store.Event, windows []store.Window) error {
	if !a.noFence {
		last, err := a.offsets.Claim(ctx, r, a.id)
		if err != nil {
			return err
		}
		if last != r.Last {
			return &fenced{r: r, claimed: last}
		}
	}
	if err := a.offsets.Begin(ctx, r); err != nil {
		return err
	}
	if err := a.store.InsertEvents(ctx, events, r.Token(store.TableEvents)); err != nil {
		return err
	}
	if err := a.store.InsertWindows(ctx, windows, r.Token(store.TableWindows)); err != nil {
		return err
	}
	return a.offsets.Commit(ctx, r)
}
