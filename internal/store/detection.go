package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vigie-fr/vigie/internal/warehouse"
)

// Tables of live detection (migration 0004).
const (
	TableIncidentState   = "incident_state"
	TableAlertDeliveries = "alert_deliveries"
)

// Threshold is the latency threshold of a platform, or of one of its
// services when Service is set.
type Threshold struct {
	Platform, Service string
	MS                float64
}

// Slow is one bucket of a series with its latency samples and how many of
// them lie above the series' threshold.
type Slow struct {
	Bucket                    time.Time
	Platform, Service, Region string
	// Samples counts the latencies of the bucket's histogram; 0 for rows
	// written before migration 0004 (their histogram is empty) and for
	// buckets without any latency.
	Samples uint64
	// Over counts the samples above the threshold (to the sketch's 1 %).
	Over uint64
}

// SlowCounts reads, for each bucket of [from, to) at grain holding a
// latency, its samples and those above the threshold of its series: the
// most specific of thresholds (platform and service, then platform), else
// def milliseconds. Sorted by platform, service, region and bucket.
func (s *Store) SlowCounts(ctx context.Context, grain Grain, from, to time.Time, thresholds []Threshold, def float64) ([]Slow, error) {
	if err := grain.check(); err != nil {
		return nil, err
	}
	thr := thresholdExpr(thresholds, def)
	q := fmt.Sprintf(`SELECT platform, service, region, bucket, sumMap(lat_hist) AS h,
       arraySum(mapValues(h)) AS n, arraySum(mapValues(mapFilter((k, v) -> k > 1000 * %s, h))) AS over
FROM %s
WHERE %s
GROUP BY platform, service, region, bucket
HAVING n > 0
ORDER BY platform, service, region, bucket`, thr, s.table("agg_"+string(grain)), span("bucket", from, to))
	res, err := s.wh.Query(ctx, q, nil)
	if err != nil {
		return nil, fmt.Errorf("slow latencies by %s %s..%s: %w", grain, from.Format(time.RFC3339), to.Format(time.RFC3339), err)
	}
	out := make([]Slow, 0, len(res.Rows))
	for i, r := range res.Rows {
		if len(r) != 7 {
			return nil, fmt.Errorf("slow latencies: row %d has %d columns, want 7", i, len(r))
		}
		bucket, ok := r[3].(time.Time)
		if !ok {
			return nil, fmt.Errorf("slow latencies: row %d: bucket is %T, want time.Time", i, r[3])
		}
		out = append(out, Slow{Bucket: bucket.UTC(), Platform: warehouse.AsString(r[0]), Service: warehouse.AsString(r[1]),
			Region: warehouse.AsString(r[2]), Samples: warehouse.AsUint(r[5]), Over: warehouse.AsUint(r[6])})
	}
	return out, nil
}

// thresholdExpr renders the threshold of a row as a multiIf over its
// platform and service, the most specific first.
func thresholdExpr(ts []Threshold, def float64) string {
	var conds []string
	num := func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
	for _, specific := range []bool{true, false} {
		for _, t := range ts {
			if (t.Service != "") != specific {
				continue
			}
			c := "platform = " + warehouse.QuoteString(t.Platform)
			if specific {
				c += " AND service = " + warehouse.QuoteString(t.Service)
			}
			conds = append(conds, c, num(t.MS))
		}
	}
	if len(conds) == 0 {
		return num(def)
	}
	return "multiIf(" + strings.Join(conds, ", ") + ", " + num(def) + ")"
}

// IncidentState is one version of a live incident.
// Its JSON form is what notifications carry.
type IncidentState struct {
	// ID names the incident for its whole life: its series and start.
	ID       string `json:"id"`
	Platform string `json:"platform"`
	Service  string `json:"service"`
	Region   string `json:"region"`
	Reason   string `json:"reason"`
	// Open is false once the incident is resolved.
	Open              bool      `json:"open"`
	Start             time.Time `json:"start"`
	End               time.Time `json:"end"`
	AlertAt           time.Time `json:"alert_at"`
	WorstAvailability float64   `json:"worst_availability"`
	WorstP95MS        float64   `json:"worst_p95_ms"`
	Events            uint64    `json:"events"`
	Failed            uint64    `json:"failed"`
	UpdatedAt         time.Time `json:"updated_at"`
}

var incidentStateColumns = []string{"id", "platform", "service", "region", "reason", "state", "start", "end", "alert_at",
	"worst_availability", "worst_p95_ms", "events", "failed", "updated_at", "version"}

func stateName(open bool) string {
	if open {
		return "open"
	}
	return "resolved"
}

func (st *IncidentState) values() []any {
	return []any{st.ID, st.Platform, st.Service, st.Region, st.Reason, stateName(st.Open), st.Start.UTC(), st.End.UTC(), st.AlertAt.UTC(),
		st.WorstAvailability, st.WorstP95MS, st.Events, st.Failed, st.UpdatedAt.UTC().Truncate(time.Millisecond), uint64(st.UpdatedAt.UnixMilli())}
}

// SaveIncidents writes new versions of live incidents; the newest version
// of an id (by UpdatedAt) is its state.
func (s *Store) SaveIncidents(ctx context.Context, rows []IncidentState) error {
	return insert(ctx, s, TableIncidentState, incidentStateColumns, rows, (*IncidentState).values, "")
}

// Incidents reads the newest state of the live incidents that were open at
// some time in [from, to) or are still open, sorted by start and id.
func (s *Store) Incidents(ctx context.Context, from, to time.Time) ([]IncidentState, error) {
	q := fmt.Sprintf(`SELECT id, platform, service, region, reason, toString(state), start, end, alert_at,
       worst_availability, worst_p95_ms, events, failed, updated_at
FROM %s FINAL
WHERE state = 'open' OR (end > %s AND start < %s)
ORDER BY start, id`, s.table(TableIncidentState), warehouse.TimeLiteral(from), warehouse.TimeLiteral(to))
	res, err := s.wh.Query(ctx, q, nil)
	if err != nil {
		return nil, fmt.Errorf("read live incidents: %w", err)
	}
	out := make([]IncidentState, 0, len(res.Rows))
	for i, r := range res.Rows {
		if len(r) != 14 {
			return nil, fmt.Errorf("read live incidents: row %d has %d columns, want 14", i, len(r))
		}
		t := func(v any) time.Time { x, _ := v.(time.Time); return x.UTC() }
		out = append(out, IncidentState{ID: warehouse.AsString(r[0]), Platform: warehouse.AsString(r[1]), Service: warehouse.AsString(r[2]),
			Region: warehouse.AsString(r[3]), Reason: warehouse.AsString(r[4]), Open: warehouse.AsString(r[5]) == "open",
			Start: t(r[6]), End: t(r[7]), AlertAt: t(r[8]), WorstAvailability: warehouse.AsFloat(r[9]), WorstP95MS: warehouse.AsFloat(r[10]),
			Events: warehouse.AsUint(r[11]), Failed: warehouse.AsUint(r[12]), UpdatedAt: t(r[13])})
	}
	return out, nil
}

// Delivery records that receiver acknowledged the notification of an
// incident's state (open or resolved).
type Delivery struct {
	IncidentID, Receiver string
	Open                 bool
	At                   time.Time
}

func (d *Delivery) values() []any {
	return []any{d.IncidentID, d.Receiver, stateName(d.Open), d.At.UTC().Truncate(time.Millisecond)}
}

// RecordDeliveries writes acknowledged notifications.
func (s *Store) RecordDeliveries(ctx context.Context, rows []Delivery) error {
	return insert(ctx, s, TableAlertDeliveries, []string{"incident_id", "receiver", "state", "delivered_at"}, rows, (*Delivery).values, "")
}

// Delivered reads which notifications of the given incidents were
// acknowledged, as "id|receiver|open" or "id|receiver|resolved" keys.
func (s *Store) Delivered(ctx context.Context, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	quoted := make([]string, len(ids))
	for i, id := range ids {
		quoted[i] = warehouse.QuoteString(id)
	}
	q := fmt.Sprintf("SELECT DISTINCT incident_id, receiver, toString(state) FROM %s WHERE incident_id IN (%s)",
		s.table(TableAlertDeliveries), strings.Join(quoted, ", "))
	res, err := s.wh.Query(ctx, q, nil)
	if err != nil {
		return nil, fmt.Errorf("read alert deliveries of %d incidents: %w", len(ids), err)
	}
	for _, r := range res.Rows {
		out[DeliveryKey(warehouse.AsString(r[0]), warehouse.AsString(r[1]), warehouse.AsString(r[2]) == "open")] = true
	}
	return out, nil
}

// DeliveryKey is the key Delivered answers with.
func DeliveryKey(id, receiver string, open bool) string {
	return id + "|" + receiver + "|" + stateName(open)
}

// Recent is one series over a recent span: what live metrics show.
type Recent struct {
	Platform, Service, Region string
	Events, OK, Failed        uint64
	// P95MS merges the span's latency sketches; 0 when none was measured.
	P95MS float64
	// Newest is the latest bucket of the span holding events.
	Newest time.Time
}

// Recent reads each series' totals over the minutes of [from, to), sorted
// by platform, service and region.
func (s *Store) Recent(ctx context.Context, from, to time.Time) ([]Recent, error) {
	q := fmt.Sprintf(`SELECT platform, service, region, sum(n_total), sum(n_ok), sum(n_error) + sum(n_timeout) + sum(n_rejected),
       quantilesExactWeightedMerge(0.5, 0.9, 0.95, 0.99)(latency)[3], max(bucket)
FROM %s
WHERE %s
GROUP BY platform, service, region
ORDER BY platform, service, region`, s.table("agg_minute"), span("bucket", from, to))
	res, err := s.wh.Query(ctx, q, nil)
	if err != nil {
		return nil, fmt.Errorf("recent totals %s..%s: %w", from.Format(time.RFC3339), to.Format(time.RFC3339), err)
	}
	out := make([]Recent, 0, len(res.Rows))
	for i, r := range res.Rows {
		if len(r) != 8 {
			return nil, fmt.Errorf("recent totals: row %d has %d columns, want 8", i, len(r))
		}
		newest, _ := r[7].(time.Time)
		out = append(out, Recent{Platform: warehouse.AsString(r[0]), Service: warehouse.AsString(r[1]), Region: warehouse.AsString(r[2]),
			Events: warehouse.AsUint(r[3]), OK: warehouse.AsUint(r[4]), Failed: warehouse.AsUint(r[5]), P95MS: warehouse.AsFloat(r[6]), Newest: newest.UTC()})
	}
	return out, nil
}
