package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vigie-fr/vigie/internal/warehouse"
)

// Bucket widths of Series beyond the tables' own: Paris days and weeks
// (Monday to Monday, Paris time), and All, one bucket for the whole range.
const (
	Day  Grain = "day"
	Week Grain = "week"
	All  Grain = "all"
)

// seriesGrain reports whether Series can cut buckets of g.
func seriesGrain(g Grain) error {
	switch g {
	case Minute, Hour, Day, Week, All:
		return nil
	}
	return fmt.Errorf("grain %q is not one of minute, hour, day, week, all", string(g))
}

// Filter keeps the rows of some platforms, services and regions; an empty
// list keeps every value. There is no académie: the aggregates do not keep
// it (only raw events do).
type Filter struct {
	Platforms, Services, Regions []string
}

// By says which dimensions Series keeps apart; the others are merged.
type By struct {
	Platform, Service, Region bool
}

// SeriesQuery is what Series reads.
type SeriesQuery struct {
	Grain    Grain
	From, To time.Time
	Filter   Filter
	By       By
	// Users also merges the unique-user sketches (slower on long ranges).
	Users bool
}

// Point is one bucket of a series: outcomes, latency quantiles, the
// waiting room and session counts, all merged over what By does not keep
// apart.
type Point struct {
	Bucket                    time.Time
	Platform, Service, Region string // "" when merged
	Events, OK, Errors        uint64
	Timeouts, Rejected        uint64
	Queued                    uint64
	SessionsStarted           uint64
	SessionsEnded             uint64
	// LatencyN counts latency samples; the quantiles mean nothing when 0.
	LatencyN            uint64
	P50MS, P95MS, P99MS float64
	// QueueN counts waiting-room waits, QueueSumMS their total.
	QueueN      uint64
	QueueSumMS  float64
	QueueMaxMS  float64
	Users       uint64 // 0 unless SeriesQuery.Users
	UsersFailed uint64
}

// Failed counts attempts that did not succeed (queued is not a failure).
func (p Point) Failed() uint64 { return p.Errors + p.Timeouts + p.Rejected }

// Availability is ok / (ok + failed); ok is false when nothing that can
// fail was attempted.
func (p Point) Availability() (float64, bool) { return Availability(p.OK, p.Failed()) }

// SQLText is how a query's values are written into its text: literals for
// the store, Grafana macros and template variables for its dashboards.
type SQLText struct {
	// From and To are DateTime expressions of the range's ends.
	From, To string
	// In renders "col IN (vals)"; "" keeps every row.
	In func(col string, vals []string) string
}

// Literal writes values as SQL literals: what the store runs.
func Literal(from, to time.Time) SQLText {
	return SQLText{From: warehouse.TimeLiteral(from), To: warehouse.TimeLiteral(to), In: func(col string, vals []string) string {
		if len(vals) == 0 {
			return ""
		}
		q := make([]string, len(vals))
		for i, v := range vals {
			q[i] = warehouse.QuoteString(v)
		}
		return col + " IN (" + strings.Join(q, ", ") + ")"
	}}
}

// aggColumns are the columns Series reads from agg_minute and agg_hour.
const aggColumns = `bucket, platform, service, region, n_total, n_ok, n_error, n_timeout, n_rejected, n_queued,
           n_session_start, n_session_end, latency_n, latency, queue_n, queue_sum, queue_max, users, users_failed`

// SeriesSQL is the text of Series' query. Ranges at a grain of an hour or
// more read whole hours from agg_hour and only the ragged ends from
// agg_minute: a day is 24 rows per series instead of 1,440.
func (s *Store) SeriesSQL(q SeriesQuery, txt SQLText) (string, error) {
	if err := seriesGrain(q.Grain); err != nil {
		return "", err
	}
	var where []string
	for _, f := range []struct {
		col  string
		vals []string
	}{{"platform", q.Filter.Platforms}, {"service", q.Filter.Services}, {"region", q.Filter.Regions}} {
		if c := txt.In(f.col, f.vals); c != "" {
			where = append(where, c)
		}
	}
	filter := ""
	if len(where) > 0 {
		filter = strings.Join(where, " AND ") + " AND "
	}
	var bucket string
	switch q.Grain {
	case Minute:
		bucket = "bucket"
	case Hour:
		bucket = "toStartOfHour(bucket)"
	case Day:
		bucket = "toStartOfDay(bucket, 'Europe/Paris')"
	case Week:
		bucket = "toDateTime(toMonday(bucket, 'Europe/Paris'), 'Europe/Paris')"
	case All:
		bucket = txt.From
	}
	dims := []string{"''", "''", "''"}
	var group []string
	for i, d := range []struct {
		on  bool
		col string
	}{{q.By.Platform, "platform"}, {q.By.Service, "service"}, {q.By.Region, "region"}} {
		if d.on {
			dims[i] = d.col
			group = append(group, d.col)
		}
	}
	group = append(group, "b")
	users := "0 AS users_count, 0 AS users_failed_count"
	if q.Users {
		users = "uniqCombined64Merge(users) AS users_count, uniqCombined64Merge(users_failed) AS users_failed_count"
	}
	var from string
	if q.Grain == Minute {
		from = fmt.Sprintf(`(
    SELECT %s FROM %s
    WHERE %sbucket >= %s AND bucket < %s
)`, aggColumns, s.table("agg_minute"), filter, txt.From, txt.To)
	} else {
		// hf and ht: the first and last whole hours of the range.
		hf := fmt.Sprintf("toStartOfHour(addSeconds(%s, 3599))", txt.From)
		ht := fmt.Sprintf("toStartOfHour(%s)", txt.To)
		from = fmt.Sprintf(`(
    SELECT %[1]s FROM %[2]s
    WHERE %[4]sbucket >= %[6]s AND bucket < %[7]s
    UNION ALL
    SELECT %[1]s FROM %[3]s
    WHERE %[4]s((bucket >= %[5]s AND bucket < least(%[6]s, %[8]s)) OR (bucket >= greatest(%[7]s, %[6]s, %[5]s) AND bucket < %[8]s))
)`, aggColumns, s.table("agg_hour"), s.table("agg_minute"), filter, txt.From, hf, ht, txt.To)
	}
	// Output names differ from the tables' columns: an alias that shadows
	// a column it aggregates is an error.
	return fmt.Sprintf(`SELECT %s AS b, %s AS platform, %s AS service, %s AS region,
       sum(n_total) AS events, sum(n_ok) AS ok, sum(n_error) AS errors, sum(n_timeout) AS timeouts,
       sum(n_rejected) AS rejected, sum(n_queued) AS queued,
       sum(n_session_start) AS sessions_started, sum(n_session_end) AS sessions_ended, sum(latency_n) AS latency_count,
       quantilesExactWeightedMerge(0.5, 0.9, 0.95, 0.99)(latency) AS q, q[1] AS p50_ms, q[3] AS p95_ms, q[4] AS p99_ms,
       sum(queue_n) AS queue_count, sum(queue_sum) AS queue_sum_ms, max(queue_max) AS queue_max_ms, %s
FROM %s
GROUP BY %s
ORDER BY %s`, bucket, dims[0], dims[1], dims[2], users, from, strings.Join(group, ", "), strings.Join(group, ", ")), nil
}

// Series reads the points of q, sorted by the kept dimensions, then bucket.
func (s *Store) Series(ctx context.Context, q SeriesQuery) ([]Point, error) {
	sql, err := s.SeriesSQL(q, Literal(q.From, q.To))
	if err != nil {
		return nil, err
	}
	res, err := s.wh.Query(ctx, sql, nil)
	if err != nil {
		return nil, fmt.Errorf("series by %s %s..%s: %w", q.Grain, q.From.Format(time.RFC3339), q.To.Format(time.RFC3339), err)
	}
	out := make([]Point, 0, len(res.Rows))
	for i, r := range res.Rows {
		if len(r) != 22 {
			return nil, fmt.Errorf("series: row %d has %d columns, want 22", i, len(r))
		}
		b, ok := r[0].(time.Time)
		if !ok {
			return nil, fmt.Errorf("series: row %d: bucket is %T, want time.Time", i, r[0])
		}
		u := warehouse.AsUint
		p := Point{Bucket: b.UTC(), Platform: warehouse.AsString(r[1]), Service: warehouse.AsString(r[2]), Region: warehouse.AsString(r[3]),
			Events: u(r[4]), OK: u(r[5]), Errors: u(r[6]), Timeouts: u(r[7]), Rejected: u(r[8]), Queued: u(r[9]),
			SessionsStarted: u(r[10]), SessionsEnded: u(r[11]), LatencyN: u(r[12]),
			QueueN: u(r[17]), QueueSumMS: warehouse.AsFloat(r[18]), QueueMaxMS: warehouse.AsFloat(r[19]),
			Users: u(r[20]), UsersFailed: u(r[21])}
		if p.LatencyN > 0 {
			p.P50MS, p.P95MS, p.P99MS = warehouse.AsFloat(r[14]), warehouse.AsFloat(r[15]), warehouse.AsFloat(r[16])
		}
		out = append(out, p)
	}
	return out, nil
}

// ServiceKey is a platform's service.
type ServiceKey struct {
	Platform string `json:"platform"`
	Service  string `json:"service"`
}

// Services lists every (platform, service) holding data, sorted.
func (s *Store) Services(ctx context.Context) ([]ServiceKey, error) {
	res, err := s.wh.Query(ctx, s.ServicesSQL(), nil)
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	out := make([]ServiceKey, len(res.Rows))
	for i, r := range res.Rows {
		out[i] = ServiceKey{Platform: warehouse.AsString(r[0]), Service: warehouse.AsString(r[1])}
	}
	return out, nil
}

// LastMinute returns the newest minute bucket holding data; ok is false
// when the warehouse is empty. It reads the newest hour first, so that it
// touches one partition of agg_minute.
func (s *Store) LastMinute(ctx context.Context) (last time.Time, ok bool, err error) {
	_, lastHour, ok, err := s.HourRange(ctx)
	if err != nil || !ok {
		return time.Time{}, false, err
	}
	res, err := s.wh.Query(ctx, fmt.Sprintf("SELECT count(), max(bucket) FROM %s WHERE %s", s.table("agg_minute"),
		span("bucket", lastHour, lastHour.Add(time.Hour))), nil)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("last minute: %w", err)
	}
	if len(res.Rows) != 1 || warehouse.AsUint(res.Rows[0][0]) == 0 {
		// Minutes expired before hours (shorter retention): the hour's end.
		return lastHour.Add(time.Hour - time.Minute), true, nil
	}
	t, _ := res.Rows[0][1].(time.Time)
	return t.UTC(), true, nil
}

// Version is a cheap fingerprint of what the aggregate and report-note tables hold: it
// changes with every write of a window, so an answer computed from the
// aggregates may be reused while it stays the same.
func (s *Store) Version(ctx context.Context) (string, error) {
	// The report also shows what people wrote (annotations, action items,
	// status): a write there is a new version too. Each write adds a row
	// with a newer written_at, so count and newest time change with it.
	notes := func(table string) string {
		return fmt.Sprintf("(SELECT toString(count()) || '.' || toString(toUnixTimestamp64Milli(max(written_at))) FROM %s)", s.table(table))
	}
	res, err := s.wh.Query(ctx, fmt.Sprintf("SELECT count(), sum(n_total), max(received_at), %s, %s, %s FROM %s",
		notes("report_annotations"), notes("report_actions"), notes("report_status"), s.table("agg_hour")), nil)
	if err != nil {
		return "", fmt.Errorf("aggregates version: %w", err)
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 6 {
		return "", fmt.Errorf("aggregates version: got %d rows", len(res.Rows))
	}
	r := res.Rows[0]
	t, _ := r[2].(time.Time)
	return fmt.Sprintf("%d/%d/%d/%s/%s/%s", warehouse.AsUint(r[0]), warehouse.AsUint(r[1]), t.Unix(),
		warehouse.AsString(r[3]), warehouse.AsString(r[4]), warehouse.AsString(r[5])), nil
}
