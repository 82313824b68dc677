package incident

import (
	"context"
	"fmt"
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
	rows, err := src.Stats(ctx, grain, from, to)
	if err != nil {
		return nil, nil, err
	}
	f := &Findings{From: from.UTC(), To: to.UTC(), Incidents: DetectAt(rows, grain.Step(), cfg)}
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
