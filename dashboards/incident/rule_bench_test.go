package incident_test

import (
	"testing"
	"time"

	"github.com/vigie-fr/vigie/dashboards/incident"
	"github.com/vigie-fr/vigie/dashboards/incident/incidenttest"
	"github.com/vigie-fr/vigie/ingest/simulate"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/paris"
)

// BenchmarkEvaluateADay judges one healthy simulated day at full volume
// (36 series × 1,440 minutes, about 52,000 buckets) as the report does for
// a day and live detection does, on a shorter range, every 15 s. It
// reports buckets judged per second; live detection's 4 hours of 36 series
// are about 8,600 buckets.
func BenchmarkEvaluateADay(b *testing.B) {
	cfg := config.Default().Incidents
	sc := simulate.HealthyDays(time.Date(2021, 5, 10, 0, 0, 0, 0, paris.Location), 1)
	stats, slow, err := incidenttest.Simulated(sc, 1, 1, func(p, s string) float64 { return cfg.Objective(p, s).LatencyThresholdMS })
	if err != nil {
		b.Fatal(err)
	}
	in := incident.Input{Buckets: stats, Slow: slow, From: sc.Start.UTC(), To: sc.End.UTC()}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if got := incident.Evaluate(in, time.Minute, cfg); len(got) != 0 {
			b.Fatalf("%d incidents on a healthy day", len(got))
		}
	}
	b.ReportMetric(float64(len(stats))*float64(b.N)/b.Elapsed().Seconds(), "buckets/s")
}
