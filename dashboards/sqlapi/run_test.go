package sqlapi

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/dashboards/reach"
	"github.com/vigie-fr/vigie/internal/warehouse"
)

// borrowed lends the shared engine to Run, which closes what it opens.
type borrowed struct{ warehouse.Warehouse }

func (borrowed) Close() error { return nil }

func TestRun(t *testing.T) {
	db := needDB(t)
	dataDir := t.TempDir()
	tok, err := LoadOrCreateToken(dataDir, "")
	if err != nil {
		t.Fatal(err)
	}
	lim := warehouse.Limits{Timeout: 10 * time.Second, MaxRows: 2, Database: testDatabase}
	mux := http.NewServeMux()
	mux.Handle(Path, NewHandler(db, tok, lim, nil))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	nonce, err := reach.WriteNonce(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle(reach.ProofPath, reach.ProofHandler(nonce, srv.URL))
	down := httptest.NewServer(http.NotFoundHandler()) // something answers, but not Vigie
	defer down.Close()
	// An impostor answers /healthz and records what it is sent.
	var impostorSaw strings.Builder
	impostor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(&impostorSaw, "%s %s %s\n", r.Method, r.URL, r.Header.Get("Authorization"))
		w.Write([]byte("ok"))
	}))
	defer impostor.Close()
	// A relay on another port forwards everything to the real server.
	relay := httptest.NewServer(httputil.NewSingleHostReverseProxy(mustURL(t, srv.URL)))
	defer relay.Close()

	sqlFile := filepath.Join(t.TempDir(), "q.sql")
	os.WriteFile(sqlFile, []byte("-- the two largest regions\nSELECT code, pupils FROM sqlapi_test.regions ORDER BY pupils DESC LIMIT 2;\n"), 0o644)

	const twoLargest = "code,pupils\r\n11,2500000\r\n32,1200000\r\n"
	tests := []struct {
		name      string
		opts      RunOptions
		local     bool // want the local warehouse opened
		stdout    string
		stderrHas string
	}{
		{"the server answers when its /healthz does", RunOptions{File: sqlFile, ServerURL: srv.URL}, false, twoLargest, ""},
		{"stdin is read when no argument or file is given", RunOptions{Stdin: strings.NewReader("SELECT code, pupils FROM sqlapi_test.regions ORDER BY pupils DESC LIMIT 2"), ServerURL: srv.URL}, false, twoLargest, ""},
		{"the local warehouse is used when no server answers", RunOptions{File: sqlFile, ServerURL: down.URL}, true, twoLargest, ""},
		{"a cut result from the server says so on stderr", RunOptions{SQL: "SELECT code FROM sqlapi_test.regions ORDER BY code", ServerURL: srv.URL}, false, "code\r\n11\r\n32\r\n", "cut to its first 2 rows"},
		{"a cut local result says so on stderr", RunOptions{SQL: "SELECT code FROM sqlapi_test.regions ORDER BY code", ServerURL: ""}, true, "code\r\n11\r\n32\r\n", "cut to its first 2 rows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut strings.Builder
			opened := false
			o := tt.opts
			o.Stdout, o.Stderr, o.Format, o.DataDir, o.Limits = &out, &errOut, "csv", dataDir, lim
			o.OpenLocal = func(context.Context) (warehouse.Warehouse, error) {
				opened = true
				return borrowed{db}, nil
			}
			if err := Run(t.Context(), o); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.stdout || opened != tt.local || !strings.Contains(errOut.String(), tt.stderrHas) {
				t.Fatalf("stdout %q (want %q), local %v (want %v), stderr %q (want %q)", out.String(), tt.stdout, opened, tt.local, errOut.String(), tt.stderrHas)
			}
		})
	}

	failures := []struct {
		name string
		opts RunOptions
		has  string
	}{
		{"a write through the server is refused", RunOptions{SQL: "DROP TABLE sqlapi_test.regions", ServerURL: srv.URL, DataDir: dataDir}, "Drop statements are not allowed"},
		{"a server is not trusted without the data dir's nonce", RunOptions{SQL: "SELECT 1", ServerURL: srv.URL, DataDir: t.TempDir()}, "server.nonce"},
		{"an impostor on the port gets no token", RunOptions{SQL: "SELECT 1", ServerURL: impostor.URL, DataDir: dataDir}, "not the Vigie server of this data dir"},
		{"a relay to the real server on another port gets no token", RunOptions{SQL: "SELECT 1", ServerURL: relay.URL, DataDir: dataDir}, "gave no valid proof"},
		{"an argument and a file together are refused", RunOptions{SQL: "SELECT 1", File: sqlFile}, "not both"},
		{"empty SQL is refused", RunOptions{Stdin: strings.NewReader("  \n\t")}, "no SQL statement"},
		{"an unknown format is refused before running", RunOptions{SQL: "SELECT 1", Format: "xml"}, "table, csv, json, ndjson"},
	}
	for _, tt := range failures {
		t.Run(tt.name, func(t *testing.T) {
			err := Run(t.Context(), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.has) {
				t.Fatalf("got %v, want an error containing %q", err, tt.has)
			}
		})
	}
	t.Run("an error quoting data shows its escape codes as text", func(t *testing.T) {
		// The message is built from data (char(27)): the engine's error
		// holds a real escape character, which must not reach the terminal.
		for _, server := range []string{srv.URL, ""} {
			err := Run(t.Context(), RunOptions{SQL: "SELECT throwIf(1, concat('evil ', char(27), '[2J here'))", ServerURL: server, DataDir: dataDir,
				Stdout: io.Discard, Limits: lim, OpenLocal: func(context.Context) (warehouse.Warehouse, error) { return borrowed{db}, nil }})
			if err == nil || strings.ContainsRune(err.Error(), 0x1b) || !strings.Contains(err.Error(), `evil \x1b[2J here`) {
				t.Fatalf("server %q: got %q, want the escape shown as \\x1b", server, err)
			}
		}
	})
	if strings.Contains(impostorSaw.String(), tok) || strings.Contains(impostorSaw.String(), "POST") {
		t.Fatalf("the impostor was sent the query or the token:\n%s", impostorSaw.String())
	}
	if !strings.Contains(impostorSaw.String(), "GET /api/v1/proof?challenge=") {
		t.Fatalf("the impostor was not challenged:\n%s", impostorSaw.String())
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
