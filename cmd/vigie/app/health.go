package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie-fr/vigie/internal/broker"
)

// Parts of the process /readyz reports on.
const (
	partBroker     = "broker"
	partWarehouse  = "warehouse"
	partDisk       = "disk"
	partIngest     = "ingest"
	partAggregator = "aggregator"
)

// health is what /readyz says: the process's phase and each part's state,
// checked every healthEvery while it runs, so that a lost broker, a lost
// warehouse, a full disk or a stopped partition turn it not ready with the
// reason, and back when they recover.
type health struct {
	mu    sync.Mutex
	phase string            // starting, running, stopping
	parts map[string]string // part → "" when fine, else what is wrong
	up    *prometheus.GaugeVec
}

const healthEvery = 2 * time.Second

func newHealth(reg prometheus.Registerer) (*health, error) {
	h := &health{phase: "starting", parts: map[string]string{},
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vigie_part_ready",
			Help: "1 when a part of the process is working, 0 when /readyz reports a problem with it."}, []string{"part"})}
	return h, reg.Register(h.up)
}

func (h *health) setPhase(p string) {
	h.mu.Lock()
	h.phase = p
	h.mu.Unlock()
}

// set records part's problem ("" for none).
func (h *health) set(part, problem string) {
	h.mu.Lock()
	h.parts[part] = problem
	h.mu.Unlock()
	v := 1.0
	if problem != "" {
		v = 0
	}
	h.up.WithLabelValues(part).Set(v)
}

// problem is part's current problem, "" for none.
func (h *health) problem(part string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.parts[part]
}

// Readiness is the answer of /readyz.
type Readiness struct {
	Ready bool              `json:"ready"`
	Phase string            `json:"phase"`
	Parts map[string]string `json:"parts"` // part → "ok" or the problem
}

func (h *health) readiness() Readiness {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := Readiness{Ready: h.phase == "running", Phase: h.phase, Parts: map[string]string{}}
	for p, problem := range h.parts {
		if problem == "" {
			r.Parts[p] = "ok"
			continue
		}
		r.Parts[p] = problem
		r.Ready = false
	}
	return r
}

// ServeHTTP answers /readyz: 200 when every part works, else 503, with the
// reasons in JSON either way.
func (h *health) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	r := h.readiness()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !r.Ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(r)
}

// checks are the probes run every healthEvery, by part.
type checks map[string]func(context.Context) string

// watch runs the checks until ctx ends.
func (h *health) watch(ctx context.Context, cs checks) {
	names := make([]string, 0, len(cs))
	for n := range cs {
		names = append(names, n)
	}
	sort.Strings(names)
	for {
		for _, n := range names {
			cctx, cancel := context.WithTimeout(ctx, healthEvery)
			h.set(n, cs[n](cctx))
			cancel()
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(healthEvery):
		}
	}
}

// brokerCheck asks a broker for the topic's partitions, on a connection of
// its own each time (kafka-go's client caches metadata: a broker gone
// would look alive for seconds).
func brokerCheck(access broker.Access, topic string) func(context.Context) string {
	return func(ctx context.Context) string {
		var last error
		d := access.Dialer()
		for _, b := range access.Brokers() {
			conn, err := d.DialContext(ctx, "tcp", b)
			if err != nil {
				last = err
				continue
			}
			_ = conn.SetDeadline(time.Now().Add(healthEvery))
			_, err = conn.ReadPartitions(topic)
			conn.Close()
			if err == nil {
				return ""
			}
			last = err
		}
		return "unreachable: " + last.Error()
	}
}

// diskCheck reports a data dir whose file system has less than minFree
// bytes free.
func diskCheck(dir string, minFree uint64) func(context.Context) string {
	return func(context.Context) string {
		free, err := freeBytes(dir)
		if err != nil {
			return "cannot read the free space of " + dir + ": " + err.Error()
		}
		if free < minFree {
			return fmt.Sprintf("%s has %d MB free, below min_free_mb (%d MB): free some space", dir, free>>20, minFree>>20)
		}
		return ""
	}
}

// freeBytes is the space an unprivileged writer can still use under dir.
func freeBytes(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}

// aggregatorCheck reports the partitions stopped on a log mismatch.
func aggregatorCheck(stopped func() []string) func(context.Context) string {
	return func(context.Context) string {
		if s := stopped(); len(s) > 0 {
			return "partitions stopped, see docs/operations.md: " + strings.Join(s, "; ")
		}
		return ""
	}
}

// ingestGate answers the ingest route until ingest is wired (503, never
// 404: a collector that does not retry 4xx would drop its batch) and while
// the disk is full, then hands requests to the real handler.
type ingestGate struct {
	h      *health
	mu     sync.RWMutex
	target http.Handler
}

func (g *ingestGate) open(h http.Handler) {
	g.mu.Lock()
	g.target = h
	g.mu.Unlock()
	g.h.set(partIngest, "")
}

func (g *ingestGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.RLock()
	target := g.target
	g.mu.RUnlock()
	switch {
	case target == nil:
		w.Header().Set("Retry-After", "1")
		http.Error(w, "Vigie is starting: events are not accepted yet, retry in a second", http.StatusServiceUnavailable)
	case g.h.problem(partDisk) != "":
		w.Header().Set("Retry-After", "30")
		http.Error(w, "the server's disk is full: events are not accepted until space is freed, retry later", http.StatusServiceUnavailable)
	default:
		target.ServeHTTP(w, r)
	}
}
