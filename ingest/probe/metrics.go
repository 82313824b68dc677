package probe

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are blackbox_exporter's gauges (same names, same phase labels, a
// target label per probed page), so that its Grafana dashboards read them,
// plus Vigie's own counters.
type metrics struct {
	success, duration, status *prometheus.GaugeVec
	phase                     *prometheus.GaugeVec
	results                   *prometheus.CounterVec
	sent, dropped             prometheus.Counter
	publishErrors             prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	labels := []string{"target", "service", "region"}
	m := &metrics{
		success: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "probe_success", Help: "Whether the last probe of the target was ok (1) or not (0), as blackbox_exporter says it.",
		}, labels),
		duration: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "probe_duration_seconds", Help: "How long the last probe of the target took, in seconds.",
		}, labels),
		status: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "probe_http_status_code", Help: "Status of the last answer of the target's last probe (0: none came).",
		}, labels),
		phase: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "probe_http_duration_seconds",
			Help: "Duration of each phase of the target's last probe (resolve, connect, tls, processing up to the first byte, transfer), in seconds.",
		}, append(labels, "phase")),
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigie_probe_results_total", Help: "Probes run, by target and outcome (ok, error, timeout, rejected, queued).",
		}, []string{"target", "outcome"}),
		sent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigie_probe_events_sent_total", Help: "Probe events acknowledged by every Kafka replica.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigie_probe_events_dropped_total", Help: "Probe events dropped because Kafka did not take them for too long (the queue holds 10000).",
		}),
		publishErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigie_probe_publish_errors_total", Help: "Batches of probe events Kafka did not take (each is retried).",
		}),
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.success, m.duration, m.status, m.phase, m.results, m.sent, m.dropped, m.publishErrors} {
		errs = append(errs, reg.Register(c))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *metrics) observe(t *target, r Result) {
	l := prometheus.Labels{"target": t.Name, "service": t.Service, "region": t.Region}
	ok := 0.0
	if r.Outcome == "ok" {
		ok = 1
	}
	m.success.With(l).Set(ok)
	m.duration.With(l).Set(r.Phases.Total.Seconds())
	m.status.With(l).Set(float64(r.Status))
	ph := r.Phases
	processing, transfer := 0.0, 0.0
	if ph.TTFB > 0 {
		processing = (ph.TTFB - ph.DNS - ph.Connect - ph.TLS).Seconds()
		transfer = (ph.Total - ph.TTFB).Seconds()
	}
	for name, v := range map[string]float64{
		"resolve": ph.DNS.Seconds(), "connect": ph.Connect.Seconds(), "tls": ph.TLS.Seconds(),
		"processing": max(processing, 0), "transfer": max(transfer, 0),
	} {
		m.phase.With(prometheus.Labels{"target": t.Name, "service": t.Service, "region": t.Region, "phase": name}).Set(v)
	}
	m.results.WithLabelValues(t.Name, r.Outcome).Inc()
}
