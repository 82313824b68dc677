package sqlapi

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vigie-fr/vigie/internal/warehouse"
)

// Formats are the names Write accepts.
var Formats = []string{"table", "csv", "json", "ndjson"}

// Write prints res in one of Formats:
//
//   - "table": aligned columns for a terminal, psql-like: a header, a rule,
//     numbers right-aligned, NULL shown as NULL, then "(N rows)".
//   - "csv": RFC 4180 with a header line; NULL is an empty field (what
//     spreadsheets and pandas read as missing), times as "2006-01-02 15:04:05".
//   - "json": one JSON array of objects, keys in column order, for jq and
//     scripts; times are RFC 3339 strings, NaN/±Inf are strings as in Answer.
//   - "ndjson": the same objects, one per line, for streaming tools.
//
// Arrays and maps print in ClickHouse's own literal form in table and CSV
// (['a','b'], {200:5}); in JSON they stay arrays and objects.
func Write(w io.Writer, res *warehouse.Result, format string) error {
	if res == nil {
		res = &warehouse.Result{}
	}
	bw := bufio.NewWriter(w)
	var err error
	switch format {
	case "table", "":
		err = writeTable(bw, res)
	case "csv":
		err = writeCSV(bw, res)
	case "json":
		err = writeJSON(bw, res, false)
	case "ndjson":
		err = writeJSON(bw, res, true)
	default:
		return fmt.Errorf("output format %q: use one of %s", format, strings.Join(Formats, ", "))
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

func writeTable(w *bufio.Writer, res *warehouse.Result) error {
	n := len(res.Columns)
	width := make([]int, n)
	right := make([]bool, n)
	for j, c := range res.Columns {
		width[j] = utf8.RuneCountInString(c.Name)
		right[j] = isNumericType(c.Type)
	}
	cells := make([][]string, len(res.Rows))
	for i, row := range res.Rows {
		cells[i] = make([]string, n)
		for j := 0; j < n && j < len(row); j++ {
			s := "NULL"
			if row[j] != nil {
				s = Visible(formatValue(res.Columns[j].Type, row[j]))
			}
			cells[i][j] = s
			width[j] = max(width[j], utf8.RuneCountInString(s))
		}
	}
	line := func(vals []string) {
		for j, s := range vals {
			if j > 0 {
				w.WriteString(" | ")
			} else {
				w.WriteByte(' ')
			}
			pad := strings.Repeat(" ", width[j]-utf8.RuneCountInString(s))
			if right[j] {
				w.WriteString(pad + s)
			} else if j < n-1 {
				w.WriteString(s + pad)
			} else {
				w.WriteString(s) // no trailing blanks at the end of a line
			}
		}
		w.WriteByte('\n')
	}
	names := make([]string, n)
	for j, c := range res.Columns {
		names[j] = Visible(c.Name)
	}
	for j := range names {
		width[j] = max(width[j], utf8.RuneCountInString(names[j]))
	}
	if n > 0 {
		line(names)
		for j := range width {
			if j > 0 {
				w.WriteByte('+')
			}
			w.WriteString(strings.Repeat("-", width[j]+2))
		}
		w.WriteByte('\n')
	}
	for _, c := range cells {
		line(c)
	}
	if len(res.Rows) == 1 {
		_, err := w.WriteString("(1 row)\n")
		return err
	}
	_, err := fmt.Fprintf(w, "(%d rows)\n", len(res.Rows))
	return err
}

func writeCSV(w *bufio.Writer, res *warehouse.Result) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true // RFC 4180
	rec := make([]string, len(res.Columns))
	for j, c := range res.Columns {
		rec[j] = neutralise(c.Name)
	}
	if err := cw.Write(rec); err != nil {
		return err
	}
	for _, row := range res.Rows {
		for j := range rec {
			rec[j] = ""
			if j < len(row) && row[j] != nil {
				rec[j] = formatValue(res.Columns[j].Type, row[j])
				if _, isText := row[j].(string); isText {
					rec[j] = neutralise(rec[j])
				}
			}
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func writeJSON(w *bufio.Writer, res *warehouse.Result, lines bool) error {
	keys := make([][]byte, len(res.Columns))
	for j, c := range res.Columns {
		k, err := json.Marshal(c.Name)
		if err != nil {
			return err
		}
		keys[j] = k
	}
	if !lines {
		w.WriteByte('[')
	}
	for i, row := range res.Rows {
		if !lines && i > 0 {
			w.WriteByte(',')
		}
		if !lines {
			w.WriteByte('\n')
		}
		w.WriteByte('{')
		for j := range keys {
			if j > 0 {
				w.WriteByte(',')
			}
			var v any
			if j < len(row) {
				v = toWire(row[j])
			}
			b, err := json.Marshal(v)
			if err != nil {
				return fmt.Errorf("row %d column %q: %w", i, res.Columns[j].Name, err)
			}
			w.Write(keys[j])
			w.WriteByte(':')
			w.Write(b)
		}
		w.WriteByte('}')
		if lines {
			w.WriteByte('\n')
		}
	}
	if !lines {
		if len(res.Rows) > 0 {
			w.WriteByte('\n')
		}
		w.WriteString("]\n")
	}
	return nil
}

// formatValue renders one non-NULL value as text, ClickHouse-style.
func formatValue(typ string, v any) string {
	switch x := v.(type) {
	case string:
		return x
	case time.Time:
		return formatTime(typ, x)
	}
	return literal(typ, v, false)
}

// literal renders v; inside an array, map or tuple strings are quoted as
// ClickHouse prints them.
func literal(typ string, v any, nested bool) string {
	return literalType(warehouse.ParseType(typ), v, nested)
}

func literalType(t warehouse.Type, v any, nested bool) string {
	t = t.Unwrap()
	param := func(i int) warehouse.Type {
		if i < len(t.Params) {
			return t.Params[i]
		}
		return warehouse.Type{}
	}
	switch x := v.(type) {
	case nil:
		return "NULL"
	case string:
		if nested {
			return warehouse.QuoteString(x)
		}
		return x
	case time.Time:
		if nested {
			return "'" + formatTimeType(t, x) + "'"
		}
		return formatTimeType(t, x)
	case float64:
		return formatFloat(x)
	case float32:
		return formatFloat(float64(x))
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			et := param(0)
			if t.Name == "Tuple" {
				et = param(i)
			}
			parts[i] = literalType(et, e, true)
		}
		if t.Name == "Tuple" {
			return "(" + strings.Join(parts, ",") + ")"
		}
		return "[" + strings.Join(parts, ",") + "]"
	case map[string]any:
		keys := sortedKeys(x)
		parts := make([]string, len(keys))
		for i, k := range keys {
			ks := k
			if t.Name != "Map" || !isNumeric(param(0)) {
				ks = warehouse.QuoteString(k)
			}
			parts[i] = ks + ":" + literalType(param(1), x[k], true)
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	return fmt.Sprint(v)
}

// sortedKeys orders map keys numerically when they are all numbers
// (status codes: 200 before 1000), else as strings.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	numeric := true
	for k := range m {
		keys = append(keys, k)
		if _, err := strconv.ParseFloat(k, 64); err != nil {
			numeric = false
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if numeric {
			a, _ := strconv.ParseFloat(keys[i], 64)
			b, _ := strconv.ParseFloat(keys[j], 64)
			if a != b {
				return a < b
			}
		}
		return keys[i] < keys[j]
	})
	return keys
}

func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case f != 0 && (math.Abs(f) >= 1e15 || math.Abs(f) < 1e-6):
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// formatTime prints times in UTC the way ClickHouse does for the column's
// type: a date, seconds, or the DateTime64's fraction digits.
func formatTime(typ string, t time.Time) string {
	return formatTimeType(warehouse.ParseType(typ).Unwrap(), t)
}

func formatTimeType(typ warehouse.Type, t time.Time) string {
	t = t.UTC()
	switch typ.Name {
	case "Date", "Date32":
		return t.Format(time.DateOnly)
	case "DateTime64":
		p := 3
		if len(typ.Params) > 0 {
			if n, err := strconv.Atoi(typ.Params[0].Name); err == nil && n >= 0 && n <= 9 {
				p = n
			}
		}
		if p == 0 {
			return t.Format(time.DateTime)
		}
		return t.Format(time.DateTime + "." + strings.Repeat("0", p))
	case "DateTime":
		return t.Format(time.DateTime)
	}
	if t.Nanosecond() != 0 {
		return t.Format(time.DateTime + ".999999999")
	}
	return t.Format(time.DateTime)
}

// isNumericType reports whether a column holds numbers (right-aligned).
func isNumericType(typ string) bool { return isNumeric(warehouse.ParseType(typ)) }

func isNumeric(t warehouse.Type) bool {
	n := t.Unwrap().Name
	if strings.HasPrefix(n, "Interval") {
		return false
	}
	for _, p := range []string{"Int", "UInt", "Float", "Decimal", "BFloat"} {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	return false
}

// Visible makes text safe to print on a terminal: control characters
// (ANSI escape sequences, carriage returns, backspaces, a newline or tab
// that would break the table's alignment), C1 controls and the Unicode
// marks that reorder or hide text are shown as Go escapes (\x1b, \n,
// \u202e) instead of acting on the terminal.
func Visible(s string) string {
	clean := true
	for _, r := range s {
		if hidden(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if !hidden(r) {
			b.WriteRune(r)
			continue
		}
		q := strconv.QuoteRune(r) // '\x1b', '\n', '\u202e'
		b.WriteString(q[1 : len(q)-1])
	}
	return b.String()
}

// hidden reports whether r acts on a terminal instead of printing:
// controls, and the bidirectional and invisible formatting marks (Cf).
func hidden(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError
}

// neutralise keeps a spreadsheet from reading a text cell as a formula
// (CSV injection): a cell starting with =, +, -, @, a tab or a carriage
// return gets a leading apostrophe, which spreadsheets show as text. Only
// text cells: numbers keep their sign.
func neutralise(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
