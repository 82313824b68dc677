package warehouse

import "strings"

// Type is a parsed ClickHouse type: Name is the outer name ("Array",
// "Nullable", "DateTime64", "UInt64"…), Params its parameters in order,
// each itself a Type (literals such as 3 or 'UTC' come back as a Type whose
// Name is the literal), and Field the element's name inside a named Tuple.
type Type struct {
	Name   string
	Params []Type
	Field  string
}

// ParseType parses a type as ClickHouse prints it, e.g.
// "Map(LowCardinality(String), Array(Nullable(Float64)))".
func ParseType(s string) Type {
	s = strings.TrimSpace(s)
	open := strings.IndexByte(s, '(')
	if open < 0 || !strings.HasSuffix(s, ")") || strings.HasPrefix(s, "'") {
		return Type{Name: s}
	}
	t := Type{Name: strings.TrimSpace(s[:open])}
	for _, p := range splitTop(s[open+1 : len(s)-1]) {
		p = strings.TrimSpace(p)
		field := ""
		// "x UInt8" inside Tuple: a name, then a type.
		if sp := strings.IndexByte(p, ' '); t.Name == "Tuple" && sp > 0 {
			if par := strings.IndexByte(p, '('); par < 0 || sp < par {
				field, p = p[:sp], strings.TrimSpace(p[sp+1:])
			}
		}
		pt := ParseType(p)
		pt.Field = field
		t.Params = append(t.Params, pt)
	}
	return t
}

// Unwrap strips Nullable and LowCardinality, which change storage, not values.
func (t Type) Unwrap() Type {
	for (t.Name == "Nullable" || t.Name == "LowCardinality") && len(t.Params) == 1 {
		t = t.Params[0]
	}
	return t
}

// splitTop splits at commas outside parentheses and quotes.
func splitTop(s string) []string {
	var out []string
	depth, start, quoted := 0, 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '\'':
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == ',' && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if strings.TrimSpace(s[start:]) != "" {
		out = append(out, s[start:])
	}
	return out
}
