package aggregate

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/vigie-fr/vigie/internal/broker"
	"github.com/vigie-fr/vigie/internal/store"
)

// blockedRecheck is how often a stopped partition reads its marker again.
const blockedRecheck = 5 * time.Second

// LogMismatch says that a partition's log is not the one the warehouse
// read: a torn or corrupted segment, a deleted log, an unclean leader
// election or a re-created topic. Offsets are not identities; resuming by
// offset would drop new events or count old ones twice, so the partition
// stops until an operator says where to restart.
type LogMismatch struct {
	Topic     string
	Partition int
	// Offset is the last offset of the warehouse's newest range.
	Offset int64
	// LogStart and LogEnd are the log's bounds now.
	LogStart, LogEnd int64
	// Missing is true when the log no longer reaches Offset; otherwise the
	// record there differs from the one the warehouse read.
	Missing bool
}

func (e *LogMismatch) Error() string {
	if e.Missing {
		return fmt.Sprintf("%s/%d: the warehouse holds offsets up to %d but the log now ends at %d (log lost, truncated or re-created)",
			e.Topic, e.Partition, e.Offset, e.LogEnd-1)
	}
	return fmt.Sprintf("%s/%d: the record at offset %d is not the one the warehouse read (log rewritten or re-created)",
		e.Topic, e.Partition, e.Offset)
}

// Log is a topic's partitions as the broker holds them now.
type Log struct {
	Access broker.Access
	Topic  string
	// ErrorLog receives kafka-go's own errors; nil discards them.
	ErrorLog *slog.Logger
}

// Bounds returns partition p's first offset and its end (the offset the
// next record will get).
func (l Log) Bounds(ctx context.Context, p int) (first, end int64, err error) {
	c := l.Access.Client(10 * time.Second)
	resp, err := c.ListOffsets(ctx, &kafka.ListOffsetsRequest{
		Topics: map[string][]kafka.OffsetRequest{l.Topic: {kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p)}},
	})
	if err != nil {
		return 0, 0, fmt.Errorf("list offsets of %s/%d: %w", l.Topic, p, err)
	}
	for _, po := range resp.Topics[l.Topic] {
		if po.Partition == p {
			if po.Error != nil {
				return 0, 0, fmt.Errorf("list offsets of %s/%d: %w", l.Topic, p, po.Error)
			}
			return po.FirstOffset, po.LastOffset, nil
		}
	}
	return 0, 0, fmt.Errorf("list offsets of %s/%d: partition missing from the answer", l.Topic, p)
}

// Record reads the record at offset off of partition p.
func (l Log) Record(ctx context.Context, p int, off int64) (kafka.Message, error) {
	return broker.ReadAt(ctx, l.Access, l.Topic, p, off, l.ErrorLog)
}

// Check verifies that the log still holds, at the marker's last offset,
// the record the warehouse read there, and returns a *LogMismatch when it
// does not. A marker without a hash (written before hashes were kept, or a
// reset to the log start) is not checked; nor is a record deleted by
// retention (resume reports the offsets lost instead).
func (l Log) Check(ctx context.Context, p int, mk store.Marker, logFirst, logEnd int64) error {
	off, hash, ok := mk.Check()
	mm := &LogMismatch{Topic: l.Topic, Partition: p, Offset: mk.Last, LogStart: logFirst, LogEnd: logEnd}
	switch {
	case mk.Found && mk.Last >= logEnd:
		mm.Missing = true
		return mm
	case !ok || off < logFirst:
		return nil
	}
	m, err := l.Record(ctx, p, off)
	if err != nil {
		return fmt.Errorf("check the record the warehouse read: %w", err)
	}
	if m.Offset != off || store.RecordHash(m.Key, m.Value) != hash {
		return mm
	}
	return nil
}

// block records that partition p is stopped; it reports whether this is
// news (to log it once).
func (a *Aggregator) block(p int, mm *LogMismatch) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.blocked == nil {
		a.blocked = map[int]string{}
	}
	_, had := a.blocked[p]
	a.blocked[p] = mm.Error()
	a.m.blocked.WithLabelValues(strconv.Itoa(p)).Set(1)
	return !had
}

func (a *Aggregator) unblock(p int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, had := a.blocked[p]; had {
		delete(a.blocked, p)
		a.o.Log.Info("partition resumed after an operator's reset", "partition", p)
	}
	a.m.blocked.WithLabelValues(strconv.Itoa(p)).Set(0)
}

// Stopped lists the partitions stopped on a log mismatch, with the reason,
// by partition: what readiness reports.
func (a *Aggregator) Stopped() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	ps := make([]int, 0, len(a.blocked))
	for p := range a.blocked {
		ps = append(ps, p)
	}
	sort.Ints(ps)
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = a.blocked[p]
	}
	return out
}
