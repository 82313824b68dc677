// Package chdb is the in-process ClickHouse transport of the warehouse:
// ClickHouse's own engine loaded from libchdb.so (see binding.go) and driven
// with the same SQL as a server. It is for one machine; other processes reach
// the data through the process that owns it (one process per data dir, one
// engine per process).
package chdb

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigie-fr/vigie/internal/warehouse"
)

// sessionSettings are set on every connection at open. They shape output
// only, so both connections print values the same way and Query can
// decode them: 64-bit integers unquoted (exact, parsed as json.Number),
// times in ISO 8601 UTC ("…T08:00:00.123Z") whatever the column's time
// zone, NaN/Inf as strings, decimals as strings (no float rounding).
const sessionSettings = "SET date_time_output_format='iso', output_format_json_quote_64bit_integers=0, " +
	"output_format_json_quote_denormals=1, output_format_json_quote_decimals=1"

// insertSettings are added to every Insert: time.Time values are sent as
// RFC 3339 with a zone (best_effort reads it; basic would read them in the
// server's zone), and exactly-once flushes must not go through an async
// queue (chDB has none, a server does: docs/design.md, "Exactly once").
var insertSettings = warehouse.Settings{"date_time_input_format": "best_effort", "async_insert": 0}

// engineArgs bound the engine's memory (docs/memory.md): past
// maxServerMemory a statement fails with MEMORY_LIMIT_EXCEEDED instead of
// the process growing (the aggregator retries a failed flush), and the
// caches, whose defaults are 5 GiB each, are sized for one machine's share.
// Server settings, so they are command-line arguments of the engine, the
// same for every session of it.
var engineArgs = []string{
	"--max_server_memory_usage=" + strconv.Itoa(maxServerMemory),
	"--mark_cache_size=" + strconv.Itoa(128<<20),
	"--index_mark_cache_size=" + strconv.Itoa(32<<20),
	"--primary_index_cache_size=" + strconv.Itoa(64<<20),
	"--uncompressed_cache_size=0",
}

// maxServerMemory is the engine's share of the 1.5 GiB one `vigie serve`
// is budgeted (docs/memory.md).
const maxServerMemory = 1 << 30

// maxReadOnlyPools bounds how many pools of read-only sessions (one per
// distinct Limits) are kept open. Configuration gives one Limits, so one is
// the norm.
const maxReadOnlyPools = 4

// rwConns is how many read-write connections share the engine. Each
// connection runs one statement at a time (see conn.query); several let the
// aggregator's partitions flush while a dashboard query runs. They are
// sessions on one engine, not engines.
const rwConns = 4

// DB is the chDB warehouse: one engine on one data path, with a pool of
// read-write connections and read-only connections, all safe for
// concurrent use.
type DB struct {
	path string
	rw   chan *conn // the pool; a statement takes one and gives it back

	mu     sync.RWMutex // Close takes it for writing, every read-write statement for reading
	closed bool

	// Read-only sessions run engineers' SQL apart from the pool above, so
	// that their statements delay only each other. They do not take mu:
	// Close does not wait for them (see Close).
	roMu     sync.Mutex
	roClosed bool
	ro       map[warehouse.Limits]*roPool

	types columnTypes // inserted tables' column types (rowbinary.go)
	bufs  sync.Pool   // *[]byte: encoded rows, reused from one insert to the next
}

// maxPooledBuffer bounds the insert buffers kept for reuse: a flush of
// 20,000 raw events is about 3 MB; a rare huge insert's buffer is dropped.
const maxPooledBuffer = 64 << 20

// roPool is the read-only sessions of one Limits: free holds those not
// running a statement; the pool opens up to size of them on demand.
type roPool struct {
	lim    warehouse.Limits
	free   chan *conn
	opened int
	size   int
	oneOff bool // made when maxReadOnlyPools were taken: closed after use
}

var _ warehouse.Warehouse = (*DB)(nil)

// Open starts the engine on the data directory path (created if missing).
// A missing libchdb.so is an error wrapping ErrLibraryMissing that says what
// to run. Only one path per process: see docs/design.md, "chDB".
func Open(path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("chdb: empty data path")
	}
	db := &DB{path: path, rw: make(chan *conn, rwConns), ro: map[warehouse.Limits]*roPool{}}
	for range rwConns {
		c, err := connect(append([]string{"--path=" + path}, engineArgs...)...)
		if err == nil {
			if _, err = c.query(sessionSettings, "TSV"); err != nil {
				c.close()
				err = fmt.Errorf("chdb: session settings: %w", err)
			}
		}
		if err != nil {
			db.closeRW(len(db.rw))
			return nil, err
		}
		db.rw <- c
	}
	return db, nil
}

// closeRW closes the n pooled connections and puts them back closed, so a
// later statement takes one and gets errClosed instead of waiting forever.
// Close holds db.mu, so no statement is running; a connection whose
// statement just ended is waited for.
func (db *DB) closeRW(n int) {
	conns := make([]*conn, n)
	for i := range conns {
		conns[i] = <-db.rw
		conns[i].close()
	}
	for _, c := range conns {
		db.rw <- c
	}
}

// runRW runs a statement on a pooled read-write connection.
func (db *DB) runRW(ctx context.Context, q, format string) ([]byte, error) {
	select {
	case c := <-db.rw:
		defer func() { db.rw <- c }()
		return db.run(ctx, c, func() ([]byte, error) { return c.query(q, format) })
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Driver returns "chdb".
func (db *DB) Driver() string { return "chdb" }

// Path is the engine's data directory.
func (db *DB) Path() string { return db.path }

// Close closes every connection. Read-write statements running in other
// goroutines finish first. Read-only sessions that are running an
// engineer's statement are not waited for: chDB cannot interrupt a statement
// (docs/security.md, "Sessions of its own, and shutdown"), and a read-only
// one has nothing to leave half-done. Each is closed when its statement
// returns, or dies with the process.
func (db *DB) Close() error {
	db.roMu.Lock()
	db.roClosed = true
	for k, p := range db.ro {
		p.closeIdle()
		delete(db.ro, k)
	}
	db.roMu.Unlock()
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return nil
	}
	db.closed = true
	db.closeRW(rwConns)
	return nil
}

// Exec runs a statement that returns no rows.
func (db *DB) Exec(ctx context.Context, query string, s warehouse.Settings) error {
	q, err := withSettings(query, s)
	if err != nil {
		return err
	}
	_, err = db.runRW(ctx, q, "TSV")
	return err
}

// Insert writes b as one INSERT in RowBinaryWithNamesAndTypes (see
// rowbinary.go), or in JSONCompactEachRow when a column's type has no
// binary encoder. A retry of the same batch with the same settings is the
// same block (what insert de-duplication needs).
func (db *DB) Insert(ctx context.Context, b *warehouse.Batch, s warehouse.Settings) error {
	prefix, err := b.InsertPrefix()
	if err != nil {
		return err
	}
	if len(b.Rows) == 0 {
		return nil
	}
	set, err := warehouse.RenderSettings(warehouse.Merge(insertSettings, s))
	if err != nil {
		return fmt.Errorf("insert into %s: %w", b.Table, err)
	}
	types, known, err := db.types.lookup(ctx, db, b)
	if err != nil {
		return fmt.Errorf("insert into %s: %w", b.Table, err)
	}
	if known {
		bp, _ := db.bufs.Get().(*[]byte)
		if bp == nil {
			bp = new([]byte)
		}
		data, ok, err := encodeRowBinary((*bp)[:0], b, types)
		if err != nil {
			err = fmt.Errorf("insert into %s: %w", b.Table, err)
		} else if ok {
			if err = db.insertRW(ctx, prefix+" SETTINGS "+set, "RowBinaryWithNamesAndTypes", data); err != nil {
				err = fmt.Errorf("insert %d rows into %s: %w", len(b.Rows), b.Table, err)
			}
		}
		if cap(data) <= maxPooledBuffer { // the engine copied what it read
			*bp = data
			db.bufs.Put(bp)
		}
		if err != nil {
			// The types may have changed under this process: read them
			// again on the next attempt.
			db.types.forget(b.Table)
		}
		if ok {
			return err
		}
	}
	var buf bytes.Buffer
	buf.WriteString(prefix + " SETTINGS " + set + " FORMAT JSONCompactEachRow\n")
	for i, row := range b.Rows {
		if err := encodeRow(&buf, row); err != nil {
			return fmt.Errorf("insert into %s: row %d: %w", b.Table, i, err)
		}
	}
	if _, err := db.runRW(ctx, buf.String(), "TSV"); err != nil {
		return fmt.Errorf("insert %d rows into %s: %w", len(b.Rows), b.Table, err)
	}
	return nil
}

// insertRW runs a streaming insert on a pooled read-write connection.
func (db *DB) insertRW(ctx context.Context, q, format string, data []byte) error {
	select {
	case c := <-db.rw:
		defer func() { db.rw <- c }()
		_, err := db.run(ctx, c, func() ([]byte, error) { return nil, c.insert(q, format, data) })
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Query runs a statement on the read-write connection and decodes its rows.
// chDB cannot stop a running statement: ctx is checked before it starts and
// its deadline becomes max_execution_time unless s sets one.
func (db *DB) Query(ctx context.Context, query string, s warehouse.Settings) (*warehouse.Result, error) {
	if dl, ok := ctx.Deadline(); ok {
		if _, set := s["max_execution_time"]; !set {
			s = warehouse.Merge(s, warehouse.Settings{"max_execution_time": math.Max(time.Until(dl).Seconds(), 0.001)})
		}
	}
	q, err := withSettings(query, s)
	if err != nil {
		return nil, err
	}
	out, err := db.runRW(ctx, q, "JSONCompactEachRowWithNamesAndTypes")
	if err != nil {
		return nil, err
	}
	return decodeResult(out)
}

// QueryReadOnly runs engineers' SQL on a read-only session of its own
// (lim.SessionCount() of them per Limits, opened on demand), where the
// limits were set at open and then readonly=1, which forbids changing
// settings afterwards (even in a query's SETTINGS clause, so the SQL cannot
// lift its own limits): max_execution_time, max_result_rows with
// result_overflow_mode='throw', max_memory_usage, max_result_bytes,
// max_threads, and lim.Database as the current database. When every
// session is busy the statement waits for one, or for ctx.
//
// chDB cannot stop a running statement from outside, so when ctx is done
// first QueryReadOnly returns ctx's error at once and leaves the statement
// to end on its own (at max_execution_time at the latest); its session goes
// back to the pool then.
func (db *DB) QueryReadOnly(ctx context.Context, query string, lim warehouse.Limits) (*warehouse.Result, error) {
	c, release, err := db.readOnly(ctx, lim)
	if err != nil {
		return nil, err
	}
	q, _ := withSettings(query, nil) // trims a trailing ";"
	type answer struct {
		out []byte
		err error
	}
	done := make(chan answer, 1)
	go func() {
		defer release()
		out, err := runOn(c, func() ([]byte, error) { return c.query(q, "JSONCompactEachRowWithNamesAndTypes") })
		done <- answer{out, err}
	}()
	select {
	case a := <-done:
		if a.err != nil {
			return nil, a.err
		}
		return decodeResult(a.out)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// readOnly takes a free session of lim's pool, opening one when the pool
// has room, else waiting; release gives it back.
func (db *DB) readOnly(ctx context.Context, lim warehouse.Limits) (*conn, func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	db.roMu.Lock()
	if db.roClosed {
		db.roMu.Unlock()
		return nil, nil, errClosed
	}
	p, ok := db.ro[lim]
	if !ok {
		p = &roPool{lim: lim, size: lim.SessionCount(), free: make(chan *conn, lim.SessionCount())}
		if len(db.ro) >= maxReadOnlyPools {
			p.oneOff, p.size = true, 1
		} else {
			db.ro[lim] = p
		}
	}
	var c *conn
	select {
	case c = <-p.free:
	default:
		if p.opened < p.size {
			p.opened++
			db.roMu.Unlock()
			var err error
			if c, err = openReadOnly(db.path, lim); err != nil {
				db.roMu.Lock()
				p.opened--
				db.roMu.Unlock()
				return nil, nil, err
			}
			return c, db.releaser(p, c), nil
		}
	}
	db.roMu.Unlock()
	if c == nil {
		select {
		case c = <-p.free:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
	return c, db.releaser(p, c), nil
}

// releaser gives c back to p, or closes it when the warehouse was closed
// meanwhile or p was a one-off.
func (db *DB) releaser(p *roPool, c *conn) func() {
	return func() {
		db.roMu.Lock()
		defer db.roMu.Unlock()
		if db.roClosed || p.oneOff {
			c.close()
			return
		}
		p.free <- c
	}
}

// closeIdle closes the sessions no statement is using; the caller holds roMu.
func (p *roPool) closeIdle() {
	for {
		select {
		case c := <-p.free:
			c.close()
		default:
			return
		}
	}
}

func openReadOnly(path string, lim warehouse.Limits) (*conn, error) {
	c, err := connect(append([]string{"--path=" + path}, engineArgs...)...)
	if err != nil {
		return nil, err
	}
	set := []string{sessionSettings}
	if lim.Database != "" {
		if !warehouse.ValidIdent(lim.Database) {
			c.close()
			return nil, fmt.Errorf("chdb: read-only connection: database %q is not a plain name", lim.Database)
		}
		set = append(set, "USE "+lim.Database)
	}
	if limits := sessionLimits(lim); len(limits) > 0 {
		set = append(set, "SET "+strings.Join(limits, ", "))
	}
	set = append(set, "SET readonly=1")
	for _, q := range set {
		if _, err := c.query(q, "TSV"); err != nil {
			c.close()
			return nil, fmt.Errorf("chdb: read-only connection: %s: %w", q, err)
		}
	}
	return c, nil
}

// sessionLimits renders lim as the settings a read-only session gets.
func sessionLimits(lim warehouse.Limits) []string {
	var limits []string
	if lim.Timeout > 0 {
		limits = append(limits, "max_execution_time="+strconv.FormatFloat(lim.Timeout.Seconds(), 'f', -1, 64))
	}
	if lim.MaxRows > 0 {
		limits = append(limits, fmt.Sprintf("max_result_rows=%d", lim.MaxRows))
	}
	if lim.MaxResultBytes > 0 {
		limits = append(limits, fmt.Sprintf("max_result_bytes=%d", lim.MaxResultBytes))
	}
	if lim.MaxRows > 0 || lim.MaxResultBytes > 0 {
		limits = append(limits, "result_overflow_mode='throw'")
	}
	if lim.MaxMemory > 0 {
		limits = append(limits, fmt.Sprintf("max_memory_usage=%d", lim.MaxMemory))
	}
	if lim.MaxThreads > 0 {
		limits = append(limits, fmt.Sprintf("max_threads=%d", lim.MaxThreads))
	}
	return limits
}

var errClosed = errors.New("chdb: warehouse is closed")

var codeRE = regexp.MustCompile(`Code: (\d+)\.`)

// run executes a statement on c unless ctx is done or db is closed, and
// turns engine errors into Go errors wrapping the warehouse sentinels.
func (db *DB) run(ctx context.Context, c *conn, statement func() ([]byte, error)) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return nil, errClosed
	}
	return runOn(c, statement)
}

// runOn executes a statement on c and wraps the engine's error with its code.
func runOn(c *conn, statement func() ([]byte, error)) ([]byte, error) {
	if c.c == nil {
		return nil, errClosed
	}
	out, err := statement()
	if err != nil {
		code := 0
		if m := codeRE.FindStringSubmatch(err.Error()); m != nil {
			code, _ = strconv.Atoi(m[1])
		}
		return nil, &warehouse.Error{Code: code, Err: fmt.Errorf("chdb: %w", err)}
	}
	return out, nil
}

// withSettings appends a SETTINGS clause (chDB takes settings only in the
// SQL text; a SET would leak into concurrent statements).
func withSettings(query string, s warehouse.Settings) (string, error) {
	query = strings.TrimRight(strings.TrimSpace(query), ";")
	if len(s) == 0 {
		return query, nil
	}
	set, err := warehouse.RenderSettings(s)
	if err != nil {
		return "", err
	}
	// A newline first, in case the query ends with a -- comment.
	return query + "\nSETTINGS " + set, nil
}

// encodeRow writes one JSON array of the row's values and a newline.
func encodeRow(buf *bytes.Buffer, row []any) error {
	buf.WriteByte('[')
	for i, v := range row {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := encodeValue(buf, v); err != nil {
			return fmt.Errorf("value %d: %w", i, err)
		}
	}
	buf.WriteString("]\n")
	return nil
}

func encodeValue(buf *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case time.Time:
		// Nanoseconds always printed so DateTime64(3…9) keeps every digit
		// the column holds; the zone is explicit (Z). Midnight UTC is sent as
		// a bare date, the only form a Date column reads (DateTime columns
		// read it as midnight UTC too).
		x = x.UTC()
		if x.Equal(x.Truncate(24 * time.Hour)) {
			buf.WriteString(`"` + x.Format("2006-01-02") + `"`)
		} else {
			buf.WriteString(`"` + x.Format("2006-01-02T15:04:05.000000000Z") + `"`)
		}
		return nil
	case float32:
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("%v cannot be stored", x)
		}
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%v cannot be stored", x)
		}
	case []any:
		buf.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := encodeValue(buf, e); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	buf.Write(b)
	return nil
}

// decodeResult reads JSONCompactEachRowWithNamesAndTypes: a line of names,
// a line of types, then one array per row.
func decodeResult(out []byte) (*warehouse.Result, error) {
	res := &warehouse.Result{}
	if len(bytes.TrimSpace(out)) == 0 {
		return res, nil
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	var names, types []string
	if err := dec.Decode(&names); err != nil {
		return nil, fmt.Errorf("chdb: result names (a FORMAT clause in the query?): %w", err)
	}
	if err := dec.Decode(&types); err != nil {
		return nil, fmt.Errorf("chdb: result types: %w", err)
	}
	parsed := make([]warehouse.Type, len(types))
	for i := range names {
		res.Columns = append(res.Columns, warehouse.Column{Name: names[i], Type: types[i]})
		parsed[i] = warehouse.ParseType(types[i])
	}
	for {
		var raw []any
		if err := dec.Decode(&raw); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("chdb: result row %d: %w", len(res.Rows), err)
		}
		if len(raw) != len(parsed) {
			return nil, fmt.Errorf("chdb: result row %d has %d values for %d columns", len(res.Rows), len(raw), len(parsed))
		}
		row := make([]any, len(raw))
		for i, v := range raw {
			nv, err := normalise(parsed[i], v)
			if err != nil {
				return nil, fmt.Errorf("chdb: row %d column %s (%s): %w", len(res.Rows), names[i], types[i], err)
			}
			row[i] = nv
		}
		res.Rows = append(res.Rows, row)
	}
	return res, nil
}

// normalise turns one decoded JSON value into the Go type Result documents.
func normalise(t warehouse.Type, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	t = t.Unwrap()
	switch t.Name {
	case "Int8", "Int16", "Int32", "Int64":
		return strconv.ParseInt(numText(v), 10, 64)
	case "UInt8", "UInt16", "UInt32", "UInt64":
		return strconv.ParseUint(numText(v), 10, 64)
	case "Int128", "Int256", "UInt128", "UInt256":
		return numText(v), nil // too wide for Go integers: decimal text
	case "Float32", "BFloat16":
		f, err := parseFloat(v, 32)
		return float64(float32(f)), err
	case "Float64":
		return parseFloat(v, 64)
	case "Bool":
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("%v is not a boolean", v)
		}
		return b, nil
	case "Date", "Date32":
		return time.Parse("2006-01-02", fmt.Sprint(v))
	case "DateTime", "DateTime64":
		tm, err := time.Parse(time.RFC3339Nano, fmt.Sprint(v))
		return tm.UTC(), err
	case "Array":
		return normaliseList(v, func(int) warehouse.Type { return t.Params[0] })
	case "Tuple":
		return normaliseList(v, func(i int) warehouse.Type {
			if i < len(t.Params) {
				return t.Params[i]
			}
			return warehouse.Type{}
		})
	case "Map":
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%v is not a map", v)
		}
		out := make(map[string]any, len(m))
		for k, e := range m {
			ne, err := normalise(t.Params[1], e)
			if err != nil {
				return nil, err
			}
			out[k] = ne
		}
		return out, nil
	}
	if n, ok := v.(json.Number); ok { // decimals are quoted; this is a type we do not know
		if i, err := n.Int64(); err == nil {
			return i, nil
		}
		return n.Float64()
	}
	return v, nil
}

func normaliseList(v any, elem func(int) warehouse.Type) (any, error) {
	a, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%v is not an array", v)
	}
	out := make([]any, len(a))
	for i, e := range a {
		ne, err := normalise(elem(i), e)
		if err != nil {
			return nil, err
		}
		out[i] = ne
	}
	return out, nil
}

func numText(v any) string {
	if n, ok := v.(json.Number); ok {
		return n.String()
	}
	return fmt.Sprint(v) // quoted by a setting we did not expect
}

func parseFloat(v any, bits int) (float64, error) {
	switch s := numText(v); s {
	case "nan", "-nan":
		return math.NaN(), nil
	case "inf", "+inf":
		return math.Inf(1), nil
	case "-inf":
		return math.Inf(-1), nil
	default:
		return strconv.ParseFloat(s, bits)
	}
}
