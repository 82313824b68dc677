package sqlapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

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

	// ServerURL is where a running Vigie answers (LocalURL(http.listen)).
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

// probeTimeout is how long Run waits for /healthz before querying locally.
const probeTimeout = time.Second

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
	if opts.ServerURL != "" && ServerUp(ctx, opts.HTTP, opts.ServerURL) {
		tok := opts.Token
		if tok == "" {
			if tok, err = ReadToken(opts.DataDir); err != nil {
				return fmt.Errorf("a Vigie server answers at %s but %w (set http.sql_token, or run on the server's machine with its data_dir)", opts.ServerURL, err)
			}
		}
		c := &Client{BaseURL: opts.ServerURL, Token: tok, HTTP: opts.HTTP}
		if a, err = c.QueryAnswer(ctx, sql); err != nil {
			return err
		}
	} else {
		if opts.OpenLocal == nil {
			return fmt.Errorf("no Vigie server answers at %s and no local warehouse was given", opts.ServerURL)
		}
		wh, err := opts.OpenLocal(ctx)
		if err != nil {
			return fmt.Errorf("no Vigie server answers at %s, and opening the warehouse here failed "+
				"(if a server owns this data dir, check http.listen): %w", opts.ServerURL, err)
		}
		defer wh.Close()
		start := time.Now()
		res, truncated, err := queryLimited(ctx, wh, sql, opts.Limits)
		if err != nil {
			return err
		}
		a = &Answer{Result: res, Truncated: truncated, MaxRows: opts.Limits.MaxRows, Elapsed: time.Since(start)}
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
	if trimStatement(sql) == "" {
		return "", errEmptySQL
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

// ServerUp reports whether GET base/healthz answers 2xx within probeTimeout.
func ServerUp(ctx context.Context, hc *http.Client, base string) bool {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
	if err != nil {
		return false
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 300
}

// LocalURL turns http.listen into the URL a client on the same machine
// dials: a wildcard host (":8080", "0.0.0.0:8080", "[::]:8080") becomes
// loopback.
func LocalURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port)
}
