package web_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vigie-fr/vigie/dashboards/web"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/store/storetest"
	"github.com/vigie-fr/vigie/internal/warehouse"
)

// A warehouse that fails answers 504 when it ran out of time and 500
// otherwise, on every route, and never shows the engine's message (it may
// name tables, paths or settings).
func TestWarehouseFailuresAreGatewayTimeoutsOrServerErrors(t *testing.T) {
	secret := "Code: 60. DB::Exception: Table vigie_secret.agg_hour does not exist"
	for _, tc := range []struct {
		name string
		err  error
		code int
	}{
		{"a timeout", fmt.Errorf("load: %w", &warehouse.Error{Code: warehouse.CodeTimeout, Err: errors.New(secret)}), http.StatusGatewayTimeout},
		{"any other failure", fmt.Errorf("load: %w", errors.New(secret)), http.StatusInternalServerError},
	} {
		mux := http.NewServeMux()
		web.New(&storetest.Fake{Err: tc.err}, config.Default().Incidents, nil).Register(mux)
		srv := httptest.NewServer(mux)
		for _, path := range []string{"/api/v1/availability?" + morning, "/api/v1/incidents?" + morning, "/api/v1/range", "/api/v1/report?" + morning} {
			t.Run(tc.name+" on "+path, func(t *testing.T) {
				resp, err := http.Get(srv.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != tc.code {
					t.Errorf("status %d, want %d", resp.StatusCode, tc.code)
				}
				if strings.Contains(string(body), "vigie_secret") {
					t.Errorf("answer shows the engine's message: %s", body)
				}
			})
		}
		srv.Close()
	}
}
