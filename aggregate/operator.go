package aggregate

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/vigie-fr/vigie/internal/store"
)

// PartitionState is what an operator needs to know of one partition: what
// the warehouse holds, what the log holds, and whether they still match.
type PartitionState struct {
	Partition        int
	Marker           store.Marker
	LogStart, LogEnd int64
	// Next is the offset the partition resumes at; Behind the messages the
	// warehouse does not hold yet.
	Next, Behind int64
	// Problem is empty when the partition can resume; otherwise it says why
	// not (a log mismatch) or what was lost (offsets past retention).
	Problem string
}

// Inspect reports every partition of the log against the offset store,
// running the same check a resuming aggregator runs.
func Inspect(ctx context.Context, l Log, offs *store.Offsets, partitions int) ([]PartitionState, error) {
	out := make([]PartitionState, 0, partitions)
	for p := range partitions {
		st := PartitionState{Partition: p}
		var err error
		if st.Marker, err = offs.Last(ctx, p); err != nil {
			return nil, err
		}
		if st.LogStart, st.LogEnd, err = l.Bounds(ctx, p); err != nil {
			return nil, err
		}
		st.Next = st.Marker.Resume(st.LogStart).Next
		var mm *LogMismatch
		switch err := l.Check(ctx, p, st.Marker, st.LogStart, st.LogEnd); {
		case errors.As(err, &mm):
			st.Problem = mm.Error()
		case err != nil:
			return nil, err
		case st.Next < st.LogStart:
			st.Problem = fmt.Sprintf("offsets %d to %d were deleted by retention before they were aggregated", st.Next, st.LogStart-1)
		}
		st.Behind = max(st.LogEnd-max(st.Next, st.LogStart), 0)
		out = append(out, st)
	}
	return out, nil
}

// Reset makes partition p resume at from: "start" (the log's first offset:
// events the warehouse already holds are recognised by their ids and not
// counted again), "end" (skip what the log holds now) or an offset within
// the log. It raises the partition's epoch, so the new log's ranges win
// over the old ones. Run it when Inspect (or the aggregator's log and
// readiness) reports a mismatch, after reading docs/operations.md.
func Reset(ctx context.Context, l Log, offs *store.Offsets, p int, from string) (store.Range, error) {
	first, end, err := l.Bounds(ctx, p)
	if err != nil {
		return store.Range{}, err
	}
	var next int64
	switch from {
	case "start":
		next = first
	case "end":
		next = end
	default:
		if next, err = strconv.ParseInt(from, 10, 64); err != nil || next < first || next > end {
			return store.Range{}, fmt.Errorf("resume %s/%d at %q: give start, end or an offset from %d to %d", l.Topic, p, from, first, end)
		}
	}
	var hash uint64 // nothing before the log start to check
	if next > first {
		m, err := l.Record(ctx, p, next-1)
		if err != nil {
			return store.Range{}, err
		}
		hash = store.RecordHash(m.Key, m.Value)
	}
	return offs.Reset(ctx, p, next, hash)
}
