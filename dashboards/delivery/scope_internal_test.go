package delivery

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/dashboards/incident"
	"github.com/vigie-fr/vigie/dashboards/incident/incidenttest"
	"github.com/vigie-fr/vigie/dashboards/report"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/store"
)

// A subscription's report is the report of its regions and platforms: the
// morning has ENT incidents in 11, 32 and 76 and the CNED flooded in four
// regions; a subscription of Île-de-France's ENT sees one incident, in
// 11 on the ENT, and an ENT heatmap of one region with no CNED one.
func TestAScopedReportSeesOnlyItsRegionsAndPlatforms(t *testing.T) {
	st := incidenttest.Store(t, incidenttest.DB(t))
	incidenttest.Insert(t, st, incidenttest.Morning())
	// Annotations narrowed to a platform or region go to that scope's
	// reports; one narrowed to neither goes to every report.
	written := incidenttest.MorningTo.Add(time.Hour)
	for _, a := range []store.Annotation{
		{ID: "n-idf", At: incidenttest.MorningFrom.Add(time.Hour), Platform: "ent", Region: "11", Kind: store.AnnotationEvent, Text: "idf", Author: "a", WrittenAt: written},
		{ID: "n-cned", At: incidenttest.MorningFrom.Add(time.Hour), Platform: "cned", Kind: store.AnnotationEvent, Text: "cned", Author: "a", WrittenAt: written},
		{ID: "n-all", At: incidenttest.MorningFrom.Add(time.Hour), Kind: store.AnnotationBadly, Text: "all", Author: "a", WrittenAt: written},
	} {
		if err := st.PutAnnotation(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	}
	notes := func(r *report.Report) (ids []string) {
		for _, a := range r.Notes.Annotations {
			ids = append(ids, a.ID)
		}
		slices.Sort(ids)
		return ids
	}
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
	if got := notes(all); !slices.Equal(got, []string{"n-all", "n-cned", "n-idf"}) {
		t.Errorf("the unscoped report's annotations %v, want all three", got)
	}
	if got := notes(idf); !slices.Equal(got, []string{"n-all", "n-idf"}) {
		t.Errorf("Île-de-France's ENT annotations %v, want n-all and n-idf", got)
	}
	cned := build(nil, []string{"cned"})
	if got := notes(cned); !slices.Equal(got, []string{"n-all", "n-cned"}) {
		t.Errorf("the CNED's annotations %v, want n-all and n-cned", got)
	}
	if cned.Summary.Incidents != 4 || slices.ContainsFunc(cned.Incidents, func(in incident.Incident) bool { return in.Platform != "cned" }) {
		t.Errorf("the CNED alone: %d incidents, want its 4", cned.Summary.Incidents)
	}
}
