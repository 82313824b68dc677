package report_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/dashboards/incident/incidenttest"
	"github.com/vigie-fr/vigie/dashboards/report"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/store"
)

// The raw events of the morning's CNED incident hold a flood of requests
// without a user from 4 networks; outside it, 1 in 20 requests has none.
// The report must flag the flood with those exact numbers, and no other
// service, whose raw events all carry users.
func TestAFloodOfRequestsWithoutUsersIsFlaggedAsAttackLike(t *testing.T) {
	db := incidenttest.DB(t)
	st := incidenttest.Store(t, db)
	incidenttest.Insert(t, st, incidenttest.Morning())
	ctx := context.Background()
	before, err := report.Build(ctx, st, incidenttest.MorningFrom, incidenttest.MorningTo, config.Default().Incidents)
	if err != nil {
		t.Fatal(err)
	}
	group := -1
	for i, g := range before.Groups {
		if g.Platform == "cned" {
			group = i
		}
	}
	if group < 0 {
		t.Fatal("the morning has no CNED incident group")
	}
	g := before.Groups[group]
	var rows []store.Event
	add := func(ts time.Time, service, platform, region string, user uint64, attrs map[string]string) {
		rows = append(rows, store.Event{ID: fmt.Sprintf("r%d", len(rows)), TS: ts, Platform: platform, Service: service,
			Region: region, Kind: "api", Outcome: "ok", User: user, Attrs: attrs, Offset: int64(len(rows))})
	}
	// In the incident: 60 anonymous requests from 4 networks, 40 with users.
	for i := range 100 {
		ts := g.Start.Add(time.Duration(i) * time.Second)
		if i < 60 {
			add(ts, g.Service, g.Platform, g.Regions[0], 0, map[string]string{"src": fmt.Sprintf("192.0.2.%d/24", i%4)})
		} else {
			add(ts, g.Service, g.Platform, g.Regions[0], uint64(i), map[string]string{})
		}
	}
	// Outside it, within the range: 1 anonymous in 20.
	for i := range 20 {
		var user uint64 = uint64(1000 + i)
		if i == 0 {
			user = 0
		}
		add(g.End.Add(time.Duration(i)*time.Second), g.Service, g.Platform, g.Regions[0], user, map[string]string{})
	}
	// A failing ENT whose requests all carry users.
	for _, in := range before.Incidents {
		if in.Platform == "ent" {
			for i := range 50 {
				add(in.Start.Add(time.Duration(i)*time.Second), in.Service, in.Platform, in.Region, uint64(5000+i), map[string]string{})
			}
			break
		}
	}
	if err := st.InsertEvents(ctx, rows, ""); err != nil {
		t.Fatal(err)
	}
	r, err := report.Build(ctx, st, incidenttest.MorningFrom, incidenttest.MorningTo, config.Default().Incidents)
	if err != nil {
		t.Fatal(err)
	}
	var flagged []report.Signal
	for _, s := range r.Signals {
		if s.Kind == report.SignalAnonymous {
			flagged = append(flagged, s)
		}
	}
	if len(flagged) != 1 {
		t.Fatalf("%d anonymous-flood signals, want 1 (the CNED): %+v", len(flagged), flagged)
	}
	cned := flagged[0]
	if cned.Service != g.Service || math.Abs(cned.Value-0.60) > 1e-9 || math.Abs(cned.Baseline-0.05) > 1e-9 || cned.Sources != 4 {
		t.Errorf("signal = %s share %.3f baseline %.3f from %d networks; want %s, 0.600, 0.050, 4", cned.Service, cned.Value, cned.Baseline, cned.Sources, g.Service)
	}
}
