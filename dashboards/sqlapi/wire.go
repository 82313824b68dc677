package sqlapi

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/vigie-fr/vigie/internal/warehouse"
)

// Answer is one query's answer as POST /api/v1/sql sends it:
//
//	{"columns":[{"name":"region","type":"LowCardinality(String)"}, …],
//	 "rows":[["11", 42, 0.93, "2021-04-06T08:00:00Z", null], …],
//	 "truncated":false, "max_rows":10000, "elapsed_ms":12.5}
//
// Values are JSON numbers, strings, booleans, arrays (arrays and tuples),
// objects (maps) and null; times are RFC 3339 strings in UTC; floats that JSON
// cannot carry are the strings "NaN", "+Inf" and "-Inf". 64-bit integers are
// written exactly (a JavaScript reader should parse them as big integers).
// The column types let a client turn the values back into warehouse.Result's
// Go types, which is what Client does.
type Answer struct {
	Result *warehouse.Result
	// Truncated says Rows holds only the first MaxRows rows of a longer answer.
	Truncated bool
	MaxRows   int
	Elapsed   time.Duration
}

type wireAnswer struct {
	Columns   []warehouse.Column `json:"columns"`
	Rows      [][]any            `json:"rows"`
	Truncated bool               `json:"truncated"`
	MaxRows   int                `json:"max_rows"`
	ElapsedMS float64            `json:"elapsed_ms"`
}

type wireError struct {
	Error string `json:"error"`
}

// MarshalJSON writes the wire form documented on Answer.
func (a *Answer) MarshalJSON() ([]byte, error) {
	w := wireAnswer{Columns: []warehouse.Column{}, Rows: [][]any{}, Truncated: a.Truncated, MaxRows: a.MaxRows,
		ElapsedMS: float64(a.Elapsed.Microseconds()) / 1000}
	if a.Result != nil {
		if a.Result.Columns != nil {
			w.Columns = a.Result.Columns
		}
		w.Rows = make([][]any, len(a.Result.Rows))
		for i, row := range a.Result.Rows {
			out := make([]any, len(row))
			for j, v := range row {
				out[j] = toWire(v)
			}
			w.Rows[i] = out
		}
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads the wire form back into warehouse.Result's Go types,
// guided by each column's ClickHouse type.
func (a *Answer) UnmarshalJSON(b []byte) error {
	var w struct {
		Columns   []warehouse.Column  `json:"columns"`
		Rows      [][]json.RawMessage `json:"rows"`
		Truncated bool                `json:"truncated"`
		MaxRows   int                 `json:"max_rows"`
		ElapsedMS float64             `json:"elapsed_ms"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	res := &warehouse.Result{Columns: w.Columns, Rows: make([][]any, len(w.Rows))}
	for i, row := range w.Rows {
		if len(row) != len(w.Columns) {
			return fmt.Errorf("row %d has %d values for %d columns", i, len(row), len(w.Columns))
		}
		out := make([]any, len(row))
		for j, raw := range row {
			v, err := decodeValue(raw)
			if err != nil {
				return fmt.Errorf("row %d column %q: %w", i, w.Columns[j].Name, err)
			}
			if out[j], err = fromWire(w.Columns[j].Type, v); err != nil {
				return fmt.Errorf("row %d column %q: %w", i, w.Columns[j].Name, err)
			}
		}
		res.Rows[i] = out
	}
	*a = Answer{Result: res, Truncated: w.Truncated, MaxRows: w.MaxRows,
		Elapsed: time.Duration(w.ElapsedMS * float64(time.Millisecond))}
	return nil
}

func decodeValue(raw json.RawMessage) (any, error) {
	d := json.NewDecoder(strings.NewReader(string(raw)))
	d.UseNumber() // keep 64-bit integers exact
	var v any
	err := d.Decode(&v)
	return v, err
}

// toWire makes a normalised value JSON-safe: non-finite floats as strings,
// times in UTC.
func toWire(v any) any {
	switch x := v.(type) {
	case float64:
		return wireFloat(x)
	case float32:
		return wireFloat(float64(x))
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = toWire(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = toWire(e)
		}
		return out
	}
	return v
}

func wireFloat(f float64) any {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return f
}

// fromWire turns a JSON value back into the Go type the transports give for
// the ClickHouse type typ (see warehouse.Result).
func fromWire(typ string, v any) (any, error) {
	return fromWireType(warehouse.ParseType(typ), v)
}

func fromWireType(t warehouse.Type, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	t = t.Unwrap()
	param := func(i int) warehouse.Type {
		if i < len(t.Params) {
			return t.Params[i]
		}
		return warehouse.Type{}
	}
	switch t.Name {
	case "Array", "Tuple": // tuples come as arrays; a named tuple may come as an object
		if list, ok := v.([]any); ok {
			out := make([]any, len(list))
			for i, e := range list {
				et := param(0)
				if t.Name == "Tuple" {
					et = param(i)
				}
				var err error
				if out[i], err = fromWireType(et, e); err != nil {
					return nil, err
				}
			}
			return out, nil
		}
		if m, ok := v.(map[string]any); ok && t.Name == "Tuple" {
			fields := map[string]warehouse.Type{}
			for i, p := range t.Params {
				fields[p.Field] = p
				fields[strconv.Itoa(i+1)] = p
			}
			out := make(map[string]any, len(m))
			for k, e := range m {
				var err error
				if out[k], err = fromWireType(fields[k], e); err != nil {
					return nil, err
				}
			}
			return out, nil
		}
	case "Map":
		if m, ok := v.(map[string]any); ok {
			out := make(map[string]any, len(m))
			for k, e := range m {
				var err error
				if out[k], err = fromWireType(param(1), e); err != nil {
					return nil, err
				}
			}
			return out, nil
		}
	case "Date", "Date32", "DateTime", "DateTime64":
		if s, ok := v.(string); ok {
			tm, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return nil, fmt.Errorf("%s value %q: %w", t.Name, s, err)
			}
			return tm.UTC(), nil
		}
	case "Float32", "Float64", "BFloat16":
		switch x := v.(type) {
		case string: // NaN, +Inf, -Inf
			f, err := strconv.ParseFloat(x, 64)
			if err != nil {
				return nil, fmt.Errorf("%s value %q: %w", t.Name, x, err)
			}
			return f, nil
		case json.Number:
			return x.Float64()
		}
	case "Int8", "Int16", "Int32", "Int64":
		if n, ok := v.(json.Number); ok {
			return n.Int64()
		}
	case "UInt8", "UInt16", "UInt32", "UInt64":
		if n, ok := v.(json.Number); ok {
			return strconv.ParseUint(n.String(), 10, 64)
		}
	}
	return generic(v), nil
}

// generic turns json.Number into int64, else float64, as the transports do
// for types they do not know.
func generic(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i, e := range x {
			x[i] = generic(e)
		}
	case map[string]any:
		for k, e := range x {
			x[k] = generic(e)
		}
	}
	return v
}
