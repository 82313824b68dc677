package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/dashboards/incident/incidenttest"
	"github.com/vigie-fr/vigie/dashboards/report"
	"github.com/vigie-fr/vigie/internal/config"
)

var update = flag.Bool("update", false, "rewrite testdata/*.md golden files")

func TestMain(m *testing.M) { os.Exit(incidenttest.Run(m)) }

func morningReport(t *testing.T) *report.Report {
	t.Helper()
	db := incidenttest.DB(t)
	wh := incidenttest.Warehouse(t, db)
	incidenttest.Insert(t, wh, db, incidenttest.Morning())
	r, err := report.Build(context.Background(), wh, db, incidenttest.MorningFrom, incidenttest.MorningTo, config.Default().Incidents)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestMarkdownMatchesTheGoldenFile(t *testing.T) {
	r := morningReport(t)
	var buf bytes.Buffer
	if err := r.WriteMarkdown(&buf); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "morning.md")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update once to write it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("Markdown differs from %s (go test -update rewrites it); got:\n%s", golden, buf.String())
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
	if _, err := report.Build(context.Background(), nil, "vigie", at, at, config.Default().Incidents); err == nil {
		t.Error("Build accepted from == to")
	}
}
