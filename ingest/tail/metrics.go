package tail

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	lines         *prometheus.CounterVec
	sent          *prometheus.CounterVec
	rotations     *prometheus.CounterVec
	publishErrors prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		lines: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigie_tail_lines_total",
			Help: "Log lines read, by configured file and result: event (sent), bad (unreadable, logged with its line number), unrouted (no route takes it).",
		}, []string{"file", "result"}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigie_tail_events_sent_total", Help: "Events from log lines acknowledged by every Kafka replica, by configured file.",
		}, []string{"file"}),
		rotations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigie_tail_rotations_total", Help: "Rotations seen, by configured file and kind (rename, truncate).",
		}, []string{"file", "kind"}),
		publishErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigie_tail_publish_errors_total", Help: "Batches of log events Kafka did not take (each is retried before the checkpoint moves).",
		}),
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.lines, m.sent, m.rotations, m.publishErrors} {
		errs = append(errs, reg.Register(c))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return m, nil
}
