// Package incident finds incidents in the warehouse's minute aggregates: the
// periods where a (platform, service, region) broke its objective, or fell
// silent while it usually carries traffic. It knows nothing of any scenario,
// only the data and config.IncidentsConfig. It is the one implementation of
// the rule: the report, the dashboard, the comparison with earlier days and
// live alerting all call it. It is not where incidents are explained or
// presented (package report) nor where they are notified (package alert).
//
// The rule (docs/detection.md says it in plain words, report.RuleText in
// the report's; a test keeps both in step with the parameters):
//
//   - Each minute t of a series is judged on a trailing window [t-L+1, t]
//     whose length L grows, up to MaxWindowMinutes, until it holds
//     MinEvents attempts (ok + failed); a window that never gets there is no
//     evidence. So a busy service is judged minute by minute and a quiet
//     one over a few minutes, on enough attempts either way.
//   - The window breaks availability when the Wilson upper bound of its
//     availability, at Confidence, is below the service's target: failing
//     beyond reasonable doubt, not by the chance of a few errors. It breaks
//     latency when, among its latency samples (grown like the attempts), the
//     Wilson lower bound of the share above the latency threshold is above
//     1 - quantile: the quantile is above the threshold beyond doubt.
//   - It is silent ("no data") when the platform is open (calendar), the
//     events expected in it (the same time on at least MinHistoryDays
//     earlier days of the same kind, scaled to the series' level of the last
//     hours; or else the other regions' curve times the series' usual share)
//     reach Silence.MinExpected, at most Silence.Fraction of them came, and
//     so few are improbable at Confidence (Poisson against earlier days, the
//     two-rate binomial test against the peers, both with counts divided by
//     their over-dispersion).
//   - The minutes of breaking windows are marked; marked stretches separated
//     by at most MergeGapMinutes merge. A stretch is trimmed to its first and
//     last minute that itself breaks the objective (its own availability,
//     quantile or traffic beyond the limit) and is an incident when it lasts
//     MinMinutes. It starts at that first minute and ends one minute after
//     the last.
//   - AlertAt is when the rule, run live each minute, knew: the end of the
//     first minute whose window broke, and not before the stretch lasted
//     MinMinutes. Every window is trailing, so this needs no later data.
package incident

import (
	"sort"
	"time"

	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/paris"
	"github.com/vigie-fr/vigie/internal/store"
)

// Minute is one bucket of a (platform, service, region) with the counts
// the detection and the report need: a row of minute_stats (or of
// hour_stats, for FindAt at the hour grain).
type Minute = store.Stats

// Key identifies the series an incident belongs to.
type Key struct {
	Platform string `json:"platform"`
	Service  string `json:"service"`
	Region   string `json:"region"`
}

func keyOf(m Minute) Key { return Key{m.Platform, m.Service, m.Region} }

// Reasons an objective is broken, as Incident.Reason says them.
const (
	ReasonAvailability = "availability"
	ReasonLatency      = "latency"
	ReasonBoth         = "availability+latency"
	// ReasonNoData is a series that fell silent while it usually carries
	// traffic at that time.
	ReasonNoData = "no data"
)

// Incident is one period where a key broke its objective.
type Incident struct {
	Platform string    `json:"platform"`
	Service  string    `json:"service"`
	Region   string    `json:"region"`
	Start    time.Time `json:"start"`
	// End is one minute after the last bad minute.
	End      time.Time     `json:"end"`
	Duration time.Duration `json:"-"`
	// Minutes is End-Start in minutes (JSON has no duration type).
	Minutes int `json:"minutes"`
	// BadMinutes counts the minutes of [Start, End) that broke the objective
	// on their own.
	BadMinutes int `json:"bad_minutes"`
	// WorstAvailability is the lowest availability of a window judged
	// failing (each with at least min_events attempts); 1 when availability
	// was not broken and nothing failed.
	WorstAvailability float64 `json:"worst_availability"`
	// Availability is ok / (ok + failed) over the whole incident.
	Availability float64 `json:"availability"`
	WorstP95MS   float64 `json:"worst_p95_ms"`
	Events       uint64  `json:"events"`
	OK           uint64  `json:"ok"`
	Failed       uint64  `json:"failed"`
	Rejected     uint64  `json:"rejected"`
	Queued       uint64  `json:"queued"`
	// ExpectedEvents is how many events the series usually carries over
	// the incident (filled for "no data" incidents only).
	ExpectedEvents float64 `json:"expected_events,omitempty"`
	// UsersAffected is the number of unique users who saw a failure during
	// the incident; filled by CountAffected (Detect leaves it 0).
	UsersAffected uint64 `json:"users_affected"`
	Reason        string `json:"reason"`
	// AlertAt is when the rule evaluated live would have alerted, and
	// DetectionSeconds is AlertAt - Start.
	AlertAt          time.Time `json:"alert_at"`
	DetectionSeconds int       `json:"detection_seconds"`
}

// Key returns the incident's series.
func (in Incident) Key() Key { return Key{in.Platform, in.Service, in.Region} }

// Bad reports whether bucket m on its own breaks the objective of its
// service: the window test of the rule on one bucket (used on hours, which
// hold enough attempts to be judged alone). A bucket with fewer than
// MinEvents attempts (and latency samples) is no evidence.
func Bad(m Minute, cfg config.IncidentsConfig) bool {
	r := newRule(cfg, time.Hour)
	o := cfg.Objective(m.Platform, m.Service)
	s := sample{attempts: m.OK + m.Failed(), ok: m.OK}
	s.latN, s.over = fallbackSlow(m, o)
	return r.availFails(s, o) || r.latFails(s, o)
}

// Detect finds the incidents in minutes (any order; one row per key and
// minute, as minute_stats gives). Without latency histograms, latency is
// judged from each minute's p95 (see Input.Slow). The result is sorted by
// start, then platform, service and region.
func Detect(minutes []Minute, cfg config.IncidentsConfig) []Incident {
	return DetectAt(minutes, time.Minute, cfg)
}

// DetectAt is Detect on buckets step wide.
func DetectAt(buckets []Minute, step time.Duration, cfg config.IncidentsConfig) []Incident {
	return Evaluate(Input{Buckets: buckets}, step, cfg)
}

// Input is what Evaluate judges.
type Input struct {
	// Buckets are the *_stats rows of the range, any order.
	Buckets []Minute
	// Slow are the latency samples above each series' threshold; a bucket
	// without an entry is judged from its P95MS alone (rows written before
	// migration 0004 have no histogram).
	Slow []store.Slow
	// History are hour buckets of earlier days: the usual traffic of a
	// series at a time of day, for silence. Empty: the other regions' curve.
	History []Minute
	// From and To bound the range judged, on bucket boundaries; zero means
	// from the first to the last bucket. A series with no bucket in the
	// range is judged too when History knows it (it may be silent).
	From, To time.Time
}

// Evaluate applies the rule to in at the bucket width step.
func Evaluate(in Input, step time.Duration, cfg config.IncidentsConfig) []Incident {
	from, to := in.From, in.To
	if from.IsZero() || to.IsZero() {
		for i, m := range in.Buckets {
			if i == 0 || m.Bucket.Before(from) {
				from = m.Bucket
			}
			if i == 0 || !m.Bucket.Before(to) {
				to = m.Bucket.Add(step)
			}
		}
	}
	n := int(to.Sub(from) / step)
	if n <= 0 {
		return nil
	}
	r := newRule(cfg, step)
	series := map[Key]*seriesData{}
	get := func(k Key) *seriesData {
		s := series[k]
		if s == nil {
			s = &seriesData{key: k, o: cfg.Objective(k.Platform, k.Service), samples: make([]sample, n), minutes: make([]*Minute, n)}
			series[k] = s
		}
		return s
	}
	for i := range in.Buckets {
		m := &in.Buckets[i]
		idx := int(m.Bucket.Sub(from) / step)
		if m.Bucket.Before(from) || idx >= n {
			continue
		}
		s := get(keyOf(*m))
		s.minutes[idx] = m
		smp := &s.samples[idx]
		smp.events, smp.attempts, smp.ok = m.Events, m.OK+m.Failed(), m.OK
		smp.latN, smp.over = fallbackSlow(*m, s.o)
	}
	for _, sl := range in.Slow {
		idx := int(sl.Bucket.Sub(from) / step)
		s := series[Key{sl.Platform, sl.Service, sl.Region}]
		if s == nil || sl.Bucket.Before(from) || idx >= n {
			continue
		}
		s.samples[idx].latN, s.samples[idx].over = sl.Samples, sl.Over
	}
	usual := usualTraffic(in.History, cfg, step)
	for k := range usual {
		get(k)
	}
	keys := make([]Key, 0, len(series))
	for k := range series {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return lessKey(keys[i], keys[j]) })
	grid := make([]time.Time, n)
	closed := make([]bool, n)
	for i := range grid {
		grid[i] = from.Add(time.Duration(i) * step)
		closed[i] = cfg.Calendar.Closed(grid[i], paris.Location)
	}
	// Per platform, the events of every series at each bucket: the peers'
	// curve is the platform's total minus the series' own.
	total := map[string][]float64{}
	for _, k := range keys {
		t := total[k.Platform]
		if t == nil {
			t = make([]float64, n)
			total[k.Platform] = t
		}
		for i, smp := range series[k].samples {
			t[i] += float64(smp.events)
		}
	}
	var out []Incident
	for _, k := range keys {
		out = append(out, r.detect(series[k], usual[k], total[k.Platform], grid, closed)...)
	}
	SortIncidents(out)
	return out
}

func lessKey(a, b Key) bool {
	if a.Platform != b.Platform {
		return a.Platform < b.Platform
	}
	if a.Service != b.Service {
		return a.Service < b.Service
	}
	return a.Region < b.Region
}

// SortIncidents orders incidents by start, then platform, service, region.
func SortIncidents(in []Incident) {
	sort.Slice(in, func(i, j int) bool {
		a, b := in[i], in[j]
		if !a.Start.Equal(b.Start) {
			return a.Start.Before(b.Start)
		}
		return lessKey(a.Key(), b.Key())
	})
}

// sample is one bucket's numbers as the rule uses them.
type sample struct {
	events, attempts, ok uint64
	latN, over           uint64
}

// fallbackSlow judges a bucket without histogram from its p95: all its
// attempts count as slow when the p95 is above the threshold. Exact for
// the p95 objective at the bucket's own level, coarse for another quantile.
func fallbackSlow(m Minute, o config.ObjectiveConfig) (n, over uint64) {
	if m.P95MS <= 0 {
		return 0, 0
	}
	n = m.OK + m.Failed()
	if m.P95MS > o.LatencyThresholdMS {
		return n, n
	}
	return n, 0
}

type seriesData struct {
	key      Key
	o        config.ObjectiveConfig
	samples  []sample
	minutes  []*Minute
	expected []float64 // events usually carried at each bucket; 0 when unknown or closed
}
