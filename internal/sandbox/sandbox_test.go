package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/internal/sandbox"
	"github.com/vigie-fr/vigie/internal/sandbox/sandboxtest"
	"github.com/vigie-fr/vigie/internal/warehouse"
	"github.com/vigie-fr/vigie/internal/warehouse/chdb"
)

// One chDB engine per process; the tests isolate by database.
var (
	testDB    *chdb.DB
	testDBErr error
)

const testDatabase = "sandbox_test"

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sandbox-chdb-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testDB, testDBErr = chdb.Open(dir)
	if testDBErr == nil {
		ctx := context.Background()
		for _, q := range []string{
			"CREATE DATABASE " + testDatabase,
			"CREATE TABLE " + testDatabase + ".t (a UInt32, s String) ENGINE = MergeTree ORDER BY a",
			"INSERT INTO " + testDatabase + ".t VALUES (1, 'un'), (2, 'deux'), (3, 'trois')",
		} {
			if testDBErr = testDB.Exec(ctx, q, nil); testDBErr != nil {
				break
			}
		}
	}
	code := m.Run()
	if testDB != nil {
		testDB.Close()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func needDB(t *testing.T) *chdb.DB {
	t.Helper()
	if testDBErr != nil {
		t.Skipf("chDB unavailable (%v): set CHDB_LIB_PATH to libchdb.so to run", testDBErr)
	}
	return testDB
}

var lim = warehouse.Limits{Timeout: 10 * time.Second, MaxRows: 100, Database: testDatabase, MaxMemory: 1 << 30, MaxResultBytes: 64 << 20, MaxThreads: 1}

func TestAttacksAreRefused(t *testing.T) {
	db := needDB(t)
	w := sandboxtest.NewWitness(t)
	for _, a := range w.Attacks(testDatabase) {
		t.Run(a.Name, func(t *testing.T) {
			res, _, err := sandbox.Query(t.Context(), db, a.SQL, lim)
			if !errors.Is(err, sandbox.ErrRefused) {
				t.Fatalf("got %v, %v; want a refusal", res, err)
			}
			w.Check(t, []byte(err.Error()))
		})
	}
}

func TestOrdinaryQueriesRun(t *testing.T) {
	db := needDB(t)
	for _, q := range sandboxtest.Ordinary(testDatabase) {
		t.Run(q.SQL, func(t *testing.T) {
			res, truncated, err := sandbox.Query(t.Context(), db, q.SQL, lim)
			if err != nil {
				t.Fatal(err)
			}
			if truncated || (q.Rows >= 0 && len(res.Rows) != q.Rows) || len(res.Rows) == 0 {
				t.Fatalf("%d rows (truncated %v), want %d: %v", len(res.Rows), truncated, q.Rows, res.Rows)
			}
		})
	}
}

func TestRowLimitCutsAndSaysSo(t *testing.T) {
	db := needDB(t)
	l := lim
	l.MaxRows = 2
	res, truncated, err := sandbox.Query(t.Context(), db, "SELECT a FROM t ORDER BY a DESC", l)
	if err != nil || !truncated || fmt.Sprint(res.Rows) != "[[3] [2]]" {
		t.Fatalf("got %v, truncated %v, %v; want [[3] [2]] cut", res, truncated, err)
	}
	res, truncated, err = sandbox.Query(t.Context(), db, "SELECT a FROM t WHERE a < 3 ORDER BY a", l)
	if err != nil || truncated || fmt.Sprint(res.Rows) != "[[1] [2]]" {
		t.Fatalf("exactly max rows: got %v, truncated %v, %v", res, truncated, err)
	}
}

func TestSyntaxErrorsAndEmptyTexts(t *testing.T) {
	db := needDB(t)
	for _, sql := range []string{"", "  \n", "-- only a comment\n", "/* nothing */;"} {
		if _, _, err := sandbox.Query(t.Context(), db, sql, lim); !errors.Is(err, sandbox.ErrEmpty) {
			t.Errorf("%q: got %v, want ErrEmpty", sql, err)
		}
	}
	_, _, err := sandbox.Query(t.Context(), db, "SELEC 1", lim)
	if warehouse.Code(err) != 62 || errors.Is(err, sandbox.ErrRefused) {
		t.Fatalf("got %v, want the engine's syntax error (62)", err)
	}
	if msg := err.Error(); !containsAll(msg, "Syntax error", "position 7") || containsAll(msg, "formatQuery") {
		t.Fatalf("message %q should be the engine's, about the engineer's text", msg)
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
