package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/dashboards/incident/incidenttest"
	"github.com/vigie-fr/vigie/dashboards/report"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/i18n"
	"github.com/vigie-fr/vigie/internal/store"
)

var update = flag.Bool("update", false, "rewrite testdata/*.md golden files")

func TestMain(m *testing.M) { os.Exit(incidenttest.Run(m)) }

// morning is one database holding incidenttest's morning and earlierDays,
// migrated and filled once: the tests only read it, and a migration costs
// more than a report.
var morning struct {
	sync.Mutex
	st *store.Store
}

// morningReport reports on incidenttest's morning of 6 April 2021, in a
// warehouse that also holds earlier days (see earlierDays).
func morningReport(t *testing.T) *report.Report {
	t.Helper()
	morning.Lock()
	if morning.st == nil {
		st := incidenttest.Store(t, incidenttest.DB(t))
		incidenttest.Insert(t, st, append(incidenttest.Morning(), earlierDays()...))
		addPeopleAndNotes(t, st)
		morning.st = st
	}
	st := morning.st
	morning.Unlock()
	r, err := report.BuildWith(context.Background(), st, incidenttest.MorningFrom, incidenttest.MorningTo,
		report.Options{Incidents: config.Default().Incidents, Catalogue: morningCatalogue})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// earlierDays are three days before the morning, at numbers checkable by
// hand (Paris is UTC+1 in March 2020):
//
//   - Monday 16 March 2020, the first lockdown morning, 07:00–11:00 UTC:
//     ent-11 (Île-de-France) and ent-27 (Bourgogne-Franche-Comté), 100
//     attempts a minute from 50 users, 99 ok. ent-11 fails from 07:30 to
//     10:40 UTC (40 ok, 60 errors, the first 25 users fail): 3 h 10 min;
//     ent-27 from 08:00 to 09:00 (30 ok, 10 rejected, 60 queued, the first
//     10 users fail): 1 h.
//   - 2 November 2020: ten good minutes of ent-11 (data, no incident).
//   - 20 February 2020, outside the 400-day lookback: ent-11 fails 30 min.
func earlierDays() []incidenttest.Row {
	var rows []incidenttest.Row
	pseudonyms := func(base uint64, n int) []uint64 {
		out := make([]uint64, n)
		for i := range out {
			out[i] = base + uint64(i)
		}
		return out
	}
	minute := func(at time.Time, service, region string, pop uint64) incidenttest.Row {
		return incidenttest.Row{Bucket: at, Platform: "ent", Service: service, Region: region, OK: 99, Errors: 1,
			LatValues: []float64{100, 200, 400}, LatCounts: []uint64{50, 45, 4}, Users: pseudonyms(pop, 50)}
	}
	day := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, time.UTC) }
	in := func(at, from, to time.Time) bool { return !at.Before(from) && at.Before(to) }
	for at := day(2020, 3, 16, 7, 0); at.Before(day(2020, 3, 16, 11, 0)); at = at.Add(time.Minute) {
		idf := minute(at, "ent-11", "11", 90_000_000)
		if in(at, day(2020, 3, 16, 7, 30), day(2020, 3, 16, 10, 40)) {
			idf.OK, idf.Errors, idf.UsersFailed = 40, 60, pseudonyms(90_000_000, 25)
		}
		bfc := minute(at, "ent-27", "27", 91_000_000)
		if in(at, day(2020, 3, 16, 8, 0), day(2020, 3, 16, 9, 0)) {
			bfc.OK, bfc.Errors, bfc.Rejected, bfc.Queue, bfc.UsersFailed = 30, 0, 10, 60, pseudonyms(91_000_000, 10)
		}
		rows = append(rows, idf, bfc)
	}
	for at := day(2020, 11, 2, 7, 0); at.Before(day(2020, 11, 2, 7, 10)); at = at.Add(time.Minute) {
		rows = append(rows, minute(at, "ent-11", "11", 90_000_000))
	}
	for at := day(2020, 2, 20, 7, 0); at.Before(day(2020, 2, 20, 7, 30)); at = at.Add(time.Minute) {
		r := minute(at, "ent-11", "11", 90_000_000)
		r.OK, r.Errors = 0, 100
		rows = append(rows, r)
	}
	return rows
}

func TestMarkdownMatchesTheGoldenFile(t *testing.T) {
	r := morningReport(t)
	var buf bytes.Buffer
	if err := r.WriteMarkdown(&buf); err != nil {
		t.Fatal(err)
	}
	if !matchesGolden(t, "morning.md", buf.Bytes()) {
		t.Errorf("got:\n%s", buf.String())
	}
	var again bytes.Buffer
	if err := morningReport(t).WriteMarkdown(&again); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("two reports of the same data differ: output is not deterministic")
	}
}

func TestJSONHasTheExactNumbers(t *testing.T) {
	var buf bytes.Buffer
	if err := morningReport(t).WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var got struct {
		From      string `json:"from"`
		To        string `json:"to"`
		Objective struct {
			AvailabilityTarget float64 `json:"availability_target"`
		} `json:"objective"`
		Summary struct {
			Incidents       int      `json:"incidents"`
			Services        []string `json:"services"`
			Regions         []string `json:"regions"`
			IncidentMinutes int      `json:"incident_minutes"`
			UsersAffected   uint64   `json:"users_affected"`
		} `json:"summary"`
		Incidents []struct {
			Service           string  `json:"service"`
			Region            string  `json:"region"`
			Start             string  `json:"start"`
			End               string  `json:"end"`
			Minutes           int     `json:"minutes"`
			WorstAvailability float64 `json:"worst_availability"`
			WorstP95MS        float64 `json:"worst_p95_ms"`
			UsersAffected     uint64  `json:"users_affected"`
			Reason            string  `json:"reason"`
		} `json:"incidents"`
		Groups []struct {
			Service       string   `json:"service"`
			Regions       []string `json:"regions"`
			Start         string   `json:"start"`
			End           string   `json:"end"`
			UsersAffected uint64   `json:"users_affected"`
		} `json:"groups"`
		Signals []struct {
			Kind     string   `json:"kind"`
			Service  string   `json:"service"`
			Services []string `json:"services"`
			Start    string   `json:"start"`
			End      string   `json:"end"`
			Value    float64  `json:"value"`
			Baseline float64  `json:"baseline"`
		} `json:"signals"`
		Grids []struct {
			Platform string   `json:"platform"`
			Regions  []string `json:"regions"`
			Buckets  []string `json:"buckets"`
			Cells    []struct {
				Region       string   `json:"region"`
				Bucket       string   `json:"bucket"`
				Availability *float64 `json:"availability"`
				Events       uint64   `json:"events"`
			} `json:"cells"`
		} `json:"grids"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.From != "2021-04-06T06:00:00Z" || got.To != "2021-04-06T10:00:00Z" || got.Objective.AvailabilityTarget != 0.95 {
		t.Errorf("range/objective = %s..%s %v", got.From, got.To, got.Objective.AvailabilityTarget)
	}
	s := got.Summary
	if s.Incidents != 7 || s.IncidentMinutes != 4*120+60+2*20 || s.UsersAffected != 60 ||
		!reflect.DeepEqual(s.Services, []string{"cned-classe-virtuelle", "ent-11", "ent-32", "ent-76"}) ||
		!reflect.DeepEqual(s.Regions, []string{"11", "32", "53", "76"}) {
		t.Errorf("summary = %+v", s)
	}
	first := got.Incidents[0]
	if first.Service != "cned-classe-virtuelle" || first.Region != "11" || first.Start != "2021-04-06T06:00:00Z" ||
		first.End != "2021-04-06T08:00:00Z" || first.Minutes != 120 || first.WorstAvailability != 500.0/600 ||
		first.WorstP95MS != 8000 || first.UsersAffected != 5 || first.Reason != "availability+latency" {
		t.Errorf("first incident = %+v", first)
	}
	if len(got.Groups) != 4 || got.Groups[0].Service != "cned-classe-virtuelle" || len(got.Groups[0].Regions) != 4 ||
		got.Groups[0].UsersAffected != 20 || got.Groups[0].End != "2021-04-06T08:00:00Z" {
		t.Errorf("groups = %+v", got.Groups)
	}
	type sig struct {
		kind, service, start, end string
		value, baseline           float64
	}
	var sigs []sig
	for _, x := range got.Signals {
		sigs = append(sigs, sig{x.Kind, x.Service, x.Start, x.End, x.Value, x.Baseline})
	}
	wantSigs := []sig{
		{"attack", "cned-classe-virtuelle", "2021-04-06T06:00:00Z", "2021-04-06T08:00:00Z", 20, 2},
		{"saturation", "ent-76", "2021-04-06T06:30:00Z", "2021-04-06T07:30:00Z", 45.0 / 100, 0},
		{"shared_provider", "", "2021-04-06T06:40:00Z", "2021-04-06T07:00:00Z", 4, 0},
	}
	if !reflect.DeepEqual(sigs, wantSigs) {
		t.Errorf("signals =\n%+v\nwant\n%+v", sigs, wantSigs)
	}
	if sp := got.Signals[2].Services; !reflect.DeepEqual(sp, []string{"cned-classe-virtuelle", "ent-11", "ent-32", "ent-76"}) {
		t.Errorf("shared-provider services = %v", sp)
	}
	if len(got.Grids) != 2 || got.Grids[0].Platform != "ent" || got.Grids[1].Platform != "cned" {
		t.Fatalf("grids = %d, want ent then cned", len(got.Grids))
	}
	ent := got.Grids[0]
	if len(ent.Buckets) != 4 || len(ent.Cells) != 16 || !reflect.DeepEqual(ent.Regions, []string{"11", "32", "53", "76"}) {
		t.Errorf("ENT grid: %d buckets, %d cells, regions %v; want 4, 16, [11 32 53 76]", len(ent.Buckets), len(ent.Cells), ent.Regions)
	}
	// Occitanie 06:00–07:00 UTC: 30 normal minutes (99 ok, 1 error) and 30
	// saturated ones (55 ok, 15 rejected).
	for _, c := range ent.Cells {
		if c.Region == "76" && c.Bucket == "2021-04-06T06:00:00Z" {
			want := float64(30*99+30*55) / float64(30*100+30*70)
			if c.Availability == nil || *c.Availability != want || c.Events != 6000 {
				t.Errorf("ENT 76 at 06:00 = %v, %d events; want %v, 6000", c.Availability, c.Events, want)
			}
		}
	}
}

func TestBuildRefusesAnEmptyRange(t *testing.T) {
	at := time.Date(2021, 4, 6, 6, 0, 0, 0, time.UTC)
	if _, err := report.Build(context.Background(), nil, at, at, config.Default().Incidents); err == nil {
		t.Error("Build accepted from == to")
	}
}

func TestComparisonShowsTheSameENTFailingAYearEarlier(t *testing.T) {
	r := morningReport(t)
	c := r.Comparison
	if c == nil {
		t.Fatal("no comparison")
	}
	if want := time.Date(2020, 3, 1, 23, 0, 0, 0, time.UTC); !c.From.Equal(want) || !c.To.Equal(incidenttest.MorningFrom) {
		t.Errorf("searched %s..%s, want %s..%s", c.From, c.To, want, incidenttest.MorningFrom)
	}
	// 16 March and 2 November have data; 20 February is out of reach.
	if c.DaysWithData != 2 || c.CandidateDays != 1 || c.ExaminedDays != 1 || len(c.Days) != 1 {
		t.Fatalf("days with data %d, candidates %d, examined %d, with incidents %d; want 2, 1, 1, 1",
			c.DaysWithData, c.CandidateDays, c.ExaminedDays, len(c.Days))
	}
	d := c.Days[0]
	if d.Date != "2020-03-16" || d.DaysBefore != 386 || d.Grain != report.ComparedByMinute || d.Incidents != 2 ||
		!reflect.DeepEqual(d.Services, []string{"ent-11", "ent-27"}) || !reflect.DeepEqual(d.Regions, []string{"11", "27"}) ||
		d.IncidentMinutes != 190+60 || d.WorstAvailability != 0.40 || d.UsersAffected != 25+10 ||
		d.Failed != 190*60+60*10 || d.Events != 250*100 {
		t.Errorf("16 March 2020 = %+v", d)
	}
	want := []report.Repeat{{Platform: "ent", Service: "ent-11", Region: "11",
		ThenStart: time.Date(2020, 3, 16, 7, 30, 0, 0, time.UTC), ThenMinutes: 190,
		NowStart: time.Date(2021, 4, 6, 6, 40, 0, 0, time.UTC), NowMinutes: 20}}
	if !reflect.DeepEqual(d.Repeated, want) {
		t.Errorf("repeated =\n%+v\nwant\n%+v", d.Repeated, want)
	}
	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Comparison struct {
			DaysWithData int `json:"days_with_data"`
			Days         []struct {
				Date            string `json:"date"`
				Grain           string `json:"grain"`
				Incidents       int    `json:"incidents"`
				IncidentMinutes int    `json:"incident_minutes"`
				UsersAffected   uint64 `json:"users_affected"`
				Repeated        []struct {
					Service     string `json:"service"`
					ThenMinutes int    `json:"then_minutes"`
					NowMinutes  int    `json:"now_minutes"`
				} `json:"repeated"`
			} `json:"days"`
		} `json:"comparison"`
		Capacity []struct {
			Service string  `json:"service"`
			Peak    uint64  `json:"peak_attempts_per_minute"`
			Median  float64 `json:"median_served_per_minute"`
			Factor  float64 `json:"factor"`
		} `json:"capacity"`
	}
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if jd := got.Comparison.Days; got.Comparison.DaysWithData != 2 || len(jd) != 1 || jd[0].Date != "2020-03-16" || jd[0].Grain != "minute" ||
		jd[0].Incidents != 2 || jd[0].IncidentMinutes != 250 || jd[0].UsersAffected != 35 || len(jd[0].Repeated) != 1 ||
		jd[0].Repeated[0].Service != "ent-11" || jd[0].Repeated[0].ThenMinutes != 190 || jd[0].Repeated[0].NowMinutes != 20 {
		t.Errorf("JSON comparison = %+v", got.Comparison)
	}
	if len(got.Capacity) != 4 || got.Capacity[0].Service != "cned-classe-virtuelle" || got.Capacity[0].Peak != 2400 ||
		got.Capacity[0].Median != 2000 || got.Capacity[0].Factor != 1.2 {
		t.Errorf("JSON capacity = %+v", got.Capacity)
	}
	r.Lang = i18n.English
	var md bytes.Buffer
	if err := r.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	// Its time in incident is wall-clock: ent-11's 3 h 10 min cover ent-27's hour.
	for _, s := range []string{
		"The ENT monlycee.net (Région Île-de-France) in Île-de-France failed on 16 March 2020 for 3 h 10 min and again on 6 April 2021 for 20 min.",
		"**Not the first time**: 1 of the 7 service–region pairs in incident had already failed on 16 March 2020",
		"| 16 March 2020 | 386 | 2 | monlycee.net (Région Île-de-France), ent-27 | Île-de-France, Bourgogne-Franche-Comté | 3 h 10 min | 40.0% | 200 ms | 35 | monlycee.net (Région Île-de-France) in Île-de-France |",
	} {
		if !bytes.Contains(md.Bytes(), []byte(s)) {
			t.Errorf("Markdown lacks %q", s)
		}
	}
}

func TestComparisonFallsBackToHoursWhenMinutesExpired(t *testing.T) {
	db := incidenttest.DB(t)
	st := incidenttest.Store(t, db)
	incidenttest.Insert(t, st, append(incidenttest.Morning(), earlierDays()...))
	// Minute data is kept 30 days by default, hour data 5 years: a year-old
	// day has only its hours left.
	incidenttest.Exec(t, "ALTER TABLE "+db+".agg_minute DROP PARTITION '2020-03-16'")
	r, err := report.Build(context.Background(), st, incidenttest.MorningFrom, incidenttest.MorningTo, config.Default().Incidents)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Comparison.Days) != 1 {
		t.Fatalf("earlier days = %+v, want 16 March 2020", r.Comparison.Days)
	}
	// ent-11: the hours from 07:00 to 11:00 UTC are all below 95 % (the
	// first at 69.5 %, the last at 59.6 %); ent-27: the 08:00 hour at 75 %.
	d := r.Comparison.Days[0]
	if d.Date != "2020-03-16" || d.Grain != report.ComparedByHour || d.Incidents != 2 || d.IncidentMinutes != 240+60 ||
		d.WorstAvailability != 0.40 || d.UsersAffected != 35 || len(d.Repeated) != 1 || d.Repeated[0].ThenMinutes != 240 ||
		!d.Repeated[0].ThenStart.Equal(time.Date(2020, 3, 16, 7, 0, 0, 0, time.UTC)) {
		t.Errorf("16 March 2020 by hour = %+v", d)
	}
}

func TestCapacityComparesThePeakWithWhatWasServed(t *testing.T) {
	r := morningReport(t)
	type capa struct {
		service                         string
		peakAt                          time.Time
		peak, servedAtPeak, usersAtPeak uint64
		median, factor                  float64
	}
	var got []capa
	for _, c := range r.Capacity {
		got = append(got, capa{c.Service, c.PeakAt, c.PeakAttempts, c.ServedAtPeak, c.UsersAtPeak, c.MedianServed, c.Factor})
	}
	at := func(h, m int) time.Time { return time.Date(2021, 4, 6, h, m, 0, 0, time.UTC) }
	want := []capa{
		// Four regions of 600 attempts and 500 ok a minute, 30 users each.
		{"cned-classe-virtuelle", at(6, 0), 2400, 2000, 120, 2000, 1.2},
		{"ent-76", at(6, 30), 100, 55, 50, 55, 100.0 / 55},
		{"ent-11", at(6, 40), 100, 50, 50, 50, 2},
		{"ent-32", at(6, 40), 100, 50, 50, 50, 2},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("capacity =\n%+v\nwant\n%+v", got, want)
	}
}

func TestTimeInIncidentByRegionOfTheMorning(t *testing.T) {
	got := morningReport(t).ByRegion
	want := []report.RegionTime{
		{Region: "11", ENTMinutes: 20, CNEDMinutes: 120, EitherMinutes: 120, Incidents: 2},
		{Region: "32", ENTMinutes: 20, CNEDMinutes: 120, EitherMinutes: 120, Incidents: 2},
		{Region: "53", CNEDMinutes: 120, EitherMinutes: 120, Incidents: 1},
		{Region: "76", ENTMinutes: 60, CNEDMinutes: 120, EitherMinutes: 120, Incidents: 2},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ByRegion = %+v\nwant %+v", got, want)
	}
}

// matchesGolden compares got with testdata/name (rewritten by -update) and
// reports a difference as a test error.
func matchesGolden(t *testing.T, name string, got []byte) bool {
	t.Helper()
	golden := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update once to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (go test -update rewrites it)", golden)
		return false
	}
	return true
}
