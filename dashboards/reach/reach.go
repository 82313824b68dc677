// Package reach is how a command on the operator's machine gets at the
// warehouse: through the running Vigie server when one answers (it owns the
// data dir, and chDB allows one process per data dir), else by opening the
// warehouse in the command's own process. `vigie query` and `vigie report`
// both decide here, the same way. It is not a client of any endpoint: what
// to ask the server is the caller's remote func.
package reach

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/vigie-fr/vigie/internal/warehouse"
)

// ProbeTimeout is how long Warehouse waits for GET /healthz before it
// decides that no server runs.
const ProbeTimeout = time.Second

// Options say where a server would answer and how to open the warehouse
// without one.
type Options struct {
	// ServerURL is where a running Vigie would answer, usually
	// LocalURL(http.listen); "" means do not look for a server.
	ServerURL string
	// HTTP probes the server; nil is http.DefaultClient.
	HTTP *http.Client
	// OpenLocal opens the warehouse in this process when no server
	// answers (commands pass app.OpenWarehouse). Warehouse closes what it
	// returns.
	OpenLocal func(ctx context.Context) (warehouse.Warehouse, error)
	// DataDir, when set, is the data dir the server must prove it owns
	// (Verify) before remote is called; a server that cannot is an error,
	// not a reason to open the warehouse here.
	DataDir string
}

// Warehouse runs remote with the server's base URL when GET
// ServerURL/healthz answers 2xx within ProbeTimeout; otherwise it opens the
// warehouse with OpenLocal, runs local on it and closes it.
func Warehouse(ctx context.Context, o Options,
	remote func(ctx context.Context, base string) error,
	local func(ctx context.Context, wh warehouse.Warehouse) error) (err error) {
	if o.ServerURL != "" && ServerUp(ctx, o.HTTP, o.ServerURL) {
		if o.DataDir != "" {
			if err := Verify(ctx, o.HTTP, o.ServerURL, o.DataDir); err != nil {
				return err
			}
		}
		return remote(ctx, o.ServerURL)
	}
	noServer := "no Vigie server answers at " + o.ServerURL
	if o.ServerURL == "" {
		noServer = "no Vigie server was given"
	}
	if o.OpenLocal == nil {
		return errors.New(noServer + " and no local warehouse was given")
	}
	wh, err := o.OpenLocal(ctx)
	if err != nil {
		return fmt.Errorf("%s, and opening the warehouse here failed "+
			"(if a server owns this data dir, check http.listen): %w", noServer, err)
	}
	defer func() {
		if cerr := wh.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close the warehouse: %w", cerr)
		}
	}()
	return local(ctx, wh)
}

// ServerUp reports whether GET base/healthz answers 2xx within
// ProbeTimeout; hc nil is http.DefaultClient.
func ServerUp(ctx context.Context, hc *http.Client, base string) bool {
	status, _, err := probe(ctx, hc, base+"/healthz")
	return err == nil && status >= 200 && status < 300
}

// probe GETs url within ProbeTimeout and returns the status and the first
// 256 bytes of the body; hc nil is http.DefaultClient.
func probe(ctx context.Context, hc *http.Client, url string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256))
	return resp.StatusCode, body, err
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
