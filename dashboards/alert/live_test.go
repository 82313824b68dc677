package alert_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vigie-fr/vigie/dashboards/alert"
	"github.com/vigie-fr/vigie/dashboards/incident/incidenttest"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/store"
)

func TestMain(m *testing.M) { os.Exit(incidenttest.Run(m)) }

// The replayed morning: four ENTs, 100 attempts a minute each (99 ok);
// ent-11 fails (50 % errors) from 06:20 to 06:30 UTC.
var (
	t0          = time.Date(2021, 4, 6, 6, 0, 0, 0, time.UTC)
	outageStart = t0.Add(20 * time.Minute)
	outageEnd   = t0.Add(30 * time.Minute)
)

func minuteRows(m time.Time) []incidenttest.Row {
	var rows []incidenttest.Row
	for _, region := range []string{"11", "32", "53", "76"} {
		r := incidenttest.Row{Bucket: m, Platform: "ent", Service: "ent-" + region, Region: region, OK: 99, Errors: 1,
			LatValues: []float64{100, 200}, LatCounts: []uint64{90, 10}, Users: []uint64{1, 2, 3}}
		if region == "11" && !m.Before(outageStart) && m.Before(outageEnd) {
			r.OK, r.Errors, r.UsersFailed = 50, 50, []uint64{1}
		}
		rows = append(rows, r)
	}
	return rows
}

// clock is the replay's fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// hook is a JSON webhook that refuses its first `fail` requests.
type hook struct {
	mu       sync.Mutex
	fail     int
	requests int
	got      []alert.Notification
	at       []time.Time // the replay's clock at each acknowledged notification
	clock    *clock
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests++
	if h.requests <= h.fail {
		http.Error(w, "not now", http.StatusServiceUnavailable)
		return
	}
	var n alert.Notification
	if err := json.NewDecoder(r.Body).Decode(&n); err != nil || r.Header.Get("Idempotency-Key") != n.Incident.ID+"/"+n.Status {
		http.Error(w, "bad notification", http.StatusBadRequest)
		return
	}
	h.got = append(h.got, n)
	h.at = append(h.at, h.clock.Now())
}

func (h *hook) notifications() ([]alert.Notification, []time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]alert.Notification(nil), h.got...), append([]time.Time(nil), h.at...)
}

func options(c *clock, hooks map[string]config.WebhookConfig, reg prometheus.Registerer) alert.Options {
	cfg := config.Default()
	cfg.Alerts.Webhooks = hooks
	cfg.Alerts.RetryBackoff = 10 * time.Millisecond
	return alert.Options{Incidents: cfg.Incidents, Alerts: cfg.Alerts, Now: c.Now, Registerer: reg}
}

// replay writes each minute once it is over and evaluates every 15 s of the
// replay's clock from `from` to `to`, calling each after every evaluation.
func replay(t *testing.T, st *store.Store, c *clock, e *alert.Evaluator, from, to time.Time, each func(alert.Result)) {
	t.Helper()
	ctx := context.Background()
	for now := from; !now.After(to); now = now.Add(15 * time.Second) {
		if now.Second() == 0 {
			incidenttest.Insert(t, st, minuteRows(now.Add(-time.Minute)))
		}
		c.Set(now)
		res, err := e.Evaluate(ctx)
		if err != nil {
			t.Fatalf("evaluate at %s: %v", now.Format("15:04:05"), err)
		}
		if each != nil {
			each(res)
		}
	}
}

// A replayed outage opens one incident, notified once within two minutes
// of its first failing minute (through two refused attempts), resolved once
// after it ends; evaluators restarted in the middle and after the end send
// nothing again.
func TestAReplayedOutageIsNotifiedOnceAndResolvedOnce(t *testing.T) {
	st := incidenttest.Store(t, incidenttest.DB(t))
	var rows []incidenttest.Row
	for m := t0; m.Before(t0.Add(15 * time.Minute)); m = m.Add(time.Minute) {
		rows = append(rows, minuteRows(m)...)
	}
	incidenttest.Insert(t, st, rows)
	c := &clock{}
	h := &hook{fail: 2, clock: c}
	srv := httptest.NewServer(h)
	defer srv.Close()
	hooks := map[string]config.WebhookConfig{"oncall": {URL: srv.URL, Format: "json", Timeout: 5 * time.Second}}
	newEvaluator := func(reg *prometheus.Registry) *alert.Evaluator {
		e, err := alert.New(st, options(c, hooks, reg))
		if err != nil {
			t.Fatal(err)
		}
		return e
	}

	reg1 := prometheus.NewRegistry()
	e1 := newEvaluator(reg1)
	var openSeen bool
	replay(t, st, c, e1, t0.Add(15*time.Minute+15*time.Second), t0.Add(25*time.Minute), func(res alert.Result) {
		if len(res.Open) > 0 && !openSeen {
			openSeen = true
			if got := testutil.ToFloat64(mustGauge(t, reg1, "vigie_incidents_open", map[string]string{"platform": "ent", "service": "ent-11", "region": "11", "reason": "availability"})); got != 1 {
				t.Errorf("vigie_incidents_open = %v, want 1", got)
			}
		}
	})
	if !openSeen {
		t.Fatal("no incident open by 06:25")
	}
	// At 06:25:00 the settle time leaves 06:24 out: the last five complete
	// minutes are 06:19 (99 of 100) and 06:20–06:23 (50 of 100 each).
	if got := testutil.ToFloat64(mustGauge(t, reg1, "vigie_live_availability_ratio", map[string]string{"platform": "ent", "service": "ent-11", "region": "11"})); got != 299.0/500 {
		t.Errorf("availability of ent-11 = %v, want %v", got, 299.0/500)
	}
	if got := testutil.ToFloat64(mustGauge(t, reg1, "vigie_live_newest_event_age_seconds", map[string]string{"platform": "ent", "service": "ent-32"})); got != 60 {
		t.Errorf("newest event age of ent-32 at 06:25:00 = %v s, want 60 (the end of 06:23)", got)
	}

	// A restart while the incident is open: no second "firing".
	e2 := newEvaluator(prometheus.NewRegistry())
	replay(t, st, c, e2, t0.Add(25*time.Minute+15*time.Second), t0.Add(40*time.Minute), nil)
	// And one after it resolved.
	e3 := newEvaluator(prometheus.NewRegistry())
	replay(t, st, c, e3, t0.Add(40*time.Minute+15*time.Second), t0.Add(41*time.Minute), nil)

	got, at := h.notifications()
	if len(got) != 2 || got[0].Status != "firing" || got[1].Status != "resolved" {
		t.Fatalf("notifications %+v, want one firing then one resolved", got)
	}
	in := got[1].Incident
	if in.ID != "ent/ent-11/11/2021-04-06T06:20:00Z" || !in.Start.Equal(outageStart) || !in.End.Equal(outageEnd) || in.Reason != "availability" {
		t.Errorf("resolved incident %+v, want ent-11 06:20–06:30 availability", in)
	}
	if !in.AlertAt.Equal(outageStart.Add(time.Minute)) {
		t.Errorf("alert_at %v, want the end of the first failing minute %v", in.AlertAt, outageStart.Add(time.Minute))
	}
	latency := at[0].Sub(outageStart)
	t.Logf("alert latency: %s from the first failing minute's start to the webhook (replay clock); resolved %s after the outage ended",
		latency, at[1].Sub(outageEnd))
	if latency <= time.Minute || latency >= 2*time.Minute {
		t.Errorf("alert latency %s, want over the minute itself and under 2 minutes", latency)
	}
	if h.requests != 4 {
		t.Errorf("webhook got %d requests, want 4 (two refused, then firing, then resolved)", h.requests)
	}
	if got := testutil.ToFloat64(mustCounter(t, reg1, "vigie_alert_notifications_total", map[string]string{"receiver": "oncall", "status": "firing", "result": "ok"})); got != 1 {
		t.Errorf("notifications ok = %v, want 1", got)
	}
}

// mustGauge finds one series of a registry's metric.
func mustGauge(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) prometheus.Collector {
	t.Helper()
	return series(t, reg, name, labels)
}

func mustCounter(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) prometheus.Collector {
	t.Helper()
	return series(t, reg, name, labels)
}

// series is a collector of the one sample of name with labels, read from
// a gather of reg.
func series(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if labels[lp.GetName()] != lp.GetValue() {
					continue metric
				}
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "x"})
			g.Set(v)
			return g
		}
	}
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	t.Fatalf("no %s%v in the registry (metrics: %s)", name, labels, strings.Join(names, ", "))
	return nil
}
