package chdb

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigie-fr/vigie/internal/warehouse"
)

// Inserts go to the engine in RowBinaryWithNamesAndTypes, the binary row
// format ClickHouse reads natively: no number or time is printed and
// parsed again, no string escaped, no JSON built per value. The rows go
// through the engine's streaming insert (conn.insert), never as data after
// the SQL text, where chDB's client scans for comments and statement ends
// and cuts binary rows (tried: "Cannot read all data"). The measured
// difference is in docs/benchmarks.md. The header names each column and
// its type; the engine checks them against the table
// (input_format_with_types_use_header, on by default), so a type this
// transport remembered wrongly (a column changed since) is refused, never
// misread: the cache entry is then dropped and the caller's retry reads the
// types again.
//
// A column of a type the encoder does not know (Decimal, UUID, Enum, …)
// sends the whole batch in JSONCompactEachRow, as before.

// colEncoder appends one value of a column in RowBinary.
type colEncoder func(buf []byte, v any) ([]byte, error)

// columnTypes remembers each table's column types, read once from
// system.columns.
type columnTypes struct {
	mu     sync.Mutex
	tables map[string]map[string]string // table as in Batch.Table → column → type
}

func (ct *columnTypes) forget(table string) {
	ct.mu.Lock()
	delete(ct.tables, table)
	ct.mu.Unlock()
}

// lookup returns the types of b's columns, reading the table's columns
// from the engine when it does not know them all (the table is new to this
// process, or a migration added a column). ok is false when a column is
// still unknown: the engine will say what is wrong with the insert.
func (ct *columnTypes) lookup(ctx context.Context, db *DB, b *warehouse.Batch) (types []string, ok bool, err error) {
	ct.mu.Lock()
	known := ct.tables[b.Table]
	ct.mu.Unlock()
	if types, ok = pick(known, b.Columns); ok {
		return types, true, nil
	}
	database, table := "currentDatabase()", b.Table
	if i := strings.IndexByte(b.Table, '.'); i >= 0 {
		database, table = warehouse.QuoteString(b.Table[:i]), b.Table[i+1:]
	}
	out, err := db.runRW(ctx, "SELECT name, type FROM system.columns WHERE database = "+database+
		" AND table = "+warehouse.QuoteString(table), "TSVRaw")
	if err != nil {
		return nil, false, fmt.Errorf("column types of %s: %w", b.Table, err)
	}
	known = map[string]string{}
	for line := range strings.SplitSeq(strings.TrimSuffix(string(out), "\n"), "\n") {
		if name, typ, found := strings.Cut(line, "\t"); found {
			known[name] = typ
		}
	}
	ct.mu.Lock()
	if ct.tables == nil {
		ct.tables = map[string]map[string]string{}
	}
	ct.tables[b.Table] = known
	ct.mu.Unlock()
	types, ok = pick(known, b.Columns)
	return types, ok, nil
}

func pick(known map[string]string, columns []string) ([]string, bool) {
	if known == nil {
		return nil, false
	}
	types := make([]string, len(columns))
	for i, c := range columns {
		t, ok := known[c]
		if !ok {
			return nil, false
		}
		types[i] = t
	}
	return types, true
}

// encodeRowBinary appends b's rows in RowBinaryWithNamesAndTypes. ok is
// false when a column's type has no binary encoder here.
func encodeRowBinary(buf []byte, b *warehouse.Batch, types []string) (out []byte, ok bool, err error) {
	encs := make([]colEncoder, len(types))
	for i, t := range types {
		if encs[i], ok = encoderFor(warehouse.ParseType(t)); !ok {
			return buf, false, nil
		}
	}
	buf = binary.AppendUvarint(buf, uint64(len(b.Columns)))
	for _, c := range b.Columns {
		buf = appendString(buf, c)
	}
	for _, t := range types {
		buf = appendString(buf, t)
	}
	for r, row := range b.Rows {
		for i, v := range row {
			if buf, err = encs[i](buf, v); err != nil {
				return buf, true, fmt.Errorf("row %d: value %d (%s %s): %w", r, i, b.Columns[i], types[i], err)
			}
		}
	}
	return buf, true, nil
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

// encoderFor is the RowBinary encoder of type t; false when there is none.
func encoderFor(t warehouse.Type) (colEncoder, bool) {
	switch t.Name {
	case "LowCardinality": // the same bytes as its inner type in RowBinary
		if len(t.Params) == 1 {
			return encoderFor(t.Params[0])
		}
	case "Nullable":
		if len(t.Params) == 1 {
			if inner, ok := encoderFor(t.Params[0]); ok {
				return nullable(inner), true
			}
		}
	case "String":
		return encString, true
	case "Bool":
		return encBool, true
	case "UInt8", "UInt16", "UInt32", "UInt64":
		bits, _ := strconv.Atoi(t.Name[4:])
		return encUint(bits), true
	case "Int8", "Int16", "Int32", "Int64":
		bits, _ := strconv.Atoi(t.Name[3:])
		return encInt(bits), true
	case "Float32":
		return encFloat32, true
	case "Float64":
		return encFloat64, true
	case "Date":
		return encDate, true
	case "Date32":
		return encDate32, true
	case "DateTime":
		return encDateTime, true
	case "DateTime64":
		if len(t.Params) >= 1 {
			if p, err := strconv.Atoi(t.Params[0].Name); err == nil && p >= 0 && p <= 9 {
				return encDateTime64(p), true
			}
		}
	case "Array":
		if len(t.Params) == 1 {
			if elem, ok := encoderFor(t.Params[0]); ok {
				return encArray(elem), true
			}
		}
	case "Map":
		if len(t.Params) == 2 {
			k, okK := encoderFor(t.Params[0])
			v, okV := encoderFor(t.Params[1])
			if okK && okV {
				return encMap(k, v), true
			}
		}
	}
	return nil, false
}

// deref turns a typed nil pointer into nil and a pointer into its value,
// so that *float32 fields read as Nullable(Float32).
func deref(v any) any {
	switch x := v.(type) {
	case *float32:
		if x == nil {
			return nil
		}
		return *x
	case *float64:
		if x == nil {
			return nil
		}
		return *x
	case nil, string, float32, float64, uint64, uint16, uint32, int64, int, time.Time:
		return v
	}
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil
		}
		rv = rv.Elem()
	}
	return rv.Interface()
}

func nullable(inner colEncoder) colEncoder {
	return func(buf []byte, v any) ([]byte, error) {
		if v = deref(v); v == nil {
			return append(buf, 1), nil
		}
		return inner(append(buf, 0), v)
	}
}

func notNull(v any) error {
	return fmt.Errorf("%v (%T) is not a value of this column", v, v)
}

func encString(buf []byte, v any) ([]byte, error) {
	switch x := deref(v).(type) {
	case string:
		return appendString(buf, x), nil
	case []byte:
		return appendString(buf, string(x)), nil
	}
	return buf, notNull(v)
}

func encBool(buf []byte, v any) ([]byte, error) {
	if x, ok := deref(v).(bool); ok {
		if x {
			return append(buf, 1), nil
		}
		return append(buf, 0), nil
	}
	return buf, notNull(v)
}

// integer reads any Go integer as a sign and a magnitude.
func integer(v any) (neg bool, u uint64, ok bool) {
	switch x := v.(type) {
	case uint64:
		return false, x, true
	case uint16:
		return false, uint64(x), true
	case uint32:
		return false, uint64(x), true
	case int64:
		return x < 0, absU(x), true
	case int:
		return x < 0, absU(int64(x)), true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return false, rv.Uint(), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i := rv.Int()
		return i < 0, absU(i), true
	}
	return false, 0, false
}

func absU(i int64) uint64 {
	if i < 0 {
		return uint64(-(i + 1)) + 1
	}
	return uint64(i)
}

func appendLE(buf []byte, u uint64, bits int) []byte {
	for i := 0; i < bits; i += 8 {
		buf = append(buf, byte(u>>i))
	}
	return buf
}

func encUint(bits int) colEncoder {
	maxU := uint64(math.MaxUint64) >> (64 - bits)
	return func(buf []byte, v any) ([]byte, error) {
		neg, u, ok := integer(deref(v))
		if !ok {
			return buf, notNull(v)
		}
		if neg || u > maxU {
			return buf, fmt.Errorf("%v is out of range for UInt%d", v, bits)
		}
		return appendLE(buf, u, bits), nil
	}
}

func encInt(bits int) colEncoder {
	maxPos := uint64(1)<<(bits-1) - 1
	return func(buf []byte, v any) ([]byte, error) {
		neg, u, ok := integer(deref(v))
		if !ok {
			return buf, notNull(v)
		}
		if (!neg && u > maxPos) || (neg && u > maxPos+1) {
			return buf, fmt.Errorf("%v is out of range for Int%d", v, bits)
		}
		if neg {
			u = -u // two's complement of the magnitude
		}
		return appendLE(buf, u, bits), nil
	}
}

// float reads a Go float or integer; NaN and infinities are refused, as
// the JSON path refuses them (JSON has no spelling for them).
func float(v any) (float64, error) {
	var f float64
	switch x := deref(v).(type) {
	case float64:
		f = x
	case float32:
		f = float64(x)
	default:
		neg, u, ok := integer(x)
		if !ok {
			return 0, notNull(v)
		}
		f = float64(u)
		if neg {
			f = -f
		}
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%v cannot be stored", f)
	}
	return f, nil
}

func encFloat32(buf []byte, v any) ([]byte, error) {
	if x, ok := v.(float32); ok && !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0) {
		return binary.LittleEndian.AppendUint32(buf, math.Float32bits(x)), nil
	}
	f, err := float(v)
	if err != nil {
		return buf, err
	}
	return binary.LittleEndian.AppendUint32(buf, math.Float32bits(float32(f))), nil
}

func encFloat64(buf []byte, v any) ([]byte, error) {
	f, err := float(v)
	if err != nil {
		return buf, err
	}
	return binary.LittleEndian.AppendUint64(buf, math.Float64bits(f)), nil
}

func timeOf(v any) (time.Time, error) {
	if t, ok := deref(v).(time.Time); ok {
		return t, nil
	}
	return time.Time{}, notNull(v)
}

func days(t time.Time) int64 {
	s := t.Unix()
	d := s / 86400
	if s%86400 < 0 {
		d--
	}
	return d
}

func encDate(buf []byte, v any) ([]byte, error) {
	t, err := timeOf(v)
	if err != nil {
		return buf, err
	}
	d := days(t)
	if d < 0 || d > math.MaxUint16 {
		return buf, fmt.Errorf("%s is out of range for Date", t.Format(time.RFC3339))
	}
	return binary.LittleEndian.AppendUint16(buf, uint16(d)), nil
}

func encDate32(buf []byte, v any) ([]byte, error) {
	t, err := timeOf(v)
	if err != nil {
		return buf, err
	}
	return binary.LittleEndian.AppendUint32(buf, uint32(int32(days(t)))), nil
}

func encDateTime(buf []byte, v any) ([]byte, error) {
	t, err := timeOf(v)
	if err != nil {
		return buf, err
	}
	s := t.Unix()
	if s < 0 || s > math.MaxUint32 {
		return buf, fmt.Errorf("%s is out of range for DateTime", t.Format(time.RFC3339))
	}
	return binary.LittleEndian.AppendUint32(buf, uint32(s)), nil
}

// encDateTime64 writes ticks of 10^-precision s since the epoch, rounded
// down as the text path's parser does.
func encDateTime64(precision int) colEncoder {
	unit := int64(1)
	for range 9 - precision {
		unit *= 10
	}
	return func(buf []byte, v any) ([]byte, error) {
		t, err := timeOf(v)
		if err != nil {
			return buf, err
		}
		sec, ns := t.Unix(), int64(t.Nanosecond())
		perSec := int64(1_000_000_000) / unit
		ticks := sec*perSec + ns/unit
		return binary.LittleEndian.AppendUint64(buf, uint64(ticks)), nil
	}
}

func encArray(elem colEncoder) colEncoder {
	return func(buf []byte, v any) ([]byte, error) {
		switch x := deref(v).(type) {
		case []uint64:
			return appendArray(buf, elem, x)
		case []float64:
			return appendArray(buf, elem, x)
		case []any:
			return appendArray(buf, elem, x)
		case nil:
			return buf, fmt.Errorf("NULL is not an array")
		}
		rv := reflect.ValueOf(deref(v))
		if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
			return buf, notNull(v)
		}
		elems := make([]any, rv.Len())
		for i := range elems {
			elems[i] = rv.Index(i).Interface()
		}
		return appendArray(buf, elem, elems)
	}
}

func appendArray[T any](buf []byte, elem colEncoder, xs []T) ([]byte, error) {
	buf = binary.AppendUvarint(buf, uint64(len(xs)))
	var err error
	for _, e := range xs {
		if buf, err = elem(buf, e); err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// encMap writes a map's pairs in key order, so that the same map always
// gives the same block.
func encMap(key, val colEncoder) colEncoder {
	return func(buf []byte, v any) ([]byte, error) {
		switch x := deref(v).(type) {
		case map[string]string:
			return appendMap(buf, key, val, x)
		case map[uint16]uint64:
			return appendMap(buf, key, val, x)
		case nil:
			return buf, fmt.Errorf("NULL is not a map")
		}
		rv := reflect.ValueOf(deref(v))
		if rv.Kind() != reflect.Map {
			return buf, notNull(v)
		}
		m := make(map[string][2]any, rv.Len()) // ordered by the key's text
		for _, k := range rv.MapKeys() {
			m[fmt.Sprint(k.Interface())] = [2]any{k.Interface(), rv.MapIndex(k).Interface()}
		}
		buf = binary.AppendUvarint(buf, uint64(len(m)))
		var err error
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if buf, err = key(buf, m[k][0]); err != nil {
				return buf, err
			}
			if buf, err = val(buf, m[k][1]); err != nil {
				return buf, err
			}
		}
		return buf, nil
	}
}

func appendMap[K cmp.Ordered, V any](buf []byte, key, val colEncoder, m map[K]V) ([]byte, error) {
	buf = binary.AppendUvarint(buf, uint64(len(m)))
	var err error
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if buf, err = key(buf, k); err != nil {
			return buf, err
		}
		if buf, err = val(buf, m[k]); err != nil {
			return buf, err
		}
	}
	return buf, nil
}
