package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"

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
	// Hash identifies the record at Last (RecordHash); 0 is unknown.
	Hash uint64
	// Epoch is the partition's log epoch (see Offsets.Reset).
	Epoch uint32
}

// RecordHash identifies one Kafka record by its key and value: what a
// resume checks to know that the log still holds the records the
// warehouse read, at the same offsets. Never 0.
func RecordHash(key, value []byte) uint64 {
	d := xxhash.New()
	_, _ = d.Write(key)
	_, _ = d.Write([]byte{0})
	_, _ = d.Write(value)
	return max(d.Sum64(), 1)
}

// maxOffset bounds the offsets a marker's version can order (2^39, about
// 5.5e11 records per partition).
const maxOffset = 1<<39 - 1

// Token is the insert_deduplication_token of the range's rows in table:
// ClickHouse remembers tokens per table and per partition, so it changes
// with both, with the offsets and with the log epoch (a new log reuses the
// offsets: without the epoch, its first ranges would be dropped as the old
// log's). Epoch 0 keeps the form tokens had before epochs existed.
func (r Range) Token(table string) string {
	if r.Epoch == 0 {
		return fmt.Sprintf("vigie/%s/%s/%d/%d-%d", table, r.Topic, r.Partition, r.First, r.Last)
	}
	return fmt.Sprintf("vigie/%s/%s/%d/e%d/%d-%d", table, r.Topic, r.Partition, r.Epoch, r.First, r.Last)
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
	// Hash identifies the record at Last (0: unknown, not checked).
	Hash  uint64
	Epoch uint32
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

var offsetColumns = []string{"consumer_group", "topic", "partition", "first_offset", "last_offset", "state", "version", "generation", "last_hash", "epoch"}

// Begin records that r is about to be written.
func (o *Offsets) Begin(ctx context.Context, r Range) error { return o.mark(ctx, r, StateBefore) }

// Commit records that every row of r is written.
func (o *Offsets) Commit(ctx context.Context, r Range) error { return o.mark(ctx, r, StateAfter) }

// version orders a partition's markers: a later epoch, then a later range,
// and for one range its 'after' over its 'before'. Newer wins in the
// ReplacingMergeTree and in Last's argMax. The last offset of a reset to
// the log start is -1: hence the +2.
func version(epoch uint32, last int64, state string) uint64 {
	v := uint64(epoch)<<40 | uint64(last+1)*2
	if state == StateAfter {
		v++
	}
	return v
}

func (o *Offsets) mark(ctx context.Context, r Range, state string) error {
	if r.Last < -1 || r.Last > maxOffset {
		return fmt.Errorf("write %s marker: offset %d is outside 0..%d", state, r.Last, int64(maxOffset))
	}
	err := o.s.wh.Insert(ctx, &warehouse.Batch{
		Table:   o.s.table(TableOffsets),
		Columns: offsetColumns,
		Rows: [][]any{{o.group, o.topic, uint32(r.Partition), r.First, r.Last, state,
			version(r.Epoch, r.Last, state), r.Generation, r.Hash, r.Epoch}},
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
	q := fmt.Sprintf(`SELECT argMax(first_offset, version), argMax(last_offset, version), toString(argMax(state, version)),
       argMax(last_hash, version), argMax(epoch, version)
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
	m := Marker{First: warehouse.AsInt64(r[0]), Last: warehouse.AsInt64(r[1]), State: warehouse.AsString(r[2]),
		Hash: warehouse.AsUint(r[3]), Epoch: uint32(warehouse.AsUint(r[4]))}
	m.Found = m.State == StateBefore || m.State == StateAfter
	return m, nil
}

// Reset is the operator's way out when a partition's log no longer matches
// the warehouse: it commits an empty range ending at next-1 in a new epoch
// (the current one plus one), so that the partition resumes at next.
// hash identifies the record at next-1, or is 0 when next is the log
// start (nothing to check). Events already in the warehouse are recognised
// by their ids when the new log holds them again.
func (o *Offsets) Reset(ctx context.Context, p int, next int64, hash uint64) (Range, error) {
	mk, err := o.Last(ctx, p)
	if err != nil {
		return Range{}, err
	}
	r := Range{Group: o.group, Topic: o.topic, Partition: p, First: next, Last: next - 1, Hash: hash, Epoch: mk.Epoch + 1}
	return r, o.mark(ctx, r, StateAfter)
}

// Claim arbitrates range r between members of the group: the first claim
// of a start offset (in r's epoch) wins, later ones are dropped by the
// engine's insert de-duplication, and every claimant reads the winner back.
// It returns the last offset of the winning claim: r.Last when r may be
// written (this claim won, or an identical range was claimed before, as a
// replay does), another offset when another member claimed a different
// range from the same start, which this member must not write.
func (o *Offsets) Claim(ctx context.Context, r Range, claimant string) (int64, error) {
	token := fmt.Sprintf("claim/%s/%s/%d/e%d/%d", o.group, o.topic, r.Partition, r.Epoch, r.First)
	err := o.s.wh.Insert(ctx, &warehouse.Batch{
		Table:   o.s.table(TableClaims),
		Columns: claimColumns,
		Rows:    [][]any{{o.group, o.topic, uint32(r.Partition), r.Epoch, r.First, r.Last, claimant}},
	}, warehouse.Settings{"async_insert": 0, "insert_deduplication_token": token})
	if err != nil {
		return 0, fmt.Errorf("claim offsets %d-%d of partition %d: %w", r.First, r.Last, r.Partition, err)
	}
	last, found, err := o.Claimed(ctx, r.Partition, r.Epoch, r.First)
	if err == nil && !found {
		err = fmt.Errorf("claim offsets %d-%d of partition %d: the claim is not there after its insert", r.First, r.Last, r.Partition)
	}
	return last, err
}

var claimColumns = []string{"consumer_group", "topic", "partition", "epoch", "first_offset", "last_offset", "claimant"}

// Claimed returns the last offset of the range claimed from offset first
// of partition p in epoch; found is false when nobody claimed it.
func (o *Offsets) Claimed(ctx context.Context, p int, epoch uint32, first int64) (last int64, found bool, err error) {
	q := fmt.Sprintf(`SELECT argMin(last_offset, claimed_at), count() FROM %s
WHERE consumer_group = %s AND topic = %s AND partition = %d AND epoch = %d AND first_offset = %d`,
		o.s.table(TableClaims), warehouse.QuoteString(o.group), warehouse.QuoteString(o.topic), p, epoch, first)
	res, err := o.s.wh.Query(ctx, q, nil)
	if err != nil {
		return 0, false, fmt.Errorf("read the claim at offset %d of partition %d: %w", first, p, err)
	}
	if len(res.Rows) != 1 || warehouse.AsUint(res.Rows[0][1]) == 0 {
		return 0, false, nil
	}
	return warehouse.AsInt64(res.Rows[0][0]), true, nil
}

// Resume is where a partition starts, from its newest marker: Next is the
// first offset to read; ReplayEnd, when >= 0, is the last offset of a range
// begun and not committed, which must be re-read and flushed whole.
type Resume struct {
	Next, ReplayEnd int64
}

// Check is the record the log must hold at an offset for the marker to
// describe this log: Hash at Offset. Ok is false when there is nothing to
// check (no marker, a marker written before hashes were kept, or a reset
// to the log start).
func (m Marker) Check() (offset int64, hash uint64, ok bool) {
	return m.Last, m.Hash, m.Found && m.Hash != 0 && m.Last >= 0
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

// Arrival is an event's collector and id, and when the warehouse received
// it.
type Arrival struct {
	Key
	At time.Time
}

// Key is what makes an event unique: its id, within its collector.
type Key struct {
	Collector, ID string
}

// Arrivals returns the keys of partition p's events received since since:
// what the aggregator's de-duplication memory holds after a restart.
func (s *Store) Arrivals(ctx context.Context, p int, since time.Time) ([]Arrival, error) {
	q := fmt.Sprintf(`SELECT collector, id, received_at FROM %s WHERE kafka_partition = %d AND received_at >= %s`,
		s.table(TableEvents), p, warehouse.TimeLiteral(since))
	res, err := s.wh.Query(ctx, q, nil)
	if err != nil {
		return nil, fmt.Errorf("load the ids partition %d received since %s: %w", p, since.Format(time.RFC3339), err)
	}
	out := make([]Arrival, len(res.Rows))
	for i, r := range res.Rows {
		at, _ := r[2].(time.Time)
		out[i] = Arrival{Key: Key{Collector: warehouse.AsString(r[0]), ID: warehouse.AsString(r[1])}, At: at}
	}
	return out, nil
}

// Earlier returns which of keys partition p's events already hold,
// received since since, outside the range that starts at offset first of
// epoch epoch (the range being flushed, whose own rows a replay may have
// written already).
func (s *Store) Earlier(ctx context.Context, p int, keys []Key, epoch uint32, first int64, since time.Time) (map[Key]bool, error) {
	out := map[Key]bool{}
	// A replayed range can make every one of its ids a candidate (its own
	// rows are in the filters rebuilt at resume): the keys are looked up a
	// chunk at a time, so that no statement passes the engine's
	// max_query_size (256 KiB), whatever flush_events is.
	for chunk := range slices.Chunk(keys, earlierChunk) {
		tuples := make([]string, len(chunk))
		for i, k := range chunk {
			tuples[i] = "(" + warehouse.QuoteString(k.Collector) + ", " + warehouse.QuoteString(k.ID) + ")"
		}
		q := fmt.Sprintf(`SELECT DISTINCT collector, id FROM %s
WHERE kafka_partition = %d AND (collector, id) IN (%s) AND received_at >= %s AND NOT (kafka_epoch = %d AND kafka_offset >= %d)`,
			s.table(TableEvents), p, strings.Join(tuples, ", "), warehouse.TimeLiteral(since), epoch, first)
		res, err := s.wh.Query(ctx, q, nil)
		if err != nil {
			return nil, fmt.Errorf("look up %d possibly re-sent ids of partition %d: %w", len(keys), p, err)
		}
		for _, r := range res.Rows {
			out[Key{Collector: warehouse.AsString(r[0]), ID: warehouse.AsString(r[1])}] = true
		}
	}
	return out, nil
}

// earlierChunk is how many keys one Earlier statement looks up: a key is
// at most a collector name and a 64-byte id, quoted, so a chunk stays well
// under max_query_size.
const earlierChunk = 500
