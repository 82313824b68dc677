package sqlapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/internal/warehouse"
)

const testToken = "0123456789abcdef0123456789abcdef-test-token"

func TestHandler(t *testing.T) {
	db := needDB(t)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := httptest.NewServer(NewHandler(db, testToken, warehouse.Limits{Timeout: 10 * time.Second, MaxRows: 2, Database: testDatabase}, log))
	defer srv.Close()

	type want struct {
		status    int
		rows      string // JSON of "rows", when status is 200
		truncated bool
		errHas    string // part of "error", when status is not 200
	}
	tests := []struct {
		name   string
		method string
		ctype  string
		auth   string
		body   string
		want   want
	}{
		{"a SELECT answers its columns and rows", "POST", "text/plain", "Bearer " + testToken,
			"SELECT code, pupils FROM sqlapi_test.regions WHERE code IN ('11', '76') ORDER BY code",
			want{status: 200, rows: `[["11",2500000],["76",1000000]]`}},
		{"a JSON body carries the SQL", "POST", "application/json", "Bearer " + testToken,
			`{"sql": "SELECT name FROM sqlapi_test.regions WHERE code = '11'"}`,
			want{status: 200, rows: `[["Île-de-France"]]`}},
		{"a statement copied from a .sql file with comments and a semicolon runs", "POST", "", "Bearer " + testToken,
			"-- which region is largest?\nSELECT code FROM sqlapi_test.regions ORDER BY pupils DESC LIMIT 1; -- done\n",
			want{status: 200, rows: `[["11"]]`}},
		{"a result longer than max_rows is cut and flagged", "POST", "", "Bearer " + testToken,
			"SELECT code FROM sqlapi_test.regions ORDER BY code DESC",
			want{status: 200, rows: `[["76"],["32"]]`, truncated: true}},
		{"a result of exactly max_rows is not flagged", "POST", "", "Bearer " + testToken,
			"SELECT code FROM sqlapi_test.regions WHERE code != '11' ORDER BY code",
			want{status: 200, rows: `[["32"],["76"]]`}},
		{"CREATE TABLE is refused", "POST", "", "Bearer " + testToken,
			"CREATE TABLE sqlapi_test.evil (a UInt8) ENGINE = Memory",
			want{status: 403, errHas: "Create statements are not allowed"}},
		{"INSERT is refused", "POST", "", "Bearer " + testToken,
			"INSERT INTO sqlapi_test.regions VALUES ('01', 'Guadeloupe', 1)",
			want{status: 403, errHas: "Insert statements are not allowed"}},
		{"a query cannot lift its own limits with SETTINGS", "POST", "", "Bearer " + testToken,
			"SELECT number FROM numbers(10) SETTINGS max_result_rows = 0",
			want{status: 403, errHas: "SETTINGS is not allowed"}},
		{"a syntax error is a bad request with the engine's message", "POST", "", "Bearer " + testToken,
			"SELEC 1", want{status: 400, errHas: "Syntax error: failed at position 7"}},
		{"an unknown table is a bad request", "POST", "", "Bearer " + testToken,
			"SELECT * FROM sqlapi_test.nope", want{status: 400, errHas: "UNKNOWN_TABLE"}},
		{"an empty body is a bad request", "POST", "", "Bearer " + testToken,
			" -- nothing\n", want{status: 400, errHas: "no SQL statement"}},
		{"no token is unauthorized", "POST", "", "", "SELECT 1",
			want{status: 401, errHas: "bearer token"}},
		{"a wrong token is unauthorized", "POST", "", "Bearer " + strings.ToUpper(testToken), "SELECT 1",
			want{status: 401, errHas: "bearer token"}},
		{"the token in another scheme is unauthorized", "POST", "", "Basic " + testToken, "SELECT 1",
			want{status: 401, errHas: "bearer token"}},
		{"GET is not allowed", "GET", "", "Bearer " + testToken, "",
			want{status: 405, errHas: "POST"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+Path, strings.NewReader(tt.body))
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.want.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.want.status, body)
			}
			if tt.want.status != 200 {
				var e wireError
				if err := json.Unmarshal(body, &e); err != nil || !strings.Contains(e.Error, tt.want.errHas) {
					t.Fatalf("error body %s, want one containing %q", body, tt.want.errHas)
				}
				return
			}
			var got struct {
				Columns   []warehouse.Column `json:"columns"`
				Rows      json.RawMessage    `json:"rows"`
				Truncated bool               `json:"truncated"`
				MaxRows   int                `json:"max_rows"`
				ElapsedMS *float64           `json:"elapsed_ms"`
			}
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			if string(got.Rows) != tt.want.rows || got.Truncated != tt.want.truncated || got.MaxRows != 2 || got.ElapsedMS == nil {
				t.Fatalf("got %s, want rows %s truncated %v max_rows 2 and elapsed_ms", body, tt.want.rows, tt.want.truncated)
			}
		})
	}
	t.Run("the columns carry names and ClickHouse types", func(t *testing.T) {
		a, err := (&Client{BaseURL: srv.URL, Token: testToken}).QueryAnswer(t.Context(), "SELECT code, pupils FROM sqlapi_test.regions LIMIT 1")
		if err != nil {
			t.Fatal(err)
		}
		want := []warehouse.Column{{Name: "code", Type: "String"}, {Name: "pupils", Type: "UInt32"}}
		if len(a.Result.Columns) != 2 || a.Result.Columns[0] != want[0] || a.Result.Columns[1] != want[1] {
			t.Fatalf("columns %v, want %v", a.Result.Columns, want)
		}
	})
	if strings.Contains(logs.String(), testToken) || strings.Contains(logs.String(), strings.ToUpper(testToken)) {
		t.Fatalf("a token was logged:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "unauthorized") {
		t.Fatalf("refused requests were not logged:\n%s", logs.String())
	}
}

func TestHandlerTimeout(t *testing.T) {
	db := needDB(t)
	srv := httptest.NewServer(NewHandler(db, testToken, warehouse.Limits{Timeout: 200 * time.Millisecond, MaxRows: 10, Database: testDatabase}, nil))
	defer srv.Close()
	c := &Client{BaseURL: srv.URL, Token: testToken}
	_, err := c.Query(t.Context(), "SELECT sum(cityHash64(number)) FROM numbers(100000000000)")
	var e *Error
	if !errors.As(err, &e) || e.Status != http.StatusGatewayTimeout || !errors.Is(err, warehouse.ErrTimeout) {
		t.Fatalf("got %v, want a 504 matching warehouse.ErrTimeout", err)
	}
}

func TestHandlerWithoutConfiguredTokenRefusesEveryone(t *testing.T) {
	db := needDB(t)
	srv := httptest.NewServer(NewHandler(db, "", warehouse.Limits{MaxRows: 10}, nil))
	defer srv.Close()
	for _, tok := range []string{"", "anything"} {
		_, err := (&Client{BaseURL: srv.URL, Token: tok}).Query(t.Context(), "SELECT 1")
		if !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("token %q: got %v, want ErrUnauthorized", tok, err)
		}
	}
}
