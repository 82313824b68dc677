package incident_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/dashboards/incident"
	"github.com/vigie-fr/vigie/dashboards/incident/incidenttest"
	"github.com/vigie-fr/vigie/ingest/simulate"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/paris"
)

// tolerance is how far a found incident's start or end may be from the
// scenario's script.
const tolerance = 5 * time.Minute

// simulated evaluates a scenario's traffic with the default configuration.
func simulated(t *testing.T, sc simulate.Scenario, scale float64) []incident.Incident {
	t.Helper()
	cfg := config.Default().Incidents
	stats, slow, err := incidenttest.Simulated(sc, 1, scale, func(p, s string) float64 { return cfg.Objective(p, s).LatencyThresholdMS })
	if err != nil {
		t.Fatal(err)
	}
	return incident.Evaluate(incident.Input{Buckets: stats, Slow: slow, From: sc.Start.UTC(), To: sc.End.UTC()}, time.Minute, cfg)
}

func hm(t time.Time) string { return t.In(paris.Location).Format("15:04") }

// Every scripted incident of every scenario, at a twentieth of the volume
// (a few events a minute in small regions) and at full volume, is found
// once with its start and end within 5 minutes, and nothing else is.
func TestScriptedIncidentsAreFoundAtEveryVolume(t *testing.T) {
	scales := []float64{0.05, 1}
	if os.Getenv("VIGIE_LONG_TESTS") == "1" {
		scales = []float64{0.05, 0.1, 0.2, 0.5, 1, 2}
	}
	for _, name := range []string{"2021-04-06", "2020-03-16", "2021-04-08"} {
		for _, scale := range scales {
			t.Run(fmt.Sprintf("%s at scale %v", name, scale), func(t *testing.T) {
				sc, err := simulate.Lookup(name)
				if err != nil {
					t.Fatal(err)
				}
				found := simulated(t, sc, scale)
				truth := sc.Truth()
				matched := make([]bool, len(found))
				var worst time.Duration
				for _, tr := range truth {
					n := 0
					for i, in := range found {
						if in.Platform != tr.Platform || in.Service != tr.Service || in.Region != tr.Region {
							continue
						}
						matched[i] = true
						n++
						ds, de := in.Start.Sub(tr.Start), in.End.Sub(tr.End)
						if ds.Abs() > tolerance || de.Abs() > tolerance {
							t.Errorf("%s/%s: found %s–%s, scripted %s–%s (±%s)", tr.Service, tr.Region, hm(in.Start), hm(in.End), hm(tr.Start), hm(tr.End), tolerance)
						}
						if tr.Cause == simulate.CauseSilent && in.Reason != incident.ReasonNoData {
							t.Errorf("%s/%s: reason %q, want %q for a silent outage", tr.Service, tr.Region, in.Reason, incident.ReasonNoData)
						}
						worst = max(worst, in.AlertAt.Sub(tr.Start))
					}
					if n != 1 {
						t.Errorf("%s/%s scripted %s–%s: found %d incidents, want 1", tr.Service, tr.Region, hm(tr.Start), hm(tr.End), n)
					}
				}
				for i, in := range found {
					if !matched[i] {
						t.Errorf("false incident %s/%s %s–%s (%s)", in.Service, in.Region, hm(in.Start), hm(in.End), in.Reason)
					}
				}
				t.Logf("%d scripted, %d found; slowest alert %s after the scripted start", len(truth), len(found), worst)
				// At full volume a failing minute is evidence on its own: the
				// rule knows at the end of the first one.
				if scale >= 1 && worst > 2*time.Minute {
					t.Errorf("slowest alert %s after a scripted start, want at most 2 minutes at scale %v", worst, scale)
				}
			})
		}
	}
}

// Healthy days with a diurnal curve and random errors give no incident, at
// low and full volume. The long run (a week each) is the false-positive
// measurement docs/detection.md reports.
func TestHealthyDaysHaveNoIncident(t *testing.T) {
	days := 1
	if os.Getenv("VIGIE_LONG_TESTS") == "1" {
		days = 7
	}
	for _, scale := range []float64{0.05, 1} {
		t.Run(fmt.Sprintf("scale %v", scale), func(t *testing.T) {
			sc := simulate.HealthyDays(time.Date(2021, 5, 10, 0, 0, 0, 0, paris.Location), days)
			found := simulated(t, sc, scale)
			for _, in := range found {
				t.Errorf("false incident %s/%s %s %s–%s (%s)", in.Service, in.Region, in.Start.In(paris.Location).Format("Mon 02"), hm(in.Start), hm(in.End), in.Reason)
			}
			series := 36
			t.Logf("%d series × %d days: %d false incidents (%.4f per series-day)", series, days, len(found), float64(len(found))/float64(series*days))
		})
	}
}
