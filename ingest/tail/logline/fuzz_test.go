package logline

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary lines to every named format. Seeds are the
// lines of the files in testdata/seeds. Besides not panicking, a line is
// either refused with a *Error that says why (and names a field of the
// format when it names one), or read into a Line whose values are in range.
func FuzzParse(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "seeds", "*"))
	if err != nil || len(seeds) == 0 {
		f.Fatalf("no seeds in testdata/seeds: %v", err)
	}
	for _, path := range seeds {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			for i := range formats {
				f.Add([]byte(line), uint8(i))
			}
		}
	}
	compiled := make([]*Format, len(formats))
	for i, spec := range formats {
		c, err := Compile(spec)
		if err != nil {
			f.Fatalf("Compile(%q): %v", spec, err)
		}
		compiled[i] = c
	}
	f.Fuzz(func(t *testing.T, line []byte, which uint8) {
		fm := compiled[int(which)%len(compiled)]
		l, err := fm.Parse(line)
		if err != nil {
			var le *Error
			if !errors.As(err, &le) || le.Msg == "" {
				t.Fatalf("refusal %v (%T) does not explain itself", err, err)
			}
			if le.Field != "" && !fm.Has(le.Field) {
				t.Fatalf("refusal names field %q, which format %q does not have", le.Field, fm)
			}
			return
		}
		if l.Status < 100 || l.Status > 599 {
			t.Fatalf("status %d accepted", l.Status)
		}
		if l.LatencyMS < 0 || l.LatencyMS > 86_400_000 || math.IsNaN(l.LatencyMS) {
			t.Fatalf("latency %v ms accepted", l.LatencyMS)
		}
		if l.Time.IsZero() || l.Time.Location().String() != "UTC" {
			t.Fatalf("time %v accepted", l.Time)
		}
		if strings.Contains(l.Path, "?") {
			t.Fatalf("path %q keeps its query string", l.Path)
		}
	})
}

// formats are the formats the fuzzer parses with.
var formats = []string{Combined, ApacheCombined, JSON, `$msec $host "$request" $status $request_time "$http_cookie"`}
