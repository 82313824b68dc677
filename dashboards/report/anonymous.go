package report

import (
	"context"
	"fmt"
	"strings"

	"github.com/vigie-fr/vigie/dashboards/incident"
	"github.com/vigie-fr/vigie/internal/warehouse"
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
func anonymousSignals(ctx context.Context, wh warehouse.Warehouse, db string, groups []incident.Group, r *Report) ([]Signal, error) {
	var out []Signal
	for _, g := range groups {
		in := fmt.Sprintf("ts >= %s AND ts < %s", warehouse.TimeLiteral(g.Start), warehouse.TimeLiteral(g.End))
		quoted := make([]string, len(g.Regions))
		for i, reg := range g.Regions {
			quoted[i] = warehouse.QuoteString(reg)
		}
		q := fmt.Sprintf(`SELECT countIf(%[1]s), countIf(%[1]s AND user = 0), countIf(NOT (%[1]s)), countIf(NOT (%[1]s) AND user = 0),
       uniqExactIf(attrs['src'], %[1]s AND user = 0 AND attrs['src'] != '')
FROM %[2]s.events
WHERE service = %[3]s AND region IN (%[4]s) AND ts >= %[5]s AND ts < %[6]s`,
			in, db, warehouse.QuoteString(g.Service), strings.Join(quoted, ", "),
			warehouse.TimeLiteral(r.From), warehouse.TimeLiteral(r.To))
		res, err := wh.Query(ctx, q, nil)
		if err != nil {
			return nil, fmt.Errorf("anonymous traffic of %s: %w", g.Service, err)
		}
		if len(res.Rows) != 1 {
			continue
		}
		row := res.Rows[0]
		nIn, anonIn := warehouse.AsUint(row[0]), warehouse.AsUint(row[1])
		nOut, anonOut := warehouse.AsUint(row[2]), warehouse.AsUint(row[3])
		if nIn == 0 {
			continue // raw events past retention: nothing to say
		}
		share := float64(anonIn) / float64(nIn)
		baseline := 0.0
		if nOut > 0 {
			baseline = float64(anonOut) / float64(nOut)
		}
		if share < AnonymousShare || share < AnonymousRatio*baseline {
			continue
		}
		out = append(out, Signal{
			Kind: SignalAnonymous, Label: labels[SignalAnonymous], Platform: g.Platform, Service: g.Service,
			Regions: g.Regions, Start: g.Start, End: g.End, Value: share, Baseline: baseline,
			Sources: warehouse.AsUint(row[4]),
		})
	}
	return out, nil
}
