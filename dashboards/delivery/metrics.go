package delivery

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are labelled by subscription: names administrators write,
// checked by config.SubscriptionName, a handful per installation.
type metrics struct {
	attempts *prometheus.CounterVec
	pending  *prometheus.GaugeVec
	lastSent *prometheus.GaugeVec
	expired  *prometheus.CounterVec
	noPDF    *prometheus.CounterVec
	duration prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	sub := []string{"subscription"}
	m := &metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigie_report_delivery_attempts_total",
			Help: "Report e-mails tried, by subscription and result (ok: the mail server accepted it; error: it will be retried with back-off)."},
			[]string{"subscription", "result"}),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vigie_report_delivery_pending",
			Help: "Periods of a subscription that are due and not sent yet (retrying after a failure when above 0 for long)."}, sub),
		lastSent: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vigie_report_delivery_last_sent_timestamp_seconds",
			Help: "When a subscription's report e-mail was last accepted by the mail server (Unix time)."}, sub),
		expired: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigie_report_delivery_expired_total",
			Help: "Periods given up: missed for longer than delivery.catch_up, or planned before the schedule changed."}, sub),
		noPDF: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigie_report_delivery_without_pdf_total",
			Help: "Report e-mails rendered without their PDF (no Chromium, or printing failed)."}, sub),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "vigie_report_delivery_duration_seconds",
			Help: "Time to render and send one report e-mail (report, PDF, SMTP).", Buckets: prometheus.ExponentialBuckets(0.1, 2, 10)}),
	}
	for _, c := range []prometheus.Collector{m.attempts, m.pending, m.lastSent, m.expired, m.noPDF, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("delivery metrics: %w", err)
		}
	}
	return m, nil
}
