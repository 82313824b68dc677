// Package sandbox runs engineers' ad-hoc SQL: read-only (the engine
// enforces readonly=1 on sessions of its own), bounded in time and rows,
// with a cut result said out loud. It holds the only SQL text the SQL
// endpoint and `vigie query` add to what the engineer wrote. It is not the
// HTTP endpoint nor the command (package sqlapi), and not the product's
// reads (package store).
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vigie-fr/vigie/internal/warehouse"
)

// Query runs sql read-only and, when its answer has more rows than
// lim.MaxRows, answers the first lim.MaxRows rows with truncated set.
//
// The transports refuse an oversized result (warehouse.ErrTooManyRows)
// rather than cut it, so that nobody reads a partial answer as the whole
// one. For an engineer the first rows are still useful as long as the cut is
// said out loud, so a SELECT runs as "SELECT * FROM (<sql>) LIMIT n+1" with
// a limit of n+1 rows: one execution, and an (n+1)th row means there was
// more. Other statements (SHOW, DESCRIBE, EXPLAIN) run as written, and so do
// SELECTs with a top-level SETTINGS or FORMAT clause: inside a subquery the
// engine (26.7) accepts SETTINGS that readonly=1 refuses at the top, and the
// wrapper must not change what the engine allows.
func Query(ctx context.Context, wh warehouse.Warehouse, sql string, lim warehouse.Limits) (*warehouse.Result, bool, error) {
	stmt := Trim(sql)
	if stmt == "" {
		return nil, false, ErrEmpty
	}
	if lim.MaxRows <= 0 {
		res, err := wh.QueryReadOnly(ctx, stmt, lim)
		return res, false, err
	}
	probe := lim
	probe.MaxRows = lim.MaxRows + 1
	run := stmt
	if wrappable(stmt) {
		// The newline keeps a trailing "-- comment" from swallowing the parenthesis.
		run = fmt.Sprintf("SELECT * FROM (\n%s\n) LIMIT %d", stmt, probe.MaxRows)
	}
	res, err := wh.QueryReadOnly(ctx, run, probe)
	if err != nil && run != stmt && warehouse.Code(err) == codeSyntaxError {
		// Either the statement is wrong, and the error should point into the
		// engineer's text rather than the wrapper, or it cannot be a subquery
		// (a trailing FORMAT clause…): run it as written.
		res, err = wh.QueryReadOnly(ctx, stmt, probe)
	}
	if err != nil {
		return nil, false, err
	}
	if len(res.Rows) > lim.MaxRows {
		res.Rows = res.Rows[:lim.MaxRows]
		return res, true, nil
	}
	return res, false, nil
}

// codeSyntaxError is ClickHouse's SYNTAX_ERROR.
const codeSyntaxError = 62

// ErrEmpty is returned for a text without a statement.
var ErrEmpty = errors.New("no SQL statement given")

// Trim drops whitespace, comments and semicolons after the last
// token, so a statement copied from a .sql file ("…;\n-- end") runs as one.
func Trim(sql string) string {
	end := 0 // byte offset just after the last significant token
	scanSQL(sql, func(start, stop int, tok byte) {
		if tok != ';' {
			end = stop
		}
	})
	return strings.TrimSpace(sql[:end])
}

// wrappable reports whether stmt can run as "SELECT * FROM (stmt)" with the
// same meaning: a SELECT (or WITH … SELECT) without a top-level SETTINGS,
// FORMAT or INTO OUTFILE clause.
func wrappable(stmt string) bool {
	if !isSelect(stmt) {
		return false
	}
	depth, ok := 0, true
	scanSQL(stmt, func(start, stop int, tok byte) {
		switch tok {
		case '(':
			depth++
		case ')':
			depth--
		default:
			if depth == 0 {
				switch strings.ToUpper(stmt[start:stop]) {
				case "SETTINGS", "FORMAT", "INTO":
					ok = false
				}
			}
		}
	})
	return ok
}

// isSelect reports whether the statement's first keyword is SELECT or WITH
// (or it opens with a parenthesis), i.e. whether it can be a subquery.
func isSelect(sql string) bool {
	first := ""
	scanSQL(sql, func(start, stop int, tok byte) {
		if first == "" {
			first = sql[start:stop]
		}
	})
	if first == "(" {
		return true
	}
	w := strings.ToUpper(first)
	return w == "SELECT" || w == "WITH"
}

// scanSQL calls fn for each significant token of ClickHouse SQL, skipping
// whitespace and comments (--, #, /* */). Quoted strings and identifiers are
// one token each; tok is the token's first byte. It is a scanner for finding
// statement boundaries, not a parser.
func scanSQL(s string, fn func(start, stop int, tok byte)) {
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '-' && strings.HasPrefix(s[i:], "--"), c == '#':
			j := strings.IndexByte(s[i:], '\n')
			if j < 0 {
				return
			}
			i += j + 1
		case c == '/' && strings.HasPrefix(s[i:], "/*"):
			j := strings.Index(s[i+2:], "*/")
			if j < 0 {
				return
			}
			i += 2 + j + 2
		case c == '\'' || c == '"' || c == '`':
			j := i + 1
			for j < len(s) && s[j] != c {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			stop := min(j+1, len(s))
			fn(i, stop, c)
			i = stop
		case isWordByte(c):
			j := i + 1
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			fn(i, j, c)
			i = j
		default:
			fn(i, i+1, c)
			i++
		}
	}
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}
