package chdb

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/internal/warehouse"
)

// Every type the binary encoder knows goes in through Insert and comes back
// exactly; the column order of the batch differs from the table's.
func TestRowBinaryInsertRoundTrip(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS rb",
		`CREATE TABLE rb.t (s String, lc LowCardinality(String), b Bool, u8 UInt8, u16 UInt16, u32 UInt32, u64 UInt64,
			i8 Int8, i32 Int32, i64 Int64, f32 Float32, f64 Float64, nf Nullable(Float32), ns Nullable(String),
			d Date, d32 Date32, dt DateTime('UTC'), dt3 DateTime64(3, 'UTC'), dt9 DateTime64(9, 'UTC'),
			au Array(UInt64), af Array(Float64), as Array(String), m Map(LowCardinality(String), String),
			mu Map(UInt16, UInt64), dflt UInt8 DEFAULT 7) ENGINE = MergeTree ORDER BY s`,
	} {
		if err := db.Exec(ctx, q, nil); err != nil {
			t.Fatal(err)
		}
	}
	f := float32(1.5)
	var nilF *float32
	ts := time.Date(2021, 4, 6, 8, 30, 15, 123456789, time.UTC)
	before := time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC)
	cols := []string{"m", "mu", "s", "lc", "b", "u8", "u16", "u32", "u64", "i8", "i32", "i64", "f32", "f64", "nf", "ns",
		"d", "d32", "dt", "dt3", "dt9", "au", "af", "as"}
	rows := [][]any{
		{map[string]string{"z": "last", "a": "first\x00zero"}, map[uint16]uint64{503: 2, 200: 9},
			"a", " space first", true, uint8(255), uint16(65535), uint32(4294967295), uint64(18446744073709551615),
			int8(-128), int32(-2147483648), int64(-9223372036854775808), float32(-0.25), 1e300, &f, "x",
			time.Date(2021, 4, 6, 0, 0, 0, 0, time.UTC), before.Add(time.Second), ts, ts, ts,
			[]uint64{1, 2}, []float64{0.5}, []string{"p", ""}},
		{map[string]string{}, map[uint16]uint64{}, "b", "", false, 0, 0, 0, 0, 127, 7, int64(42), float32(0), 0.0, nilF, nil,
			time.Date(2149, 6, 6, 0, 0, 0, 0, time.UTC), time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC),
			time.Unix(0, 0).UTC(), time.Unix(0, 0).UTC(), time.Unix(0, 0).UTC(), []uint64{}, []float64{}, []any{"q"}},
	}
	if err := db.Insert(ctx, &warehouse.Batch{Table: "rb.t", Columns: cols, Rows: rows}, nil); err != nil {
		t.Fatal(err)
	}
	res, err := db.Query(ctx, "SELECT "+strings.Join(cols, ", ")+", dflt FROM rb.t ORDER BY s", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]any{
		{map[string]any{"a": "first\x00zero", "z": "last"}, map[string]any{"200": uint64(9), "503": uint64(2)},
			"a", " space first", true, uint64(255), uint64(65535), uint64(4294967295), uint64(18446744073709551615),
			int64(-128), int64(-2147483648), int64(-9223372036854775808), -0.25, 1e300, 1.5, "x",
			time.Date(2021, 4, 6, 0, 0, 0, 0, time.UTC), time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
			time.Date(2021, 4, 6, 8, 30, 15, 0, time.UTC), time.Date(2021, 4, 6, 8, 30, 15, 123000000, time.UTC), ts,
			[]any{uint64(1), uint64(2)}, []any{0.5}, []any{"p", ""}, uint64(7)},
		{map[string]any{}, map[string]any{}, "b", "", false, uint64(0), uint64(0), uint64(0), uint64(0),
			int64(127), int64(7), int64(42), 0.0, 0.0, nil, nil,
			time.Date(2149, 6, 6, 0, 0, 0, 0, time.UTC), time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC),
			time.Unix(0, 0).UTC(), time.Unix(0, 0).UTC(), time.Unix(0, 0).UTC(), []any{}, []any{}, []any{"q"}, uint64(7)},
	}
	if !reflect.DeepEqual(res.Rows, want) {
		t.Fatalf("read back\n%#v\nwant\n%#v", res.Rows, want)
	}
}

// A value that does not fit its column is refused with the column's name,
// never truncated; NaN is refused as the text path refuses it.
func TestRowBinaryRefusesValuesThatDoNotFit(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	for _, q := range []string{"CREATE DATABASE IF NOT EXISTS rbr",
		"CREATE TABLE rbr.t (u UInt16, i Int8, f Float64, s String) ENGINE = MergeTree ORDER BY u"} {
		if err := db.Exec(ctx, q, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		row  []any
		want string
	}{
		{[]any{70000, int8(1), 1.0, "x"}, "value 0 (u UInt16): 70000 is out of range for UInt16"},
		{[]any{-1, int8(1), 1.0, "x"}, "value 0 (u UInt16): -1 is out of range for UInt16"},
		{[]any{1, 128, 1.0, "x"}, "value 1 (i Int8): 128 is out of range for Int8"},
		{[]any{1, int8(1), 1.0, 5}, "value 3 (s String): 5 (int) is not a value of this column"},
		{[]any{1, int8(1), 1.0, nil}, "value 3 (s String): <nil> (<nil>) is not a value of this column"},
	} {
		err := db.Insert(ctx, &warehouse.Batch{Table: "rbr.t", Columns: []string{"u", "i", "f", "s"}, Rows: [][]any{c.row}}, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("insert %v: %v, want an error with %q", c.row, err, c.want)
		}
	}
	res, err := db.Query(ctx, "SELECT count() FROM rbr.t", nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := res.Rows[0][0]; n != uint64(0) {
		t.Fatalf("the table holds %v rows after refused inserts, want 0", n)
	}
}

// A table re-created with other types under the same name: the first
// insert is refused by the engine (the header's types no longer match), and
// the retry reads the types again and succeeds. Nothing is ever misread.
func TestRowBinaryTypesChangedUnderTheProcess(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	exec := func(q string) {
		t.Helper()
		if err := db.Exec(ctx, q, nil); err != nil {
			t.Fatal(err)
		}
	}
	exec("CREATE DATABASE IF NOT EXISTS rbc")
	exec("CREATE TABLE rbc.t (k UInt32, v UInt32) ENGINE = MergeTree ORDER BY k")
	ins := func(v any) error {
		return db.Insert(ctx, &warehouse.Batch{Table: "rbc.t", Columns: []string{"k", "v"}, Rows: [][]any{{1, v}}}, nil)
	}
	if err := ins(5); err != nil {
		t.Fatal(err)
	}
	exec("DROP TABLE rbc.t SYNC")
	exec("CREATE TABLE rbc.t (k UInt32, v Int64) ENGINE = MergeTree ORDER BY k")
	if err := ins(6); err == nil {
		t.Fatal("an insert encoded for the old types was accepted")
	}
	if err := ins(-5); err != nil {
		t.Fatalf("retry after the types changed: %v", err)
	}
	res, err := db.Query(ctx, "SELECT k, v FROM rbc.t", nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := [][]any{{uint64(1), int64(-5)}}; !reflect.DeepEqual(res.Rows, want) {
		t.Fatalf("table holds %v, want %v", res.Rows, want)
	}
}

// A column type without a binary encoder sends the batch as JSON.
func TestInsertFallsBackToJSONForOtherTypes(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	for _, q := range []string{"CREATE DATABASE IF NOT EXISTS rbj",
		"CREATE TABLE rbj.t (k UInt32, d Decimal(10, 2)) ENGINE = MergeTree ORDER BY k"} {
		if err := db.Exec(ctx, q, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Insert(ctx, &warehouse.Batch{Table: "rbj.t", Columns: []string{"k", "d"}, Rows: [][]any{{1, "12.34"}}}, nil); err != nil {
		t.Fatal(err)
	}
	res, err := db.Query(ctx, "SELECT k, toString(d) FROM rbj.t", nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := [][]any{{uint64(1), "12.34"}}; !reflect.DeepEqual(res.Rows, want) {
		t.Fatalf("table holds %v, want %v", res.Rows, want)
	}
}

// The engine runs with the memory limits of docs/memory.md.
func TestEngineMemoryLimits(t *testing.T) {
	db := openTest(t)
	res, err := db.Query(context.Background(), "SELECT name, value FROM system.server_settings WHERE name IN "+
		"('max_server_memory_usage', 'mark_cache_size', 'index_mark_cache_size', 'primary_index_cache_size', 'uncompressed_cache_size') ORDER BY name", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]any{{"index_mark_cache_size", "33554432"}, {"mark_cache_size", "134217728"},
		{"max_server_memory_usage", "1073741824"}, {"primary_index_cache_size", "67108864"}, {"uncompressed_cache_size", "0"}}
	if !reflect.DeepEqual(res.Rows, want) {
		t.Fatalf("engine settings %v, want %v", res.Rows, want)
	}
}
