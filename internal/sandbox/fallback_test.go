package sandbox_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/internal/sandbox"
	"github.com/vigie-fr/vigie/internal/warehouse"
)

// codeSyntaxError is ClickHouse's SYNTAX_ERROR.
const codeSyntaxError = 62

// A SELECT with a syntax error fails inside the wrapper too; the engineer
// must get the engine's error about the text they wrote, not about
// "SELECT * FROM (…) LIMIT n", which they never wrote.
func TestASyntaxErrorPointsIntoTheEngineersText(t *testing.T) {
	db := needDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const sql = "SELECT number, FROM numbers(10) WHERE"
	_, _, err := sandbox.Query(ctx, db, sql, func() warehouse.Limits { l := lim; l.MaxRows = 5; return l }())
	if err == nil || warehouse.Code(err) != codeSyntaxError {
		t.Fatalf("got %v, want a syntax error (code %d)", err, codeSyntaxError)
	}
	if msg := err.Error(); strings.Contains(msg, "LIMIT 6") || strings.Contains(msg, "SELECT * FROM (") {
		t.Errorf("the error quotes the wrapper, not the engineer's SQL:\n%s", msg)
	}
}
