package chdb

import (
	"errors"
	"fmt"
	"os"
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
	cQuery          func(conn unsafe.Pointer, query string, format string) *chdbResult
	cDestroy        func(res *chdbResult)
	cResultBuffer   func(res *chdbResult) *byte
	cResultLength   func(res *chdbResult) uint
	cResultError    func(res *chdbResult) string
	cResultRowsRead func(res *chdbResult) uint64
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

func (c *conn) queryLocked(q, format string) ([]byte, error) {
	res := cQuery(c.c.internal, q, format)
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

func (c *conn) close() {
	if c.c != nil {
		cClose(c.c)
		c.c = nil
	}
}
