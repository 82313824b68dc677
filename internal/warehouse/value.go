package warehouse

import (
	"fmt"
	"math"
	"time"
)

// Helpers that read Result values (normalised by every transport) and write
// SQL literals, so that readers of the warehouse need no type switches.

// TimeLiteral renders t as a ClickHouse DateTime literal in UTC, to the second.
func TimeLiteral(t time.Time) string {
	return fmt.Sprintf("toDateTime('%s', 'UTC')", t.UTC().Format(time.DateTime))
}

// AsUint reads a normalised warehouse value as uint64 (0 for NULL).
func AsUint(v any) uint64 {
	switch x := v.(type) {
	case uint64:
		return x
	case int64:
		if x < 0 {
			return 0
		}
		return uint64(x)
	case float64:
		if x < 0 || math.IsNaN(x) {
			return 0
		}
		return uint64(x)
	}
	return 0
}

// AsFloat reads a normalised warehouse value as float64 (0 for NULL or NaN).
func AsFloat(v any) float64 {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return 0
		}
		return x
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	}
	return 0
}

// AsString reads a normalised warehouse value as a string.
func AsString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// AsInt64 reads a normalised warehouse integer as int64 (0 for NULL).
func AsInt64(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case uint64:
		return int64(x)
	case float64:
		return int64(x)
	}
	return 0
}
