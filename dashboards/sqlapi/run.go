package sqlapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/vigie-fr/vigie/dashboards/reach"
	"github.com/vigie-fr/vigie/internal/sandbox"
	"github.com/vigie-fr/vigie/internal/warehouse"
)

// RunOptions is what `vigie query` passes to Run; the command's flags map
// onto it one to one.
type RunOptions struct {
	SQL    string // the statement given as an argument; "" reads File, else Stdin
	File   string // -f: a file holding the statement; "-" means stdin
	Stdin  io.Reader
	Stdout io.Writer // the result, in Format
	Stderr io.Writer // notes: truncation, where the query ran
	Format string    // one of Formats; "" is "table"

	// ServerURL is where a running Vigie answers (reach.LocalURL(http.listen)).
	// When GET ServerURL/healthz answers 2xx, the query goes there.
	ServerURL string
	// Token is http.sql_token; "" reads <DataDir>/sql.token.
	Token   string
	DataDir string
	HTTP    *http.Client // nil: http.DefaultClient

	// Limits bound a local query (a server applies its own).
	Limits warehouse.Limits
	// OpenLocal opens the warehouse in this process, used when no server
	// answers. Run closes what it returns.
	OpenLocal func(ctx context.Context) (warehouse.Warehouse, error)
}

// Run is `vigie query`: read one statement, run it read-only on the running
// server when there is one (the server owns the data dir: chDB allows one
// process per data dir), else on the warehouse opened locally, and print the
// result. A cut result prints a note on Stderr.
func Run(ctx context.Context, opts RunOptions) error {
	sql, err := readStatement(opts)
	if err != nil {
		return err
	}
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Stderr == nil {
		opts.Stderr = io.Discard
	}
	if opts.Format == "" {
		opts.Format = "table"
	}
	if !validFormat(opts.Format) {
		return Write(io.Discard, nil, opts.Format) // the error names the formats
	}
	var a *Answer
	via := reach.Options{ServerURL: opts.ServerURL, HTTP: opts.HTTP, OpenLocal: opts.OpenLocal, DataDir: opts.DataDir}
	err = reach.Warehouse(ctx, via, func(ctx context.Context, base string) error {
		tok := opts.Token
		if tok == "" {
			var err error
			if tok, err = ReadToken(opts.DataDir); err != nil {
				return fmt.Errorf("a Vigie server answers at %s but %w (set http.sql_token, or run on the server's machine with its data_dir)", base, err)
			}
		}
		c := &Client{BaseURL: base, Token: tok, HTTP: opts.HTTP}
		var err error
		a, err = c.QueryAnswer(ctx, sql)
		return err
	}, func(ctx context.Context, wh warehouse.Warehouse) error {
		start := time.Now()
		res, truncated, err := sandbox.Query(ctx, wh, sql, opts.Limits)
		if err != nil {
			return err
		}
		a = &Answer{Result: res, Truncated: truncated, MaxRows: opts.Limits.MaxRows, Elapsed: time.Since(start)}
		return nil
	})
	if err != nil {
		// The engine's message may quote data: shown to a terminal, it must
		// not carry escape sequences either.
		return visibleError{err}
	}
	if err := Write(opts.Stdout, a.Result, opts.Format); err != nil {
		return err
	}
	if a.Truncated {
		fmt.Fprintf(opts.Stderr, "vigie query: the result was cut to its first %d rows (warehouse.query.max_rows); add a LIMIT or aggregate more\n", a.MaxRows)
	}
	return nil
}

func readStatement(opts RunOptions) (string, error) {
	var sql string
	switch {
	case opts.SQL != "" && opts.File != "":
		return "", errors.New("give the SQL as an argument or with -f, not both")
	case opts.SQL != "":
		sql = opts.SQL
	case opts.File != "" && opts.File != "-":
		b, err := os.ReadFile(opts.File)
		if err != nil {
			return "", fmt.Errorf("read SQL: %w", err)
		}
		sql = string(b)
	default:
		in := opts.Stdin
		if in == nil {
			in = os.Stdin
		}
		b, err := io.ReadAll(io.LimitReader(in, MaxSQLBytes+1))
		if err != nil {
			return "", fmt.Errorf("read SQL from stdin: %w", err)
		}
		sql = string(b)
	}
	if len(sql) > MaxSQLBytes {
		return "", errors.New("SQL text is larger than 1 MiB")
	}
	if strings.TrimSpace(sql) == "" {
		return "", sandbox.ErrEmpty
	}
	return sql, nil
}

func validFormat(f string) bool {
	for _, x := range Formats {
		if f == x {
			return true
		}
	}
	return false
}

// visibleError is err with its text passed through Visible; errors.Is and
// errors.As still see err.
type visibleError struct{ err error }

func (e visibleError) Error() string { return Visible(e.err.Error()) }
func (e visibleError) Unwrap() error { return e.err }
