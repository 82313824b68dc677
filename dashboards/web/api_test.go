package web_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/dashboards/incident/incidenttest"
	"github.com/vigie-fr/vigie/dashboards/web"
	"github.com/vigie-fr/vigie/internal/auth"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/sandbox"
	"github.com/vigie-fr/vigie/internal/store"
	"github.com/vigie-fr/vigie/internal/warehouse"
)

func ptr(t *testing.T, p *float64) float64 {
	t.Helper()
	if p == nil {
		t.Fatal("nil value, want a number")
	}
	return *p
}

// One failure of the CNED in four regions is one episode with its four
// regions; each ENT's failure is its own; durations are written once, as
// the report writes them.
func TestEpisodesGatherOneFailureAcrossRegions(t *testing.T) {
	srv := server(t)
	var got web.Incidents
	if code := get(t, srv, "/api/v1/incidents?"+morning, &got); code != 200 {
		t.Fatalf("status %d", code)
	}
	type ep struct {
		service, regions, duration string
		national                   bool
		incidents                  int
	}
	var eps []ep
	for _, e := range got.Episodes {
		var codes []string
		for _, r := range e.Regions {
			codes = append(codes, r.Code)
		}
		eps = append(eps, ep{e.Service, strings.Join(codes, ","), e.Duration.Text, e.National, len(e.Incidents)})
	}
	want := []ep{
		{"cned-classe-virtuelle", "11,32,53,76", "2 h", true, 4},
		{"ent-76", "76", "1 h", false, 1},
		{"ent-11", "11", "20 min", false, 1},
		{"ent-32", "32", "20 min", false, 1},
	}
	if !reflect.DeepEqual(eps, want) {
		t.Fatalf("episodes\n%+v\nwant\n%+v", eps, want)
	}
	cned := got.Episodes[0]
	if cned.Open || cned.Duration.Minutes != 120 || cned.UsersAffected != 20 || cned.Incidents[0].Duration.Text != "2 h" {
		t.Errorf("CNED episode = %+v, want closed, 120 minutes, 20 users", cned)
	}
	if want := "cned-classe-virtuelle : défaillance nationale (4 régions), de 6 avril 2021 à 08\u00a0h\u00a000 à 10\u00a0h\u00a000 (2 h), disponibilité au plus bas 83,3\u00a0%."; cned.Summary != want {
		t.Errorf("summary %q, want %q", cned.Summary, want)
	}
	var en web.Incidents
	get(t, srv, "/api/v1/incidents?lang=en&"+morning, &en)
	if s := en.Episodes[0].Summary; s != "cned-classe-virtuelle: national failure (4 regions), from 6 April 2021 at 08:00 to 10:00 (2 h), availability as low as 83.3%." {
		t.Errorf("English summary %q", s)
	}
}

// Filters change what the API returns, and the answer says which applied.
func TestFiltersApply(t *testing.T) {
	srv := server(t)
	var inc web.Incidents
	get(t, srv, "/api/v1/incidents?region=76&"+morning, &inc)
	var services []string
	for _, in := range inc.Incidents {
		services = append(services, in.Service+"/"+in.Region)
	}
	if !reflect.DeepEqual(services, []string{"cned-classe-virtuelle/76", "ent-76/76"}) || len(inc.Episodes) != 2 || inc.UsersAffected != 25 ||
		!reflect.DeepEqual(inc.Filters.Region, []string{"76"}) {
		t.Errorf("region 76: incidents %v, %d episodes, %d users, filters %+v; want CNED and ENT of 76, 2 episodes, 25 users", services, len(inc.Episodes), inc.UsersAffected, inc.Filters)
	}
	get(t, srv, "/api/v1/incidents?platform=ent&service=ent-11,ent-32&"+morning, &inc)
	if len(inc.Incidents) != 2 || len(inc.Episodes) != 2 || inc.Incidents[0].Service != "ent-11" {
		t.Errorf("ent-11 and ent-32: %d incidents, %d episodes", len(inc.Incidents), len(inc.Episodes))
	}

	var av web.Availability
	get(t, srv, "/api/v1/availability?platform=ent&region=32&region=11&"+morning, &av)
	if len(av.Regions) != 2 || av.Regions[0].Code != "11" || av.Regions[1].Code != "32" || len(av.Cells) != 8 {
		t.Errorf("regions 11 and 32: %+v, %d cells; want 11 and 32, 8 cells", av.Regions, len(av.Cells))
	}
	get(t, srv, "/api/v1/availability?platform=ent&service=ent-53&"+morning, &av)
	if len(av.Regions) != 1 || av.Regions[0].Code != "53" || *av.Cells[0].Availability != 0.99 {
		t.Errorf("service ent-53: %+v", av.Regions)
	}
}

// Day and week grains cut Paris days and Monday-started Paris weeks.
func TestDayAndWeekGrains(t *testing.T) {
	srv := server(t)
	var day, week web.Availability
	get(t, srv, "/api/v1/availability?platform=ent&grain=day&from=2021-04-01&to=2021-04-30", &day)
	get(t, srv, "/api/v1/availability?platform=ent&grain=week&from=2021-04-01&to=2021-04-30", &week)
	parisDay := time.Date(2021, 4, 5, 22, 0, 0, 0, time.UTC)
	monday := time.Date(2021, 4, 4, 22, 0, 0, 0, time.UTC) // Monday 5 April in Paris
	if len(day.Buckets) != 30 || len(day.Cells) != 4 || !day.Cells[0].Bucket.Equal(parisDay) || day.Cells[0].Events != 24000 {
		t.Errorf("by day: %d buckets, cells %+v; want 30 buckets, 4 cells on %s of 24000 events", len(day.Buckets), day.Cells, parisDay)
	}
	if len(week.Buckets) != 5 || len(week.Cells) != 4 || !week.Cells[0].Bucket.Equal(monday) || week.Cells[0].Events != 24000 {
		t.Errorf("by week: %d buckets, cells %+v; want 5 buckets, 4 cells on %s", len(week.Buckets), week.Cells, monday)
	}
}

// The map: every region, the range and live availability, the worst
// service, the bins stated.
func TestRegionMap(t *testing.T) {
	srv := server(t)
	var got web.RegionMap
	if code := get(t, srv, "/api/v1/regions?"+morning, &got); code != 200 {
		t.Fatalf("status %d", code)
	}
	if len(got.Regions) != 18 || len(got.Bins) != 6 || got.AsOf == nil || !got.AsOf.Equal(incidenttest.MorningTo) {
		t.Fatalf("%d regions, %d bins, as of %v; want 18, 6, %s", len(got.Regions), len(got.Bins), got.AsOf, incidenttest.MorningTo)
	}
	idf := got.Regions[0]
	// ENT: 220 minutes of 99 ok and 1 error, 20 of 50 and 50; CNED: 120
	// minutes of 500 ok and 100 timeouts, 120 of 60 ok.
	if idf.Region.Code != "11" || ptr(t, idf.Range.Availability) != 89980.0/103200 || idf.Range.Events != 103200 || idf.Bin != "80to95" {
		t.Errorf("Île-de-France over the range = %+v", idf.Range)
	}
	if ptr(t, idf.Live.Availability) != 2385.0/2400 || idf.LiveBin != "99up" {
		t.Errorf("Île-de-France live = %+v, want 2385/2400", idf.Live)
	}
	if w := idf.WorstService; w == nil || w.Service != "cned-classe-virtuelle" || ptr(t, w.Availability) != 67200.0/79200 {
		t.Errorf("worst service = %+v, want the CNED at 67200/79200", w)
	}
	if idf.Episodes != 2 || len(idf.OpenIncidents) != 0 {
		t.Errorf("Île-de-France: %d episodes, %d open; want 2, 0", idf.Episodes, len(idf.OpenIncidents))
	}
	for _, r := range got.Regions {
		if r.Region.Code == "94" && (r.Range.Availability != nil || r.Bin != "none" || r.WorstService != nil) {
			t.Errorf("Corse without data = %+v", r)
		}
	}
}

// The region page reads whole hours from agg_hour and ragged ends from
// agg_minute: an hour cut at 06:30 counts only its minutes in range.
func TestRegionPageCutsRaggedHours(t *testing.T) {
	srv := server(t)
	var got web.RegionDetail
	if code := get(t, srv, "/api/v1/regions/76?platform=ent&grain=hour&from=2021-04-06T06:30:00Z&to=2021-04-06T07:45:00Z", &got); code != 200 {
		t.Fatalf("status %d", code)
	}
	if len(got.Series) != 2 || got.Series[0].Service != "*" || got.Series[1].Service != "ent-76" || len(got.Series[1].Points) != 2 {
		t.Fatalf("series %+v", got.Series)
	}
	h6, h7 := got.Series[1].Points[0], got.Series[1].Points[1]
	// 06:30–07:00: 30 saturated minutes (55 ok, 15 rejected, 30 queued);
	// 07:00–07:45: 30 saturated, then 15 of 99 ok and 1 error.
	if h6.OK != 1650 || h6.Rejected != 450 || h6.Queued != 900 || h6.Users != 50 || h6.UsersFailed != 20 {
		t.Errorf("06:00 = %+v", h6)
	}
	if h7.OK != 3135 || h7.Errors != 15 || h7.Rejected != 450 || ptr(t, h7.P95MS) != 400 {
		t.Errorf("07:00 = %+v", h7)
	}
	if len(got.Services) != 1 || got.Services[0].Events != 1650+450+900+3135+15+450+900 || len(got.Episodes) != 1 {
		t.Errorf("services %+v, %d episodes", got.Services, len(got.Episodes))
	}
	var bad struct{ Parameter, Error string }
	if code := get(t, srv, "/api/v1/regions/99?"+morning, &bad); code != 400 || bad.Parameter != "region" {
		t.Errorf("region 99: %d %+v", code, bad)
	}
}

// Two periods side by side, aligned on their starts.
func TestComparison(t *testing.T) {
	srv := server(t)
	var got web.Comparison
	q := "a_from=2021-04-06T06:00:00Z&a_to=2021-04-06T08:00:00Z&b_from=2021-04-06T08:00:00Z&b_to=2021-04-06T10:00:00Z&platform=cned"
	if code := get(t, srv, "/api/v1/compare?"+q, &got); code != 200 {
		t.Fatalf("status %d", code)
	}
	// The flood (06:00–08:00) against the calm after it, 4 regions.
	if got.A.Total.Events != 4*120*600 || ptr(t, got.A.Total.Availability) != 500.0/600 || got.B.Total.Events != 4*120*60 || ptr(t, got.B.Total.Availability) != 1 {
		t.Errorf("totals a %+v b %+v", got.A.Total, got.B.Total)
	}
	if len(got.A.Series) != 2 || got.A.Series[1].OffsetMinutes != 60 || got.B.Series[1].OffsetMinutes != 60 || len(got.A.Regions) != 4 {
		t.Errorf("series a %+v b %+v", got.A.Series, got.B.Series)
	}
	if got.A.Episodes == nil || *got.A.Episodes != 1 || got.B.Episodes == nil || *got.B.Episodes != 0 {
		t.Errorf("episodes a %v b %v, want 1 and 0", got.A.Episodes, got.B.Episodes)
	}
}

// The public status says, in plain words, how each region is now and over
// the last days, and never how many users or which académie.
func TestPublicStatus(t *testing.T) {
	srv := server(t)
	res, err := http.Get(srv.URL + "/api/v1/status/76?days=2")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var got web.PublicRegion
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if got.State != "ok" || got.StateText != "Fonctionnement normal" || len(got.Days) != 1 || got.Days[0].Day != "2021-04-06" || len(got.Platforms) != 2 {
		t.Errorf("status of 76 = %+v", got)
	}
	for _, word := range []string{"user", "academy", "pseudonym", "events"} {
		if strings.Contains(string(body), word) {
			t.Errorf("public status mentions %q: %s", word, body)
		}
	}
	var all web.PublicStatus
	get(t, srv, "/api/v1/status?lang=en", &all)
	if len(all.Regions) != 18 || all.Regions[len(all.Regions)-1].StateText != "No recent data" {
		t.Errorf("%d regions, last %+v", len(all.Regions), all.Regions[len(all.Regions)-1])
	}
}

// Answers are gzip when asked, plain otherwise.
func TestGzipWhenAsked(t *testing.T) {
	srv := server(t)
	path := srv.URL + "/api/v1/availability?grain=minute&platform=cned&" + morning
	req, _ := http.NewRequest("GET", path, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	res, err := http.DefaultTransport.RoundTrip(req) // the client would decompress silently
	if err != nil {
		t.Fatal(err)
	}
	zipped, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q, want gzip", res.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(zipped))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	var got web.Availability
	if err := json.Unmarshal(plain, &got); err != nil || len(got.Cells) != 960 {
		t.Fatalf("decompressed answer: %v, %d cells", err, len(got.Cells))
	}
	if len(zipped)*5 > len(plain) {
		t.Errorf("gzip %d bytes for %d: less than 5 to 1", len(zipped), len(plain))
	}
	req.Header.Set("Accept-Encoding", "gzip;q=0, identity")
	res, err = http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Header.Get("Content-Encoding") != "" {
		t.Errorf("gzip;q=0 got Content-Encoding %q", res.Header.Get("Content-Encoding"))
	}
}

// drillServer serves a store holding one failing minute of ent-11 with raw
// events from two académies; as says who the reader is.
func drillServer(t *testing.T, as auth.Identity) *httptest.Server {
	t.Helper()
	db := incidenttest.DB(t)
	drillDB = db
	st := incidenttest.Store(t, db)
	at := time.Date(2021, 4, 6, 6, 40, 0, 0, time.UTC)
	incidenttest.Insert(t, st, []incidenttest.Row{{Bucket: at, Platform: "ent", Service: "ent-11", Region: "11", OK: 1, Errors: 2, Rejected: 1,
		LatValues: []float64{100}, LatCounts: []uint64{1}, Users: []uint64{7, 8}, UsersFailed: []uint64{7}}})
	lat := float32(950)
	ev := func(id, academy, outcome string, status uint16, sec int) store.Event {
		return store.Event{ID: id, TS: at.Add(time.Duration(sec) * time.Second), Platform: "ent", Service: "ent-11", Region: "11", Academy: academy,
			Kind: "login", Outcome: outcome, Status: status, LatencyMS: &lat, User: 7, Attrs: map[string]string{"path": "/login"}}
	}
	if err := st.InsertEvents(context.Background(), []store.Event{
		ev("a", "Paris", "ok", 200, 1), ev("b", "Paris", "error", 503, 2), ev("c", "Créteil", "error", 503, 3), ev("d", "Créteil", "rejected", 429, 4),
	}, ""); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	web.New(st, config.Default().Incidents, nil).Register(mux)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r.WithContext(auth.NewContext(r.Context(), as)))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// drillDB is the database of the last drillServer.
var drillDB string

const drill = "/api/v1/drilldown?service=ent-11&region=11&from=2021-04-06T06:30:00Z&to=2021-04-06T07:00:00Z"

// Engineers get the failing raw events; analysts and unions get them
// counted, never a pseudonym; the académie filters the events only.
func TestDrilldownShowsRawEventsToEngineersOnly(t *testing.T) {
	eng := drillServer(t, auth.Identity{Name: "e", Roles: []auth.Role{auth.Engineer}})
	var got web.Drilldown
	if code := get(t, eng, drill, &got); code != 200 {
		t.Fatalf("status %d", code)
	}
	if !got.Events.Raw || got.Events.Total != 3 || len(got.Events.Sample) != 3 || got.Events.Sample[0].Status != 503 ||
		got.Events.Sample[0].User != "7" || got.Events.Sample[0].Attrs["path"] != "/login" || got.Events.Sample[2].Outcome != "rejected" {
		t.Errorf("engineer's events = %+v", got.Events)
	}
	if len(got.Series) != 1 || got.Series[0].Errors != 2 || got.Series[0].Rejected != 1 || !strings.Contains(got.SQL.Events, "ORDER BY ts, id") ||
		!strings.Contains(got.SQL.Series, "agg_minute") {
		t.Errorf("series %+v, sql %+v", got.Series, got.SQL)
	}
	// The SQL is the view's: run in the engineers' sandbox, it gives the
	// same minutes and the same events.
	lim := warehouse.Limits{Timeout: time.Minute, Database: drillDB, MaxRows: 1000}
	for name, sql := range map[string]string{"series": got.SQL.Series, "events": got.SQL.Events} {
		res, cut, err := sandbox.Query(context.Background(), incidenttest.Engine(t), sql, lim)
		if err != nil || cut {
			t.Fatalf("%s SQL in the sandbox: %v (cut %v)\n%s", name, err, cut, sql)
		}
		if want := map[string]int{"series": 1, "events": 3}[name]; len(res.Rows) != want {
			t.Errorf("%s SQL in the sandbox: %d rows, want %d", name, len(res.Rows), want)
		}
	}
	get(t, eng, drill+"&academy=Cr%C3%A9teil&limit=1", &got)
	if got.Events.Total != 2 || len(got.Events.Sample) != 1 || got.Events.Sample[0].Academy != "Créteil" || got.AcademyAppliesTo != "events" || got.Series[0].Errors != 2 {
		t.Errorf("Créteil, limit 1: %+v", got.Events)
	}

	for _, role := range []auth.Role{auth.Analyst, auth.Union} {
		srv := drillServer(t, auth.Identity{Name: "x", Roles: []auth.Role{role}})
		res, err := http.Get(srv.URL + drill)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var agg web.Drilldown
		if err := json.Unmarshal(body, &agg); err != nil {
			t.Fatal(err)
		}
		want := []store.FailingGroup{{Outcome: "error", Status: 503, Kind: "login", Academy: "Créteil", Count: 1},
			{Outcome: "error", Status: 503, Kind: "login", Academy: "Paris", Count: 1},
			{Outcome: "rejected", Status: 429, Kind: "login", Academy: "Créteil", Count: 1}}
		if agg.Events.Raw || len(agg.Events.Sample) != 0 || agg.Events.Total != 3 || !reflect.DeepEqual(agg.Events.Groups, want) {
			t.Errorf("%s's events = %+v", role, agg.Events)
		}
		if strings.Contains(string(body), `"user"`) || strings.Contains(string(body), "/login") {
			t.Errorf("%s sees a pseudonym or an attribute: %s", role, body)
		}
	}
}

// An answer is reused only while the aggregates are unchanged: a late
// window written into a past hour shows in the next answer.
func TestAnswersFollowWrites(t *testing.T) {
	db := incidenttest.DB(t)
	st := incidenttest.Store(t, db)
	at := time.Date(2021, 4, 6, 6, 0, 0, 0, time.UTC)
	row := incidenttest.Row{Bucket: at, Platform: "ent", Service: "ent-11", Region: "11", OK: 10, Users: []uint64{1}}
	incidenttest.Insert(t, st, []incidenttest.Row{row})
	srv := serve(t, db)
	path := "/api/v1/availability?platform=ent&from=2021-04-06T06:00:00Z&to=2021-04-06T07:00:00Z"
	var first, again, after web.Availability
	incPath := "/api/v1/incidents?from=2021-04-06T06:00:00Z&to=2021-04-06T07:00:00Z"
	var before, later web.Incidents
	get(t, srv, path, &first)
	get(t, srv, path, &again)
	get(t, srv, incPath, &before)
	row.OK, row.Errors = 5, 5
	incidenttest.Insert(t, st, []incidenttest.Row{row})
	get(t, srv, path, &after)
	if first.Cells[0].Events != 10 || again.Cells[0].Events != 10 || after.Cells[0].Events != 20 || *after.Cells[0].Availability != 0.75 {
		t.Errorf("events %d, %d, then %d after a write; want 10, 10, 20", first.Cells[0].Events, again.Cells[0].Events, after.Cells[0].Events)
	}
	// 15 ok of 20 in the minute: an incident, found after the write only.
	get(t, srv, incPath, &later)
	if len(before.Episodes) != 0 || len(later.Episodes) != 1 || later.Episodes[0].Service != "ent-11" {
		t.Errorf("episodes before the write %+v, after %+v; want none, then ent-11's", before.Episodes, later.Episodes)
	}
}
