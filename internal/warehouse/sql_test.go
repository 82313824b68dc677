package warehouse

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"
)

func TestRenderSettingsQuotesAndSorts(t *testing.T) {
	got, err := RenderSettings(Settings{
		"insert_deduplication_token": "p0:1-2' OR 1", "async_insert": 0, "wait": true,
		"max_execution_time": 1500 * time.Millisecond, "ratio": 0.25, "path": `a\b`,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `async_insert=0, insert_deduplication_token='p0:1-2\' OR 1', max_execution_time=1.5, path='a\\b', ratio=0.25, wait=1`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestRenderSettingsRefusesUnsafeInput(t *testing.T) {
	for name, s := range map[string]Settings{
		"a name with SQL in it is refused":      {"a=1, readonly": 0},
		"a value of an unknown type is refused": {"a": []int{1}},
		"NaN is refused":                        {"a": nanValue()},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := RenderSettings(s); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func nanValue() float64 { z := 0.0; return z / z }

func TestErrorMatchesTheSentinelOfItsCode(t *testing.T) {
	for _, tc := range []struct {
		code int
		want error
	}{{164, ErrReadOnly}, {159, ErrTimeout}, {396, ErrTooManyRows}} {
		t.Run(fmt.Sprintf("code %d is %v", tc.code, tc.want), func(t *testing.T) {
			err := fmt.Errorf("query: %w", &Error{Code: tc.code, Err: errors.New("engine said no")})
			if !errors.Is(err, tc.want) || Code(err) != tc.code {
				t.Fatalf("errors.Is(%v, %v) is false or code %d", err, tc.want, Code(err))
			}
			if errors.Is(&Error{Code: 1, Err: err}, ErrReadOnly) && tc.want != ErrReadOnly {
				t.Fatal("wrong sentinel")
			}
		})
	}
}

func TestInsertPrefixChecksNames(t *testing.T) {
	b := &Batch{Table: "vigie.events", Columns: []string{"id", "ts"}, Rows: [][]any{{"a", time.Time{}}}}
	if got, err := b.InsertPrefix(); err != nil || got != "INSERT INTO vigie.events (id, ts)" {
		t.Fatalf("got %q, %v", got, err)
	}
	for name, bad := range map[string]*Batch{
		"a table name with SQL is refused":  {Table: "vigie.events; DROP", Columns: []string{"id"}},
		"a column name with SQL is refused": {Table: "t", Columns: []string{"id) SELECT"}},
		"a short row is refused":            {Table: "t", Columns: []string{"a", "b"}, Rows: [][]any{{1}}},
		"no columns is refused":             {Table: "t"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := bad.InsertPrefix(); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestParseTypeReadsNestedTypes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Type
	}{
		{"UInt64", Type{Name: "UInt64"}},
		{"DateTime64(3, 'UTC')", Type{Name: "DateTime64", Params: []Type{{Name: "3"}, {Name: "'UTC'"}}}},
		{"Map(LowCardinality(String), Array(Nullable(Float64)))", Type{Name: "Map", Params: []Type{
			{Name: "LowCardinality", Params: []Type{{Name: "String"}}},
			{Name: "Array", Params: []Type{{Name: "Nullable", Params: []Type{{Name: "Float64"}}}}}}}},
		{"Tuple(x UInt8, s String)", Type{Name: "Tuple", Params: []Type{{Name: "UInt8", Field: "x"}, {Name: "String", Field: "s"}}}},
		{"Enum8('a,b' = 1, 'c)' = 2)", Type{Name: "Enum8", Params: []Type{{Name: "'a,b' = 1"}, {Name: "'c)' = 2"}}}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := ParseType(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
