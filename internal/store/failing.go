package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/vigie-fr/vigie/internal/warehouse"
)

// FailingQuery selects the failing raw events (outcome error, timeout or
// rejected; queued is not a failure) of one series over [From, To).
type FailingQuery struct {
	Platform  string // "" for any platform
	Service   string
	Region    string
	Academies []string // empty: every académie
	From, To  time.Time
	Limit     int
}

// FailingEvent is one failing raw event as the drill-down shows it. User is
// the keyed-HMAC pseudonym, never the raw id.
type FailingEvent struct {
	TS        time.Time         `json:"ts"`
	Academy   string            `json:"academy"`
	Kind      string            `json:"kind"`
	Outcome   string            `json:"outcome"`
	Status    uint64            `json:"status"`
	LatencyMS *float64          `json:"latency_ms"`
	User      string            `json:"user"`
	Attrs     map[string]string `json:"attrs"`
}

// FailingGroup counts failing events that share an outcome, a status, a
// kind and an académie: the drill-down of readers who may not see raw rows.
type FailingGroup struct {
	Outcome string `json:"outcome"`
	Status  uint64 `json:"status"`
	Kind    string `json:"kind"`
	Academy string `json:"academy"`
	Count   uint64 `json:"count"`
}

func (s *Store) failingWhere(q FailingQuery) string {
	conds := []string{}
	if q.Platform != "" {
		conds = append(conds, "platform = "+warehouse.QuoteString(q.Platform))
	}
	conds = append(conds, "region = "+warehouse.QuoteString(q.Region), "service = "+warehouse.QuoteString(q.Service),
		span("ts", q.From, q.To), "outcome IN ('error', 'timeout', 'rejected')")
	if c := Literal(q.From, q.To).In("academy", q.Academies); c != "" {
		conds = append(conds, c)
	}
	return strings.Join(conds, "\n  AND ")
}

// FailingEventsSQL is the text of FailingEvents' query.
func (s *Store) FailingEventsSQL(q FailingQuery) string {
	return fmt.Sprintf(`SELECT ts, academy, kind, outcome, status, latency_ms, toString(user) AS user, toJSONString(attrs) AS attrs
FROM %s
WHERE %s
ORDER BY ts, id
LIMIT %d`, s.table(TableEvents), s.failingWhere(q), max(q.Limit, 1))
}

// FailingGroupsSQL is the text of FailingGroups' query; its last column
// is the number of failing events in all groups.
func (s *Store) FailingGroupsSQL(q FailingQuery) string {
	return fmt.Sprintf(`SELECT outcome, status, kind, academy, count() AS n, sum(n) OVER () AS total
FROM %s
WHERE %s
GROUP BY outcome, status, kind, academy
ORDER BY n DESC, outcome, status, kind, academy
LIMIT %d`, s.table(TableEvents), s.failingWhere(q), max(q.Limit, 1))
}

// FailingEvents reads the first q.Limit failing events of q, by time.
func (s *Store) FailingEvents(ctx context.Context, q FailingQuery) ([]FailingEvent, error) {
	res, err := s.wh.Query(ctx, s.FailingEventsSQL(q), nil)
	if err != nil {
		return nil, fmt.Errorf("failing events of %s in %s: %w", q.Service, q.Region, err)
	}
	out := make([]FailingEvent, 0, len(res.Rows))
	for i, r := range res.Rows {
		if len(r) != 8 {
			return nil, fmt.Errorf("failing events: row %d has %d columns, want 8", i, len(r))
		}
		ts, ok := r[0].(time.Time)
		if !ok {
			return nil, fmt.Errorf("failing events: row %d: ts is %T, want time.Time", i, r[0])
		}
		ev := FailingEvent{TS: ts.UTC(), Academy: warehouse.AsString(r[1]), Kind: warehouse.AsString(r[2]),
			Outcome: warehouse.AsString(r[3]), Status: warehouse.AsUint(r[4]), User: warehouse.AsString(r[6]), Attrs: map[string]string{}}
		if r[5] != nil {
			v := warehouse.AsFloat(r[5])
			ev.LatencyMS = &v
		}
		if err := json.Unmarshal([]byte(warehouse.AsString(r[7])), &ev.Attrs); err != nil {
			return nil, fmt.Errorf("failing events: row %d: attrs: %w", i, err)
		}
		out = append(out, ev)
	}
	return out, nil
}

// FailingGroups counts the failing events of q by outcome, status, kind
// and académie (the q.Limit largest groups) and returns the total.
func (s *Store) FailingGroups(ctx context.Context, q FailingQuery) ([]FailingGroup, uint64, error) {
	res, err := s.wh.Query(ctx, s.FailingGroupsSQL(q), nil)
	if err != nil {
		return nil, 0, fmt.Errorf("failing event counts of %s in %s: %w", q.Service, q.Region, err)
	}
	out := make([]FailingGroup, 0, len(res.Rows))
	var total uint64
	for i, r := range res.Rows {
		if len(r) != 6 {
			return nil, 0, fmt.Errorf("failing event counts: row %d has %d columns, want 6", i, len(r))
		}
		out = append(out, FailingGroup{Outcome: warehouse.AsString(r[0]), Status: warehouse.AsUint(r[1]), Kind: warehouse.AsString(r[2]),
			Academy: warehouse.AsString(r[3]), Count: warehouse.AsUint(r[4])})
		total = warehouse.AsUint(r[5])
	}
	return out, total, nil
}
