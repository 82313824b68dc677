// Package incident finds incidents in the warehouse's minute aggregates: the
// periods where a (platform, service, region) broke its objective. It knows
// nothing of any scenario, only the data and config.IncidentsConfig. It is
// not where incidents are explained or presented: package report does that.
//
// The rules, in order:
//
//   - A minute is bad when it has at least MinEvents events and its
//     availability is below AvailabilityTarget or its p95 latency is above
//     P95ThresholdMS. A minute with fewer events (or with no row at all) is
//     no evidence either way: it never counts as bad, and like a good minute
//     it counts towards the gap between two bad minutes. So a long silence
//     splits an outage in two rather than claiming it went on unseen.
//   - Bad minutes of one key whose gap (minutes strictly between them) is at
//     most MergeGapMinutes belong to one episode. Flapping services (two bad
//     minutes, one good, two bad…) thus make one episode.
//   - An episode is an incident when it holds at least MinMinutes bad
//     minutes. It starts at its first bad minute and ends one minute after
//     its last bad minute.
package incident

import (
	"math"
	"sort"
	"time"

	"github.com/vigie-fr/vigie/internal/config"
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
	Minutes    int `json:"minutes"`
	BadMinutes int `json:"bad_minutes"`
	// WorstAvailability is the lowest availability of a minute with enough
	// events in [Start, End); 1 when only latency was broken and nothing failed.
	WorstAvailability float64 `json:"worst_availability"`
	// Availability is ok / (ok + failed) over the whole incident.
	Availability float64 `json:"availability"`
	WorstP95MS   float64 `json:"worst_p95_ms"`
	Events       uint64  `json:"events"`
	OK           uint64  `json:"ok"`
	Failed       uint64  `json:"failed"`
	Rejected     uint64  `json:"rejected"`
	Queued       uint64  `json:"queued"`
	// UsersAffected is the number of unique users who saw a failure during
	// the incident; filled by CountAffected (Detect leaves it 0).
	UsersAffected uint64 `json:"users_affected"`
	Reason        string `json:"reason"`
}

// Key returns the incident's series.
func (in Incident) Key() Key { return Key{in.Platform, in.Service, in.Region} }

// Bad reports whether bucket m breaks the objective of cfg: the one rule
// that detection, the comparison with earlier days and the dashboards
// share.
func Bad(m Minute, cfg config.IncidentsConfig) bool {
	_, ba, bl := classify(m, cfg)
	return ba || bl
}

// classify says whether m counts, and which objectives it breaks.
func classify(m Minute, cfg config.IncidentsConfig) (counts, badAvail, badLat bool) {
	if m.Events < uint64(max(cfg.MinEvents, 0)) {
		return false, false, false
	}
	if a, ok := m.Availability(); ok && a < cfg.AvailabilityTarget {
		badAvail = true
	}
	badLat = m.P95MS > cfg.P95ThresholdMS
	return true, badAvail, badLat
}

// Detect finds the incidents in minutes (any order; one row per key and
// minute, as minute_stats gives). The result is sorted by start, then
// platform, service and region.
func Detect(minutes []Minute, cfg config.IncidentsConfig) []Incident {
	return DetectAt(minutes, time.Minute, cfg)
}

// DetectAt is Detect on buckets step wide: a bad bucket counts as step of
// bad time, so one bad hour is 60 bad minutes and an incident of its own.
func DetectAt(buckets []Minute, step time.Duration, cfg config.IncidentsConfig) []Incident {
	byKey := map[Key][]Minute{}
	for _, m := range buckets {
		byKey[keyOf(m)] = append(byKey[keyOf(m)], m)
	}
	var out []Incident
	for _, series := range byKey {
		sort.Slice(series, func(i, j int) bool { return series[i].Bucket.Before(series[j].Bucket) })
		out = append(out, detectSeries(series, step, cfg)...)
	}
	SortIncidents(out)
	return out
}

// SortIncidents orders incidents by start, then platform, service, region.
func SortIncidents(in []Incident) {
	sort.Slice(in, func(i, j int) bool {
		a, b := in[i], in[j]
		if !a.Start.Equal(b.Start) {
			return a.Start.Before(b.Start)
		}
		if a.Platform != b.Platform {
			return a.Platform < b.Platform
		}
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		return a.Region < b.Region
	})
}

// detectSeries works on one key's buckets sorted by bucket.
func detectSeries(series []Minute, step time.Duration, cfg config.IncidentsConfig) []Incident {
	gap := time.Duration(max(cfg.MergeGapMinutes, 0)) * time.Minute
	var out []Incident
	var bad []int // indexes of the current episode's bad buckets
	flush := func() {
		if len(bad) > 0 && time.Duration(len(bad))*step >= time.Duration(cfg.MinMinutes)*time.Minute {
			out = append(out, summarise(series, bad, step, cfg))
		}
		bad = bad[:0]
	}
	for i, m := range series {
		_, ba, bl := classify(m, cfg)
		if !ba && !bl {
			continue
		}
		// Time strictly between the previous bad bucket and this one.
		if len(bad) > 0 && m.Bucket.Sub(series[bad[len(bad)-1]].Bucket)-step > gap {
			flush()
		}
		bad = append(bad, i)
	}
	flush()
	return out
}

// summarise builds the incident spanning the bad buckets idx of series.
func summarise(series []Minute, idx []int, step time.Duration, cfg config.IncidentsConfig) Incident {
	first, last := series[idx[0]], series[idx[len(idx)-1]]
	in := Incident{
		Platform: first.Platform, Service: first.Service, Region: first.Region,
		Start: first.Bucket, End: last.Bucket.Add(step),
		BadMinutes: len(idx) * int(step/time.Minute), WorstAvailability: 1,
	}
	in.Duration = in.End.Sub(in.Start)
	in.Minutes = int(in.Duration / time.Minute)
	var anyAvail, anyLat bool
	for _, m := range series[idx[0] : idx[len(idx)-1]+1] {
		in.Events += m.Events
		in.OK += m.OK
		in.Failed += m.Failed()
		in.Rejected += m.Rejected
		in.Queued += m.Queued
		counts, ba, bl := classify(m, cfg)
		anyAvail = anyAvail || ba
		anyLat = anyLat || bl
		if !counts {
			continue
		}
		if a, ok := m.Availability(); ok && a < in.WorstAvailability {
			in.WorstAvailability = a
		}
		in.WorstP95MS = math.Max(in.WorstP95MS, m.P95MS)
	}
	in.Availability = 1
	if den := in.OK + in.Failed; den > 0 {
		in.Availability = float64(in.OK) / float64(den)
	}
	switch {
	case anyAvail && anyLat:
		in.Reason = ReasonBoth
	case anyAvail:
		in.Reason = ReasonAvailability
	default:
		in.Reason = ReasonLatency
	}
	return in
}
