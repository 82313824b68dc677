package chdb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

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
