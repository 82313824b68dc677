package warehouse

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ErrTimeout is wrapped when the engine stopped a query at its
// max_execution_time (ClickHouse code 159, TIMEOUT_EXCEEDED).
var ErrTimeout = errors.New("query timed out")

// ErrTooManyRows is wrapped when a read-only query's result passed its row
// limit (code 396, TOO_MANY_ROWS_OR_BYTES): we throw rather than truncate so
// nobody reads a partial answer as the whole one.
var ErrTooManyRows = errors.New("result has more rows than allowed")

// ClickHouse error codes Vigie branches on.
const (
	CodeDuplicateColumn = 15
	CodeTimeout         = 159
	CodeReadOnly        = 164
	CodeTooManyRows     = 396
)

// Error is an error the engine reported, with its ClickHouse code. It
// matches ErrReadOnly, ErrTimeout and ErrTooManyRows with errors.Is, so
// callers branch the same way whichever transport ran the statement.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Is matches the sentinel that stands for e's code.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrReadOnly:
		return e.Code == CodeReadOnly
	case ErrTimeout:
		return e.Code == CodeTimeout
	case ErrTooManyRows:
		return e.Code == CodeTooManyRows
	}
	return false
}

// Code returns the ClickHouse error code inside err, or 0.
func Code(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ValidIdent reports whether s can be pasted into SQL as a database, table,
// column or setting name without quoting.
func ValidIdent(s string) bool { return identRE.MatchString(s) }

// QuoteString renders s as a ClickHouse string literal.
func QuoteString(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '\'':
			b.WriteString(`\'`)
		case 0:
			b.WriteString(`\0`)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// SettingLiteral renders one setting value as SQL: strings quoted, booleans
// as 0/1, durations in (fractional) seconds, numbers as they are.
func SettingLiteral(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return QuoteString(x), nil
	case bool:
		if x {
			return "1", nil
		}
		return "0", nil
	case time.Duration:
		return strconv.FormatFloat(x.Seconds(), 'f', -1, 64), nil
	case int:
		return strconv.FormatInt(int64(x), 10), nil
	case int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return fmt.Sprint(x), nil
	case float32:
		return settingFloat(float64(x))
	case float64:
		return settingFloat(x)
	}
	return "", fmt.Errorf("setting value %v: unsupported type %T", v, v)
}

func settingFloat(f float64) (string, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("setting value %v is not a finite number", f)
	}
	return strconv.FormatFloat(f, 'f', -1, 64), nil
}

// RenderSettings renders s as "k1=v1, k2=v2" sorted by name, so the same
// settings always give the same text (a retried INSERT must be identical).
// It returns "" for no settings.
func RenderSettings(s Settings) (string, error) {
	keys := make([]string, 0, len(s))
	for k := range s {
		if !ValidIdent(k) {
			return "", fmt.Errorf("setting name %q is not an identifier", k)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		lit, err := SettingLiteral(s[k])
		if err != nil {
			return "", fmt.Errorf("setting %s: %w", k, err)
		}
		parts = append(parts, k+"="+lit)
	}
	return strings.Join(parts, ", "), nil
}

// Merge returns a new Settings with base's entries overridden by over's.
func Merge(base, over Settings) Settings {
	out := make(Settings, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}

// InsertPrefix renders "INSERT INTO db.t (a, b)" after checking every name.
func (b *Batch) InsertPrefix() (string, error) {
	parts := strings.Split(b.Table, ".")
	if len(parts) > 2 {
		return "", fmt.Errorf("insert: table %q is not [database.]table", b.Table)
	}
	for _, p := range parts {
		if !ValidIdent(p) {
			return "", fmt.Errorf("insert: table %q is not [database.]table", b.Table)
		}
	}
	if len(b.Columns) == 0 {
		return "", fmt.Errorf("insert into %s: no columns", b.Table)
	}
	for _, c := range b.Columns {
		if !ValidIdent(c) {
			return "", fmt.Errorf("insert into %s: column %q is not an identifier", b.Table, c)
		}
	}
	for i, r := range b.Rows {
		if len(r) != len(b.Columns) {
			return "", fmt.Errorf("insert into %s: row %d has %d values for %d columns", b.Table, i, len(r), len(b.Columns))
		}
	}
	return "INSERT INTO " + b.Table + " (" + strings.Join(b.Columns, ", ") + ")", nil
}
