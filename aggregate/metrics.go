package aggregate

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	events, duplicates, flushErrors, flushRows, lost, fenced prometheus.Counter
	dlq                                                      *prometheus.CounterVec
	lag, blocked                                             *prometheus.GaugeVec
	flushSeconds                                             prometheus.Histogram
	owned                                                    prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		events: prometheus.NewCounter(prometheus.CounterOpts{Name: "vigie_aggregate_events_total",
			Help: "Events folded into windows (duplicates and dead letters excluded)."}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{Name: "vigie_aggregate_duplicates_total",
			Help: "Re-sent events (an id already seen in the partition's dedup window) skipped."}),
		flushErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "vigie_aggregate_flush_errors_total",
			Help: "Flush attempts that failed and were retried with the same batch."}),
		flushRows: prometheus.NewCounter(prometheus.CounterOpts{Name: "vigie_aggregate_flush_rows_total",
			Help: "Rows written to the warehouse (raw events plus window rows)."}),
		fenced: prometheus.NewCounter(prometheus.CounterOpts{Name: "vigie_aggregate_flushes_fenced_total",
			Help: "Flushes not written because another member claimed their range first (a stalled member whose partition moved)."}),
		lost: prometheus.NewCounter(prometheus.CounterOpts{Name: "vigie_aggregate_offsets_lost_total",
			Help: "Offsets deleted by Kafka retention before they were aggregated."}),
		dlq: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigie_aggregate_dead_letters_total",
			Help: "Poison messages sent to the dead-letter topic, by the field at fault."}, []string{"reason"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vigie_aggregate_consumer_lag",
			Help: "Messages in the partition after the last one read."}, []string{"partition"}),
		blocked: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vigie_aggregate_partition_stopped",
			Help: "1 while a partition is stopped because its log no longer matches the warehouse (see docs/operations.md)."}, []string{"partition"}),
		owned: prometheus.NewGauge(prometheus.GaugeOpts{Name: "vigie_aggregate_partitions_owned",
			Help: "Partitions this member consumes in the current generation of its consumer group."}),
		flushSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "vigie_aggregate_flush_duration_seconds",
			Help: "Time to write one flush (markers, events, windows).", Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}),
	}
	for _, c := range []prometheus.Collector{m.events, m.duplicates, m.flushErrors, m.flushRows, m.lost, m.fenced, m.dlq, m.lag, m.blocked, m.flushSeconds, m.owned} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
