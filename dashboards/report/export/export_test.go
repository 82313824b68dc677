package export_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/dashboards/incident/incidenttest"
	"github.com/vigie-fr/vigie/dashboards/reach"
	"github.com/vigie-fr/vigie/dashboards/report"
	"github.com/vigie-fr/vigie/dashboards/report/export"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/i18n"
	"github.com/vigie-fr/vigie/internal/warehouse"
)

func TestMain(m *testing.M) { os.Exit(incidenttest.Run(m)) }

// 06:00 UTC on 6 April 2021 is 08:00 in Paris (summer time).
var (
	from = time.Date(2021, 4, 6, 6, 0, 0, 0, time.UTC)
	to   = time.Date(2021, 4, 6, 10, 0, 0, 0, time.UTC)
)

func format(t *testing.T, name string) export.Format {
	t.Helper()
	fs, err := export.Expand(name)
	if err != nil || len(fs) != 1 {
		t.Fatalf("Expand(%q) = %v, %v", name, fs, err)
	}
	return fs[0]
}

func TestFileNameIsTheStartInParis(t *testing.T) {
	for _, tc := range []struct {
		from time.Time
		ext  string
		want string
	}{
		{from, "md", "lessons-2021-04-06T0800.md"},
		{time.Date(2020, 3, 16, 6, 30, 0, 0, time.UTC), "json", "lessons-2020-03-16T0730.json"},
		{time.Date(2021, 4, 5, 22, 0, 0, 0, time.UTC), "html", "lessons-2021-04-06T0000.html"},
	} {
		if got, want := export.FileName("/data", tc.from, format(t, tc.ext)), filepath.Join("/data", "reports", tc.want); got != want {
			t.Errorf("FileName(%s, %s) = %s, want %s", tc.from, tc.ext, got, want)
		}
	}
}

func TestFormats(t *testing.T) {
	all, err := export.Expand(export.All)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range all {
		names = append(names, f.Name)
	}
	if !reflect.DeepEqual(names, []string{"md", "json", "html"}) {
		t.Errorf("all = %v, want md, json, html", names)
	}
	for name, ctype := range map[string]string{"md": "text/markdown; charset=utf-8", "json": "application/json", "html": "text/html; charset=utf-8", "pdf": "application/pdf"} {
		if f := format(t, name); f.ContentType != ctype {
			t.Errorf("%s: content type %q, want %q", name, f.ContentType, ctype)
		}
	}
	if _, err := export.Expand("xml"); err == nil || !strings.Contains(err.Error(), `"xml" is not one of md, json, html, pdf, all`) {
		t.Errorf("Expand(xml): %v, want an error naming the formats", err)
	}
	if f, err := export.Served("html"); err != nil || f.Name != "html" {
		t.Errorf("Served(html) = %v, %v", f, err)
	}
	for _, name := range []string{"pdf", "all", "xml"} {
		if _, err := export.Served(name); err == nil || !strings.Contains(err.Error(), "one of md, json, html") {
			t.Errorf("Served(%s): %v, want an error naming md, json, html", name, err)
		}
	}
}

// fake is a Source that answers "<format> report" and counts the asks.
type fake map[string]int

func (f fake) source(_ context.Context, format string) ([]byte, error) {
	f[format]++
	return []byte(format + " report\n"), nil
}

func TestWrite(t *testing.T) {
	t.Run("all writes three files named for the start", func(t *testing.T) {
		dir := t.TempDir()
		asked := fake{}
		paths, err := export.Request{From: from, To: to, Format: export.All, DataDir: dir}.Write(t.Context(), asked.source)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, ext := range []string{"md", "json", "html"} {
			want = append(want, filepath.Join(dir, "reports", "lessons-2021-04-06T0800."+ext))
		}
		if !reflect.DeepEqual(paths, want) {
			t.Fatalf("paths %v, want %v", paths, want)
		}
		for i, ext := range []string{"md", "json", "html"} {
			if b, err := os.ReadFile(paths[i]); err != nil || string(b) != ext+" report\n" {
				t.Errorf("%s: %q, %v", paths[i], b, err)
			}
		}
		if !reflect.DeepEqual(asked, fake{"md": 1, "json": 1, "html": 1}) {
			t.Errorf("asked the source %v, want each format once", asked)
		}
	})
	t.Run("- writes to stdout and no file", func(t *testing.T) {
		dir := t.TempDir()
		var out bytes.Buffer
		paths, err := export.Request{From: from, To: to, Format: "json", Out: "-", DataDir: dir, Stdout: &out}.Write(t.Context(), fake{}.source)
		if err != nil || len(paths) != 0 || out.String() != "json report\n" {
			t.Fatalf("paths %v, stdout %q, err %v; want the JSON on stdout only", paths, out.String(), err)
		}
		if _, err := os.Stat(filepath.Join(dir, "reports")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("reports/ was made: %v", err)
		}
	})
	t.Run("an output file is written where given", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "sub", "r.md")
		paths, err := export.Request{From: from, To: to, Format: "md", Out: out}.Write(t.Context(), fake{}.source)
		if b, _ := os.ReadFile(out); err != nil || !reflect.DeepEqual(paths, []string{out}) || string(b) != "md report\n" {
			t.Errorf("paths %v, %q, %v", paths, b, err)
		}
	})
	t.Run("pdf is the html page printed by Chromium", func(t *testing.T) {
		asked := fake{}
		page := func(ctx context.Context, format string) ([]byte, error) {
			asked[format]++
			return []byte("<!doctype html><title>r</title><p>Lessons learned</p>"), nil
		}
		var out bytes.Buffer
		_, err := export.Request{From: from, To: to, Format: "pdf", Out: "-", Stdout: &out}.Write(t.Context(), page)
		if !reflect.DeepEqual(asked, fake{"html": 1}) {
			t.Errorf("asked the source %v, want the html page once", asked)
		}
		if errors.Is(err, report.ErrNoBrowser) {
			t.Skip("no Chromium: apt-get install -y chromium to test PDF printing")
		}
		if err != nil || !bytes.HasPrefix(out.Bytes(), []byte("%PDF-")) {
			t.Errorf("PDF: %v, %.20q", err, out.Bytes())
		}
	})
	for _, tc := range []struct {
		name string
		req  export.Request
		has  string
	}{
		{"an unknown format names the allowed ones", export.Request{Format: "docx"}, `"docx" is not one of md, json, html, pdf, all`},
		{"all into one named file is refused", export.Request{Format: export.All, Out: "r.md"}, "writes 3 files"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			asked := fake{}
			paths, err := tc.req.Write(t.Context(), asked.source)
			if err == nil || !strings.Contains(err.Error(), tc.has) || len(paths) != 0 || len(asked) != 0 {
				t.Errorf("paths %v, asked %v, err %v; want nothing asked and an error containing %q", paths, asked, err, tc.has)
			}
		})
	}
}

// server stands for a running Vigie: /healthz and a /api/v1/report that
// echoes what it was asked.
func server(t *testing.T) (*httptest.Server, *[]string) {
	var asked []string
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET /api/v1/report", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		asked = append(asked, q.Encode())
		if q.Get("format") == "json" {
			http.Error(w, `{"parameter":"format","error":"format: no JSON today"}`, http.StatusBadRequest)
			return
		}
		w.Write([]byte(q.Get("format") + " from the server\n"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &asked
}

func TestRemote(t *testing.T) {
	srv, asked := server(t)
	src := export.Remote(nil, srv.URL, "", from, to, i18n.English)
	body, err := src(t.Context(), "md")
	if err != nil || string(body) != "md from the server\n" {
		t.Fatalf("md: %q, %v", body, err)
	}
	if want := "format=md&from=2021-04-06T06%3A00%3A00Z&lang=en&to=2021-04-06T10%3A00%3A00Z"; !reflect.DeepEqual(*asked, []string{want}) {
		t.Errorf("asked %v, want %s", *asked, want)
	}
	if _, err := src(t.Context(), "json"); err == nil || !strings.Contains(err.Error(), "HTTP 400") || !strings.Contains(err.Error(), "no JSON today") {
		t.Errorf("json: %v, want the server's 400 and its message", err)
	}
	srv.Close()
	if _, err := src(t.Context(), "md"); err == nil || !strings.Contains(err.Error(), srv.URL) {
		t.Errorf("after the server stopped: %v, want an error naming it", err)
	}
}

func TestRunAsksARunningServer(t *testing.T) {
	srv, asked := server(t)
	dir := t.TempDir()
	via := reach.Options{ServerURL: srv.URL, OpenLocal: func(context.Context) (warehouse.Warehouse, error) {
		t.Error("the warehouse was opened although a server answers")
		return nil, errors.New("no")
	}}
	paths, err := export.Run(t.Context(), export.Request{From: from, To: to, Format: "html", DataDir: dir}, via, "vigie", report.Options{Incidents: config.Default().Incidents})
	if err != nil || len(paths) != 1 || len(*asked) != 1 {
		t.Fatalf("paths %v, asked %v, err %v", paths, *asked, err)
	}
	if b, _ := os.ReadFile(paths[0]); string(b) != "html from the server\n" {
		t.Errorf("%s holds %q", paths[0], b)
	}
}

// borrowed lends the test binary's one chDB engine to Run, which closes
// what it opens.
type borrowed struct{ warehouse.Warehouse }

func (borrowed) Close() error { return nil }

func TestLocal(t *testing.T) {
	db := incidenttest.DB(t)
	st := incidenttest.Store(t, db)
	incidenttest.Insert(t, st, incidenttest.Morning())
	wh := incidenttest.Engine(t)
	inc := config.Default().Incidents

	src, err := export.Local(t.Context(), st, incidenttest.MorningFrom, incidenttest.MorningTo, report.Options{Incidents: inc}, "")
	if err != nil {
		t.Fatal(err)
	}
	md, err := src(t.Context(), "md")
	if err != nil || !bytes.HasPrefix(md, []byte("# Retour d'expérience")) {
		t.Errorf("md: %v, %.40q", err, md)
	}
	en, err := export.Local(t.Context(), st, incidenttest.MorningFrom, incidenttest.MorningTo, report.Options{Incidents: inc}, i18n.English)
	if err != nil {
		t.Fatal(err)
	}
	if md, err := en(t.Context(), "md"); err != nil || !bytes.HasPrefix(md, []byte("# Post-mortem: 6 April 2021 at 08:00")) {
		t.Errorf("English md: %v, %.40q", err, md)
	}
	js, err := src(t.Context(), "json")
	var r report.Report
	if err != nil || json.Unmarshal(js, &r) != nil || len(r.Incidents) != 7 || !r.From.Equal(incidenttest.MorningFrom) {
		t.Errorf("json: %v, %d incidents from %s; want the morning's 7", err, len(r.Incidents), r.From)
	}
	if _, err := src(t.Context(), "pdf"); err == nil {
		t.Error("the local source wrote pdf itself; Render prints it from html")
	}

	t.Run("Run builds the report here when no server answers", func(t *testing.T) {
		dir := t.TempDir()
		opened := 0
		down := httptest.NewServer(http.NotFoundHandler())
		defer down.Close()
		via := reach.Options{ServerURL: down.URL, OpenLocal: func(context.Context) (warehouse.Warehouse, error) {
			opened++
			return borrowed{wh}, nil
		}}
		paths, err := export.Run(t.Context(), export.Request{From: incidenttest.MorningFrom, To: incidenttest.MorningTo, Format: export.All, DataDir: dir}, via, db, report.Options{Incidents: inc})
		if err != nil || len(paths) != 3 || opened != 1 {
			t.Fatalf("paths %v, opened %d, err %v; want three files from one open", paths, opened, err)
		}
		if b, _ := os.ReadFile(paths[0]); !bytes.Equal(b, md) {
			t.Errorf("%s differs from the local source's Markdown", paths[0])
		}
	})
}
