package sqlapi

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/vigie-fr/vigie/internal/warehouse"
	"github.com/vigie-fr/vigie/internal/warehouse/chdb"
)

// testDB is this test binary's one chDB engine (one engine per process);
// nil when libchdb.so is missing, and then tests that need it skip.
var (
	testDB    *chdb.DB
	testDBErr error
)

// testDatabase isolates this package's tables inside the shared engine.
const testDatabase = "sqlapi_test"

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sqlapi-chdb-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testDB, testDBErr = chdb.Open(dir)
	if testDBErr == nil {
		testDBErr = seed(context.Background(), testDB)
	}
	code := m.Run()
	if testDB != nil {
		testDB.Close()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func seed(ctx context.Context, db *chdb.DB) error {
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS " + testDatabase,
		"CREATE TABLE " + testDatabase + ".regions (code String, name String, pupils UInt32) ENGINE = MergeTree ORDER BY code",
	} {
		if err := db.Exec(ctx, q, nil); err != nil {
			return err
		}
	}
	return db.Insert(ctx, &warehouse.Batch{
		Table:   testDatabase + ".regions",
		Columns: []string{"code", "name", "pupils"},
		Rows: [][]any{
			{"11", "Île-de-France", uint32(2500000)},
			{"32", "Hauts-de-France", uint32(1200000)},
			{"76", "Occitanie", uint32(1000000)},
		},
	}, nil)
}

// needDB returns the engine or skips the test, saying how to run it.
func needDB(t *testing.T) *chdb.DB {
	t.Helper()
	if testDBErr != nil {
		t.Skipf("chDB unavailable (%v): set CHDB_LIB_PATH to libchdb.so to run", testDBErr)
	}
	return testDB
}
