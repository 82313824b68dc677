// Package chserver is the warehouse over a ClickHouse server or cluster,
// spoken to with clickhouse-go's native protocol (LZ4-compressed blocks, a
// connection pool, TLS). It runs the same SQL as the in-process chDB
// transport and returns the same normalised Result. It never loads libchdb.
package chserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/big"
	"net"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/tlsconf"
	"github.com/vigie-fr/vigie/internal/warehouse"
)

// DB is the server warehouse: a pool of native-protocol connections, safe
// for concurrent use.
type DB struct {
	conn driver.Conn
	addr []string
	opts clickhouse.Options // what conn was opened with, for the ad-hoc pool

	// Engineers' SQL runs on a pool of its own (QueryReadOnly), opened on
	// first use with the sandbox's account when one is set (UseSandboxUser)
	// and the Limits' database as the current one.
	adhocMu    sync.Mutex
	adhoc      driver.Conn
	adhocDB    string
	adhocSlots chan struct{} // one token per running read-only statement
	sandbox    *clickhouse.Auth
}

var _ warehouse.Warehouse = (*DB)(nil)

// Open builds the pool and pings the server. database is the default
// database of every connection (the one Migrate creates may not exist yet:
// pass "default" to migrate, then the real one, or qualify names, as Vigie's
// SQL does). The password is never put in an error or a log.
func Open(cfg config.ClickHouseConfig, database string) (*DB, error) {
	if len(cfg.Addr) == 0 {
		return nil, errors.New("chserver: no address")
	}
	opts := &clickhouse.Options{
		Addr:        cfg.Addr,
		Protocol:    clickhouse.Native,
		Auth:        clickhouse.Auth{Database: database, Username: cfg.Username, Password: cfg.Password},
		Compression: &clickhouse.Compression{Method: clickhouse.CompressionLZ4},
		DialTimeout: cfg.DialTimeout,
	}
	if cfg.MaxOpenConn > 0 {
		opts.MaxOpenConns = cfg.MaxOpenConn
		opts.MaxIdleConns = cfg.MaxOpenConn
	}
	if cfg.TLS {
		var err error
		if opts.TLS, err = tlsConfig(cfg); err != nil {
			return nil, err
		}
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("chserver: open %v as %q: %w", cfg.Addr, cfg.Username, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), max(cfg.DialTimeout, 5*time.Second))
	defer cancel()
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		if field, why, ok := tlsconf.Diagnose(err); ok && cfg.TLS {
			// Name the key to fix: a TLS refusal looks like any broken connection otherwise.
			return nil, fmt.Errorf("warehouse.clickhouse.tls_%s: %s (%v as %q): %w", field, why, cfg.Addr, cfg.Username, err)
		}
		return nil, fmt.Errorf("chserver: ping %v as %q: %w", cfg.Addr, cfg.Username, err)
	}
	return &DB{conn: conn, addr: cfg.Addr, opts: *opts}, nil
}

// tlsConfig is the connection's TLS: the CA file as the only roots, the
// client certificate of mutual TLS, the server name (warehouse.clickhouse.tls_*,
// checked by config.Validate; an error here is a file gone since).
func tlsConfig(cfg config.ClickHouseConfig) (*tls.Config, error) {
	c, err := cfg.TLSFiles().Client()
	if err != nil {
		var fe *tlsconf.FieldError
		if errors.As(err, &fe) {
			return nil, fmt.Errorf("warehouse.clickhouse.tls_%s: %w", fe.Field, err)
		}
		return nil, err
	}
	return c, nil
}

// UseSandboxUser makes QueryReadOnly log in as username, the server account
// of minimal rights that deploy/clickhouse/sandbox.sql creates, instead of
// the warehouse's own. Call it before the first QueryReadOnly.
func (db *DB) UseSandboxUser(username, password string) {
	db.sandbox = &clickhouse.Auth{Username: username, Password: password}
}

// Driver returns "clickhouse".
func (db *DB) Driver() string { return "clickhouse" }

// Close closes the pools.
func (db *DB) Close() error {
	db.adhocMu.Lock()
	defer db.adhocMu.Unlock()
	if db.adhoc != nil {
		db.adhoc.Close()
	}
	return db.conn.Close()
}

func withSettings(ctx context.Context, s warehouse.Settings) context.Context {
	if len(s) == 0 {
		return ctx
	}
	cs := make(clickhouse.Settings, len(s))
	for k, v := range s {
		if d, ok := v.(time.Duration); ok {
			v = d.Seconds()
		}
		cs[k] = v
	}
	return clickhouse.Context(ctx, clickhouse.WithSettings(cs))
}

// Exec runs a statement that returns no rows.
func (db *DB) Exec(ctx context.Context, query string, s warehouse.Settings) error {
	return wrap(ctx, db.conn.Exec(withSettings(ctx, s), query))
}

// Insert sends b as one native block: PrepareBatch, Append each row, Send.
// Keep a retried flush identical (rows, order, settings) so the server's
// insert de-duplication drops it.
func (db *DB) Insert(ctx context.Context, b *warehouse.Batch, s warehouse.Settings) error {
	prefix, err := b.InsertPrefix()
	if err != nil {
		return err
	}
	if len(b.Rows) == 0 {
		return nil
	}
	// async_insert is on by default since 26.2; exactly-once flushes must
	// not be coalesced (docs/design.md, "Exactly once"), so it is off unless s
	// says otherwise.
	s = warehouse.Merge(warehouse.Settings{"async_insert": 0}, s)
	batch, err := db.conn.PrepareBatch(withSettings(ctx, s), prefix)
	if err != nil {
		return fmt.Errorf("insert into %s: %w", b.Table, wrap(ctx, err))
	}
	defer batch.Abort() //nolint:errcheck // no-op after Send
	for i, row := range b.Rows {
		if err := batch.Append(row...); err != nil {
			return fmt.Errorf("insert into %s: row %d: %w", b.Table, i, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert %d rows into %s: %w", len(b.Rows), b.Table, wrap(ctx, err))
	}
	return nil
}

// Query runs a statement and normalises its rows. A context deadline
// cancels the query on the server and is reported as warehouse.ErrTimeout.
func (db *DB) Query(ctx context.Context, q string, s warehouse.Settings) (*warehouse.Result, error) {
	return query(ctx, db.conn, q, s)
}

func query(ctx context.Context, conn driver.Conn, sql string, s warehouse.Settings) (*warehouse.Result, error) {
	rows, err := conn.Query(withSettings(ctx, s), sql)
	if err != nil {
		return nil, wrap(ctx, err)
	}
	defer rows.Close()
	types := rows.ColumnTypes()
	res := &warehouse.Result{}
	parsed := make([]warehouse.Type, len(types))
	dest := make([]any, len(types))
	for i, ct := range types {
		res.Columns = append(res.Columns, warehouse.Column{Name: ct.Name(), Type: ct.DatabaseTypeName()})
		parsed[i] = warehouse.ParseType(ct.DatabaseTypeName())
		dest[i] = reflect.New(ct.ScanType()).Interface()
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("chserver: scan row %d: %w", len(res.Rows), err)
		}
		row := make([]any, len(dest))
		for i, d := range dest {
			row[i] = normalise(parsed[i], reflect.ValueOf(d).Elem())
		}
		res.Rows = append(res.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(ctx, err)
	}
	return res, nil
}

// QueryReadOnly sends readonly=1 with the query, together with the limits:
// the server checks a query's settings against the session's before
// applying them, so the limits are accepted, while a SETTINGS clause in the
// SQL that tries to lift them is refused (READONLY). Too many rows or bytes
// throw (result_overflow_mode='throw') rather than truncate silently.
//
// They run on a pool of their own (adhocPool): at most lim.SessionCount()
// at once, others wait; lim.Database is the pool's current database, where
// unqualified names resolve. The sandbox's server account
// (deploy/clickhouse/sandbox.sql, UseSandboxUser) caps the same limits in
// its settings profile, so they hold even for a client that would not send
// them, and it may only SELECT from Vigie's database.
func (db *DB) QueryReadOnly(ctx context.Context, sql string, lim warehouse.Limits) (*warehouse.Result, error) {
	conn, slots, err := db.adhocPool(lim)
	if err != nil {
		return nil, err
	}
	select {
	case slots <- struct{}{}:
		defer func() { <-slots }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s := warehouse.Settings{"readonly": 1}
	if lim.Timeout > 0 {
		s["max_execution_time"] = lim.Timeout.Seconds()
		// The server stops the query; the client gives it a little longer
		// so the answer is the server's TIMEOUT_EXCEEDED, not a cut socket.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, lim.Timeout+5*time.Second)
		defer cancel()
	}
	if lim.MaxRows > 0 {
		s["max_result_rows"] = lim.MaxRows
	}
	if lim.MaxResultBytes > 0 {
		s["max_result_bytes"] = lim.MaxResultBytes
	}
	if lim.MaxRows > 0 || lim.MaxResultBytes > 0 {
		s["result_overflow_mode"] = "throw"
	}
	if lim.MaxMemory > 0 {
		s["max_memory_usage"] = lim.MaxMemory
	}
	if lim.MaxThreads > 0 {
		s["max_threads"] = lim.MaxThreads
	}
	return query(ctx, conn, sql, s)
}

// adhocPool opens, on first use, the read-only statements' own pool: at
// most lim.SessionCount() connections, logged in as the sandbox's account
// when set, with lim.Database (else the warehouse's) as current database.
func (db *DB) adhocPool(lim warehouse.Limits) (driver.Conn, chan struct{}, error) {
	db.adhocMu.Lock()
	defer db.adhocMu.Unlock()
	database := lim.Database
	if database == "" {
		database = db.opts.Auth.Database
	}
	if db.adhoc != nil {
		if database != db.adhocDB {
			return nil, nil, fmt.Errorf("chserver: ad-hoc statements run in database %q, not %q", db.adhocDB, database)
		}
		return db.adhoc, db.adhocSlots, nil
	}
	opts := db.opts
	opts.Auth.Database = database
	if db.sandbox != nil {
		opts.Auth.Username, opts.Auth.Password = db.sandbox.Username, db.sandbox.Password
	}
	n := lim.SessionCount()
	opts.MaxOpenConns, opts.MaxIdleConns = n, n
	conn, err := clickhouse.Open(&opts)
	if err != nil {
		return nil, nil, fmt.Errorf("chserver: open the ad-hoc pool on %v as %q: %w", opts.Addr, opts.Auth.Username, err)
	}
	db.adhoc, db.adhocDB, db.adhocSlots = conn, database, make(chan struct{}, n)
	return conn, db.adhocSlots, nil
}

// wrap turns server exceptions into warehouse.Error (so errors.Is finds
// ErrReadOnly, ErrTimeout, ErrTooManyRows) and a passed deadline into
// ErrTimeout.
func wrap(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		return &warehouse.Error{Code: int(ex.Code), Err: fmt.Errorf("clickhouse: %w", err)}
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &warehouse.Error{Code: warehouse.CodeTimeout, Err: fmt.Errorf("clickhouse: %w", err)}
	}
	return fmt.Errorf("clickhouse: %w", err)
}

// normalise maps what clickhouse-go scanned to the types Result documents,
// the same as chDB's JSON decoding gives: intN → int64, uintN → uint64,
// float32 → float64 (of the float32), time → UTC (Date as midnight UTC),
// slices and tuples → []any, maps → map[string]any keyed by the key's text,
// decimals, wide integers, UUIDs and IPs → their text.
func normalise(t warehouse.Type, v reflect.Value) any {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	t = t.Unwrap()
	switch x := v.Interface().(type) {
	case time.Time:
		if t.Name == "Date" || t.Name == "Date32" {
			return time.Date(x.Year(), x.Month(), x.Day(), 0, 0, 0, 0, time.UTC)
		}
		return x.UTC()
	case decimal.Decimal:
		return x.String()
	case big.Int:
		return x.String()
	case uuid.UUID:
		return x.String()
	case net.IP:
		return x.String()
	case []byte:
		return string(x)
	}
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return v.Uint()
	case reflect.Float32, reflect.Float64:
		return v.Float() // a float32 widens exactly, as chDB's decoding does
	case reflect.Bool:
		return v.Bool()
	case reflect.String:
		return v.String()
	case reflect.Slice, reflect.Array:
		out := make([]any, v.Len())
		for i := range out {
			out[i] = normalise(param(t, i), v.Index(i))
		}
		return out
	case reflect.Map:
		if t.Name == "Tuple" { // a named tuple scans as a map: back to field order
			out := make([]any, len(t.Params))
			for i, p := range t.Params {
				if e := v.MapIndex(reflect.ValueOf(p.Field)); e.IsValid() {
					out[i] = normalise(p, e)
				}
			}
			return out
		}
		out := make(map[string]any, v.Len())
		for _, k := range v.MapKeys() {
			out[fmt.Sprint(normalise(warehouse.Type{}, k))] = normalise(param(t, 1), v.MapIndex(k))
		}
		return out
	}
	return v.Interface()
}

// param is the element type of an Array (any index), a Tuple (index i) or
// a Map's value (index 1).
func param(t warehouse.Type, i int) warehouse.Type {
	switch {
	case t.Name == "Array" && len(t.Params) == 1:
		return t.Params[0]
	case i < len(t.Params):
		return t.Params[i]
	}
	return warehouse.Type{}
}

// String names the server, never the credentials.
func (db *DB) String() string { return "clickhouse://" + strings.Join(db.addr, ",") }
