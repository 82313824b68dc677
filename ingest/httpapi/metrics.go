package httpapi

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	accepted prometheus.Counter
	rejected *prometheus.CounterVec
	produce  prometheus.Histogram
	batches  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		accepted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigie_ingest_events_accepted_total",
			Help: "Events acknowledged by every Kafka replica and reported accepted to the client.",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigie_ingest_events_rejected_total",
			Help: "Events not accepted, by reason: the schema field at fault (also platform, service, region for an " +
				"event outside its collector's scope, ts for one older than ingest.max_past), unknown_field, not_an_object, " +
				"unavailable (Kafka did not take them; the client retries). A batch refused as a whole " +
				"(unreadable, oversize, bad_encoding, rate_limited for a collector over its rate, busy beyond " +
				"ingest.max_in_flight) counts once.",
		}, []string{"reason"}),
		produce: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "vigie_ingest_produce_seconds",
			Help:    "Time to produce one batch to Kafka until all replicas acknowledged it (or it failed).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15), // 1ms to 16s
		}),
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigie_ingest_batches_total",
			Help: "Batches answered, by HTTP status code.",
		}, []string{"code"}),
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.accepted, m.rejected, m.produce, m.batches} {
		errs = append(errs, reg.Register(c))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return m, nil
}
