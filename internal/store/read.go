package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vigie-fr/vigie/internal/warehouse"
)

// Grain is the width of the warehouse's buckets: its minute or hour tables.
type Grain string

// Grains the warehouse aggregates at.
const (
	Minute Grain = "minute"
	Hour   Grain = "hour"
)

// Step is the bucket width of g, 0 for an unknown grain.
func (g Grain) Step() time.Duration {
	switch g {
	case Minute:
		return time.Minute
	case Hour:
		return time.Hour
	}
	return 0
}

func (g Grain) check() error {
	if g.Step() == 0 {
		return fmt.Errorf("grain %q is not one of minute, hour", string(g))
	}
	return nil
}

// span renders "bucket >= from AND bucket < to".
func span(col string, from, to time.Time) string {
	return fmt.Sprintf("%s >= %s AND %s < %s", col, warehouse.TimeLiteral(from), col, warehouse.TimeLiteral(to))
}

// Stats is one row of minute_stats or hour_stats: a (platform, service,
// region) in one bucket, with what detection and the report need.
type Stats struct {
	Bucket   time.Time `json:"bucket"`
	Platform string    `json:"platform"`
	Service  string    `json:"service"`
	Region   string    `json:"region"`
	Events   uint64    `json:"events"`
	OK       uint64    `json:"ok"`
	Errors   uint64    `json:"errors"`
	Timeouts uint64    `json:"timeouts"`
	Rejected uint64    `json:"rejected"`
	Queued   uint64    `json:"queued"`
	// P95MS is the 95th latency percentile; 0 when no latency was measured.
	P95MS       float64 `json:"p95_ms"`
	Users       uint64  `json:"users"`
	UsersFailed uint64  `json:"users_failed"`
}

// Failed counts the attempts that did not succeed: errors, timeouts and
// quota rejections. Queued attempts are not failures (they may still get in).
func (m Stats) Failed() uint64 { return m.Errors + m.Timeouts + m.Rejected }

// Availability is ok / (ok + failed), the definition of the *_stats views;
// ok is false when the bucket had no such attempt.
func (m Stats) Availability() (a float64, ok bool) { return Availability(m.OK, m.Failed()) }

// Availability is the one definition of availability, ok / (ok + failed)
// (failed: errors, timeouts and quota refusals; waiting-room attempts are
// neither); ok is false when nothing that can fail was attempted.
func Availability(okCount, failed uint64) (a float64, ok bool) {
	den := okCount + failed
	if den == 0 {
		return 0, false
	}
	return float64(okCount) / float64(den), true
}

// Stats reads the buckets of [from, to) at grain, sorted by platform,
// service, region and bucket.
func (s *Store) Stats(ctx context.Context, grain Grain, from, to time.Time) ([]Stats, error) {
	return s.stats(ctx, grain, from, to, true)
}

// StatsCounts is Stats without the unique users (Users and UsersFailed are
// 0): what detection reads, faster, since it does not merge the users'
// sketches of every bucket.
func (s *Store) StatsCounts(ctx context.Context, grain Grain, from, to time.Time) ([]Stats, error) {
	return s.stats(ctx, grain, from, to, false)
}

func (s *Store) stats(ctx context.Context, grain Grain, from, to time.Time, users bool) ([]Stats, error) {
	if err := grain.check(); err != nil {
		return nil, err
	}
	merge := "uniqCombined64Merge(users), uniqCombined64Merge(users_failed)"
	if !users {
		merge = "0, 0"
	}
	// The aggregate table itself rather than the *_stats view: only the
	// columns detection needs are merged (a day at full volume is 50,000
	// minutes of 36 series).
	q := fmt.Sprintf(`SELECT bucket, platform, service, region, sum(n_total), sum(n_ok), sum(n_error), sum(n_timeout),
       sum(n_rejected), sum(n_queued), quantilesExactWeightedMerge(0.5, 0.9, 0.95, 0.99)(latency)[3],
       %s
FROM %s
WHERE %s
GROUP BY bucket, platform, service, region
ORDER BY platform, service, region, bucket`, merge, s.table("agg_"+string(grain)), span("bucket", from, to))
	res, err := s.wh.Query(ctx, q, nil)
	if err != nil {
		return nil, fmt.Errorf("load %ss %s..%s: %w", grain, from.Format(time.RFC3339), to.Format(time.RFC3339), err)
	}
	out := make([]Stats, 0, len(res.Rows))
	for i, r := range res.Rows {
		if len(r) != 13 {
			return nil, fmt.Errorf("load %ss: row %d has %d columns, want 13", grain, i, len(r))
		}
		bucket, ok := r[0].(time.Time)
		if !ok {
			return nil, fmt.Errorf("load %ss: row %d: bucket is %T, want time.Time", grain, i, r[0])
		}
		out = append(out, Stats{
			Bucket: bucket.UTC(), Platform: warehouse.AsString(r[1]), Service: warehouse.AsString(r[2]), Region: warehouse.AsString(r[3]),
			Events: warehouse.AsUint(r[4]), OK: warehouse.AsUint(r[5]), Errors: warehouse.AsUint(r[6]), Timeouts: warehouse.AsUint(r[7]),
			Rejected: warehouse.AsUint(r[8]), Queued: warehouse.AsUint(r[9]), P95MS: warehouse.AsFloat(r[10]),
			Users: warehouse.AsUint(r[11]), UsersFailed: warehouse.AsUint(r[12]),
		})
	}
	return out, nil
}

// Span is one series over [Start, End).
type Span struct {
	Platform, Service, Region string
	Start, End                time.Time
}

// cond selects the span's rows; col is the time column (bucket, or ts in
// the raw events).
func (sp Span) cond(col string) string {
	return fmt.Sprintf("(platform = %s AND service = %s AND region = %s AND %s)",
		warehouse.QuoteString(sp.Platform), warehouse.QuoteString(sp.Service), warehouse.QuoteString(sp.Region),
		span(col, sp.Start, sp.End))
}

// UsersFailed returns, for each set of spans, the unique users who saw a
// failure in any of its spans at grain, merging the users_failed sketches
// so that a user failing for an hour counts once. It sends one query.
func (s *Store) UsersFailed(ctx context.Context, grain Grain, sets [][]Span) ([]uint64, error) {
	if err := grain.check(); err != nil {
		return nil, err
	}
	out := make([]uint64, len(sets))
	if len(sets) == 0 {
		return out, nil
	}
	cols := make([]string, len(sets))
	var all []string
	seen := map[string]bool{}
	for i, set := range sets {
		conds := make([]string, len(set))
		for k, sp := range set {
			conds[k] = sp.cond("bucket")
			if !seen[conds[k]] {
				seen[conds[k]] = true
				all = append(all, conds[k])
			}
		}
		if len(conds) == 0 {
			conds = []string{"0"}
		}
		cols[i] = fmt.Sprintf("uniqCombined64MergeIf(users_failed, %s)", strings.Join(conds, " OR "))
	}
	if len(all) == 0 {
		return out, nil
	}
	// One pass over the aggregate table: a -If combinator per set.
	q := fmt.Sprintf("SELECT %s\nFROM %s\nWHERE %s", strings.Join(cols, ",\n       "),
		s.table("agg_"+string(grain)), strings.Join(all, " OR "))
	res, err := s.wh.Query(ctx, q, nil)
	if err != nil {
		return nil, fmt.Errorf("count users who failed, %d sets: %w", len(sets), err)
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != len(sets) {
		return nil, fmt.Errorf("count users who failed: got %d rows, want 1 row of %d columns", len(res.Rows), len(sets))
	}
	for i, v := range res.Rows[0] {
		out[i] = warehouse.AsUint(v)
	}
	return out, nil
}

// GridCell is one region in one bucket, all the platform's services of the
// region merged.
type GridCell struct {
	Region string
	Bucket time.Time
	Events uint64
	OK     uint64
	Failed uint64
	// P95MS merges the latency of all the region's services; 0 when none was measured.
	P95MS float64
}

// Grid reads the region × bucket cells of platform in [from, to) at grain,
// sorted by region code and bucket. It reads the aggregate tables rather
// than the finalized views because a region's p95 must merge the latency
// sketches of all its services.
func (s *Store) Grid(ctx context.Context, platform string, grain Grain, from, to time.Time) ([]GridCell, error) {
	if err := grain.check(); err != nil {
		return nil, err
	}
	q := fmt.Sprintf(`SELECT region, bucket, sum(n_total), sum(n_ok), sum(n_error) + sum(n_timeout) + sum(n_rejected),
       quantilesExactWeightedMerge(0.5, 0.9, 0.95, 0.99)(latency)[3]
FROM %s
WHERE platform = %s AND %s
GROUP BY region, bucket
ORDER BY region, bucket`, s.table("agg_"+string(grain)), warehouse.QuoteString(platform), span("bucket", from, to))
	res, err := s.wh.Query(ctx, q, nil)
	if err != nil {
		return nil, fmt.Errorf("grid %s by %s: %w", platform, grain, err)
	}
	out := make([]GridCell, 0, len(res.Rows))
	for i, r := range res.Rows {
		bucket, ok := r[1].(time.Time)
		if !ok {
			return nil, fmt.Errorf("grid: row %d: bucket is %T, want time.Time", i, r[1])
		}
		out = append(out, GridCell{Region: warehouse.AsString(r[0]), Bucket: bucket.UTC(), Events: warehouse.AsUint(r[2]),
			OK: warehouse.AsUint(r[3]), Failed: warehouse.AsUint(r[4]), P95MS: warehouse.AsFloat(r[5])})
	}
	return out, nil
}

// Anonymous counts a service's raw attempts in some regions, inside a
// period and outside it (within a wider range), and how many carried no
// user: a flood without user sessions is what an attack looks like.
type Anonymous struct {
	Inside, AnonymousInside   uint64
	Outside, AnonymousOutside uint64
	// Sources are the distinct networks (attrs['src'], cut to /24 or /48
	// at ingest) of the anonymous attempts inside the period.
	Sources uint64
}

// Anonymous reads the raw events of service in regions over [from, to),
// split at the period [inFrom, inTo). Raw events are kept
// warehouse.retention.raw (90 days by default): older ranges count 0.
func (s *Store) Anonymous(ctx context.Context, service string, regions []string, inFrom, inTo, from, to time.Time) (Anonymous, error) {
	if len(regions) == 0 {
		return Anonymous{}, nil
	}
	quoted := make([]string, len(regions))
	for i, reg := range regions {
		quoted[i] = warehouse.QuoteString(reg)
	}
	// Two passes: the counts read ts and user only; the distinct sources
	// read the attributes map, the widest column, only where the engine
	// finds anonymous attempts inside the period.
	where := fmt.Sprintf("service = %s AND region IN (%s)", warehouse.QuoteString(service), strings.Join(quoted, ", "))
	q := fmt.Sprintf(`SELECT countIf(%[1]s), countIf(%[1]s AND user = 0), countIf(NOT (%[1]s)), countIf(NOT (%[1]s) AND user = 0)
FROM %[2]s
WHERE %[3]s AND %[4]s`, span("ts", inFrom, inTo), s.table(TableEvents), where, span("ts", from, to))
	res, err := s.wh.Query(ctx, q, nil)
	if err != nil {
		return Anonymous{}, fmt.Errorf("anonymous traffic of %s: %w", service, err)
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 4 {
		return Anonymous{}, nil
	}
	r := res.Rows[0]
	out := Anonymous{Inside: warehouse.AsUint(r[0]), AnonymousInside: warehouse.AsUint(r[1]),
		Outside: warehouse.AsUint(r[2]), AnonymousOutside: warehouse.AsUint(r[3])}
	if out.AnonymousInside == 0 {
		return out, nil
	}
	q = fmt.Sprintf(`SELECT uniqExact(attrs['src'])
FROM %s
WHERE %s AND %s AND %s AND user = 0 AND attrs['src'] != ''`, s.table(TableEvents), where, span("ts", from, to), span("ts", inFrom, inTo))
	if res, err = s.wh.Query(ctx, q, nil); err != nil {
		return Anonymous{}, fmt.Errorf("sources of anonymous traffic of %s: %w", service, err)
	}
	if len(res.Rows) == 1 && len(res.Rows[0]) == 1 {
		out.Sources = warehouse.AsUint(res.Rows[0][0])
	}
	return out, nil
}

// HourRange returns the first and last hour buckets holding data; ok is
// false when the warehouse is empty.
func (s *Store) HourRange(ctx context.Context) (first, last time.Time, ok bool, err error) {
	res, err := s.wh.Query(ctx, fmt.Sprintf("SELECT count(), min(bucket), max(bucket) FROM %s", s.table("agg_hour")), nil)
	if err != nil {
		return first, last, false, fmt.Errorf("data range: %w", err)
	}
	if len(res.Rows) != 1 || warehouse.AsUint(res.Rows[0][0]) == 0 {
		return first, last, false, nil
	}
	first, _ = res.Rows[0][1].(time.Time)
	last, _ = res.Rows[0][2].(time.Time)
	return first.UTC(), last.UTC(), true, nil
}

// Ping checks that the warehouse answers.
func (s *Store) Ping(ctx context.Context) error {
	if _, err := s.wh.Query(ctx, "SELECT 1", nil); err != nil {
		return fmt.Errorf("warehouse: %w", err)
	}
	return nil
}
