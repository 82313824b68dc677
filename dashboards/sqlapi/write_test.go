package sqlapi

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/internal/warehouse"
)

func sampleResult() *warehouse.Result {
	ts := time.Date(2021, 4, 6, 8, 30, 0, 0, time.UTC)
	return &warehouse.Result{
		Columns: []warehouse.Column{
			{Name: "bucket", Type: "DateTime('UTC')"},
			{Name: "region", Type: "LowCardinality(String)"},
			{Name: "errors", Type: "UInt64"},
			{Name: "availability", Type: "Nullable(Float64)"},
			{Name: "status_counts", Type: "Map(UInt16, UInt64)"},
		},
		Rows: [][]any{
			{ts, "11", uint64(1520), 0.25, map[string]any{"503": uint64(1520), "200": uint64(507)}},
			{ts.Add(time.Minute), "Île-de-France, \"IDF\"", uint64(3), nil, map[string]any{}},
		},
	}
}

func TestWrite(t *testing.T) {
	tests := []struct {
		name   string
		format string
		res    *warehouse.Result
		want   string
	}{
		{"a table aligns columns, right-aligns numbers and shows NULL", "table", sampleResult(), "" +
			" bucket              | region               | errors | availability | status_counts\n" +
			"---------------------+----------------------+--------+--------------+--------------------\n" +
			" 2021-04-06 08:30:00 | 11                   |   1520 |         0.25 | {200:507,503:1520}\n" +
			" 2021-04-06 08:31:00 | Île-de-France, \"IDF\" |      3 |         NULL | {}\n" +
			"(2 rows)\n"},
		{"a table of one row says row", "table", &warehouse.Result{
			Columns: []warehouse.Column{{Name: "n", Type: "Float64"}}, Rows: [][]any{{math.NaN()}}},
			"   n\n-----\n nan\n(1 row)\n"},
		{"an empty table still has its header", "table", &warehouse.Result{
			Columns: []warehouse.Column{{Name: "region", Type: "String"}}},
			" region\n--------\n(0 rows)\n"},
		{"CSV quotes per RFC 4180 and leaves NULL empty", "csv", sampleResult(), "" +
			"bucket,region,errors,availability,status_counts\r\n" +
			"2021-04-06 08:30:00,11,1520,0.25,\"{200:507,503:1520}\"\r\n" +
			"2021-04-06 08:31:00,\"Île-de-France, \"\"IDF\"\"\",3,,{}\r\n"},
		{"JSON is an array of objects in column order", "json", sampleResult(), "[\n" +
			`{"bucket":"2021-04-06T08:30:00Z","region":"11","errors":1520,"availability":0.25,"status_counts":{"200":507,"503":1520}},` + "\n" +
			`{"bucket":"2021-04-06T08:31:00Z","region":"Île-de-France, \"IDF\"","errors":3,"availability":null,"status_counts":{}}` + "\n]\n"},
		{"NDJSON is one object per line", "ndjson", sampleResult(), "" +
			`{"bucket":"2021-04-06T08:30:00Z","region":"11","errors":1520,"availability":0.25,"status_counts":{"200":507,"503":1520}}` + "\n" +
			`{"bucket":"2021-04-06T08:31:00Z","region":"Île-de-France, \"IDF\"","errors":3,"availability":null,"status_counts":{}}` + "\n"},
		{"empty JSON is an empty array", "json", &warehouse.Result{}, "[]\n"},
		{"DateTime64 keeps its digits, arrays and strings in maps are quoted as in ClickHouse", "csv", &warehouse.Result{
			Columns: []warehouse.Column{{Name: "ts", Type: "DateTime64(3, 'UTC')"}, {Name: "a", Type: "Array(String)"}, {Name: "m", Type: "Map(String, Float64)"}},
			Rows:    [][]any{{time.Date(2021, 4, 6, 8, 0, 0, 5e6, time.UTC), []any{"a'b", "c"}, map[string]any{"p95": 1e20}}}},
			"ts,a,m\r\n2021-04-06 08:00:00.005,\"['a\\'b','c']\",{'p95':1e+20}\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := Write(&b, tt.res, tt.format); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Fatalf("got:\n%s\nwant:\n%s", b.String(), tt.want)
			}
		})
	}
	t.Run("an unknown format names the known ones", func(t *testing.T) {
		err := Write(&strings.Builder{}, sampleResult(), "xml")
		if err == nil || !strings.Contains(err.Error(), "table, csv, json, ndjson") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestOutputsFromDataCannotActOnTheReader(t *testing.T) {
	res := &warehouse.Result{
		Columns: []warehouse.Column{{Name: "service\x1b[2J", Type: "String"}, {Name: "delta", Type: "Int64"}},
		Rows: [][]any{
			{"=HYPERLINK(\"http://evil\",\"x\")", int64(-5)},
			{"\x1b[31mrouge\x1b[0m\r\u202eevil", int64(3)},
			{"+1", int64(0)},
			{"@SUM(A1)", int64(1)},
			{"ent-11", int64(2)},
		},
	}
	var csvOut, table strings.Builder
	if err := Write(&csvOut, res, "csv"); err != nil {
		t.Fatal(err)
	}
	wantCSV := "service\x1b[2J,delta\r\n" +
		"\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\",-5\r\n" +
		"\"\x1b[31mrouge\x1b[0m\u202eevil\",3\r\n" + // encoding/csv drops a lone \r in a quoted field
		"'+1,0\r\n" +
		"'@SUM(A1),1\r\n" +
		"ent-11,2\r\n"
	if csvOut.String() != wantCSV {
		t.Errorf("csv:\n%q\nwant\n%q", csvOut.String(), wantCSV)
	}
	if err := Write(&table, res, "table"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"\x1b", "\r", "\u202e"} {
		if strings.Contains(table.String(), bad) {
			t.Errorf("the table holds %q:\n%s", bad, table.String())
		}
	}
	if !strings.Contains(table.String(), `\x1b[31mrouge\x1b[0m\r\u202eevil`) || !strings.Contains(table.String(), `service\x1b[2J`) {
		t.Errorf("the table does not show the escapes:\n%s", table.String())
	}
}
