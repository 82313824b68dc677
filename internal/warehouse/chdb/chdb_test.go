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
