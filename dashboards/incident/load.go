package incident

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/store"
)

// Source is what detection reads from the warehouse (*store.Store).
type Source interface {
	// Stats reads the buckets of [from, to) at grain, sorted by platform,
	// service, region and bucket.
	Stats(ctx context.Context, grain store.Grain, from, to time.Time) ([]store.Stats, error)
	// UsersFailed counts, for each set of spans, the unique users who saw a
	// failure in any of them.
	UsersFailed(ctx context.Context, grain store.Grain, sets [][]store.Span) ([]uint64, error)
	// SlowCounts reads each bucket's latency samples and those above its
	// series' threshold.
	SlowCounts(ctx context.Context, grain store.Grain, from, to time.Time, thresholds []store.Threshold, def float64) ([]store.Slow, error)
}

// Load reads what Evaluate needs for [from, to) at grain: the buckets, the
// latency samples above each service's threshold and, for silence, the
// hours of the HistoryDays before from.
func Load(ctx context.Context, src Source, grain store.Grain, from, to time.Time, cfg config.IncidentsConfig) (Input, error) {
	in := Input{From: from.UTC().Truncate(grain.Step()), To: to.UTC()}
	if rem := in.To.Sub(in.From) % grain.Step(); rem != 0 {
		in.To = in.To.Add(grain.Step() - rem)
	}
	var err error
	if in.Buckets, err = src.Stats(ctx, grain, in.From, in.To); err != nil {
		return Input{}, err
	}
	if in.Slow, err = src.SlowCounts(ctx, grain, in.From, in.To, Thresholds(cfg), cfg.P95ThresholdMS); err != nil {
		return Input{}, err
	}
	if days := cfg.Silence.HistoryDays; days > 0 {
		hfrom := in.From.Truncate(time.Hour).AddDate(0, 0, -days)
		if in.History, err = src.Stats(ctx, store.Hour, hfrom, in.From.Truncate(time.Hour)); err != nil {
			return Input{}, err
		}
	}
	return in, nil
}

// Thresholds lists the latency thresholds of incidents.objectives for the
// store's SlowCounts.
func Thresholds(cfg config.IncidentsConfig) []store.Threshold {
	var out []store.Threshold
	for name := range cfg.Objectives {
		platform, service, _ := strings.Cut(name, "/")
		out = append(out, store.Threshold{Platform: platform, Service: service, MS: cfg.Objective(platform, service).LatencyThresholdMS})
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Platform+"/"+out[i].Service < out[j].Platform+"/"+out[j].Service
	})
	return out
}

// Findings is what Find learns about a time range.
type Findings struct {
	From      time.Time  `json:"from"`
	To        time.Time  `json:"to"`
	Incidents []Incident `json:"incidents"`
	Groups    []Group    `json:"groups"`
	// UsersAffected counts unique users who saw a failure in any incident.
	UsersAffected uint64 `json:"users_affected"`
}

// Find loads the minutes of [from, to), detects their incidents, groups
// them and counts the users they affected.
func Find(ctx context.Context, src Source, from, to time.Time, cfg config.IncidentsConfig) (*Findings, []Minute, error) {
	return FindAt(ctx, src, store.Minute, from, to, cfg)
}

// FindAt is Find at another grain: the same rule on hour buckets describes
// a range whose minutes have expired (their retention is shorter).
func FindAt(ctx context.Context, src Source, grain store.Grain, from, to time.Time, cfg config.IncidentsConfig) (*Findings, []Minute, error) {
	in, err := Load(ctx, src, grain, from, to, cfg)
	if err != nil {
		return nil, nil, err
	}
	rows := in.Buckets
	f := &Findings{From: from.UTC(), To: to.UTC(), Incidents: Evaluate(in, grain.Step(), cfg)}
	f.Groups = GroupOverlapping(f.Incidents)
	if f.Incidents == nil {
		f.Incidents = []Incident{}
	}
	if f.Groups == nil {
		f.Groups = []Group{}
	}
	f.UsersAffected, err = CountAffected(ctx, src, grain, f.Incidents, f.Groups)
	if err != nil {
		return nil, nil, err
	}
	return f, rows, nil
}

// CountAffected fills UsersAffected of every incident and group with the
// unique users who failed in its series and time (merging the sketches, so
// a user failing for an hour counts once) and returns the unique count over
// all incidents. A group is the union of its incidents, not its whole
// rectangle: a region that recovered early must not count users after it
// did.
func CountAffected(ctx context.Context, src Source, grain store.Grain, incs []Incident, groups []Group) (uint64, error) {
	if len(incs) == 0 {
		return 0, nil
	}
	spans := make([]store.Span, len(incs))
	for i, in := range incs {
		spans[i] = store.Span{Platform: in.Platform, Service: in.Service, Region: in.Region, Start: in.Start, End: in.End}
	}
	sets := make([][]store.Span, 0, len(incs)+len(groups)+1)
	for i := range incs {
		sets = append(sets, spans[i:i+1])
	}
	for _, g := range groups {
		set := make([]store.Span, len(g.Incidents))
		for k, i := range g.Incidents {
			set[k] = spans[i]
		}
		sets = append(sets, set)
	}
	sets = append(sets, spans)
	n, err := src.UsersFailed(ctx, grain, sets)
	if err != nil {
		return 0, fmt.Errorf("count affected users of %d incidents: %w", len(incs), err)
	}
	for i := range incs {
		incs[i].UsersAffected = n[i]
	}
	for g := range groups {
		groups[g].UsersAffected = n[len(incs)+g]
	}
	return n[len(n)-1], nil
}
