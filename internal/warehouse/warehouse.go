// Package warehouse is the one door to Vigie's ClickHouse warehouse: the
// aggregator's writes, the dashboards' and reports' reads and engineers' SQL
// all go through Warehouse. Two transports implement it with the same SQL
// text: ClickHouse's engine in-process (package chdb) and a ClickHouse server
// over the native protocol (package chserver). This package holds what they
// share (types, settings, SQL rendering); it opens nothing itself. The
// product's tables, their reads and writes and the migrations that create
// them belong to package store.
package warehouse

import (
	"context"
	"errors"
	"time"
)

// Settings are ClickHouse query settings sent with one statement
// (insert_deduplication_token, async_insert, max_execution_time, …).
type Settings map[string]any

// Batch is one INSERT: rows of Go values in column order. Values are string,
// bool, intN/uintN, float32/64, time.Time, []uint64, []float64, []string,
// map[string]string and map[uint16]uint64, matching the table's column types;
// nil for NULL. A time.Time at midnight UTC also fills a Date column.
type Batch struct {
	Table   string // qualified: database.table
	Columns []string
	Rows    [][]any
}

// Column is a result column's name and ClickHouse type.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Result is a query's answer with values normalised to Go types, the same
// whichever transport ran it: integers as int64 or uint64, floats as float64,
// strings, time.Time in UTC (Date and Date32 as midnight UTC), []any for
// arrays and tuples, map[string]any for maps (keys as text: Map(UInt16, …)
// gives "200"), nil for NULL; decimals, 128/256-bit integers, UUIDs, enums
// and IPs as strings. Float32 columns give float64(float32(x)).
type Result struct {
	Columns []Column
	Rows    [][]any
}

// Warehouse is the transport-independent door to ClickHouse.
type Warehouse interface {
	// Exec runs one statement that returns no rows (DDL, INSERT … SELECT, OPTIMIZE).
	Exec(ctx context.Context, query string, s Settings) error
	// Insert writes one batch as one INSERT with the given settings.
	Insert(ctx context.Context, b *Batch, s Settings) error
	// Query runs one statement and returns its rows.
	Query(ctx context.Context, query string, s Settings) (*Result, error)
	// QueryReadOnly runs engineers' SQL with readonly=1 enforced by the
	// engine, a timeout and a row limit.
	QueryReadOnly(ctx context.Context, query string, lim Limits) (*Result, error)
	// Driver names the transport: "chdb" or "clickhouse".
	Driver() string
	Close() error
}

// Limits bound an engineer's read-only query. The transports set them on
// sessions of their own (the engine enforces them; readonly=1 forbids the
// statement to change them), kept apart from the product's reads and writes.
type Limits struct {
	Timeout time.Duration // max_execution_time
	MaxRows int           // max_result_rows, with result_overflow_mode='throw'; 0: no limit
	// Database is the sessions' current database: unqualified names resolve there.
	Database string
	// MaxMemory is max_memory_usage in bytes (0: the engine's default).
	MaxMemory int64
	// MaxResultBytes is max_result_bytes, with result_overflow_mode='throw' (0: none).
	MaxResultBytes int64
	// MaxThreads is max_threads (0: the engine's default, one per core).
	MaxThreads int
	// Sessions is how many read-only statements may run at once, each on a
	// session of its own; others wait for one to be free (0 means 2).
	Sessions int
}

// DefaultSessions is Limits.Sessions when it is 0.
const DefaultSessions = 2

// SessionCount is l.Sessions, or DefaultSessions when unset.
func (l Limits) SessionCount() int {
	if l.Sessions > 0 {
		return l.Sessions
	}
	return DefaultSessions
}

// ErrReadOnly is wrapped by QueryReadOnly's error when the engine refused a
// statement because it would write.
var ErrReadOnly = errors.New("read-only: this SQL endpoint does not change data")
