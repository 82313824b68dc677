package incident_test

import (
	"context"
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
// low and full volume: judged in one range against the other regions, and
// day by day against the earlier days' hours as live detection and the
// report do (once three earlier days exist). The long run (a week at each
// volume) is the false-positive measurement docs/detection.md reports.
func TestHealthyDaysHaveNoIncident(t *testing.T) {
	long := os.Getenv("VIGIE_LONG_TESTS") == "1"
	for _, tc := range []struct {
		scale float64
		days  int
	}{{0.05, 4}, {1, 1}} {
		if long {
			tc.days = 7
		}
		t.Run(fmt.Sprintf("scale %v", tc.scale), func(t *testing.T) {
			cfg := config.Default().Incidents
			start := time.Date(2021, 5, 10, 0, 0, 0, 0, paris.Location)
			sc := simulate.HealthyDays(start, tc.days)
			stats, slow, err := incidenttest.Simulated(sc, 1, tc.scale, func(p, s string) float64 { return cfg.Objective(p, s).LatencyThresholdMS })
			if err != nil {
				t.Fatal(err)
			}
			found := incident.Evaluate(incident.Input{Buckets: stats, Slow: slow, From: sc.Start.UTC(), To: sc.End.UTC()}, time.Minute, cfg)
			judged := 0
			for d := incident.MinHistoryDays; d < tc.days; d++ {
				from, to := start.AddDate(0, 0, d), start.AddDate(0, 0, d+1)
				in := incident.Input{Slow: slow, From: from.UTC(), To: to.UTC(), History: hours(stats, from.AddDate(0, 0, -cfg.Silence.HistoryDays), from)}
				for _, m := range stats {
					if !m.Bucket.Before(from) && m.Bucket.Before(to) {
						in.Buckets = append(in.Buckets, m)
					}
				}
				found = append(found, incident.Evaluate(in, time.Minute, cfg)...)
				judged++
			}
			for _, in := range found {
				t.Errorf("false incident %s/%s %s %s–%s (%s)", in.Service, in.Region, in.Start.In(paris.Location).Format("Mon 02"), hm(in.Start), hm(in.End), in.Reason)
			}
			series := 36
			t.Logf("%d series × %d days against the peers, and %d days against earlier days: %d false incidents",
				series, tc.days, judged, len(found))
		})
	}
}

// hours sums minutes of [from, to) into hour buckets, as hour_stats does.
func hours(minutes []incident.Minute, from, to time.Time) []incident.Minute {
	type key struct {
		h                         time.Time
		platform, service, region string
	}
	byHour := map[key]*incident.Minute{}
	var out []incident.Minute
	for _, m := range minutes {
		if m.Bucket.Before(from) || !m.Bucket.Before(to) {
			continue
		}
		k := key{m.Bucket.Truncate(time.Hour), m.Platform, m.Service, m.Region}
		h := byHour[k]
		if h == nil {
			h = &incident.Minute{Bucket: k.h, Platform: k.platform, Service: k.service, Region: k.region}
			byHour[k] = h
		}
		h.Events += m.Events
		h.OK += m.OK
		h.Errors += m.Errors
		h.Timeouts += m.Timeouts
	}
	for _, h := range byHour {
		out = append(out, *h)
	}
	return out
}

// The same acceptance through the warehouse: the scenario's minutes
// written to agg_in as the aggregator writes them, read back by Find
// (materialized views, the latency histogram of migration 0004, the
// store's reads), at a twentieth of the volume.
func TestScriptedIncidentsAreFoundThroughTheWarehouse(t *testing.T) {
	st := incidenttest.Store(t, incidenttest.DB(t))
	cfg := config.Default().Incidents
	for _, name := range []string{"2021-04-06", "2021-04-08"} {
		sc, err := simulate.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := incidenttest.SimulatedRows(sc, 1, 0.05)
		if err != nil {
			t.Fatal(err)
		}
		incidenttest.Insert(t, st, rows)
		f, _, err := incident.Find(context.Background(), st, sc.Start, sc.End, cfg)
		if err != nil {
			t.Fatal(err)
		}
		truth := sc.Truth()
		if len(f.Incidents) != len(truth) {
			t.Errorf("%s: %d incidents found through the warehouse, want the %d scripted", name, len(f.Incidents), len(truth))
			for _, in := range f.Incidents {
				t.Logf("%s/%s %s–%s %s", in.Service, in.Region, hm(in.Start), hm(in.End), in.Reason)
			}
		}
		for _, tr := range truth {
			ok := false
			for _, in := range f.Incidents {
				if in.Service == tr.Service && in.Region == tr.Region &&
					in.Start.Sub(tr.Start).Abs() <= tolerance && in.End.Sub(tr.End).Abs() <= tolerance {
					ok = true
				}
			}
			if !ok {
				t.Errorf("%s: %s/%s scripted %s–%s not found within %s through the warehouse", name, tr.Service, tr.Region, hm(tr.Start), hm(tr.End), tolerance)
			}
		}
	}
}
