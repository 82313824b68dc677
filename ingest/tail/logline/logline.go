// Package logline reads one line of a web server's access log: nginx's
// log_format patterns ($variables), Apache's LogFormat directives (%h, %>s,
// %D, …) and JSON lines, into the fields Vigie needs (time, host, method,
// path, status, request time, user, user agent). It does no I/O and knows
// nothing of files, routes or outcomes: package tail does that. Every
// refusal says which field and why, so that a bad line can be reported with
// its file and line number.
package logline

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Named formats.
const (
	// Combined is nginx's "combined" log format followed by $request_time,
	// the request's duration in seconds (combined alone has no duration,
	// and an "ok" event needs one).
	Combined = "combined"
	// ApacheCombined is Apache's combined LogFormat followed by %D, the
	// request's duration in microseconds.
	ApacheCombined = "apache_combined"
	// JSON is one JSON object per line whose keys are nginx's variable names
	// (time_iso8601, status, request_time, host, request_uri, …), as written
	// by log_format … escape=json.
	JSON = "json"
)

// Patterns of the named formats.
const (
	CombinedPattern       = `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time`
	ApacheCombinedPattern = `%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i" %D`
)

// Fields a format must give, one of each group: without them a line cannot
// become an event.
var required = []struct {
	what   string
	fields []string
}{
	{"time", []string{"time_local", "time_iso8601", "msec"}},
	{"status", []string{"status"}},
	{"request time", []string{"request_time", "request_time_us"}},
	{"request path", []string{"request", "request_uri", "uri"}},
}

// MaxLine is the longest line read; a longer one is refused.
const MaxLine = 64 << 10

// Line is what a log line says.
type Line struct {
	Time   time.Time // UTC
	Host   string    // host, http_host or server_name; "" when the format has none
	Method string
	Path   string // without the query string
	Status int
	// LatencyMS is the request time in milliseconds.
	LatencyMS float64
	// Fields holds every field of the line by name ("-" is stored as "").
	Fields map[string]string
}

// Field returns a field by name; "cookie:NAME" reads cookie NAME from the
// Cookie header field (http_cookie), or from cookie_NAME when the format
// logs it on its own.
func (l *Line) Field(name string) string {
	if c, ok := strings.CutPrefix(name, "cookie:"); ok {
		if v, ok := l.Fields["cookie_"+c]; ok {
			return v
		}
		return cookie(l.Fields["http_cookie"], c)
	}
	return l.Fields[name]
}

func cookie(header, name string) string {
	for _, part := range strings.Split(header, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && k == name {
			return v
		}
	}
	return ""
}

// Error says why a line was refused: the field at fault ("" for the line as a
// whole) and the reason.
type Error struct {
	Field string
	Msg   string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return fmt.Sprintf("field %s: %s", e.Field, e.Msg)
}

// Format is a compiled log format. It is safe for concurrent use.
type Format struct {
	spec  string
	json  bool
	items []item
	has   map[string]bool
}

// item is a literal (name empty) or a field.
type item struct {
	lit  string
	name string
}

// Compile reads a format: Combined, ApacheCombined, JSON, an nginx pattern
// ($variables) or an Apache pattern (%directives). It refuses a pattern that
// cannot give an event (no time, status, request time or path), two fields
// with nothing between them (where one ends would be a guess), and an unknown
// Apache directive.
func Compile(spec string) (*Format, error) {
	switch spec {
	case JSON:
		return &Format{spec: spec, json: true}, nil
	case Combined:
		return compilePattern(spec, CombinedPattern)
	case ApacheCombined:
		return compilePattern(spec, ApacheCombinedPattern)
	case "":
		return nil, fmt.Errorf("empty format: use %s, %s, %s, an nginx log_format pattern or an Apache LogFormat", Combined, ApacheCombined, JSON)
	}
	return compilePattern(spec, spec)
}

// String is the format as configured.
func (f *Format) String() string { return f.spec }

// Has reports whether lines of this format can carry field name. A JSON
// line may carry any field.
func (f *Format) Has(name string) bool {
	if f.json {
		return true
	}
	if c, ok := strings.CutPrefix(name, "cookie:"); ok {
		return f.has["http_cookie"] || f.has["cookie_"+c]
	}
	return f.has[name]
}

func compilePattern(spec, pattern string) (*Format, error) {
	if !utf8.ValidString(pattern) {
		return nil, fmt.Errorf("format is not valid UTF-8")
	}
	var items []item
	lit := func(s string) {
		if n := len(items); n > 0 && items[n-1].name == "" {
			items[n-1].lit += s
			return
		}
		items = append(items, item{lit: s})
	}
	field := func(name string) error {
		if n := len(items); n > 0 && items[n-1].name != "" {
			return fmt.Errorf("fields %s and %s follow each other with nothing between them: put a separator", items[n-1].name, name)
		}
		items = append(items, item{name: name})
		return nil
	}
	for i := 0; i < len(pattern); {
		c := pattern[i]
		switch {
		case c == '$' && i+1 < len(pattern) && (pattern[i+1] == '{' || isNameByte(pattern[i+1])):
			j, name := i+1, ""
			if pattern[j] == '{' {
				end := strings.IndexByte(pattern[j:], '}')
				if end < 0 {
					return nil, fmt.Errorf("${ at byte %d is not closed", i)
				}
				name, j = pattern[j+1:j+end], j+end+1
			} else {
				for j < len(pattern) && isNameByte(pattern[j]) {
					j++
				}
				name = pattern[i+1 : j]
			}
			if name == "" {
				return nil, fmt.Errorf("empty variable name at byte %d", i)
			}
			if err := field(name); err != nil {
				return nil, err
			}
			i = j
		case c == '%':
			name, wrap, n, err := apacheDirective(pattern[i:])
			if err != nil {
				return nil, fmt.Errorf("at byte %d: %w", i, err)
			}
			switch {
			case name == "":
				lit(wrap) // %% is a literal %
			case wrap != "":
				lit(wrap[:1])
				if err := field(name); err != nil {
					return nil, err
				}
				lit(wrap[1:])
			default:
				if err := field(name); err != nil {
					return nil, err
				}
			}
			i += n
		default:
			lit(string(c))
			i++
		}
	}
	f := &Format{spec: spec, items: items, has: map[string]bool{}}
	for _, it := range items {
		if it.name != "" {
			f.has[it.name] = true
		}
	}
	for _, r := range required {
		ok := false
		for _, name := range r.fields {
			ok = ok || f.has[name]
		}
		if !ok {
			return nil, fmt.Errorf("the format has no %s field (one of $%s)", r.what, strings.Join(r.fields, ", $"))
		}
	}
	return f, nil
}

func isNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// apacheDirective reads one %directive at the start of s: the field name it
// stands for (nginx's name for the same thing), the two bytes around it when
// the directive writes them itself (%t writes [time]), and its length.
func apacheDirective(s string) (name, wrap string, n int, err error) {
	i := 1
	// Conditions (%400,501{…}i) and modifiers (%<s, %>s) are accepted and ignored.
	for i < len(s) && (s[i] == '<' || s[i] == '>' || s[i] == '!' || s[i] == ',' || s[i] >= '0' && s[i] <= '9') {
		i++
	}
	arg := ""
	if i < len(s) && s[i] == '{' {
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", "", 0, fmt.Errorf("%%{ is not closed")
		}
		arg, i = s[i+1:i+end], i+end+1
	}
	if i >= len(s) {
		return "", "", 0, fmt.Errorf("%% at the end of the format")
	}
	d := s[i]
	n = i + 1
	header := strings.ToLower(strings.ReplaceAll(arg, "-", "_"))
	switch {
	case d == '%':
		return "", "%", n, nil
	case d == 'h' || d == 'a':
		return "remote_addr", "", n, nil
	case d == 'l':
		return "remote_ident", "", n, nil
	case d == 'u':
		return "remote_user", "", n, nil
	case d == 't' && arg == "":
		return "time_local", "[]", n, nil
	case d == 'r':
		return "request", "", n, nil
	case d == 's':
		return "status", "", n, nil
	case d == 'b' || d == 'B':
		return "body_bytes_sent", "", n, nil
	case d == 'D':
		return "request_time_us", "", n, nil
	case d == 'T' && (arg == "" || arg == "s"):
		return "request_time", "", n, nil
	case d == 'T' && arg == "us":
		return "request_time_us", "", n, nil
	case d == 'i' && arg != "":
		return "http_" + header, "", n, nil
	case d == 'C' && arg != "":
		return "cookie_" + arg, "", n, nil
	case d == 'v':
		return "server_name", "", n, nil
	case d == 'V':
		return "host", "", n, nil
	case d == 'U':
		return "uri", "", n, nil
	case d == 'm':
		return "request_method", "", n, nil
	case d == 'H':
		return "server_protocol", "", n, nil
	case d == 'q':
		return "query_string", "", n, nil
	case d == 'X' || d == 'k' || d == 'p' || d == 'P' || d == 'L' || d == 'I' || d == 'O' || d == 'S' || d == 'f' || d == 'R':
		return "apache_" + string(d), "", n, nil
	}
	return "", "", 0, fmt.Errorf("the Apache directive %q is not supported (supported: %%h %%a %%l %%u %%t %%r %%s %%>s %%b %%B %%D %%T %%{…}i %%{…}C %%v %%V %%U %%m %%H %%q)", s[:n])
}

// Parse reads one line (without its newline).
func (f *Format) Parse(line []byte) (Line, error) {
	if len(line) > MaxLine {
		return Line{}, &Error{Msg: fmt.Sprintf("%d bytes long, at most %d are read", len(line), MaxLine)}
	}
	if !utf8.Valid(line) {
		// nginx escapes bytes above 0x7F in most variables, but not all of them.
		line = bytes.ToValidUTF8(line, []byte("\uFFFD"))
	}
	var fields map[string]string
	var err error
	if f.json {
		fields, err = jsonFields(line)
	} else {
		fields, err = f.patternFields(string(line))
	}
	if err != nil {
		return Line{}, err
	}
	return build(fields)
}

// patternFields matches the line against the items: each field runs up to
// the next literal (past backslash-escaped quotes when the literal is a
// quote), the last one to the end of the line.
func (f *Format) patternFields(line string) (map[string]string, error) {
	fields := make(map[string]string, len(f.items))
	pos := 0
	for k, it := range f.items {
		if it.name == "" {
			if !strings.HasPrefix(line[pos:], it.lit) {
				return nil, &Error{Msg: fmt.Sprintf("expected %q at byte %d, found %q", it.lit, pos, excerpt(line[pos:]))}
			}
			pos += len(it.lit)
			continue
		}
		end := len(line)
		if k+1 < len(f.items) {
			next := f.items[k+1].lit
			rel := indexUnescaped(line[pos:], next)
			if rel < 0 {
				return nil, &Error{Field: it.name, Msg: fmt.Sprintf("no %q after it (from byte %d)", next, pos)}
			}
			end = pos + rel
		}
		v := line[pos:end]
		if v == "-" {
			v = ""
		}
		fields[it.name] = v
		pos = end
	}
	return fields, nil
}

// indexUnescaped finds lit in s, skipping occurrences whose first byte is a
// quote escaped by a backslash (Apache writes \" inside quoted fields).
func indexUnescaped(s, lit string) int {
	from := 0
	for {
		i := strings.Index(s[from:], lit)
		if i < 0 {
			return -1
		}
		i += from
		if lit[0] == '"' && escaped(s, i) {
			from = i + 1
			continue
		}
		return i
	}
}

// escaped reports whether s[i] is preceded by an odd number of backslashes.
func escaped(s string, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && s[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}

func jsonFields(line []byte) (map[string]string, error) {
	var obj map[string]any
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil || obj == nil {
		msg := "not a JSON object"
		if err != nil {
			msg += ": " + err.Error()
		}
		return nil, &Error{Msg: msg}
	}
	if dec.More() {
		return nil, &Error{Msg: "more than one JSON value on the line"}
	}
	fields := make(map[string]string, len(obj))
	for k, v := range obj {
		switch v := v.(type) {
		case string:
			if v == "-" {
				v = ""
			}
			fields[k] = v
		case json.Number:
			fields[k] = v.String()
		case nil:
			fields[k] = ""
		case bool:
			fields[k] = strconv.FormatBool(v)
		default:
			return nil, &Error{Field: k, Msg: fmt.Sprintf("is a JSON %T, want a string or a number", v)}
		}
	}
	return fields, nil
}

// build turns the fields into a Line, checking each one Vigie uses.
func build(fields map[string]string) (Line, error) {
	l := Line{Fields: fields}
	var err error
	if l.Time, err = lineTime(fields); err != nil {
		return Line{}, err
	}
	st, ok := fields["status"]
	if !ok {
		return Line{}, &Error{Field: "status", Msg: "missing"}
	}
	n, perr := strconv.Atoi(st)
	if perr != nil || n < 100 || n > 599 {
		return Line{}, &Error{Field: "status", Msg: fmt.Sprintf("%q is not an HTTP status (100 to 599)", excerpt(st))}
	}
	l.Status = n
	if l.LatencyMS, err = latency(fields); err != nil {
		return Line{}, err
	}
	l.Method, l.Path = fields["request_method"], fields["request_uri"]
	if l.Path == "" {
		l.Path = fields["uri"]
	}
	if r, ok := fields["request"]; ok && l.Path == "" {
		// "GET /path?q HTTP/1.1"; a malformed request (a TLS handshake sent
		// to a plain port, garbage) keeps an empty path: the line still
		// counts, the routes decide where.
		parts := strings.Split(r, " ")
		if len(parts) == 3 && strings.HasPrefix(parts[1], "/") {
			l.Method, l.Path = parts[0], parts[1]
		}
	}
	if i := strings.IndexByte(l.Path, '?'); i >= 0 {
		l.Path = l.Path[:i]
	}
	for _, h := range []string{"host", "http_host", "server_name"} {
		if v := fields[h]; v != "" {
			l.Host = strings.ToLower(v)
			if hp, _, ok := strings.Cut(l.Host, ":"); ok && !strings.Contains(l.Host, "]") {
				l.Host = hp
			}
			break
		}
	}
	return l, nil
}

func lineTime(fields map[string]string) (time.Time, error) {
	if v, ok := fields["time_iso8601"]; ok {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return time.Time{}, &Error{Field: "time_iso8601", Msg: fmt.Sprintf("%q is not an ISO 8601 time with offset", excerpt(v))}
		}
		return t.UTC(), nil
	}
	if v, ok := fields["msec"]; ok {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || !(x > 946684800 && x < 1e11) {
			return time.Time{}, &Error{Field: "msec", Msg: fmt.Sprintf("%q is not seconds since 1970 after the year 2000", excerpt(v))}
		}
		sec, frac := math.Modf(x)
		return time.Unix(int64(sec), int64(math.Round(frac*1000))*int64(time.Millisecond)).UTC(), nil
	}
	if v, ok := fields["time_local"]; ok {
		t, err := time.Parse("02/Jan/2006:15:04:05 -0700", v)
		if err != nil {
			return time.Time{}, &Error{Field: "time_local", Msg: fmt.Sprintf("%q is not a time such as 06/Apr/2021:08:30:00 +0200", excerpt(v))}
		}
		return t.UTC(), nil
	}
	return time.Time{}, &Error{Field: "time_local", Msg: "missing (the line has no time_local, time_iso8601 or msec)"}
}

func latency(fields map[string]string) (float64, error) {
	name, scale := "request_time", 1000.0
	v, ok := fields[name]
	if !ok {
		name, scale = "request_time_us", 0.001
		if v, ok = fields[name]; !ok {
			return 0, &Error{Field: "request_time", Msg: "missing (the line has no request_time or request_time_us)"}
		}
	}
	x, err := strconv.ParseFloat(v, 64)
	ms := x * scale
	if err != nil || math.IsNaN(x) || ms < 0 || ms > 86_400_000 {
		return 0, &Error{Field: name, Msg: fmt.Sprintf("%q is not a duration from 0 to a day", excerpt(v))}
	}
	return math.Round(ms*1000) / 1000, nil
}

// excerpt keeps error messages short whatever the line holds.
func excerpt(s string) string {
	const n = 40
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
