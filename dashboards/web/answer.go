package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"

	"github.com/vigie-fr/vigie/internal/i18n"
)

// gzipped compresses h's answers when the request's Accept-Encoding asks
// for gzip (a minute heatmap of two days is about 800 kB of JSON, 60 kB
// compressed).
func gzipped(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept-Encoding")
		if !acceptsGzip(r.Header.Get("Accept-Encoding")) {
			h(w, r)
			return
		}
		gw := &gzipWriter{ResponseWriter: w}
		defer gw.close()
		h(gw, r)
	})
}

// acceptsGzip reads an Accept-Encoding header: gzip listed without q=0.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") || strings.TrimSpace(name) == "*" {
			q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

// gzipWriter starts compressing at the first write, once the handler has
// set its headers.
type gzipWriter struct {
	http.ResponseWriter
	gz          *gzip.Writer
	wroteHeader bool
}

func (g *gzipWriter) WriteHeader(code int) {
	if !g.wroteHeader {
		g.wroteHeader = true
		g.Header().Set("Content-Encoding", "gzip")
		g.Header().Del("Content-Length")
		g.gz = gzip.NewWriter(g.ResponseWriter)
	}
	g.ResponseWriter.WriteHeader(code)
}

func (g *gzipWriter) Write(b []byte) (int, error) {
	if !g.wroteHeader {
		g.WriteHeader(http.StatusOK)
	}
	return g.gz.Write(b)
}

func (g *gzipWriter) close() {
	if g.gz != nil {
		g.gz.Close()
	}
}

// versioned keeps values by key for the aggregates' current version: a
// value computed from the aggregates stays right until a write changes
// them, and past hours rarely change. A new version makes every value of
// the older one wrong for good, so the first value stored under it drops
// them all (on a live server, that is at each flush, rather than keeping
// stale answers until they age out). Within a version it holds at most
// size values weighing at most budget in all (weigh: nil counts each
// value as 1), and forgets the oldest first.
type versioned[T any] struct {
	mu      sync.Mutex
	size    int
	budget  int
	weigh   func(T) int
	version string
	weight  int
	order   []string
	items   map[string]T
}

func newVersioned[T any](size, budget int, weigh func(T) int) *versioned[T] {
	if weigh == nil {
		weigh = func(T) int { return 1 }
	}
	return &versioned[T]{size: size, budget: budget, weigh: weigh, items: map[string]T{}}
}

func (c *versioned[T]) get(key, version string) (T, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.items[key]
	if !ok || version != c.version {
		var zero T
		return zero, false
	}
	return v, true
}

func (c *versioned[T]) put(key, version string, v T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.weigh(v)
	if w > c.budget {
		return // one answer larger than the whole budget is not kept
	}
	if version != c.version {
		c.version, c.items, c.order, c.weight = version, map[string]T{}, nil, 0
	}
	if old, ok := c.items[key]; ok {
		c.weight -= c.weigh(old)
	} else {
		c.order = append(c.order, key)
	}
	c.items[key] = v
	c.weight += w
	for len(c.order) > c.size || c.weight > c.budget {
		c.weight -= c.weigh(c.items[c.order[0]])
		delete(c.items, c.order[0])
		c.order = c.order[1:]
	}
}

// answer replies with compute's answer to r as JSON, reused from the cache
// while the aggregates' version stays the same. variant adds what the
// answer depends on beyond the URL (the reader's right to raw data).
func (s *Server) answer(w http.ResponseWriter, r *http.Request, p *i18n.Printer, variant string, compute func(ctx context.Context) (any, error)) {
	s.answerBytes(w, r, p, variant, "application/json", func(ctx context.Context) ([]byte, error) {
		v, err := compute(ctx)
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		err = json.NewEncoder(&buf).Encode(v)
		return buf.Bytes(), err
	})
}

// answerBytes is answer for a body of any type.
func (s *Server) answerBytes(w http.ResponseWriter, r *http.Request, p *i18n.Printer, variant, contentType string, compute func(ctx context.Context) ([]byte, error)) {
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	key := r.URL.Path + "?" + r.URL.Query().Encode() + "#" + string(p.Lang()) + "#" + variant
	version, verr := s.src.Version(ctx)
	if verr == nil {
		if body, ok := s.cache.get(key, version); ok {
			s.write(w, contentType, body)
			return
		}
	}
	body, err := compute(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if verr == nil {
		s.cache.put(key, version, body)
	}
	s.write(w, contentType, body)
}

func (s *Server) write(w http.ResponseWriter, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-store")
	if _, err := w.Write(body); err != nil {
		s.log.Warn("write api answer", "err", err)
	}
}

// Bin is one class of the availability colour scale, stated so that a
// reader needs no colour to read a value: [From, To), the last includes 1.
type Bin struct {
	ID    string   `json:"id"`
	From  *float64 `json:"from"`
	To    *float64 `json:"to"`
	Label string   `json:"label"`
}

// binEdges are the scale's bounds: where a remote-school morning is decided
// (95 % is the usual objective).
var binEdges = []struct {
	id       string
	from, to float64
}{{"below50", 0, 0.5}, {"50to80", 0.5, 0.8}, {"80to95", 0.8, 0.95}, {"95to99", 0.95, 0.99}, {"99up", 0.99, 1}}

func bins(p *i18n.Printer) []Bin {
	label := map[string]string{
		"below50": p.T("api.bin.below50"), "50to80": p.T("api.bin.50to80"), "80to95": p.T("api.bin.80to95"),
		"95to99": p.T("api.bin.95to99"), "99up": p.T("api.bin.99up"),
	}
	out := make([]Bin, 0, len(binEdges)+1)
	for _, e := range binEdges {
		from, to := e.from, e.to
		out = append(out, Bin{ID: e.id, From: &from, To: &to, Label: label[e.id]})
	}
	return append(out, Bin{ID: "none", Label: p.T("api.bin.none")})
}

// binOf is the bin of an availability; "none" when nothing was attempted.
func binOf(a float64, ok bool) string {
	if !ok {
		return "none"
	}
	for _, e := range binEdges {
		if a < e.to {
			return e.id
		}
	}
	return binEdges[len(binEdges)-1].id
}
