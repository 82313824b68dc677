package store

import "fmt"

// View is a named read of the aggregates shaped for a chart or a table
// outside Vigie (the Grafana dashboards of dashboards/grafana): Series'
// own query, wrapped to name the columns a chart plots. The store runs the
// inner query for the API; the views are its text, so the two cannot
// drift apart.
type View struct {
	Name  string
	Title string
	// Table: the view is a table over the range, not a time series.
	Table bool
	SQL   string
}

// viewSpecs are the views: the Series they wrap and their outer columns.
var viewSpecs = []struct {
	name, title string
	grain       Grain
	by          By
	users       bool
	outer       string
	order       string
}{
	{"availability_by_region", "Disponibilité par région / Availability by region", Hour, By{Region: true}, false,
		"b AS time, region, ok / nullIf(ok + errors + timeouts + rejected, 0) AS availability", "time, region"},
	{"p95_by_region", "Latence p95 par région (ms) / p95 latency by region (ms)", Hour, By{Region: true}, false,
		"b AS time, region, if(latency_count = 0, NULL, p95_ms) AS p95", "time, region"},
	{"outcomes", "Issues des tentatives / Outcomes", Hour, By{}, false,
		"b AS time, ok, errors, timeouts, rejected, queued", "time"},
	{"latency_quantiles", "Latence p50, p95, p99 (ms) / Latency p50, p95, p99 (ms)", Hour, By{}, false,
		"b AS time, if(latency_count = 0, NULL, p50_ms) AS p50, if(latency_count = 0, NULL, p95_ms) AS p95, if(latency_count = 0, NULL, p99_ms) AS p99", "time"},
	{"waiting_room", "Salle d'attente : mises en file et attente moyenne (s) / Waiting room: queued and mean wait (s)", Hour, By{}, false,
		"b AS time, queued, if(queue_count = 0, NULL, queue_sum_ms / queue_count / 1000) AS mean_wait_s", "time"},
	{"sessions", "Sessions ouvertes et fermées / Sessions started and ended", Hour, By{}, false,
		"b AS time, sessions_started, sessions_ended", "time"},
	{"services", "Services sur la période / Services over the range", All, By{Platform: true, Service: true}, true,
		"platform, service, events, errors + timeouts + rejected AS failed, round(ok / nullIf(ok + errors + timeouts + rejected, 0), 4) AS availability, " +
			"if(latency_count = 0, NULL, round(p95_ms)) AS p95, users_failed_count AS users_failed", "availability, service"},
	{"regions", "Régions sur la période / Regions over the range", All, By{Region: true}, true,
		"region, events, errors + timeouts + rejected AS failed, round(ok / nullIf(ok + errors + timeouts + rejected, 0), 4) AS availability, " +
			"if(latency_count = 0, NULL, round(p95_ms)) AS p95, users_failed_count AS users_failed", "availability, region"},
}

// Views renders every view with txt (Grafana macros and variables, or
// literals in tests).
func (s *Store) Views(txt SQLText) ([]View, error) {
	out := make([]View, 0, len(viewSpecs))
	for _, v := range viewSpecs {
		inner, err := s.SeriesSQL(SeriesQuery{Grain: v.grain, By: v.by, Users: v.users}, txt)
		if err != nil {
			return nil, err
		}
		out = append(out, View{Name: v.name, Title: v.title, Table: v.grain == All,
			SQL: fmt.Sprintf("SELECT %s\nFROM (\n%s\n)\nORDER BY %s", v.outer, inner, v.order)})
	}
	return out, nil
}

// ServicesSQL is the text of Services' query.
func (s *Store) ServicesSQL() string {
	return fmt.Sprintf("SELECT DISTINCT platform, service FROM %s ORDER BY platform, service", s.table("agg_hour"))
}
