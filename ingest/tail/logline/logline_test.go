package logline

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseReadsEachFormat(t *testing.T) {
	at := time.Date(2021, 4, 6, 6, 31, 5, 0, time.UTC) // 08:31:05 in Paris
	tests := []struct {
		name, format, line string
		want               Line
		fields             map[string]string
	}{
		{"nginx combined with request time", Combined,
			`192.0.2.10 - eleve42 [06/Apr/2021:08:31:05 +0200] "GET /cas/login?service=x HTTP/1.1" 429 162 "-" "Mozilla/5.0 (X11; \"quoted\")" 0.004`,
			Line{Time: at, Method: "GET", Path: "/cas/login", Status: 429, LatencyMS: 4},
			map[string]string{"remote_user": "eleve42", "http_referer": "", "http_user_agent": `Mozilla/5.0 (X11; \"quoted\")`}},
		{"Apache combined with %D", ApacheCombined,
			`192.0.2.11 - - [06/Apr/2021:08:31:05 +0200] "POST /api/notes HTTP/1.1" 503 299 "https://ent.example/" "curl/7.68.0 \"x\"" 1250000`,
			Line{Time: at, Method: "POST", Path: "/api/notes", Status: 503, LatencyMS: 1250},
			map[string]string{"remote_user": "", "http_user_agent": `curl/7.68.0 \"x\"`}},
		{"an nginx pattern with host and a cookie", `$msec $host "$request" $status $request_time "$http_cookie"`,
			`1617690665.250 ENT.Example.fr:443 "GET / HTTP/2.0" 200 0.120 "lang=fr; ent_session=abc123"`,
			Line{Time: at.Add(250 * time.Millisecond), Host: "ent.example.fr", Method: "GET", Path: "/", Status: 200, LatencyMS: 120},
			map[string]string{"http_cookie": "lang=fr; ent_session=abc123"}},
		{"an Apache pattern with %V, %{…}C and %T", `%V %t "%r" %>s %T %{sid}C`,
			`portail.example.fr [06/Apr/2021:08:31:05 +0200] "GET /file-attente HTTP/1.1" 200 2 s-99`,
			Line{Time: at, Host: "portail.example.fr", Method: "GET", Path: "/file-attente", Status: 200, LatencyMS: 2000},
			map[string]string{"cookie_sid": "s-99"}},
		{"JSON with nginx's names", JSON,
			`{"time_iso8601":"2021-04-06T08:31:05+02:00","host":"ent.example.fr","request_method":"GET","request_uri":"/x?y=1","status":"504","request_time":"30.001","remote_user":"-","n":3}`,
			Line{Time: at, Host: "ent.example.fr", Method: "GET", Path: "/x", Status: 504, LatencyMS: 30001},
			map[string]string{"remote_user": "", "n": "3"}},
		{"a garbage request keeps an empty path", Combined,
			`192.0.2.12 - - [06/Apr/2021:08:31:05 +0200] "\x16\x03\x01" 400 150 "-" "-" 0.000`,
			Line{Time: at, Status: 400},
			map[string]string{"request": `\x16\x03\x01`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Compile(tt.format)
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.Parse([]byte(tt.line))
			if err != nil {
				t.Fatal(err)
			}
			fields := got.Fields
			got.Fields = nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse = %+v\nwant    %+v", got, tt.want)
			}
			for k, v := range tt.fields {
				if fields[k] != v {
					t.Errorf("field %s = %q, want %q", k, fields[k], v)
				}
			}
		})
	}
}

func TestFieldReadsACookieFromTheHeader(t *testing.T) {
	l := Line{Fields: map[string]string{"http_cookie": "a=1; ent_session=xyz; b=2", "cookie_sid": "s1", "remote_user": "u"}}
	for name, want := range map[string]string{"cookie:ent_session": "xyz", "cookie:sid": "s1", "cookie:none": "", "remote_user": "u"} {
		if got := l.Field(name); got != want {
			t.Errorf("Field(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestBadLinesAreExplained(t *testing.T) {
	tests := []struct{ name, format, line, want string }{
		{"a status that is not a number", Combined, `1.2.3.4 - - [06/Apr/2021:08:31:05 +0200] "GET / HTTP/1.1" abc 1 "-" "-" 0.1`, `field status: "abc" is not an HTTP status`},
		{"a time in another layout", Combined, `1.2.3.4 - - [2021-04-06 08:31:05] "GET / HTTP/1.1" 200 1 "-" "-" 0.1`, `field time_local: "2021-04-06 08:31:05" is not a time`},
		{"a line cut short", Combined, `1.2.3.4 - - [06/Apr/2021:08:31:05 +0200] "GET / HTTP/1.1" 200`, `field status: no " " after it`},
		{"another format altogether", Combined, `{"status":200}`, `field remote_addr: no " - " after it`},
		{"a negative request time", Combined, `1.2.3.4 - - [06/Apr/2021:08:31:05 +0200] "GET / HTTP/1.1" 200 1 "-" "-" -1`, `field request_time: "-1" is not a duration`},
		{"a JSON array", JSON, `[1,2]`, `not a JSON object`},
		{"a JSON object without status", JSON, `{"time_iso8601":"2021-04-06T08:31:05+02:00","request_time":"0.1"}`, `field status: missing`},
		{"a nested JSON value", JSON, `{"status":{"code":200}}`, `field status: is a JSON map`},
		{"a line too long", Combined, strings.Repeat("x", MaxLine+1), `at most 65536 are read`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Compile(tt.format)
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.Parse([]byte(tt.line))
			var le *Error
			if !errors.As(err, &le) {
				t.Fatalf("Parse error %v is not a *logline.Error", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse error %q, want it to say %q", err, tt.want)
			}
		})
	}
}

func TestCompileRefusesFormatsThatCannotGiveAnEvent(t *testing.T) {
	tests := []struct{ format, want string }{
		{"", "empty format"},
		{`$remote_addr [$time_local] "$request" $status`, "has no request time field"},
		{`[$time_local] $request_time "$request"`, "has no status field"},
		{`$status$request_time [$time_local] "$request"`, "fields status and request_time follow each other"},
		{`%h %t "%r" %>s %Z`, `Apache directive "%Z" is not supported`},
		{`%h %t "%r" %>s %{Referer`, `%{ is not closed`},
		{`${status [$time_local]`, `${ at byte 0 is not closed`},
	}
	for _, tt := range tests {
		_, err := Compile(tt.format)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Compile(%q) = %v, want an error saying %q", tt.format, err, tt.want)
		}
	}
}
