package tail

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/ingest/publish"
	"github.com/vigie-fr/vigie/ingest/tail/logline"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/schemas"
)

// FuzzLineToEvent runs arbitrary lines through what vigie tail does with
// each (parse, route, outcome, check), on the seeds of the log-line
// parser. A line is refused with a *logline.Error, or becomes an event
// that schema v1's decoder accepts (once its user is pseudonymised), or is
// refused by that decoder with the field named: never a panic, never an
// unexplained refusal.
func FuzzLineToEvent(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("logline", "testdata", "seeds", "*"))
	for _, path := range seeds {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			f.Add([]byte(line), false)
			f.Add([]byte(line), true)
		}
	}
	tc := config.DefaultTail()
	mk := func(format string) *rules {
		r, err := newRules(config.TailFile{Format: format, User: "remote_user",
			Routes:  []config.TailRoute{{Host: "*.example.fr", Path: "^/api/", Platform: "cned", Service: "cned-classe-virtuelle", Region: "01", Kind: "api"}, {Platform: "ent", Service: "ent-11", Region: "11"}},
			Markers: []config.TailMarker{{Field: "path", Match: "^/quota", Outcome: "rejected"}, {Field: "http_user_agent", Match: "(?i)bot", Outcome: "queued"}},
		}, tc)
		if err != nil {
			f.Fatal(err)
		}
		return r
	}
	combined, jsonRules := mk(logline.Combined), mk(logline.JSON)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, line []byte, asJSON bool) {
		r := combined
		if asJSON {
			r = jsonRules
		}
		l, err := r.format.Parse(line)
		if err != nil {
			var le *logline.Error
			if !errors.As(err, &le) || le.Msg == "" {
				t.Fatalf("refusal %v does not explain itself", err)
			}
			return
		}
		ev, ok := r.event(&l, "log-0000000000000000-0")
		if !ok {
			t.Fatal("the catch-all route did not take the line")
		}
		if !contains(schemas.Outcomes, ev.Outcome) || ev.Source != "log" {
			t.Fatalf("event %+v", ev)
		}
		if ev.User != "" {
			ev.User = "u"
		}
		if err := publish.Check(ev, time.Hour, now); err != nil {
			var fe *schemas.FieldError
			if !errors.As(err, &fe) || fe.Field == "" {
				t.Fatalf("the decoder refuses the event without naming a field: %v", err)
			}
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
