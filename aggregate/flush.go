package aggregate

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/segmentio/kafka-go"

	"github.com/vigie-fr/vigie/aggregate/window"
	"github.com/vigie-fr/vigie/internal/warehouse"
)

// Marker states of consumer_offsets.
const (
	stateBefore = "before"
	stateAfter  = "after"
)

// insertSettings make a flush idempotent: the token names the batch, the
// insert is synchronous, and a range never spans more partitions than a
// replay of months of history could (the default, 100, throws).
func insertSettings(token string) warehouse.Settings {
	return warehouse.Settings{
		"insert_deduplication_token": token,
		"async_insert":               0,
		"deduplicate_blocks_in_dependent_materialized_views": 1,
		"max_partitions_per_insert_block":                    0,
	}
}

// flush writes the pending range, retrying the same rows with the same
// tokens until it succeeds or ctx ends. It reports whether the range is now
// in the warehouse; when not, the caller drops the partition and the next
// owner replays from the markers.
func (a *Aggregator) flush(ctx context.Context, w *worker, log *slog.Logger) bool {
	if w.pending == 0 {
		return true
	}
	first, last := w.first, w.next-1
	rows := w.set.Rows()
	start := time.Now()
	for attempt := 1; ; attempt++ {
		err := a.writeRange(ctx, w, first, last, rows)
		if err == nil {
			break
		}
		a.m.flushErrors.Inc()
		if ctx.Err() != nil {
			log.Warn("flush abandoned: generation ended", "first", first, "last", last, "err", err)
			return false
		}
		log.Error("flush failed, retrying the same batch", "first", first, "last", last, "attempt", attempt, "err", err)
		if !sleep(ctx, min(time.Duration(attempt)*500*time.Millisecond, 5*time.Second)) {
			return false
		}
	}
	a.m.flushSeconds.Observe(time.Since(start).Seconds())
	a.m.flushRows.Add(float64(len(rows) + len(w.raw)))
	log.Debug("flushed", "first", first, "last", last, "events", len(w.raw), "windows", len(rows))
	w.reset()
	return true
}

func (a *Aggregator) writeRange(ctx context.Context, w *worker, first, last int64, rows [][]any) error {
	wh, db, topic := a.o.Warehouse, a.o.Database, a.o.Kafka.Topic
	if err := a.mark(ctx, w, first, last, stateBefore); err != nil {
		return err
	}
	if len(w.raw) > 0 {
		err := wh.Insert(ctx, &warehouse.Batch{Table: db + ".events", Columns: rawColumns, Rows: w.raw},
			insertSettings(token("events", topic, w.p, first, last)))
		if err != nil {
			return fmt.Errorf("insert events: %w", err)
		}
	}
	if len(rows) > 0 {
		err := wh.Insert(ctx, &warehouse.Batch{Table: db + ".agg_in", Columns: window.Columns, Rows: rows},
			insertSettings(token("agg_in", topic, w.p, first, last)))
		if err != nil {
			return fmt.Errorf("insert windows: %w", err)
		}
	}
	return a.mark(ctx, w, first, last, stateAfter)
}

// token names one immutable batch: ClickHouse tracks it per table and per
// partition, so it must change with the table and the offset range.
func token(table, topic string, partition int, first, last int64) string {
	return fmt.Sprintf("vigie/%s/%s/%d/%d-%d", table, topic, partition, first, last)
}

var offsetColumns = []string{"consumer_group", "topic", "partition", "first_offset", "last_offset", "state", "version", "generation"}

func (a *Aggregator) mark(ctx context.Context, w *worker, first, last int64, state string) error {
	version := uint64(last) * 2
	if state == stateAfter {
		version++
	}
	err := a.o.Warehouse.Insert(ctx, &warehouse.Batch{
		Table:   a.o.Database + ".consumer_offsets",
		Columns: offsetColumns,
		Rows:    [][]any{{a.o.Kafka.Group, a.o.Kafka.Topic, uint32(w.p), first, last, state, version, w.gen}},
	}, warehouse.Settings{"async_insert": 0})
	if err != nil {
		return fmt.Errorf("write %s marker for offsets %d-%d: %w", state, first, last, err)
	}
	return nil
}

// marker is the newest consumer_offsets record of a partition.
type marker struct {
	found       bool
	first, last int64
	state       string
}

// markers returns the partition's newest marker; found is false when it has
// none (an aggregate without GROUP BY answers one row even over no rows,
// hence the HAVING).
func (a *Aggregator) markers(ctx context.Context, partition int) (marker, error) {
	q := fmt.Sprintf(`SELECT argMax(first_offset, version), argMax(last_offset, version), toString(argMax(state, version))
FROM %s.consumer_offsets WHERE consumer_group = %s AND topic = %s AND partition = %d
HAVING count() > 0`,
		a.o.Database, warehouse.QuoteString(a.o.Kafka.Group), warehouse.QuoteString(a.o.Kafka.Topic), partition)
	res, err := a.o.Warehouse.Query(ctx, q, nil)
	if err != nil {
		return marker{}, fmt.Errorf("read offsets of partition %d: %w", partition, err)
	}
	if len(res.Rows) == 0 {
		return marker{}, nil
	}
	r := res.Rows[0]
	m := marker{first: warehouse.AsInt64(r[0]), last: warehouse.AsInt64(r[1]), state: fmt.Sprint(r[2])}
	m.found = m.state == stateBefore || m.state == stateAfter
	return m, nil
}

// resume decides where partition p starts: after the last complete range,
// or at the start of a range that was begun and not finished. The stored
// offset is checked against the log: offsets outside it mean data was lost
// to retention or the topic was recreated, which must be loud.
func (a *Aggregator) resume(ctx context.Context, p int, gen int32) (*worker, error) {
	mk, err := a.markers(ctx, p)
	if err != nil {
		return nil, err
	}
	logFirst, logEnd, err := a.logBounds(ctx, p)
	if err != nil {
		return nil, err
	}
	w := &worker{p: p, gen: gen, replayEnd: -1, set: window.NewSet(), seen: map[uint64]int64{}}
	switch {
	case !mk.found:
		w.next = logFirst
	case mk.state == stateAfter:
		w.next = mk.last + 1
	default:
		w.next, w.replayEnd = mk.first, mk.last
	}
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
	q := fmt.Sprintf(`SELECT id, kafka_offset FROM %s.events WHERE kafka_partition = %d AND kafka_offset >= %d AND kafka_offset < %d`,
		a.o.Database, w.p, w.next-int64(a.o.Config.DedupWindow), w.next)
	res, err := a.o.Warehouse.Query(ctx, q, nil)
	if err != nil {
		return fmt.Errorf("load recent event ids of partition %d: %w", w.p, err)
	}
	for _, r := range res.Rows {
		w.seen[xxhash.Sum64String(fmt.Sprint(r[0]))] = warehouse.AsInt64(r[1])
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
