package web_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/dashboards/incident/incidenttest"
	"github.com/vigie-fr/vigie/dashboards/web"
	"github.com/vigie-fr/vigie/internal/config"
)

func TestMain(m *testing.M) { os.Exit(incidenttest.Run(m)) }

var (
	morningOnce sync.Once
	morningDB   string
)

// server serves the synthetic morning (loaded once per process).
func server(t *testing.T) *httptest.Server {
	t.Helper()
	morningOnce.Do(func() {
		morningDB = incidenttest.DB(t)
		incidenttest.Insert(t, incidenttest.Store(t, morningDB), incidenttest.Morning())
	})
	if morningDB == "" {
		t.Skip("the morning database could not be set up (see the first test's log)")
	}
	return serve(t, morningDB)
}

func serve(t *testing.T, db string) *httptest.Server {
	mux := http.NewServeMux()
	web.New(incidenttest.Store(t, db), config.Default().Incidents, nil).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, srv *httptest.Server, path string, into any) int {
	t.Helper()
	res, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if into != nil {
		if err := json.Unmarshal(body, into); err != nil {
			t.Fatalf("GET %s: %v in %s", path, err, body)
		}
	}
	return res.StatusCode
}

const morning = "from=2021-04-06T06:00:00Z&to=2021-04-06T10:00:00Z"

func TestAvailabilityByHour(t *testing.T) {
	srv := server(t)
	var got web.Availability
	if code := get(t, srv, "/api/v1/availability?"+morning+"&platform=ent&grain=hour", &got); code != 200 {
		t.Fatalf("status %d", code)
	}
	wantRegions := []web.Region{{Code: "11", Name: "Île-de-France"}, {Code: "32", Name: "Hauts-de-France"}, {Code: "53", Name: "Bretagne"}, {Code: "76", Name: "Occitanie"}}
	if !reflect.DeepEqual(got.Regions, wantRegions) || len(got.Buckets) != 4 || len(got.Cells) != 16 || got.Grain != "hour" || got.Platform != "ent" {
		t.Fatalf("got regions %v, %d buckets, %d cells", got.Regions, len(got.Buckets), len(got.Cells))
	}
	// Île-de-France 06:00–07:00 UTC: 40 normal minutes (99 ok, 1 error) and
	// 20 failing ones (50 ok, 50 errors).
	c := got.Cells[0]
	want := float64(40*99+20*50) / 6000
	if c.Region != "11" || !c.Bucket.Equal(incidenttest.MorningFrom) || c.Availability == nil || *c.Availability != want || c.Events != 6000 || c.P95MS != 400 {
		t.Errorf("first cell = %+v (availability %v), want region 11 at 06:00, %v, 6000 events, p95 400", c, *c.Availability, want)
	}
}

func TestAvailabilityByMinute(t *testing.T) {
	srv := server(t)
	var got web.Availability
	if code := get(t, srv, "/api/v1/availability?"+morning+"&platform=cned&grain=minute", &got); code != 200 {
		t.Fatalf("status %d", code)
	}
	if len(got.Buckets) != 240 || len(got.Cells) != 4*240 {
		t.Fatalf("%d buckets and %d cells, want 240 and 960", len(got.Buckets), len(got.Cells))
	}
	c := got.Cells[0]
	if c.Region != "11" || *c.Availability != 500.0/600 || c.Events != 600 || c.P95MS != 8000 {
		t.Errorf("CNED 11 at 06:00 = %+v, want 500/600, 600 events, p95 8000", c)
	}
	last := got.Cells[239]
	if !last.Bucket.Equal(incidenttest.MorningTo.Add(-time.Minute)) || *last.Availability != 1 || last.P95MS != 600 {
		t.Errorf("CNED 11 at 09:59 = %+v, want availability 1, p95 600", last)
	}
}

func TestIncidents(t *testing.T) {
	srv := server(t)
	var got struct {
		Incidents []struct {
			Service string `json:"service"`
			Region  string `json:"region"`
			Users   uint64 `json:"users_affected"`
		} `json:"incidents"`
		Groups        []json.RawMessage `json:"groups"`
		UsersAffected uint64            `json:"users_affected"`
	}
	if code := get(t, srv, "/api/v1/incidents?"+morning, &got); code != 200 {
		t.Fatalf("status %d", code)
	}
	if len(got.Incidents) != 7 || len(got.Groups) != 4 || got.UsersAffected != 60 {
		t.Errorf("%d incidents, %d groups, %d users; want 7, 4, 60", len(got.Incidents), len(got.Groups), got.UsersAffected)
	}
	if in := got.Incidents[4]; in.Service != "ent-76" || in.Users != 20 {
		t.Errorf("fifth incident = %+v, want ent-76 with 20 users", in)
	}
}

func TestRange(t *testing.T) {
	var got web.DataRange
	if code := get(t, server(t), "/api/v1/range", &got); code != 200 {
		t.Fatalf("status %d", code)
	}
	if got.Empty || !got.From.Equal(incidenttest.MorningFrom) || !got.To.Equal(incidenttest.MorningTo) || got.LastDay != "2021-04-06" ||
		got.RegionNames["76"] != "Occitanie" {
		t.Errorf("range = %+v", got)
	}
	var empty web.DataRange
	get(t, serve(t, incidenttest.DB(t)), "/api/v1/range", &empty)
	if !empty.Empty || empty.From != nil || empty.LastDay != "" {
		t.Errorf("range of an empty warehouse = %+v, want empty", empty)
	}
}

func TestBadParametersAreNamed(t *testing.T) {
	srv := server(t)
	tests := []struct {
		name, path, param string
	}{
		{"an unknown platform", "/api/v1/availability?" + morning + "&platform=pronote", "platform"},
		{"an unknown grain", "/api/v1/availability?" + morning + "&grain=year", "grain"},
		{"an unknown parameter", "/api/v1/availability?" + morning + "&regoin=11", "regoin"},
		{"a repeated single value", "/api/v1/availability?" + morning + "&grain=hour&grain=minute", "grain"},
		{"an unknown region", "/api/v1/incidents?" + morning + "&region=11,99", "region"},
		{"a service that is no name", "/api/v1/incidents?" + morning + "&service=ent%2011", "service"},
		{"an académie on aggregates", "/api/v1/availability?" + morning + "&academy=Lille", "academy"},
		{"an unknown language", "/api/v1/range?lang=de", "lang"},
		{"a missing start", "/api/v1/availability?to=2021-04-06T10:00:00Z", "from"},
		{"a start that is neither RFC 3339 nor a day", "/api/v1/incidents?from=06/04/2021&to=2021-04-07T00:00:00Z", "from"},
		{"an end that is neither RFC 3339 nor a day", "/api/v1/incidents?from=2021-04-06&to=tomorrow", "to"},
		{"an end before the start", "/api/v1/incidents?from=2021-04-06T10:00:00Z&to=2021-04-06T06:00:00Z", "to"},
		{"three days of minutes", "/api/v1/availability?grain=minute&from=2021-04-06T00:00:00Z&to=2021-04-09T00:00:00Z", "to"},
		{"a year of incidents", "/api/v1/incidents?from=2021-01-01T00:00:00Z&to=2022-01-01T00:00:00Z", "to"},
	}
	for _, tc := range tests {
		t.Run(tc.name+" is a 400 naming "+tc.param, func(t *testing.T) {
			var got struct{ Parameter, Error string }
			if code := get(t, srv, tc.path, &got); code != 400 {
				t.Errorf("status %d, want 400", code)
			}
			if got.Parameter != tc.param || !strings.HasPrefix(got.Error, tc.param+" : ") {
				t.Errorf("answer %+v, want parameter %q", got, tc.param)
			}
		})
	}
}

func TestTooLongARangeIsRefusedInDays(t *testing.T) {
	srv := server(t)
	for _, tc := range []struct{ query, want string }{
		{"availability?from=2021-04-07&to=2021-07-12", "to : choisissez au plus 92 jours à la granularité horaire (vous en demandez 97 jours)."},
		{"availability?from=2021-01-01&to=2021-04-06&lang=en", "to: choose at most 92 days at hourly grain (you asked for 95 days and 23 hours)."},
		{"availability?grain=minute&from=2021-04-06T00:00:00Z&to=2021-04-08T01:00:00Z", "to : choisissez au plus 2 jours à la granularité minute (vous en demandez 2 jours et 1 heure)."},
		{"availability?grain=day&from=2020-01-01&to=2021-04-06", "to : choisissez au plus 400 jours à la granularité journalière (vous en demandez 461 jours et 23 heures)."},
		{"compare?a_from=2020-03-16&a_to=2021-04-06&b_from=2021-04-06", "a_to : choisissez au plus 92 jours à la granularité horaire (vous en demandez 386 jours et 23 heures)."},
		{"incidents?from=2021-01-01&to=2021-03-01", "to : choisissez au plus 31 jours pour cette route (vous en demandez 60 jours)."},
	} {
		var got struct{ Parameter, Error string }
		if code := get(t, srv, "/api/v1/"+tc.query, &got); code != 400 || got.Error != tc.want {
			t.Errorf("%s: %d %q, want 400 %q", tc.query, code, got.Error, tc.want)
		}
	}
}

func TestADayIsThatWholeParisDay(t *testing.T) {
	srv := server(t)
	parisDay := [2]time.Time{time.Date(2021, 4, 5, 22, 0, 0, 0, time.UTC), time.Date(2021, 4, 6, 22, 0, 0, 0, time.UTC)}
	for _, q := range []string{"from=2021-04-06&to=2021-04-06", "from=2021-04-05T22:00:00Z&to=2021-04-06"} {
		var got web.Availability
		if code := get(t, srv, "/api/v1/availability?grain=hour&"+q, &got); code != 200 {
			t.Fatalf("%s: status %d", q, code)
		}
		if !got.From.Equal(parisDay[0]) || !got.To.Equal(parisDay[1]) || len(got.Buckets) != 24 {
			t.Errorf("%s: [%s, %s) with %d buckets, want [%s, %s) with 24", q, got.From, got.To, len(got.Buckets), parisDay[0], parisDay[1])
		}
	}
	var byDay, byTime struct {
		Incidents []json.RawMessage `json:"incidents"`
	}
	get(t, srv, "/api/v1/incidents?from=2021-04-06&to=2021-04-06", &byDay)
	get(t, srv, "/api/v1/incidents?from=2021-04-06T00:00:00%2B02:00&to=2021-04-07T00:00:00%2B02:00", &byTime)
	if len(byDay.Incidents) != 7 || !reflect.DeepEqual(byDay, byTime) {
		t.Errorf("incidents of the day 2021-04-06: %d, by RFC 3339 times: %d; want the same 7", len(byDay.Incidents), len(byTime.Incidents))
	}
}

func TestPageAndAssetsAreServedFromTheBinary(t *testing.T) {
	srv := server(t)
	licence := regexp.MustCompile(`(?s)/\*!.*?\*/`) // a vendored file's licence header names its home page
	for _, tc := range []struct{ path, ctype, contains string }{
		{"/", "text/html", `<script src="static/app.js">`},
		{"/static/app.js", "javascript", "drawHeatmap"},
		{"/static/common.js", "javascript", "function legend"},
		{"/static/style.css", "text/css", ".legend"},
		{"/static/status.js", "javascript", "api/v1/status"},
		{"/status", "text/html", `<script src="static/status.js">`},
		{"/static/vendor/uPlot.iife.min.js", "javascript", "uPlot"},
		{"/static/vendor/uPlot.min.css", "text/css", ".uplot"},
		{"/static/vendor/france-regions.json", "application/json", `"code":"06"`},
		{"/static/vendor/NOTICE.md", "", "Licence Ouverte"},
		{"/static/vendor/LICENSE.uPlot", "", "MIT"},
	} {
		res, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Type"), tc.ctype) || !strings.Contains(string(body), tc.contains) {
			t.Errorf("GET %s: %d %s, contains %q: %v", tc.path, res.StatusCode, res.Header.Get("Content-Type"), tc.contains, strings.Contains(string(body), tc.contains))
		}
		if tc.ctype != "" && strings.Contains(licence.ReplaceAllString(string(body), ""), "https://") {
			t.Errorf("GET %s refers to an outside URL; the page must work offline", tc.path)
		}
	}
	if res, _ := http.Get(srv.URL + "/nope"); res.StatusCode != 404 {
		t.Errorf("GET /nope = %d, want 404", res.StatusCode)
	}
}

func TestTheReportIsServedAsMarkdownAndJSON(t *testing.T) {
	srv := server(t)
	var rep struct {
		Incidents []json.RawMessage `json:"incidents"`
		Summary   struct {
			UsersAffected uint64 `json:"users_affected"`
		} `json:"summary"`
	}
	if code := get(t, srv, "/api/v1/report?format=json&"+morning, &rep); code != 200 {
		t.Fatalf("status %d", code)
	}
	if len(rep.Incidents) != 7 || rep.Summary.UsersAffected != 60 {
		t.Errorf("JSON report: %d incidents, %d users; want 7 and 60 like /api/v1/incidents", len(rep.Incidents), rep.Summary.UsersAffected)
	}
	res, err := http.Get(srv.URL + "/api/v1/report?" + morning)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	md, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/markdown; charset=utf-8" || !strings.HasPrefix(string(md), "# Retour d'expérience : du 6 avril 2021") {
		t.Errorf("Markdown report: %d %s %.60q", res.StatusCode, res.Header.Get("Content-Type"), md)
	}
	res, err = http.Get(srv.URL + "/api/v1/report?lang=en&" + morning)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if md, _ := io.ReadAll(res.Body); res.StatusCode != 200 || !strings.HasPrefix(string(md), "# Post-mortem: 6 April 2021 at 08:00") {
		t.Errorf("English Markdown report: %d %.60q", res.StatusCode, md)
	}
	res, err = http.Get(srv.URL + "/api/v1/report?format=html&" + morning)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	page, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(string(page), "<svg") {
		t.Errorf("HTML report: %d %s, has svg: %v", res.StatusCode, res.Header.Get("Content-Type"), strings.Contains(string(page), "<svg"))
	}
	var bad map[string]string
	if code := get(t, srv, "/api/v1/report?format=docx&"+morning, &bad); code != 400 || bad["parameter"] != "format" {
		t.Errorf("format=docx: %d %v, want 400 naming format", code, bad)
	}
	if code := get(t, srv, "/api/v1/report?format=all&"+morning, &bad); code != 400 || bad["parameter"] != "format" {
		t.Errorf("format=all: %d %v, want 400 naming format", code, bad)
	}
	if code := get(t, srv, "/api/v1/report?lang=english&"+morning, &bad); code != 400 || bad["parameter"] != "lang" {
		t.Errorf("lang=english: %d %v, want 400 naming lang", code, bad)
	}
}

// The server prints the PDF itself when Chromium is installed, and says
// plainly when it is not.
func TestTheReportIsServedAsPDF(t *testing.T) {
	srv := server(t)
	if _, err := exec.LookPath("chromium"); err != nil {
		t.Skip("no Chromium: apt-get install -y chromium to test PDF printing")
	}
	res, err := http.Get(srv.URL + "/api/v1/report?format=pdf&" + morning)
	if err != nil {
		t.Fatal(err)
	}
	pdf, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(pdf, []byte("%PDF-")) ||
		res.Header.Get("Content-Disposition") != `inline; filename="lessons-2021-04-06T0800.pdf"` {
		t.Fatalf("PDF report: %d %s %q, %d bytes starting %.8q", res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Content-Disposition"), len(pdf), pdf)
	}
	t.Setenv("PATH", t.TempDir()) // no Chromium on this PATH
	var answer map[string]string
	if code := get(t, srv, "/api/v1/report?format=pdf&lang=en&"+morning, &answer); code != 503 || !strings.Contains(answer["error"], "no Chromium is installed") {
		t.Errorf("PDF without Chromium: %d %v, want 503 saying why", code, answer)
	}
	if code := get(t, srv, "/api/v1/report?format=pdf&"+morning, &answer); code != 503 || !strings.Contains(answer["error"], "aucun Chromium n’est installé") {
		t.Errorf("PDF without Chromium, in French: %d %v, want 503 saying why", code, answer)
	}
}
