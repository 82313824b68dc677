package incident_test

import (
	"context"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/dashboards/incident"
	"github.com/vigie-fr/vigie/dashboards/incident/incidenttest"
	"github.com/vigie-fr/vigie/internal/config"
)

func TestMain(m *testing.M) { os.Exit(incidenttest.Run(m)) }

func TestFindOnTheWarehouse(t *testing.T) {
	db := incidenttest.DB(t)
	st := incidenttest.Store(t, db)
	incidenttest.Insert(t, st, incidenttest.Morning())
	cfg := config.Default().Incidents

	f, minutes, err := incident.Find(context.Background(), st, incidenttest.MorningFrom, incidenttest.MorningTo, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if want := 240 * 8; len(minutes) != want {
		t.Errorf("loaded %d minutes, want %d (240 minutes × 8 series)", len(minutes), want)
	}
	at := func(h, m int) time.Time { return time.Date(2021, 4, 6, h, m, 0, 0, time.UTC) }
	type row struct {
		service, region string
		start, end      time.Time
		worstAvail      float64
		worstP95        float64
		failed, users   uint64
		reason          string
	}
	var got []row
	for _, in := range f.Incidents {
		got = append(got, row{in.Service, in.Region, in.Start, in.End, in.WorstAvailability, in.WorstP95MS, in.Failed, in.UsersAffected, in.Reason})
	}
	cned := func(region string) row {
		return row{"cned-classe-virtuelle", region, at(6, 0), at(8, 0), 500.0 / 600, 8000, 120 * 100, 5, incident.ReasonBoth}
	}
	want := []row{
		cned("11"), cned("32"), cned("53"), cned("76"),
		{"ent-76", "76", at(6, 30), at(7, 30), 55.0 / 70, 400, 60 * 15, 20, incident.ReasonAvailability},
		{"ent-11", "11", at(6, 40), at(7, 0), 0.5, 400, 20 * 50, 10, incident.ReasonAvailability},
		{"ent-32", "32", at(6, 40), at(7, 0), 0.5, 400, 20 * 50, 10, incident.ReasonAvailability},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("incidents =\n%+v\nwant\n%+v", got, want)
	}
	if f.UsersAffected != 60 {
		t.Errorf("UsersAffected = %d, want 60 (4×5 CNED + 2×10 + 20 ENT)", f.UsersAffected)
	}
	if len(f.Groups) != 4 {
		t.Fatalf("got %d groups, want 4", len(f.Groups))
	}
	g := f.Groups[0]
	if g.Service != "cned-classe-virtuelle" || !reflect.DeepEqual(g.Regions, []string{"11", "32", "53", "76"}) || g.UsersAffected != 20 || g.Minutes != 120 {
		t.Errorf("CNED group = %+v, want 4 regions, 120 minutes, 20 users", g)
	}
}
