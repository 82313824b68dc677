// Package alert is live incident detection: it runs package incident's rule
// on the last minutes of the warehouse every alerts.interval, keeps each
// incident's state (opened, updated, resolved) in the warehouse, exports
// domain metrics for Prometheus with bounded label sets, and notifies
// webhooks (Alertmanager's API and a generic JSON one) with retries and no
// duplicate after a restart. It holds no rule of its own: what an incident
// is belongs to package incident, so the live alert, the report and the
// dashboard always agree. It is not where incidents are explained (package
// report) nor where Prometheus' own alerting rules live (deploy/prometheus).
package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie-fr/vigie/dashboards/incident"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/store"
)

// Store is what live detection reads and writes (*store.Store).
type Store interface {
	incident.Source
	Recent(ctx context.Context, from, to time.Time) ([]store.Recent, error)
	SaveIncidents(ctx context.Context, rows []store.IncidentState) error
	Incidents(ctx context.Context, from, to time.Time) ([]store.IncidentState, error)
	RecordDeliveries(ctx context.Context, rows []store.Delivery) error
	Delivered(ctx context.Context, ids []string) (map[string]bool, error)
}

// Options configure an Evaluator.
type Options struct {
	Incidents config.IncidentsConfig
	Alerts    config.AlertsConfig
	// Now is the clock; nil means time.Now. Tests replay days with their own.
	Now        func() time.Time
	Log        *slog.Logger
	Registerer prometheus.Registerer
	// Client sends the notifications; nil means one with no overall
	// timeout (each webhook's timeout bounds its requests).
	Client *http.Client
}

// settle is how long after a minute ends its data is taken as complete:
// the aggregator flushes every second or so (aggregate.flush_interval).
const settle = 5 * time.Second

// recentSpan is the span live availability and p95 are shown over.
const recentSpan = 5 * time.Minute

// Evaluator runs live detection.
type Evaluator struct {
	st      Store
	opt     Options
	log     *slog.Logger
	m       *metrics
	notify  []*receiver
	stop    context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex // one evaluation at a time
	started bool
}

// New builds an Evaluator; it does no I/O. The configuration must have
// passed config.Validate.
func New(st Store, opt Options) (*Evaluator, error) {
	if st == nil {
		return nil, errors.New("alert: no store")
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.Client == nil {
		opt.Client = &http.Client{}
	}
	if opt.Registerer == nil {
		opt.Registerer = prometheus.NewRegistry()
	}
	m, err := newMetrics(opt.Registerer, opt.Alerts)
	if err != nil {
		return nil, err
	}
	e := &Evaluator{st: st, opt: opt, log: opt.Log.With("component", "alert"), m: m}
	for _, name := range slices.Sorted(maps.Keys(opt.Alerts.Webhooks)) {
		e.notify = append(e.notify, &receiver{name: name, cfg: opt.Alerts.Webhooks[name], client: opt.Client})
	}
	return e, nil
}

// Start evaluates now and then every alerts.interval until Shutdown.
func (e *Evaluator) Start(ctx context.Context) error {
	if e.started {
		return errors.New("alert: already started")
	}
	e.started = true
	ctx, e.stop = context.WithCancel(context.WithoutCancel(ctx))
	e.done = make(chan struct{})
	go func() {
		defer close(e.done)
		t := time.NewTicker(e.opt.Alerts.Interval)
		defer t.Stop()
		for {
			if _, err := e.Evaluate(ctx); err != nil && ctx.Err() == nil {
				e.log.Warn("live evaluation failed", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	e.log.Info("live detection started", "interval", e.opt.Alerts.Interval, "lookback", e.opt.Alerts.Lookback, "webhooks", len(e.notify))
	return nil
}

// Shutdown stops the evaluations, waiting for the one running (bounded by
// ctx).
func (e *Evaluator) Shutdown(ctx context.Context) error {
	if e.stop == nil {
		return nil
	}
	e.stop()
	select {
	case <-e.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("alert: evaluation did not stop in time: %w", ctx.Err())
	}
}

// Result is what one evaluation saw and did.
type Result struct {
	// To is the end of the evaluated range: the last complete minute's end.
	To time.Time
	// Open are the incidents open after the evaluation.
	Open []store.IncidentState
	// Changed are the states written (opened, updated, resolved).
	Changed []store.IncidentState
	// Sent are the notifications acknowledged, as store.DeliveryKey.
	Sent []string
}

// Evaluate runs the rule once on the lookback ending at the last complete
// minute, records what changed, updates the metrics and notifies.
func (e *Evaluator) Evaluate(ctx context.Context) (Result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	began := time.Now()
	res, err := e.evaluate(ctx)
	e.m.duration.Observe(time.Since(began).Seconds())
	if err != nil {
		e.m.evaluations.WithLabelValues("error").Inc()
		return res, err
	}
	e.m.evaluations.WithLabelValues("ok").Inc()
	// Wall time, not Now: Prometheus compares it with its own clock to see
	// that evaluations stopped.
	e.m.last.Set(float64(time.Now().Unix()))
	return res, nil
}

func (e *Evaluator) evaluate(ctx context.Context) (Result, error) {
	now := e.opt.Now().UTC()
	to := now.Add(-settle).Truncate(time.Minute)
	from := to.Add(-e.opt.Alerts.Lookback)
	res := Result{To: to}
	in, err := incident.Load(ctx, e.st, store.Minute, from, to, e.opt.Incidents)
	if err != nil {
		return res, err
	}
	found := incident.Evaluate(in, time.Minute, e.opt.Incidents)
	known, err := e.st.Incidents(ctx, from, to)
	if err != nil {
		return res, err
	}
	gap := time.Duration(e.opt.Incidents.MergeGapMinutes) * time.Minute
	res.Changed = reconcile(found, known, to, gap, now)
	if len(res.Changed) > 0 {
		if err := e.st.SaveIncidents(ctx, res.Changed); err != nil {
			return res, err
		}
		for _, c := range res.Changed {
			e.log.Info("incident "+transition(c, known), "id", c.ID, "reason", c.Reason, "start", c.Start, "end", c.End)
		}
	}
	current := merge(known, res.Changed)
	for _, st := range current {
		if st.Open {
			res.Open = append(res.Open, st)
		}
	}
	recent, err := e.st.Recent(ctx, to.Add(-recentSpan), to)
	if err != nil {
		return res, err
	}
	all, err := e.st.Recent(ctx, from, to)
	if err != nil {
		return res, err
	}
	e.m.update(res.Open, recent, all, now)
	res.Sent, err = e.deliver(ctx, current, now)
	return res, err
}

// transition names what a new state does to the known ones.
func transition(c store.IncidentState, known []store.IncidentState) string {
	for _, k := range known {
		if k.ID == c.ID {
			if !c.Open {
				return "resolved"
			}
			return "updated"
		}
	}
	if c.Open {
		return "opened"
	}
	return "recorded (already over)"
}

// merge applies the changed states over the known ones, by id.
func merge(known, changed []store.IncidentState) []store.IncidentState {
	byID := map[string]int{}
	out := append([]store.IncidentState(nil), known...)
	for i, k := range out {
		byID[k.ID] = i
	}
	for _, c := range changed {
		if i, ok := byID[c.ID]; ok {
			out[i] = c
			continue
		}
		byID[c.ID] = len(out)
		out = append(out, c)
	}
	return out
}
