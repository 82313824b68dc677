package notes_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/dashboards/incident/incidenttest"
	"github.com/vigie-fr/vigie/dashboards/notes"
	"github.com/vigie-fr/vigie/dashboards/web"
	"github.com/vigie-fr/vigie/internal/auth"
	"github.com/vigie-fr/vigie/internal/auth/authtest"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/store"
)

func TestMain(m *testing.M) { os.Exit(incidenttest.Run(m)) }

// server serves the notes API and the report on the morning's data,
// behind the real guard with one user per role.
func server(t *testing.T) (base string, tokens authtest.Tokens, st *store.Store) {
	t.Helper()
	st = incidenttest.Store(t, incidenttest.DB(t))
	incidenttest.Insert(t, st, incidenttest.Morning())
	cfg := config.Default()
	tokens = authtest.Configure(&cfg)
	g, err := auth.New(auth.Options{Auth: cfg.Auth, Ingest: cfg.Ingest})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	web.New(st, cfg.Incidents, nil).Register(mux)
	notes.New(st, nil).Register(mux)
	srv := httptest.NewServer(g.Wrap(mux))
	t.Cleanup(srv.Close)
	return srv.URL, tokens, st
}

func call(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// An annotation and an action item entered through the API appear in the
// report's timeline, lessons and action items, with their author, and
// what people typed cannot inject markup into it.
func TestNotesEnteredThroughTheAPIAppearInTheReport(t *testing.T) {
	base, tok, _ := server(t)
	hostile := "Premières plaintes </td><script>alert(1)</script>\n## Incident forgé | x |"
	ann, _ := json.Marshal(map[string]any{"at": "2021-04-06T08:50:00+02:00", "region": "11", "platform": "ent", "text": hostile})
	code, body := call(t, "POST", base+notes.AnnotationsPath, tok["analyst"], string(ann))
	if code != http.StatusCreated {
		t.Fatalf("POST annotation: %d %s", code, body)
	}
	var stored store.Annotation
	if err := json.Unmarshal([]byte(body), &stored); err != nil || stored.Author != "analyst" || stored.Kind != "event" || len(stored.ID) != 16 ||
		!stored.At.Equal(time.Date(2021, 4, 6, 6, 50, 0, 0, time.UTC)) {
		t.Fatalf("stored annotation %+v (%v)", stored, err)
	}
	lesson := `{"at":"2021-04-06T10:00:00+02:00","kind":"lucky","text":"Les vacances commençaient quatre jours plus tard"}`
	if code, body := call(t, "POST", base+notes.AnnotationsPath, tok["engineer"], lesson); code != http.StatusCreated {
		t.Fatalf("POST lesson: %d %s", code, body)
	}
	action := `{"at":"2021-04-06T08:30:00+02:00","title":"Relever le quota de sessions de l'ENT Occitanie","owner":"Région Occitanie","priority":"P1","due":"2021-04-19"}`
	if code, body := call(t, "POST", base+notes.ActionsPath, tok["engineer"], action); code != http.StatusCreated {
		t.Fatalf("POST action: %d %s", code, body)
	}
	if code, body := call(t, "POST", base+notes.AnnotationsPath, tok["union"], lesson); code != http.StatusForbidden {
		t.Errorf("a union representative wrote an annotation: %d %s", code, body)
	}
	status := `{"from":"2021-04-06T08:00:00+02:00","to":"2021-04-06T12:00:00+02:00","status":"final"}`
	if code, body := call(t, "POST", base+notes.StatusPath, tok["analyst"], status); code != http.StatusCreated {
		t.Fatalf("POST status: %d %s", code, body)
	}

	rng := "from=2021-04-06T08:00:00%2B02:00&to=2021-04-06T12:00:00%2B02:00"
	code, md := call(t, "GET", base+"/api/v1/report?format=md&"+rng, tok["union"], "")
	if code != http.StatusOK {
		t.Fatalf("GET report: %d %s", code, md)
	}
	for _, want := range []string{
		"Statut : **définitif**, arrêté par analyst le ",
		"| 6 avril 2021 à 08\u00a0h\u00a050 | Saisi par analyst | ENT Île-de-France (11) Premières plaintes \\</td\\>\\<script\\>alert(1)\\</script\\> ## Incident forgé \\| x \\| |",
		"| Relever le quota de sessions de l'ENT Occitanie | Région Occitanie | P1 | 19 avril 2021 | à faire | engineer, le ",
		"- Les vacances commençaient quatre jours plus tard (engineer)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q:\n%s", want, md)
		}
	}
	code, en := call(t, "GET", base+"/api/v1/report?format=md&lang=en&"+rng, tok["union"], "")
	if code != http.StatusOK || !strings.Contains(en, "| 6 April 2021 at 08:50 | Entered by analyst |") || !strings.Contains(en, "| 19 April 2021 | open | engineer, ") {
		t.Errorf("the English report lacks the note or the action item: %d\n%s", code, en)
	}
	code, page := call(t, "GET", base+"/api/v1/report?format=html&"+rng, tok["analyst"], "")
	if code != http.StatusOK || strings.Contains(page, "<script") || !strings.Contains(page, "Premières plaintes &lt;/td&gt;&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the HTML report does not show the annotation as plain text (%d)", code)
	}
	code, list := call(t, "GET", base+notes.ActionsPath+"?"+rng, tok["union"], "")
	if code != http.StatusOK || !strings.Contains(list, `"owner":"Région Occitanie"`) {
		t.Errorf("GET actions: %d %s", code, list)
	}

	// Deleting the annotation takes it out of the report.
	del, _ := json.Marshal(map[string]any{"id": stored.ID, "at": "2021-04-06T08:50:00+02:00", "deleted": true})
	if code, body := call(t, "POST", base+notes.AnnotationsPath, tok["analyst"], string(del)); code != http.StatusCreated {
		t.Fatalf("delete: %d %s", code, body)
	}
	if _, md := call(t, "GET", base+"/api/v1/report?format=md&"+rng, tok["union"], ""); strings.Contains(md, "Premières plaintes") {
		t.Error("a deleted annotation is still in the report")
	}
}

func TestWhatPeopleSendIsChecked(t *testing.T) {
	base, tok, _ := server(t)
	for _, tc := range []struct {
		name, path, body, field string
	}{
		{"an annotation without time", notes.AnnotationsPath, `{"text":"x"}`, "at"},
		{"an empty annotation", notes.AnnotationsPath, `{"at":"2021-04-06T08:50:00Z","text":"  "}`, "text"},
		{"an annotation of an unknown kind", notes.AnnotationsPath, `{"at":"2021-04-06T08:50:00Z","text":"x","kind":"meh"}`, "kind"},
		{"an annotation in an unknown region", notes.AnnotationsPath, `{"at":"2021-04-06T08:50:00Z","text":"x","region":"99"}`, "region"},
		{"an annotation with a control character", notes.AnnotationsPath, `{"at":"2021-04-06T08:50:00Z","text":"a\u0000b"}`, "text"},
		{"an annotation too long", notes.AnnotationsPath, `{"at":"2021-04-06T08:50:00Z","text":"` + strings.Repeat("é", notes.MaxText) + `"}`, "text"},
		{"an unknown field", notes.AnnotationsPath, `{"at":"2021-04-06T08:50:00Z","text":"x","author_id":1}`, "body"},
		{"an id with a slash", notes.AnnotationsPath, `{"id":"a/b","at":"2021-04-06T08:50:00Z","text":"x"}`, "id"},
		{"a deletion without id", notes.AnnotationsPath, `{"at":"2021-04-06T08:50:00Z","deleted":true}`, "id"},
		{"an action of an unknown priority", notes.ActionsPath, `{"at":"2021-04-06T08:50:00Z","title":"t","owner":"o","priority":"urgent"}`, "priority"},
		{"an action without owner", notes.ActionsPath, `{"at":"2021-04-06T08:50:00Z","title":"t","priority":"P1"}`, "owner"},
		{"an action due on no day", notes.ActionsPath, `{"at":"2021-04-06T08:50:00Z","title":"t","owner":"o","priority":"P1","due":"19/04/2021"}`, "due"},
		{"an action in an unknown state", notes.ActionsPath, `{"at":"2021-04-06T08:50:00Z","title":"t","owner":"o","priority":"P1","state":"closed"}`, "state"},
		{"a status that is neither draft nor final", notes.StatusPath, `{"from":"2021-04-06T00:00:00Z","to":"2021-04-07T00:00:00Z","status":"ok"}`, "status"},
		{"a status of an empty range", notes.StatusPath, `{"from":"2021-04-06T00:00:00Z","to":"2021-04-06T00:00:00Z","status":"final"}`, "to"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := call(t, "POST", base+tc.path, tok["analyst"], tc.body)
			var fe notes.FieldError
			if code != http.StatusBadRequest || json.Unmarshal([]byte(body), &fe) != nil || fe.Field != tc.field || fe.Msg == "" {
				t.Errorf("%d %s; want 400 naming %s", code, body, tc.field)
			}
		})
	}
	// Only the data dir's local token may name the person it writes for.
	body := `{"at":"2021-04-06T08:50:00Z","text":"x","author":"someone else"}`
	code, out := call(t, "POST", base+notes.AnnotationsPath, tok["analyst"], body)
	if got := (store.Annotation{}); code != http.StatusCreated || json.Unmarshal([]byte(out), &got) != nil || got.Author != "analyst" {
		t.Errorf("an analyst wrote as someone else: %d %s", code, out)
	}
	if code, out := call(t, "GET", base+notes.StatusPath+"?from=2021-04-01&to=2021-04-02", tok["union"], ""); code != http.StatusOK ||
		!bytes.Contains([]byte(out), []byte(`"status":"draft"`)) {
		t.Errorf("a range without status: %d %s, want draft", code, out)
	}
}
