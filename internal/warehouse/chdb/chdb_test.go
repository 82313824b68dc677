package chdb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/internal/warehouse"
	"github.com/vigie-fr/vigie/internal/warehouse/contract"
)

// One engine per process: every test in this package shares this one,
// isolated by database name.
func openTest(t *testing.T) *DB {
	t.Helper()
	db, err := Open(t.TempDir())
	if errors.Is(err, ErrLibraryMissing) {
		t.Skipf("%v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestContract(t *testing.T) {
	db := openTest(t)
	contract.Run(t, db, "chdb_contract")
}

func TestClosedWarehouseRefusesStatements(t *testing.T) {
	db := openTest(t)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(context.Background(), "SELECT 1", nil); !errors.Is(err, errClosed) {
		t.Fatalf("exec after close: %v", err)
	}
}

// The library is loaded once per process, so a missing one is tried in a
// child process running only this test.
func TestMissingLibraryIsAnErrorThatSaysWhatToRun(t *testing.T) {
	if os.Getenv("VIGIE_CHDB_MISSING_CHILD") == "1" {
		_, err := Open(t.TempDir())
		fmt.Printf("missing=%v err=%v\n", errors.Is(err, ErrLibraryMissing), err)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMissingLibraryIsAnErrorThatSaysWhatToRun$", "-test.v")
	cmd.Env = append(os.Environ(), "VIGIE_CHDB_MISSING_CHILD=1", "CHDB_LIB_PATH=/nonexistent/libchdb.so")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child failed (a panic?): %v\n%s", err, out)
	}
	for _, want := range []string{"missing=true", "/nonexistent/libchdb.so", "scripts/install-chdb.sh"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("child output lacks %q:\n%s", want, out)
		}
	}
}

// libchdb keeps a failed statement's partial output and prepends it to the
// next result unless the binding drains it (see conn.query).
func TestAFailedStatementDoesNotLeakIntoTheNextResult(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	fail := []struct {
		name string
		run  func() error
	}{
		{"a statement that throws mid-stream", func() error {
			_, err := db.Query(ctx, "SELECT number, throwIf(number = 3) FROM numbers(10) SETTINGS max_block_size = 1", nil)
			return err
		}},
		{"a read-only query over its row limit", func() error {
			_, err := db.QueryReadOnly(ctx, "SELECT number FROM numbers(50)", warehouse.Limits{Timeout: 5 * time.Second, MaxRows: 10})
			return err
		}},
	}
	for _, f := range fail {
		t.Run(f.name, func(t *testing.T) {
			if err := f.run(); err == nil {
				t.Fatal("the failing statement succeeded")
			}
			res, err := db.Query(ctx, "SELECT 42 AS answer", nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Rows) != 1 || len(res.Columns) != 1 || res.Columns[0].Name != "answer" || res.Rows[0][0] != uint64(42) {
				t.Fatalf("next result = %+v %v, want one column answer = 42", res.Columns, res.Rows)
			}
			res, err = db.QueryReadOnly(ctx, "SELECT 7 AS seven", warehouse.Limits{Timeout: 5 * time.Second, MaxRows: 10})
			if err != nil || len(res.Rows) != 1 || res.Rows[0][0] != uint64(7) {
				t.Fatalf("next read-only result = %v, %v; want 7", res, err)
			}
		})
	}
}

// Engineers' statements run on sessions of their own: a long one delays
// neither the read-write pool nor the caller that gives up, and Close does
// not wait for it.
func TestAdHocSessionsStandApart(t *testing.T) {
	db := openTest(t)
	// The slow statement is abandoned, not stopped: the engine runs it to
	// its max_execution_time, and no other test can open an engine before
	// then (waitEngineFree below).
	const slowFor = 3 * time.Second
	lim := warehouse.Limits{Timeout: slowFor, Sessions: 1}
	slowCtx, cancelSlow := context.WithCancel(context.Background())
	slow := make(chan error, 1)
	go func() {
		_, err := db.QueryReadOnly(slowCtx, "SELECT count() FROM numbers(1000000000000) WHERE NOT ignore(sipHash64(number))", lim)
		slow <- err
	}()
	time.Sleep(300 * time.Millisecond) // the slow statement holds the only ad-hoc session

	if res, err := db.Query(context.Background(), "SELECT 42 AS answer", nil); err != nil || res.Rows[0][0] != uint64(42) {
		t.Fatalf("read-write statement: %v, %v", res, err)
	}
	// Still busy after the read-write statement answered: that one did not
	// wait for it.
	waitCtx, cancelWait := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancelWait()
	if _, err := db.QueryReadOnly(waitCtx, "SELECT 1", lim); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a second ad-hoc statement with one session busy: %v, want it to wait and give up", err)
	}
	cancelSlow()
	if err := <-slow; !errors.Is(err, context.Canceled) {
		t.Fatalf("the cancelled statement returned %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.QueryReadOnly(context.Background(), "SELECT 1", lim); !errors.Is(err, errClosed) {
		t.Fatalf("an ad-hoc statement after Close: %v", err)
	}
	waitEngineFree(t, slowFor+30*time.Second)
}

// waitEngineFree waits until no session of the last engine is left, so
// that the next test can open one on its own path.
func waitEngineFree(t *testing.T, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		db, err := Open(t.TempDir())
		if err == nil {
			db.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the abandoned statement's session still holds the engine after %s: %v", limit, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// The limits are the engine's, set on the session before readonly=1.
func TestAdHocSessionLimits(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	if err := db.Exec(ctx, "CREATE DATABASE IF NOT EXISTS chdb_limits", nil); err != nil {
		t.Fatal(err)
	}
	lim := warehouse.Limits{Timeout: 30 * time.Second, Database: "chdb_limits", MaxMemory: 64 << 20, MaxResultBytes: 1 << 20, MaxThreads: 1}
	res, err := db.QueryReadOnly(ctx, "SELECT currentDatabase(), getSetting('max_threads'), getSetting('max_memory_usage'), getSetting('readonly')", lim)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(res.Rows); got != "[[chdb_limits 1 67108864 1]]" {
		t.Fatalf("session settings %s, want [[chdb_limits 1 67108864 1]]", got)
	}
	if _, err := db.QueryReadOnly(ctx, "SELECT groupArray(toString(number)) FROM numbers(100000000)", lim); warehouse.Code(err) != 241 {
		t.Fatalf("a statement over max_memory_usage: %v, want MEMORY_LIMIT_EXCEEDED (241)", err)
	}
	// The engine checks max_result_bytes between blocks (one block may pass
	// it; max_memory_usage bounds that block): 80 MB in many blocks.
	if _, err := db.QueryReadOnly(ctx, "SELECT number FROM numbers(10000000)", lim); !errors.Is(err, warehouse.ErrTooManyRows) {
		t.Fatalf("an answer over max_result_bytes: %v, want TOO_MANY_ROWS_OR_BYTES", err)
	}
}
