package httpapi

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/vigie-fr/vigie/internal/auth"
	"github.com/vigie-fr/vigie/schemas"
)

// limits are the per-collector request rates and the bound on requests in
// flight. Limiters are made at a collector's first request and kept: there
// are as many as configured collectors.
type limits struct {
	mu       sync.Mutex
	byName   map[string]*rate.Limiter
	inFlight chan struct{}
}

func newLimits(maxInFlight int) *limits {
	return &limits{byName: map[string]*rate.Limiter{}, inFlight: make(chan struct{}, max(maxInFlight, 1))}
}

// allow takes one request of id's rate; when refused it returns how long to
// wait, rounded up to whole seconds for Retry-After.
func (l *limits) allow(id auth.Identity) (retryAfter int, ok bool) {
	if id.Scope.RatePerSecond <= 0 {
		return 0, true
	}
	l.mu.Lock()
	lim := l.byName[id.Name]
	if lim == nil {
		lim = rate.NewLimiter(rate.Limit(id.Scope.RatePerSecond), max(id.Scope.Burst, 1))
		l.byName[id.Name] = lim
	}
	l.mu.Unlock()
	if lim.Allow() {
		return 0, true
	}
	return max(1, int(math.Ceil(1/id.Scope.RatePerSecond))), false
}

// collector answers the request itself and returns false when it may not
// go on: no collector identity (401), over its rate (429), or too many
// requests in flight (503). On true the caller must call release.
func (h *Handler) collector(w http.ResponseWriter, r *http.Request) (id auth.Identity, release func(), ok bool) {
	id, found := auth.FromContext(r.Context())
	if !found || !id.Has(auth.Collector) || id.Scope == nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="vigie"`)
		h.reply(w, http.StatusUnauthorized, Response{Error: "send a collector's token: Authorization: Bearer <token> (ingest.collectors)"})
		return id, nil, false
	}
	if after, ok := h.limits.allow(id); !ok {
		h.m.rejected.WithLabelValues("rate_limited").Inc()
		w.Header().Set("Retry-After", strconv.Itoa(after))
		h.reply(w, http.StatusTooManyRequests, Response{Error: fmt.Sprintf(
			"collector %s sends more than its %g requests per second: retry after %d s, or send larger batches", id.Name, id.Scope.RatePerSecond, after)})
		return id, nil, false
	}
	select {
	case h.limits.inFlight <- struct{}{}:
	default:
		h.m.rejected.WithLabelValues("busy").Inc()
		w.Header().Set("Retry-After", "1")
		h.reply(w, http.StatusServiceUnavailable, Response{Error: fmt.Sprintf(
			"the collector already handles %d requests (ingest.max_in_flight): retry in a second", cap(h.limits.inFlight))})
		return id, nil, false
	}
	return id, func() { <-h.limits.inFlight }, true
}

// scoped moves the events id may not send to the batch's errors, each
// naming its field: outside the collector's platforms, services or
// regions, or older than ingest.max_past without a backfill scope. The
// other events of the batch go on.
func (h *Handler) scoped(b *batch, id auth.Identity) {
	oldest := h.now().Add(-h.cfg.MaxPast)
	kept, keptPos := b.events[:0], b.positions[:0]
	refused := false
	for i, ev := range b.events {
		fe := schemas.FieldError{Index: b.positions[i], ID: ev.ID}
		if field, msg := id.Scope.Refused(ev.Platform, ev.Service, ev.Region); field != "" {
			fe.Field, fe.Msg = field, msg
		} else if !id.Scope.Backfill && ev.TS.Before(oldest) {
			fe.Field, fe.Msg = "ts", fmt.Sprintf("%s is older than ingest.max_past (%s): only a collector with backfill: true may send history",
				ev.TS.Format(time.RFC3339), h.cfg.MaxPast)
		} else {
			kept, keptPos = append(kept, ev), append(keptPos, b.positions[i])
			continue
		}
		b.bad = append(b.bad, fe)
		refused = true
	}
	b.events, b.positions = kept, keptPos
	if refused {
		slices.SortStableFunc(b.bad, func(x, y schemas.FieldError) int { return x.Index - y.Index })
	}
}
