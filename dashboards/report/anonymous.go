package report

import (
	"context"

	"github.com/vigie-fr/vigie/dashboards/incident"
)

// Thresholds of the anonymous-traffic attack signal.
const (
	// AnonymousShare is the share of attempts carrying no user above which
	// an incident's traffic looks like it does not come from pupils.
	AnonymousShare = 0.25
	// AnonymousRatio is how many times the service's normal anonymous share
	// (outside its incidents, in the report's range) it must also reach.
	AnonymousRatio = 3.0
)

// anonymousSignals reads the raw events (kept warehouse.retention.raw, 90
// days by default) of every incident group: a flood of requests that carry
// no user session, from few networks, is what an attack looks like from
// the inside, while a saturated service still serves its own users.
func anonymousSignals(ctx context.Context, src Source, groups []incident.Group, r *Report) ([]Signal, error) {
	var out []Signal
	for _, g := range groups {
		a, err := src.Anonymous(ctx, g.Service, g.Regions, g.Start, g.End, r.From, r.To)
		if err != nil {
			return nil, err
		}
		if a.Inside == 0 {
			continue // raw events past retention: nothing to say
		}
		share := float64(a.AnonymousInside) / float64(a.Inside)
		baseline := 0.0
		if a.Outside > 0 {
			baseline = float64(a.AnonymousOutside) / float64(a.Outside)
		}
		if share < AnonymousShare || share < AnonymousRatio*baseline {
			continue
		}
		out = append(out, Signal{
			Kind: SignalAnonymous, Label: labels[SignalAnonymous], Platform: g.Platform, Service: g.Service,
			Regions: g.Regions, Start: g.Start, End: g.End, Value: share, Baseline: baseline,
			Sources: a.Sources,
		})
	}
	return out, nil
}
