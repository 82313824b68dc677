package sqlapi

import (
	"math"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/internal/warehouse"
)

// The client must give back exactly what QueryReadOnly gives in-process, so
// code reading a Result does not care which side of HTTP it is on.
func TestClientDecodesTheSameTypesAsTheTransport(t *testing.T) {
	db := needDB(t)
	lim := warehouse.Limits{Timeout: 10 * time.Second, MaxRows: 100, Database: testDatabase}
	srv := httptest.NewServer(NewHandler(db, testToken, lim, nil))
	defer srv.Close()
	c := &Client{BaseURL: srv.URL, Token: testToken}

	tests := []struct {
		name string
		sql  string
	}{
		{"integers keep all 64 bits, signed and unsigned", "SELECT toUInt64(18446744073709551615) AS u, toInt64(-9223372036854775808) AS i, toUInt16(503) AS s"},
		{"floats keep NaN and infinities", "SELECT 0.25 AS f, 0/0 AS nan, 1/0 AS inf, -1/0 AS ninf, toFloat32(1.5) AS f32"},
		{"times come back in UTC with their precision", "SELECT toDateTime64('2021-04-06 08:30:00.123', 3, 'UTC') AS ts, toDateTime('2021-04-06 10:00:00', 'Europe/Paris') AS local, toDate('2021-04-06') AS d"},
		{"NULL, strings and booleans", "SELECT CAST(NULL AS Nullable(Float32)) AS missing, 'Île-de-France' AS name, true AS b, toLowCardinality('ent-11') AS lc"},
		{"arrays and maps keep their element types", "SELECT [1, 2, 3]::Array(UInt64) AS a, map(200, 10, 503, 2)::Map(UInt16, UInt64) AS status, [[0.5], []]::Array(Array(Float64)) AS nested, map('a', [toDateTime('2021-04-06 08:00:00', 'UTC')]) AS m"},
		{"quantiles read from the finalized form", "SELECT quantilesExactWeighted(0.5, 0.95)(x, w) AS q FROM values('x Float64, w UInt64', (100, 3), (2000, 1))"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := db.QueryReadOnly(t.Context(), tt.sql, lim)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Query(t.Context(), tt.sql)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Columns, want.Columns) || !sameRows(got.Rows, want.Rows) {
				t.Fatalf("over HTTP:\n%#v\n%#v\nin process:\n%#v\n%#v", got.Columns, got.Rows, want.Columns, want.Rows)
			}
		})
	}
}

// sameRows is reflect.DeepEqual with NaN equal to NaN.
func sameRows(a, b [][]any) bool {
	norm := func(rows [][]any) [][]any {
		out := make([][]any, len(rows))
		for i, r := range rows {
			out[i] = make([]any, len(r))
			for j, v := range r {
				if f, ok := v.(float64); ok && math.IsNaN(f) {
					v = "NaN"
				}
				out[i][j] = v
			}
		}
		return out
	}
	return reflect.DeepEqual(norm(a), norm(b))
}
