package alert

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/store"
	"github.com/vigie-fr/vigie/schemas"
)

// other is the label value of whatever is not in a bounded set.
const other = "other"

type metrics struct {
	services    map[string]bool // "platform/service" with a label of their own
	evaluations *prometheus.CounterVec
	duration    prometheus.Histogram
	last        prometheus.Gauge
	open        *prometheus.GaugeVec
	avail       *prometheus.GaugeVec
	p95         *prometheus.GaugeVec
	age         *prometheus.GaugeVec
	sent        *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, cfg config.AlertsConfig) (*metrics, error) {
	series := []string{"platform", "service", "region"}
	m := &metrics{
		services: map[string]bool{},
		evaluations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigie_live_evaluations_total",
			Help: "Live incident evaluations, by result (ok or error)."}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "vigie_live_evaluation_duration_seconds",
			Help: "Time one live evaluation takes (reads, rule, state, notifications).", Buckets: prometheus.ExponentialBuckets(0.01, 2, 12)}),
		last: prometheus.NewGauge(prometheus.GaugeOpts{Name: "vigie_live_last_evaluation_timestamp_seconds",
			Help: "When the last successful live evaluation ran (Unix time)."}),
		open: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vigie_incidents_open",
			Help: "Incidents open now, by series and reason (the incident rule of docs/detection.md)."}, append(series, "reason")),
		avail: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vigie_live_availability_ratio",
			Help: "Availability over the last 5 complete minutes: ok / (ok + errors + timeouts + quota refusals)."}, series),
		p95: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vigie_live_latency_p95_seconds",
			Help: "95th-percentile response time over the last 5 complete minutes."}, series),
		age: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vigie_live_newest_event_age_seconds",
			Help: "Seconds since the end of the newest minute holding events of a service (any region), within the lookback."}, []string{"platform", "service"}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigie_alert_notifications_total",
			Help: "Notifications sent to webhooks, by receiver, status (firing or resolved) and result (ok or error)."}, []string{"receiver", "status", "result"}),
	}
	for _, s := range cfg.Services {
		m.services[s] = true
	}
	for _, c := range []prometheus.Collector{m.evaluations, m.duration, m.last, m.open, m.avail, m.p95, m.age, m.sent} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("alert metrics: %w", err)
		}
	}
	return m, nil
}

// labels bounds a series' labels: platforms and regions of the event
// schema, services of alerts.services; anything else is "other".
func (m *metrics) labels(platform, service, region string) (string, string, string) {
	if !slices.Contains(schemas.Platforms, platform) {
		platform = other
	}
	if !m.services[platform+"/"+service] {
		service = other
	}
	if !slices.Contains(schemas.Regions, region) {
		region = other
	}
	return platform, service, region
}

// update sets the gauges from one evaluation: the open incidents and the
// recent totals (series that fall under "other" are summed; their p95 is
// the worst of them).
func (m *metrics) update(open []store.IncidentState, recent, lookback []store.Recent, now time.Time) {
	m.open.Reset()
	for _, st := range open {
		p, s, r := m.labels(st.Platform, st.Service, st.Region)
		m.open.WithLabelValues(p, s, r, st.Reason).Inc()
	}
	type agg struct {
		ok, failed uint64
		p95        float64
	}
	bySeries := map[[3]string]*agg{}
	newest := map[[2]string]time.Time{}
	for _, rc := range recent {
		p, s, r := m.labels(rc.Platform, rc.Service, rc.Region)
		k := [3]string{p, s, r}
		a := bySeries[k]
		if a == nil {
			a = &agg{}
			bySeries[k] = a
		}
		a.ok += rc.OK
		a.failed += rc.Failed
		a.p95 = max(a.p95, rc.P95MS)
	}
	for _, rc := range lookback {
		p, s, _ := m.labels(rc.Platform, rc.Service, rc.Region)
		if rc.Events > 0 && rc.Newest.After(newest[[2]string{p, s}]) {
			newest[[2]string{p, s}] = rc.Newest
		}
	}
	m.avail.Reset()
	m.p95.Reset()
	keys := make([][3]string, 0, len(bySeries))
	for k := range bySeries {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
	for _, k := range keys {
		a := bySeries[k]
		if av, ok := store.Availability(a.ok, a.failed); ok {
			m.avail.WithLabelValues(k[0], k[1], k[2]).Set(av)
		}
		if a.p95 > 0 {
			m.p95.WithLabelValues(k[0], k[1], k[2]).Set(a.p95 / 1000)
		}
	}
	m.age.Reset()
	for k, t := range newest {
		m.age.WithLabelValues(k[0], k[1]).Set(now.Sub(t.Add(time.Minute)).Seconds())
	}
}
