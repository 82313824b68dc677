package store

import (
	"context"
	"fmt"
	"time"

	"github.com/vigie-fr/vigie/internal/warehouse"
)

// Event is one row of the events table: a validated event as the
// aggregator stores it, with its pseudonymised user and where in the log
// it came from.
type Event struct {
	ID                 string
	Collector          string // who sent it (schemas.CollectorHeader)
	TS                 time.Time
	Platform, Service  string
	Region, Academy    string
	Kind, Outcome      string
	Status             uint16
	LatencyMS, QueueMS *float32 // nil: not measured
	User               uint64   // pseudonym as a number; 0: none
	Role, Source       string
	// SampleRate is the share of events the sender kept, (0, 1]; 0 is
	// stored as 1 (not sampled).
	SampleRate float64
	Attrs      map[string]string
	Partition  uint32
	Offset     int64
	Epoch      uint32 // the partition's log epoch (Range.Epoch)
}

// eventColumns are the events table's columns in Event.values' order.
var eventColumns = []string{"id", "collector", "ts", "platform", "service", "region", "academy", "kind", "outcome",
	"status", "latency_ms", "queue_ms", "user", "role", "source", "sample_rate", "attrs", "kafka_partition", "kafka_offset", "kafka_epoch"}

func (e *Event) values() []any {
	attrs := e.Attrs
	if attrs == nil {
		attrs = map[string]string{}
	}
	rate := e.SampleRate
	if rate <= 0 {
		rate = 1
	}
	return []any{e.ID, e.Collector, e.TS, e.Platform, e.Service, e.Region, e.Academy, e.Kind, e.Outcome,
		e.Status, e.LatencyMS, e.QueueMS, e.User, e.Role, e.Source, rate, attrs, e.Partition, e.Offset, e.Epoch}
}

// Window is one row of agg_in: what one flush adds to a minute of a
// (platform, service, region). The materialized views turn it into the
// aggregate states of agg_minute and agg_hour on the server, so Go never
// builds ClickHouse state bytes.
type Window struct {
	Bucket                    time.Time // the minute, UTC
	Platform, Service, Region string
	Counts
	Status map[uint16]uint64
	// LatValues and LatCounts are the latency histogram: value (ms) and count.
	LatValues []float64
	LatCounts []uint64
	// Users and UsersFailed are pseudonyms, sorted (a replay must resend
	// identical rows).
	Users, UsersFailed []uint64
}

// Counts are a window's sums: attempts by outcome and by kind, latency and
// time in a waiting room.
type Counts struct {
	Total, OK, Error, Timeout, Rejected, Queued                  uint64
	Login, Page, API, Probe, SessionStart, SessionEnd, QueueKind uint64
	LatencyN                                                     uint64
	LatencySum                                                   float64
	LatencyMax                                                   float32
	QueueN                                                       uint64
	QueueSum                                                     float64
	QueueMax                                                     float32
}

// windowColumns are agg_in's columns in Window.values' order.
var windowColumns = []string{
	"bucket", "platform", "service", "region",
	"n_total", "n_ok", "n_error", "n_timeout", "n_rejected", "n_queued",
	"n_login", "n_page", "n_api", "n_probe", "n_session_start", "n_session_end", "n_queue",
	"latency_n", "latency_sum", "latency_max", "queue_n", "queue_sum", "queue_max",
	"status_counts", "lat_values", "lat_counts", "users", "users_failed",
}

func (w *Window) values() []any {
	status := w.Status
	if status == nil {
		status = map[uint16]uint64{}
	}
	return []any{
		w.Bucket.UTC(), w.Platform, w.Service, w.Region,
		w.Total, w.OK, w.Error, w.Timeout, w.Rejected, w.Queued,
		w.Login, w.Page, w.API, w.Probe, w.SessionStart, w.SessionEnd, w.QueueKind,
		w.LatencyN, w.LatencySum, w.LatencyMax, w.QueueN, w.QueueSum, w.QueueMax,
		status, orEmpty(w.LatValues), orEmpty(w.LatCounts), orEmpty(w.Users), orEmpty(w.UsersFailed),
	}
}

// orEmpty sends an empty array rather than NULL, which Array columns refuse.
func orEmpty[T any](a []T) []T {
	if a == nil {
		return []T{}
	}
	return a
}

// insertSettings make an insert idempotent: the token names the batch, the
// insert is synchronous (an async insert may be coalesced with others and
// lose its token), the token also guards the materialized views' inserts,
// and a range never spans more partitions than a replay of months of
// history could (the default, 100, throws). An empty token sends none:
// then only the engine's content hash de-duplicates.
func insertSettings(token string) warehouse.Settings {
	s := warehouse.Settings{
		"async_insert": 0,
		"deduplicate_blocks_in_dependent_materialized_views": 1,
		"max_partitions_per_insert_block":                    0,
	}
	if token != "" {
		s["insert_deduplication_token"] = token
	}
	return s
}

// InsertEvents writes rows to the events table as one INSERT carrying
// token (see Range.Token); nothing is sent for no rows.
func (s *Store) InsertEvents(ctx context.Context, rows []Event, token string) error {
	return insert(ctx, s, TableEvents, eventColumns, rows, (*Event).values, token)
}

// InsertWindows writes rows to agg_in as one INSERT carrying token (see
// Range.Token); nothing is sent for no rows.
func (s *Store) InsertWindows(ctx context.Context, rows []Window, token string) error {
	return insert(ctx, s, TableWindows, windowColumns, rows, (*Window).values, token)
}

func insert[T any](ctx context.Context, s *Store, table string, columns []string, rows []T, values func(*T) []any, token string) error {
	if len(rows) == 0 {
		return nil
	}
	b := &warehouse.Batch{Table: s.table(table), Columns: columns, Rows: make([][]any, len(rows))}
	for i := range rows {
		b.Rows[i] = values(&rows[i])
	}
	if err := s.wh.Insert(ctx, b, insertSettings(token)); err != nil {
		return fmt.Errorf("insert %d rows into %s: %w", len(rows), table, err)
	}
	return nil
}
