package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/internal/store"
)

// vigie annotate, vigie action and vigie report status write into the
// warehouse of the data dir when no server runs, and the report shows
// what they wrote, with the author they name.
func TestTheNotesCommandsReachTheReport(t *testing.T) {
	dir := filepath.Join(tmpRoot, "notes")
	run := func(args ...string) string {
		t.Helper()
		r := vigie(t, 2*time.Minute, nil, append(args, "--data-dir", dir, "--listen", "127.0.0.1:1")...)
		if r.code != 0 {
			t.Fatalf("vigie %s exited %d:\n%s", strings.Join(args, " "), r.code, tail(r.stderr))
		}
		return r.stdout
	}
	out := run("annotate", "--at", "2021-04-06 08:50", "--region", "11", "--text", "Premières plaintes d'enseignants", "--author", "camille")
	var a store.Annotation
	if err := json.Unmarshal([]byte(out), &a); err != nil || a.Author != "camille (local)" || a.Kind != "event" ||
		!a.At.Equal(time.Date(2021, 4, 6, 6, 50, 0, 0, time.UTC)) {
		t.Fatalf("annotate printed %s (%v)", out, err)
	}
	run("action", "--at", "2021-04-06T08:30:00+02:00", "--title", "Relever le quota", "--owner", "Région Occitanie", "--priority", "P1",
		"--due", "2021-04-19", "--author", "dominique")
	run("report", "status", "--from", "2021-04-06", "final", "--author", "camille")
	md := run("report", "--from", "2021-04-06", "-o", "-")
	for _, want := range []string{
		"Statut : **définitif**, arrêté par camille (local) le ",
		"| 6 avril 2021 à 08\u00a0h\u00a050 | Saisi par camille (local) | Île-de-France (11) Premières plaintes d'enseignants |",
		"| Relever le quota | Région Occitanie | P1 | 19 avril 2021 | à faire | dominique (local), le ",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q:\n%s", want, md)
		}
	}
	if en := run("report", "--from", "2021-04-06", "--lang", "en", "-o", "-"); !strings.Contains(en, "Status: **final**, set by camille (local) on ") {
		t.Errorf("the English report lacks the status:\n%s", en)
	}
	r := vigie(t, time.Minute, nil, "action", "--data-dir", dir, "--at", "2021-04-06 08:30", "--title", "t", "--owner", "o", "--priority", "urgent")
	if r.code == 0 || !strings.Contains(r.stderr, `--priority: "urgent" is not one of P1, P2, P3, P4`) {
		t.Errorf("a bad priority: exit %d, %s", r.code, r.stderr)
	}
}
