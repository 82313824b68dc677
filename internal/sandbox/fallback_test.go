package sandbox

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/internal/warehouse"
	"github.com/vigie-fr/vigie/internal/warehouse/chdb"
)

// A SELECT with a syntax error fails inside the wrapper too; the engineer
// must get the engine's error about the text they wrote, not about
// "SELECT * FROM (…) LIMIT n", which they never wrote.
func TestASyntaxErrorPointsIntoTheEngineersText(t *testing.T) {
	if _, err := os.Stat(chdb.LibraryPath()); err != nil {
		t.Skip("libchdb.so is not installed: run scripts/install-chdb.sh")
	}
	db, err := chdb.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const sql = "SELECT number, FROM numbers(10) WHERE"
	_, _, err = Query(ctx, db, sql, warehouse.Limits{Timeout: 10 * time.Second, MaxRows: 5})
	if err == nil || warehouse.Code(err) != codeSyntaxError {
		t.Fatalf("got %v, want a syntax error (code %d)", err, codeSyntaxError)
	}
	if msg := err.Error(); strings.Contains(msg, "LIMIT 6") || strings.Contains(msg, "SELECT * FROM (") {
		t.Errorf("the error quotes the wrapper, not the engineer's SQL:\n%s", msg)
	}
}
