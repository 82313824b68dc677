package incident

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/warehouse"
)

// Load reads minute_stats of database db for buckets in [from, to), sorted
// by platform, service, region and bucket.
func Load(ctx context.Context, wh warehouse.Warehouse, db string, from, to time.Time) ([]Minute, error) {
	if !warehouse.ValidIdent(db) {
		return nil, fmt.Errorf("load minutes: database name %q is not an identifier", db)
	}
	q := fmt.Sprintf(`SELECT bucket, platform, service, region, events, ok, errors, timeouts,
       rejected, queued, p95_ms, users, users_failed
FROM %s.minute_stats
WHERE bucket >= %s AND bucket < %s
ORDER BY platform, service, region, bucket`, db, warehouse.TimeLiteral(from), warehouse.TimeLiteral(to))
	res, err := wh.Query(ctx, q, nil)
	if err != nil {
		return nil, fmt.Errorf("load minutes %s..%s: %w", from.Format(time.RFC3339), to.Format(time.RFC3339), err)
	}
	out := make([]Minute, 0, len(res.Rows))
	for i, r := range res.Rows {
		if len(r) != 13 {
			return nil, fmt.Errorf("load minutes: row %d has %d columns, want 13", i, len(r))
		}
		bucket, ok := r[0].(time.Time)
		if !ok {
			return nil, fmt.Errorf("load minutes: row %d: bucket is %T, want time.Time", i, r[0])
		}
		out = append(out, Minute{
			Bucket: bucket.UTC(), Platform: warehouse.AsString(r[1]), Service: warehouse.AsString(r[2]), Region: warehouse.AsString(r[3]),
			Events: warehouse.AsUint(r[4]), OK: warehouse.AsUint(r[5]), Errors: warehouse.AsUint(r[6]), Timeouts: warehouse.AsUint(r[7]),
			Rejected: warehouse.AsUint(r[8]), Queued: warehouse.AsUint(r[9]), P95MS: warehouse.AsFloat(r[10]),
			Users: warehouse.AsUint(r[11]), UsersFailed: warehouse.AsUint(r[12]),
		})
	}
	return out, nil
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

// Find loads [from, to), detects its incidents, groups them and counts the
// users they affected.
func Find(ctx context.Context, wh warehouse.Warehouse, db string, from, to time.Time, cfg config.IncidentsConfig) (*Findings, []Minute, error) {
	minutes, err := Load(ctx, wh, db, from, to)
	if err != nil {
		return nil, nil, err
	}
	f := &Findings{From: from.UTC(), To: to.UTC(), Incidents: Detect(minutes, cfg)}
	f.Groups = GroupOverlapping(f.Incidents)
	if f.Incidents == nil {
		f.Incidents = []Incident{}
	}
	if f.Groups == nil {
		f.Groups = []Group{}
	}
	f.UsersAffected, err = CountAffected(ctx, wh, db, f.Incidents, f.Groups)
	if err != nil {
		return nil, nil, err
	}
	return f, minutes, nil
}

// CountAffected fills UsersAffected of every incident and group with the
// unique users who failed in its series and time (merging the
// users_failed sketches of agg_minute, so a user failing for an hour counts
// once) and returns the unique count over all incidents. It sends one query.
func CountAffected(ctx context.Context, wh warehouse.Warehouse, db string, incs []Incident, groups []Group) (uint64, error) {
	if len(incs) == 0 {
		return 0, nil
	}
	if !warehouse.ValidIdent(db) {
		return 0, fmt.Errorf("count affected users: database name %q is not an identifier", db)
	}
	conds := make([]string, 0, len(incs)+len(groups)+1)
	for _, in := range incs {
		conds = append(conds, fmt.Sprintf("(platform = %s AND service = %s AND region = %s AND bucket >= %s AND bucket < %s)",
			warehouse.QuoteString(in.Platform), warehouse.QuoteString(in.Service), warehouse.QuoteString(in.Region),
			warehouse.TimeLiteral(in.Start), warehouse.TimeLiteral(in.End)))
	}
	for _, g := range groups {
		// A group is the union of its incidents, not its whole rectangle:
		// a region that recovered early must not count users after it did.
		parts := make([]string, len(g.Incidents))
		for k, i := range g.Incidents {
			parts[k] = conds[i]
		}
		conds = append(conds, "("+strings.Join(parts, " OR ")+")")
	}
	conds = append(conds, "("+strings.Join(conds[:len(incs)], " OR ")+")")
	// One pass over agg_minute: a -If combinator per incident, group and total.
	cols := make([]string, len(conds))
	for i, c := range conds {
		cols[i] = fmt.Sprintf("uniqCombined64MergeIf(users_failed, %s)", c)
	}
	q := fmt.Sprintf("SELECT %s\nFROM %s.agg_minute\nWHERE %s", strings.Join(cols, ",\n       "), db, conds[len(conds)-1])
	res, err := wh.Query(ctx, q, nil)
	if err != nil {
		return 0, fmt.Errorf("count affected users of %d incidents: %w", len(incs), err)
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != len(conds) {
		return 0, fmt.Errorf("count affected users: got %d rows, want 1 row of %d columns", len(res.Rows), len(conds))
	}
	row := res.Rows[0]
	for i := range incs {
		incs[i].UsersAffected = warehouse.AsUint(row[i])
	}
	for g := range groups {
		groups[g].UsersAffected = warehouse.AsUint(row[len(incs)+g])
	}
	return warehouse.AsUint(row[len(row)-1]), nil
}
