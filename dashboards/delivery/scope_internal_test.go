package delivery

import (
	"context"
	"slices"
	"testing"

	"github.com/vigie-fr/vigie/dashboards/incident"
	"github.com/vigie-fr/vigie/dashboards/incident/incidenttest"
	"github.com/vigie-fr/vigie/dashboards/report"
	"github.com/vigie-fr/vigie/internal/config"
)

// A subscription's report is the report of its regions and platforms: the
// morning has ENT incidents in 11, 32 and 76 and the CNED flooded in four
// regions; a subscription of Île-de-France's ENT sees one incident, in
// 11 on the ENT, and an ENT heatmap of one region with no CNED one.
func TestAScopedReportSeesOnlyItsRegionsAndPlatforms(t *testing.T) {
	st := incidenttest.Store(t, incidenttest.DB(t))
	incidenttest.Insert(t, st, incidenttest.Morning())
	build := func(regions, platforms []string) *report.Report {
		r, err := report.Build(context.Background(), scope(st, regions, platforms), incidenttest.MorningFrom, incidenttest.MorningTo, config.Default().Incidents)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	all := build(nil, nil)
	if all.Summary.Incidents != 7 {
		t.Fatalf("the unscoped morning has %d incidents, want 7 (3 ENT, 4 CNED)", all.Summary.Incidents)
	}
	idf := build([]string{"11"}, []string{"ent"})
	if len(idf.Incidents) != 1 || idf.Incidents[0].Region != "11" || idf.Incidents[0].Platform != "ent" {
		t.Errorf("Île-de-France's ENT: %d incidents %+v, want the one of ent-11", len(idf.Incidents), idf.Incidents)
	}
	for _, g := range idf.Grids {
		want := []string(nil)
		if g.Platform == "ent" {
			want = []string{"11"}
		}
		if !slices.Equal(g.Regions, want) {
			t.Errorf("%s heatmap regions %v, want %v", g.Platform, g.Regions, want)
		}
	}
	cned := build(nil, []string{"cned"})
	if cned.Summary.Incidents != 4 || slices.ContainsFunc(cned.Incidents, func(in incident.Incident) bool { return in.Platform != "cned" }) {
		t.Errorf("the CNED alone: %d incidents, want its 4", cned.Summary.Incidents)
	}
}
