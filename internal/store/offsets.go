package store

import (
	"context"
	"fmt"

	"github.com/vigie-fr/vigie/internal/warehouse"
)

// The exactly-once bookkeeping of the aggregator. The warehouse, not Kafka,
// knows which offsets it holds: before a flush writes the rows of a range
// it records a 'before' marker naming the range; after them, an 'after'
// marker. A partition resumes after its newest 'after' range, or replays
// exactly the range of a 'before' that has no 'after', resending the same
// rows with the same tokens so the engine drops what it already has.

// Range is one flushed offset range [First, Last] of a topic's partition,
// written by a member of consumer group Group in generation Generation.
type Range struct {
	Group       string
	Topic       string
	Partition   int
	First, Last int64
	Generation  int32
}

// Token is the insert_deduplication_token of the range's rows in table:
// ClickHouse remembers tokens per table and per partition, so it changes
// with both and with the offsets.
func (r Range) Token(table string) string {
	return fmt.Sprintf("vigie/%s/%s/%d/%d-%d", table, r.Topic, r.Partition, r.First, r.Last)
}

// Marker states of consumer_offsets.
const (
	StateBefore = "before"
	StateAfter  = "after"
)

// Marker is the newest consumer_offsets record of a partition.
type Marker struct {
	Found       bool
	First, Last int64
	State       string // StateBefore or StateAfter
}

// Offsets is the consumer_offsets table of one group and topic.
type Offsets struct {
	s            *Store
	group, topic string
}

// Offsets returns the offset store of consumer group group on topic.
func (s *Store) Offsets(group, topic string) *Offsets {
	return &Offsets{s: s, group: group, topic: topic}
}

// Range returns the range [first, last] of partition p in generation gen.
func (o *Offsets) Range(p int, first, last int64, gen int32) Range {
	return Range{Group: o.group, Topic: o.topic, Partition: p, First: first, Last: last, Generation: gen}
}

var offsetColumns = []string{"consumer_group", "topic", "partition", "first_offset", "last_offset", "state", "version", "generation"}

// Begin records that r is about to be written.
func (o *Offsets) Begin(ctx context.Context, r Range) error { return o.mark(ctx, r, StateBefore) }

// Commit records that every row of r is written.
func (o *Offsets) Commit(ctx context.Context, r Range) error { return o.mark(ctx, r, StateAfter) }

func (o *Offsets) mark(ctx context.Context, r Range, state string) error {
	// Newer wins in the ReplacingMergeTree: a later range, and for one
	// range its 'after' over its 'before'.
	version := uint64(r.Last) * 2
	if state == StateAfter {
		version++
	}
	err := o.s.wh.Insert(ctx, &warehouse.Batch{
		Table:   o.s.table(TableOffsets),
		Columns: offsetColumns,
		Rows:    [][]any{{o.group, o.topic, uint32(r.Partition), r.First, r.Last, state, version, r.Generation}},
	}, warehouse.Settings{"async_insert": 0})
	if err != nil {
		return fmt.Errorf("write %s marker for offsets %d-%d: %w", state, r.First, r.Last, err)
	}
	return nil
}

// Last returns partition p's newest marker; Found is false when it has none.
func (o *Offsets) Last(ctx context.Context, p int) (Marker, error) {
	// An aggregate without GROUP BY answers one row even over no rows,
	// hence the HAVING.
	q := fmt.Sprintf(`SELECT argMax(first_offset, version), argMax(last_offset, version), toString(argMax(state, version))
FROM %s WHERE consumer_group = %s AND topic = %s AND partition = %d
HAVING count() > 0`,
		o.s.table(TableOffsets), warehouse.QuoteString(o.group), warehouse.QuoteString(o.topic), p)
	res, err := o.s.wh.Query(ctx, q, nil)
	if err != nil {
		return Marker{}, fmt.Errorf("read offsets of partition %d: %w", p, err)
	}
	if len(res.Rows) == 0 {
		return Marker{}, nil
	}
	r := res.Rows[0]
	m := Marker{First: warehouse.AsInt64(r[0]), Last: warehouse.AsInt64(r[1]), State: warehouse.AsString(r[2])}
	m.Found = m.State == StateBefore || m.State == StateAfter
	return m, nil
}

// Resume is where a partition starts, from its newest marker: Next is the
// first offset to read; ReplayEnd, when >= 0, is the last offset of a range
// begun and not committed, which must be re-read and flushed whole.
type Resume struct {
	Next, ReplayEnd int64
}

// Resume turns the marker into a start: the log's first offset when there
// is none, after the range when it was committed, its first offset (and a
// replay to its last) when it was not.
func (m Marker) Resume(logFirst int64) Resume {
	switch {
	case !m.Found:
		return Resume{Next: logFirst, ReplayEnd: -1}
	case m.State == StateAfter:
		return Resume{Next: m.Last + 1, ReplayEnd: -1}
	}
	return Resume{Next: m.First, ReplayEnd: m.Last}
}

// SeenID is an event id the events table holds, with its collector and offset.
type SeenID struct {
	Collector, ID string
	Offset        int64
}

// IDs returns the ids of partition p's events at offsets [from, to): what
// the aggregator's de-duplication memory held at offset to.
func (s *Store) IDs(ctx context.Context, p int, from, to int64) ([]SeenID, error) {
	q := fmt.Sprintf(`SELECT collector, id, kafka_offset FROM %s WHERE kafka_partition = %d AND kafka_offset >= %d AND kafka_offset < %d`,
		s.table(TableEvents), p, from, to)
	res, err := s.wh.Query(ctx, q, nil)
	if err != nil {
		return nil, fmt.Errorf("load recent event ids of partition %d: %w", p, err)
	}
	out := make([]SeenID, len(res.Rows))
	for i, r := range res.Rows {
		out[i] = SeenID{Collector: warehouse.AsString(r[0]), ID: warehouse.AsString(r[1]), Offset: warehouse.AsInt64(r[2])}
	}
	return out, nil
}
