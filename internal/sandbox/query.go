// Package sandbox runs engineers' ad-hoc SQL, in depth:
//
//  1. the engine's own parser reads the statement (formatQuery, then
//     EXPLAIN AST: parse only, nothing runs), and the tree is walked against
//     an allow-list (Policy): exactly one SELECT, SHOW, DESCRIBE, EXISTS or
//     EXPLAIN, tables from Vigie's database and a few harmless system tables,
//     table functions that only generate rows, and no SETTINGS, INTO OUTFILE
//     or FORMAT anywhere. There is no hand-written SQL lexer here: what a
//     statement is, is the engine's answer;
//  2. what runs is the engine's canonical text of that same tree, on sessions
//     of its own where the engine enforces readonly=1 and the limits
//     (warehouse.Limits: time, memory, result bytes, threads);
//  3. a result longer than the row limit is cut, and the cut said out loud.
//
// It is not the HTTP endpoint nor the command (package sqlapi), and not the
// product's reads (package store). docs/security.md describes the whole.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vigie-fr/vigie/internal/warehouse"
)

// ErrEmpty is returned for a text without a statement.
var ErrEmpty = errors.New("no SQL statement given")

// Statement is an allowed statement: the engine's canonical text of it and
// what kind it is.
type Statement struct {
	SQL  string
	Kind Kind
}

// Check asks the engine to parse sql and walks the tree against the
// allow-list of lim.Database. Errors: ErrEmpty; the engine's syntax error
// (a warehouse.Error, as for any bad SQL); or an error wrapping ErrRefused
// that says what was refused.
func Check(ctx context.Context, wh warehouse.Warehouse, sql string, lim warehouse.Limits) (*Statement, error) {
	if strings.TrimSpace(sql) == "" {
		return nil, ErrEmpty
	}
	if lim.Database == "" {
		return nil, errors.New("sandbox: no database given (warehouse.Limits.Database)")
	}
	lim.MaxRows = 0 // the sandbox cuts rows itself; one pool of sessions for all
	// The text goes to the engine as a string literal, never as SQL: the
	// engine answers with one statement's canonical text, or a syntax error
	// (several statements, an empty text…). Comments are gone.
	res, err := wh.QueryReadOnly(ctx, "SELECT formatQuery("+warehouse.QuoteString(sql)+")", lim)
	if err != nil {
		switch msg := err.Error(); {
		case strings.Contains(msg, "Empty query"):
			return nil, ErrEmpty
		case strings.Contains(msg, "Multi-statements are not allowed"):
			return nil, &Refusal{Reason: "several statements are not allowed: send one at a time"}
		}
		return nil, cleanFormatError(err)
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 1 {
		return nil, fmt.Errorf("sandbox: formatQuery gave %d rows", len(res.Rows))
	}
	canonical, ok := res.Rows[0][0].(string)
	if !ok || strings.TrimSpace(canonical) == "" {
		return nil, ErrEmpty
	}
	kind, err := checkCanonical(ctx, wh, canonical, lim)
	if err != nil {
		return nil, err
	}
	return &Statement{SQL: canonical, Kind: kind}, nil
}

// checkCanonical reads the tree of one statement in the engine's canonical
// form and walks it.
func checkCanonical(ctx context.Context, wh warehouse.Warehouse, canonical string, lim warehouse.Limits) (Kind, error) {
	res, err := wh.QueryReadOnly(ctx, "EXPLAIN AST "+canonical, lim)
	if err != nil {
		var engine *warehouse.Error
		if !errors.As(err, &engine) || ctx.Err() != nil {
			return 0, err // cancelled, timed out, closed: not the statement's fault
		}
		// formatQuery accepted it, so this is not a syntax error: EXPLAIN
		// applies a top-level SETTINGS clause, which readonly refuses.
		return 0, &Refusal{Reason: "the engine would not describe the statement: " + err.Error()}
	}
	lines := make([]string, 0, len(res.Rows))
	for _, r := range res.Rows {
		s, _ := r[0].(string)
		lines = append(lines, s)
	}
	root, err := parseTree(lines)
	if err != nil {
		return 0, &Refusal{Reason: err.Error()}
	}
	return Policy{Database: lim.Database}.check(root, canonical)
}

// cleanFormatError drops the "In scope SELECT formatQuery('…')" the engine
// adds to a syntax error: the position it gives is in the engineer's text.
func cleanFormatError(err error) error {
	var we *warehouse.Error
	if !errors.As(err, &we) {
		return err
	}
	msg := we.Err.Error()
	if i := strings.Index(msg, ": In scope SELECT formatQuery("); i >= 0 {
		if j := strings.LastIndex(msg, ". ("); j > i {
			msg = msg[:i] + msg[j:]
		} else {
			msg = msg[:i]
		}
	}
	return &warehouse.Error{Code: we.Code, Err: errors.New(msg)}
}

// Query checks sql (Check) and runs it read-only. When its answer has more
// rows than lim.MaxRows, it answers the first lim.MaxRows rows with
// truncated set.
//
// A SELECT runs as "SELECT * FROM (<canonical>) LIMIT n+1", checked again
// as a whole: one execution, and an (n+1)th row means there was more. Other
// statements (SHOW, DESCRIBE, EXISTS, EXPLAIN) answer few rows; they are cut
// here, their size bounded by the session's max_result_bytes.
func Query(ctx context.Context, wh warehouse.Warehouse, sql string, lim warehouse.Limits) (*warehouse.Result, bool, error) {
	st, err := Check(ctx, wh, sql, lim)
	if err != nil {
		return nil, false, err
	}
	maxRows := lim.MaxRows
	lim.MaxRows = 0
	run := st.SQL
	if st.Kind == Select && maxRows > 0 {
		run = fmt.Sprintf("SELECT * FROM (\n%s\n) LIMIT %d", st.SQL, maxRows+1)
		if _, err := checkCanonical(ctx, wh, run, lim); err != nil {
			return nil, false, err
		}
	}
	res, err := wh.QueryReadOnly(ctx, run, lim)
	if err != nil {
		return nil, false, err
	}
	if maxRows > 0 && len(res.Rows) > maxRows {
		res.Rows = res.Rows[:maxRows]
		return res, true, nil
	}
	return res, false, nil
}
