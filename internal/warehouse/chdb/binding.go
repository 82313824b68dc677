package chdb

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"unsafe"
)

// The C ABI of libchdb (chdb.h, "new API"), bound lazily with purego.
//
// We bind it ourselves instead of importing chdb-go's chdb-purego package
// because that package dlopens libchdb.so in init() and panics when it is
// missing: every vigie binary, even one pointed at a ClickHouse server,
// would then need the 560 MB library, and a missing one would crash before
// main could say what to run. Here the library is opened on first use and a
// missing one is an error value (ErrLibraryMissing). The binding itself is
// load_purego.go; a binary built with -tags nochdb (the cluster image, which
// only talks to a ClickHouse server) leaves purego out, links no C library
// and is fully static (load_none.go).

// ErrLibraryMissing is returned when libchdb.so cannot be loaded.
var ErrLibraryMissing = errors.New("libchdb.so not found")

type chdbConnection struct{ internal unsafe.Pointer }
type chdbResult struct{ _ unsafe.Pointer } // opaque to Go

var (
	loadOnce sync.Once
	loadErr  error

	cConnect        func(argc int, argv []*byte) *chdbConnection
	cClose          func(conn *chdbConnection)
	cQueryN         func(conn unsafe.Pointer, query *byte, queryLen uintptr, format string, formatLen uintptr) *chdbResult
	cDestroy        func(res *chdbResult)
	cResultBuffer   func(res *chdbResult) *byte
	cResultLength   func(res *chdbResult) uint
	cResultError    func(res *chdbResult) string
	cResultRowsRead func(res *chdbResult) uint64

	// The streaming insert: the engine's own input path, which reads the
	// appended bytes in the named format with no SQL text around them.
	cStreamInsertN       func(conn unsafe.Pointer, query string, queryLen uintptr, format string, formatLen uintptr) unsafe.Pointer
	cStreamInsertError   func(stream unsafe.Pointer) string
	cStreamAppend        func(stream unsafe.Pointer, data *byte, n uintptr) int32
	cStreamDone          func(stream unsafe.Pointer) *chdbResult
	cDestroyInsertStream func(stream unsafe.Pointer)
)

// LibraryPath is where libchdb.so is looked for: CHDB_LIB_PATH, else the
// project's install location, else the system path chdb-go also uses.
func LibraryPath() string {
	if p := os.Getenv("CHDB_LIB_PATH"); p != "" {
		return p
	}
	for _, p := range []string{DefaultCachePath(), "/usr/local/lib/libchdb.so"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return DefaultCachePath()
}

// DefaultCachePath is where scripts/install-chdb.sh puts the library.
func DefaultCachePath() string {
	dir := os.Getenv("VIGIE_CACHE_DIR")
	if dir == "" {
		if c, err := os.UserCacheDir(); err == nil {
			dir = c + "/vigie"
		} else {
			dir = "/tmp/vigie-cache"
		}
	}
	return dir + "/libchdb.so"
}

// conn is one chdb connection (one engine per process: docs/design.md, "chDB").
type conn struct {
	mu sync.Mutex // one statement at a time: see query
	c  *chdbConnection
}

func connect(args ...string) (*conn, error) {
	if err := load(); err != nil {
		return nil, err
	}
	argv := append([]string{"clickhouse"}, args...)
	cargv := make([]*byte, len(argv))
	for i, s := range argv {
		b := append([]byte(s), 0)
		cargv[i] = &b[0]
	}
	c := cConnect(len(cargv), cargv)
	if c == nil {
		return nil, fmt.Errorf("chdb: could not open engine with %v", args)
	}
	return &conn{c: c}, nil
}

// query runs one statement and returns the output bytes in format.
//
// libchdb 26.7 keeps what a failed statement had already written (format
// headers, the first blocks) in the connection's output buffer and prepends
// it to the next statement's result. So after an error a cheap statement
// drains the buffer, under the same lock, before anyone else can run.
func (c *conn) query(q, format string) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out, err := c.queryLocked(q, format)
	if err != nil {
		_, _ = c.queryLocked("SELECT 1", "TSV")
	}
	return out, err
}

// queryLocked passes q by pointer and length (chdb_query_n), not as a C
// string: no copy of a many-megabyte INSERT, and the binary rows of a
// RowBinary insert may hold zero bytes.
func (c *conn) queryLocked(q, format string) ([]byte, error) {
	res := cQueryN(c.c.internal, unsafe.StringData(q), uintptr(len(q)), format, uintptr(len(format)))
	runtime.KeepAlive(q)
	if res == nil {
		return nil, nil
	}
	defer cDestroy(res)
	if msg := cResultError(res); msg != "" {
		return nil, errors.New(msg)
	}
	n := int(cResultLength(res))
	if n == 0 {
		return nil, nil
	}
	buf := cResultBuffer(res)
	out := make([]byte, n)
	copy(out, unsafe.Slice(buf, n))
	return out, nil
}

// appendChunk is how much of an insert's data goes to the engine per
// chdb_stream_append (the engine copies each chunk).
const appendChunk = 1 << 20

// insert runs q, an INSERT without FORMAT clause, with data in format
// through the engine's streaming insert: the rows never pass through the
// SQL parser. A failure drains the connection as query does.
func (c *conn) insert(q, format string, data []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.insertLocked(q, format, data)
	if err != nil {
		_, _ = c.queryLocked("SELECT 1", "TSV")
	}
	return err
}

func (c *conn) insertLocked(q, format string, data []byte) error {
	s := cStreamInsertN(c.c.internal, q, uintptr(len(q)), format, uintptr(len(format)))
	if s == nil {
		return errors.New("chdb_stream_insert_n returned no stream")
	}
	defer cDestroyInsertStream(s)
	if msg := cStreamInsertError(s); msg != "" {
		return errors.New(msg)
	}
	for len(data) > 0 {
		n := min(len(data), appendChunk)
		state := cStreamAppend(s, &data[0], uintptr(n))
		runtime.KeepAlive(data)
		if state != 0 {
			if msg := cStreamInsertError(s); msg != "" {
				return errors.New(msg)
			}
			return fmt.Errorf("chdb_stream_append failed (state %d)", state)
		}
		data = data[n:]
	}
	res := cStreamDone(s)
	if res == nil {
		return errors.New("chdb_stream_done returned no result")
	}
	defer cDestroy(res)
	if msg := cResultError(res); msg != "" {
		return errors.New(msg)
	}
	return nil
}

func (c *conn) close() {
	if c.c != nil {
		cClose(c.c)
		c.c = nil
	}
}
