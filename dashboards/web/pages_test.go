package web_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/vigie-fr/vigie/dashboards/web"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/i18n"
	"github.com/vigie-fr/vigie/internal/store/storetest"
	"github.com/vigie-fr/vigie/schemas"
)

func pagesServer(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	web.New(&storetest.Fake{}, config.Default().Incidents, nil).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func fetch(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

func TestThePagesWordsAreServedPerLanguage(t *testing.T) {
	srv := pagesServer(t)
	for _, tc := range []struct{ lang, title string }{
		{"fr", "Vigie : disponibilité des ENT et du CNED par région"},
		{"en", "Vigie: availability of the ENTs and the CNED by region"},
		{"en-GB", "Vigie: availability of the ENTs and the CNED by region"},
	} {
		code, h, body := fetch(t, srv.URL+"/i18n/"+tc.lang)
		var m map[string]string
		if err := json.Unmarshal([]byte(body), &m); code != 200 || err != nil {
			t.Fatalf("/i18n/%s: %d %v", tc.lang, code, err)
		}
		if m["web.title"] != tc.title || h.Get("Content-Type") != "application/json" {
			t.Errorf("/i18n/%s: web.title %q (%s)", tc.lang, m["web.title"], h.Get("Content-Type"))
		}
		for id := range m {
			if !strings.HasPrefix(id, "web.") {
				t.Errorf("/i18n/%s gives %q, which is not the page's", tc.lang, id)
			}
		}
	}
	code, _, body := fetch(t, srv.URL+"/i18n/de")
	var e struct{ Parameter, Error string }
	if err := json.Unmarshal([]byte(body), &e); code != 400 || err != nil || e.Parameter != "lang" || !strings.Contains(e.Error, `"de"`) {
		t.Errorf("/i18n/de: %d %s, want 400 naming lang and de", code, body)
	}
}

func TestThePublicStatusPageIsServedPerRegion(t *testing.T) {
	srv := pagesServer(t)
	for _, tc := range []struct{ path, base, region string }{
		{"/status", `<base href="./">`, `data-region=""`},
		{"/status/04", `<base href="../">`, `data-region="04"`},
	} {
		code, h, body := fetch(t, srv.URL+tc.path)
		if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !strings.Contains(body, tc.base) || !strings.Contains(body, tc.region) {
			t.Errorf("%s: %d %s, want the page with %s and %s", tc.path, code, h.Get("Content-Type"), tc.base, tc.region)
		}
	}
	for _, path := range []string{"/status/99", "/status/%3Cscript%3E", "/status/1"} {
		if code, _, _ := fetch(t, srv.URL+path); code != 404 {
			t.Errorf("%s: %d, want 404 (not a region)", path, code)
		}
	}
}

// Every message id the pages use (data-t="…" in the HTML, t('…') in the
// scripts) exists in every language; ids built at run time are listed by
// their prefix and checked with the values they take.
func TestEveryMessageThePagesUseExists(t *testing.T) {
	static := os.DirFS("static")
	files, err := fs.Glob(static, "*.*")
	if err != nil || len(files) < 4 {
		t.Fatalf("static files %v: %v", files, err)
	}
	used := map[string]bool{}
	literal := regexp.MustCompile(`(?:data-t="|\bt\(')(web\.[a-z0-9_.]+[a-z0-9_])['"]`)
	for _, f := range files {
		b, err := fs.ReadFile(static, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range literal.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = true
		}
	}
	dynamic := map[string][]string{
		"web.platform.":     {"ent", "cned"},
		"web.grain.":        {"minute", "hour", "day", "week"},
		"web.outcome.":      {"ok", "errors", "timeouts", "rejected", "queued"},
		"web.event.":        {"ts", "academy", "kind", "outcome", "status", "latency_ms", "user", "attrs", "count"},
		"web.public.state.": {"ok", "degraded", "down", "unknown"},
		"web.col.":          {"start", "duration", "service", "regions", "worst_availability", "worst_p95", "users", "explore"},
	}
	for prefix, values := range dynamic {
		for _, v := range values {
			used[prefix+v] = true
		}
	}
	if len(used) < 100 {
		t.Fatalf("found %d ids in the pages: the pattern no longer matches how they call t()", len(used))
	}
	var ids []string
	for id := range used {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, l := range i18n.Langs {
		for _, id := range ids {
			if !i18n.Has(l, id) {
				t.Errorf("%s: the pages use %q, missing from web.%s.yaml", l, id, l)
			}
		}
	}
}

// The vendored map has every region Vigie knows, once, the overseas ones
// in insets.
func TestTheMapHasEveryRegion(t *testing.T) {
	b, err := os.ReadFile("static/vendor/france-regions.json")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Regions []struct {
			Code, D string
			Inset   []float64
		}
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, r := range m.Regions {
		codes = append(codes, r.Code)
		overseas := strings.HasPrefix(r.Code, "0")
		if (r.Inset != nil) != overseas || !strings.HasPrefix(r.D, "M") {
			t.Errorf("region %s: inset %v, path %.20q", r.Code, r.Inset, r.D)
		}
	}
	sort.Strings(codes)
	want := slices.Clone(schemas.Regions)
	sort.Strings(want)
	if !slices.Equal(codes, want) {
		t.Errorf("map regions %v, want %v", codes, want)
	}
}

// Static files are gzipped when asked, whole and uncompressed for a range.
func TestStaticFilesAreGzippedWhenAsked(t *testing.T) {
	srv := pagesServer(t)
	want, err := os.ReadFile("static/vendor/uPlot.iife.min.js")
	if err != nil {
		t.Fatal(err)
	}
	get := func(header map[string]string) (*http.Response, []byte) {
		req, _ := http.NewRequest("GET", srv.URL+"/static/vendor/uPlot.iife.min.js", nil)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultTransport.RoundTrip(req) // no transparent decompression
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res, body
	}
	res, body := get(map[string]string{"Accept-Encoding": "gzip"})
	if res.StatusCode != 200 || res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("gzip asked: %d, Content-Encoding %q", res.StatusCode, res.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(got, want) || len(body) >= len(want)/2 {
		t.Errorf("gzipped body: %d bytes decompressing to %d (err %v), want %d bytes, less than half", len(body), len(got), err, len(want))
	}
	res, body = get(nil)
	if res.StatusCode != 200 || res.Header.Get("Content-Encoding") != "" || !bytes.Equal(body, want) {
		t.Errorf("no gzip asked: %d %q, %d bytes", res.StatusCode, res.Header.Get("Content-Encoding"), len(body))
	}
	res, body = get(map[string]string{"Accept-Encoding": "gzip", "Range": "bytes=0-9"})
	if res.StatusCode != http.StatusPartialContent || res.Header.Get("Content-Encoding") != "" || !bytes.Equal(body, want[:10]) {
		t.Errorf("range: %d %q %q", res.StatusCode, res.Header.Get("Content-Encoding"), body)
	}
}
