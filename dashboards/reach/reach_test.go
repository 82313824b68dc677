package reach

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vigie-fr/vigie/internal/warehouse"
)

func TestLocalURL(t *testing.T) {
	for listen, want := range map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080",
		":8080":          "http://127.0.0.1:8080",
		"0.0.0.0:9000":   "http://127.0.0.1:9000",
		"[::]:8080":      "http://[::1]:8080",
		"vigie.lan:80":   "http://vigie.lan:80",
	} {
		if got := LocalURL(listen); got != want {
			t.Errorf("LocalURL(%q) = %q, want %q", listen, got, want)
		}
	}
}

// vigie answers /healthz like a running server; other answers 404 to
// everything, like a port held by something else.
func servers(t *testing.T) (vigie, other, closed string) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	up := httptest.NewServer(mux)
	t.Cleanup(up.Close)
	nf := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(nf.Close)
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	return up.URL, nf.URL, gone.URL
}

func TestServerUp(t *testing.T) {
	vigie, other, closed := servers(t)
	for _, tc := range []struct {
		name, base string
		want       bool
	}{
		{"a server whose /healthz answers 200 is up", vigie, true},
		{"a server answering 404 is not Vigie", other, false},
		{"nothing listening is down", closed, false},
		{"a URL that does not parse is down", "http://[::1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ServerUp(t.Context(), nil, tc.base); got != tc.want {
				t.Errorf("ServerUp(%s) = %v, want %v", tc.base, got, tc.want)
			}
		})
	}
}

// fake is a warehouse that only counts its closing; nothing else is called.
type fake struct {
	warehouse.Warehouse
	closed int
}

func (f *fake) Close() error { f.closed++; return nil }

func TestWarehouse(t *testing.T) {
	vigie, other, _ := servers(t)
	tests := []struct {
		name       string
		serverURL  string
		wantRemote bool
	}{
		{"a running server is asked", vigie, true},
		{"without a server the warehouse is opened here and closed", other, false},
		{"no server URL opens the warehouse here", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wh := &fake{}
			var remoteBase string
			var localWH warehouse.Warehouse
			opened := 0
			o := Options{ServerURL: tt.serverURL, OpenLocal: func(context.Context) (warehouse.Warehouse, error) {
				opened++
				return wh, nil
			}}
			err := Warehouse(t.Context(), o,
				func(_ context.Context, base string) error { remoteBase = base; return nil },
				func(_ context.Context, w warehouse.Warehouse) error { localWH = w; return nil })
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantRemote {
				if remoteBase != tt.serverURL || opened != 0 || localWH != nil {
					t.Errorf("remote base %q (want %q), opened %d, local %v: want the server only", remoteBase, tt.serverURL, opened, localWH)
				}
				return
			}
			if remoteBase != "" || opened != 1 || localWH != wh || wh.closed != 1 {
				t.Errorf("remote base %q, opened %d, local got the opened warehouse: %v, closed %d: want one local open and close",
					remoteBase, opened, localWH == wh, wh.closed)
			}
		})
	}
}

func TestWarehouseFailures(t *testing.T) {
	_, other, _ := servers(t)
	boom := errors.New("data dir is locked")
	t.Run("a failed open says no server answered and keeps the cause", func(t *testing.T) {
		err := Warehouse(t.Context(), Options{ServerURL: other, OpenLocal: func(context.Context) (warehouse.Warehouse, error) { return nil, boom }},
			nil, func(context.Context, warehouse.Warehouse) error { t.Fatal("local ran without a warehouse"); return nil })
		if !errors.Is(err, boom) || !strings.Contains(err.Error(), "no Vigie server answers at "+other) || !strings.Contains(err.Error(), "http.listen") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("no OpenLocal is an error, not a panic", func(t *testing.T) {
		err := Warehouse(t.Context(), Options{ServerURL: other}, nil, nil)
		if err == nil || !strings.Contains(err.Error(), "no local warehouse") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("local's error is returned and the warehouse still closed", func(t *testing.T) {
		wh := &fake{}
		err := Warehouse(t.Context(), Options{OpenLocal: func(context.Context) (warehouse.Warehouse, error) { return wh, nil }},
			nil, func(context.Context, warehouse.Warehouse) error { return boom })
		if !errors.Is(err, boom) || wh.closed != 1 {
			t.Errorf("error %v, closed %d; want %v and one close", err, wh.closed, boom)
		}
	})
}
