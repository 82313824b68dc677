// Package web is Vigie's dashboard: one HTML page (embedded, no build step,
// no CDN: it must work offline) with the region × hour availability heatmap
// and the incident list, and the JSON API under /api/v1/ that feeds it and
// scripts. It reads the warehouse only; it is not the ingest API nor the
// engineers' SQL endpoint.
package web

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"time"

	"github.com/vigie-fr/vigie/dashboards/report"
	"github.com/vigie-fr/vigie/dashboards/report/export"
	"github.com/vigie-fr/vigie/internal/config"
	tzparis "github.com/vigie-fr/vigie/internal/paris"
	"github.com/vigie-fr/vigie/internal/store"
	"github.com/vigie-fr/vigie/internal/warehouse"
	"github.com/vigie-fr/vigie/schemas"
)

//go:embed static
var static embed.FS

// Range limits per request keep answers small enough for a browser: a
// minute heatmap of two days is 18 × 2880 cells. Day and week grains are in
// grainLimits.
const (
	MaxMinuteRange   = 48 * time.Hour
	MaxHourRange     = 92 * 24 * time.Hour
	MaxIncidentRange = 31 * 24 * time.Hour
)

// queryTimeout bounds one API request's warehouse work.
const queryTimeout = 30 * time.Second

// Source is what the dashboard reads from the warehouse (*store.Store).
type Source interface {
	report.Source
	// HourRange returns the first and last hour buckets holding data.
	HourRange(ctx context.Context) (first, last time.Time, ok bool, err error)
	// StatsCounts is Stats without the unique users.
	StatsCounts(ctx context.Context, grain store.Grain, from, to time.Time) ([]store.Stats, error)
	// LastMinute returns the newest minute bucket holding data.
	LastMinute(ctx context.Context) (last time.Time, ok bool, err error)
	// Series reads outcomes, latency, waiting room and sessions by bucket.
	Series(ctx context.Context, q store.SeriesQuery) ([]store.Point, error)
	// SeriesSQL is the text of Series' query.
	SeriesSQL(q store.SeriesQuery, txt store.SQLText) (string, error)
	// Services lists every (platform, service) holding data.
	Services(ctx context.Context) ([]store.ServiceKey, error)
	// FailingEvents, FailingGroups and their texts: the drill-down's raw
	// failing events and their counts.
	FailingEvents(ctx context.Context, q store.FailingQuery) ([]store.FailingEvent, error)
	FailingGroups(ctx context.Context, q store.FailingQuery) ([]store.FailingGroup, uint64, error)
	FailingEventsSQL(q store.FailingQuery) string
	FailingGroupsSQL(q store.FailingQuery) string
	// Version changes with every write of the aggregates.
	Version(ctx context.Context) (string, error)
}

// Server serves the dashboard page and its API.
type Server struct {
	src   Source
	cfg   config.IncidentsConfig
	cat   config.CatalogueConfig
	log   *slog.Logger
	cache *versioned[[]byte]
	// detections are incident detections by range, shared by the routes.
	detections *versioned[*detection]
	printing   chan struct{} // print's slots
}

// WithCatalogue names the services of reports with cat (catalogue.*).
func (s *Server) WithCatalogue(cat config.CatalogueConfig) *Server {
	s.cat = cat
	return s
}

// New returns a Server reading src with the incident definition cfg. It
// does no I/O.
func New(src Source, cfg config.IncidentsConfig, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{src: src, cfg: cfg, log: log, cache: newVersioned(256, answerBudget, func(b []byte) int { return len(b) }),
		detections: newVersioned[*detection](8, 8, nil),
		printing:   make(chan struct{}, maxPrinting)}
}

// route is one API route: its ServeMux pattern and handler.
type route struct {
	pattern string
	handle  http.HandlerFunc
}

// routes are the API routes of the dashboard, as openapi.yaml describes
// them (a test holds the two together).
func (s *Server) routes() []route {
	return []route{
		{"GET /api/v1/availability", s.availability},
		{"GET /api/v1/incidents", s.incidents},
		{"GET /api/v1/range", s.dataRange},
		{"GET /api/v1/report", s.report},
		{"GET /api/v1/regions", s.regions},
		{"GET /api/v1/regions/{region}", s.region},
		{"GET /api/v1/drilldown", s.drilldown},
		{"GET /api/v1/compare", s.compare},
		{"GET /api/v1/status", s.publicStatus},
		{"GET /api/v1/status/{region}", s.publicRegion},
	}
}

// Patterns lists the ServeMux patterns of the API routes Register mounts.
func (s *Server) Patterns() []string {
	var out []string
	for _, rt := range s.routes() {
		out = append(out, rt.pattern)
	}
	return out
}

// Register adds the page and the API to mux: GET / (the page), GET
// /static/… (its script and style), and the API routes of openapi.yaml
// (Patterns), each answering gzip when asked.
func (s *Server) Register(mux *http.ServeMux) {
	sub, _ := fs.Sub(static, "static") // cannot fail: the directory is embedded
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, sub, "index.html")
	})
	mux.Handle("GET /static/", staticFiles(sub))
	for _, rt := range s.routes() {
		mux.Handle(rt.pattern, gzipped(rt.handle))
	}
	s.registerPages(mux)
}

// Region is a row label of the heatmap.
type Region struct {
	Code     string `json:"code"`
	Name     string `json:"name"`
	Overseas bool   `json:"overseas"`
}

func regionOf(code string) Region {
	return Region{Code: code, Name: report.RegionName(code), Overseas: len(code) == 2 && code[0] == '0'}
}

// Cell is one heatmap cell as the API gives it: the report's grid cell.
type Cell = report.Cell

// Availability is the answer of /api/v1/availability.
type Availability struct {
	From     time.Time   `json:"from"`
	To       time.Time   `json:"to"`
	Grain    string      `json:"grain"`
	Platform string      `json:"platform"`
	Filters  Filters     `json:"filters"`
	Regions  []Region    `json:"regions"`
	Buckets  []time.Time `json:"buckets"`
	Cells    []Cell      `json:"cells"`
	Bins     []Bin       `json:"bins"`
}

func (s *Server) availability(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r, 0, "from", "to", "grain", "platform", "service", "region", "academy")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	platform, err := q.rq.choice("platform", "ent", platforms...)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rq, f, grain, from, to := q.rq, q.f, q.grain, q.from, q.to
	f.Platform = []string{platform}
	s.answer(w, r, rq.p, "", func(ctx context.Context) (any, error) {
		pts, err := s.src.Series(ctx, store.SeriesQuery{Grain: grain, From: from, To: to, Filter: f.store(), By: store.By{Region: true}})
		if err != nil {
			return nil, err
		}
		return availabilityOf(rq, pts, grain, from, to, f), nil
	})
}

// availabilityOf lays the points of each region out as heatmap cells.
func availabilityOf(rq *request, pts []store.Point, grain store.Grain, from, to time.Time, f Filters) Availability {
	platform := f.Platform[0]
	out := Availability{From: from, To: to, Grain: string(grain), Platform: platform, Filters: f,
		Regions: []Region{}, Buckets: buckets(grain, from, to), Cells: make([]Cell, 0, len(pts)), Bins: bins(rq.p)}
	var codes []string
	for _, p := range pts {
		if !slices.Contains(codes, p.Region) {
			codes = append(codes, p.Region)
		}
		c := Cell{Region: p.Region, Bucket: p.Bucket, Events: p.Events, OK: p.OK, Failed: p.Failed(), P95MS: p.P95MS}
		if a, ok := p.Availability(); ok {
			c.Availability = &a
		}
		out.Cells = append(out.Cells, c)
	}
	report.SortRegions(codes)
	rank := map[string]int{}
	for i, c := range codes {
		rank[c] = i
		out.Regions = append(out.Regions, regionOf(c))
	}
	sort.SliceStable(out.Cells, func(i, j int) bool {
		a, b := out.Cells[i], out.Cells[j]
		if a.Region != b.Region {
			return rank[a.Region] < rank[b.Region]
		}
		return a.Bucket.Before(b.Bucket)
	})
	return out
}

func (s *Server) incidents(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r, MaxIncidentRange, "from", "to", "platform", "service", "region", "academy")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.answer(w, r, q.rq.p, "", func(ctx context.Context) (any, error) {
		return s.findEpisodes(ctx, q.rq.p, q.from, q.to, q.f)
	})
}

// report answers the lessons-learned report of [from, to) in a format of
// export.Formats: Markdown (format=md, the default), JSON, a
// self-contained HTML page, or that page printed to PDF by the server's
// headless Chromium (503 with a sentence saying so where none is
// installed). It is what `vigie report` fetches when a server owns the
// warehouse, and what a browser can open and save.
func (s *Server) report(w http.ResponseWriter, r *http.Request) {
	rq, err := newRequest(r, "from", "to", "format")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	from, to, err := rq.timeRange("from", "to", "", MaxIncidentRange)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	format, err := rq.choice("format", "md", "md", "json", "html", "pdf")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	fs, err := export.Expand(format)
	if err != nil || len(fs) != 1 {
		s.fail(w, r, rq.fail("format", "api.param.choice", "Value", format, "Allowed", "md, json, html, pdf"))
		return
	}
	f := fs[0]
	build := func(ctx context.Context) (export.Source, error) {
		return export.Local(ctx, s.src, from, to, report.Options{Incidents: s.cfg, Catalogue: s.cat}, rq.p.Lang())
	}
	if f.PrintedFrom == "" {
		s.answerBytes(w, r, rq.p, "", f.ContentType, func(ctx context.Context) ([]byte, error) {
			src, err := build(ctx)
			if err != nil {
				return nil, err
			}
			return export.Render(ctx, src, f)
		})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	src, err := build(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	body, err := s.print(r.Context(), src, f)
	if errors.Is(err, report.ErrNoBrowser) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusServiceUnavailable)
		json.NewEncoder(w).Encode(map[string]string{"error": rq.p.T("api.pdf.no_browser")})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Disposition", `inline; filename="lessons-`+from.In(paris).Format("2006-01-02T1504")+`.pdf"`)
	s.write(w, f.ContentType, body)
}

// print renders a printed format, at most maxPrinting at a time: each
// print is a Chromium process of a few hundred MB.
func (s *Server) print(ctx context.Context, src export.Source, f export.Format) ([]byte, error) {
	select {
	case s.printing <- struct{}{}:
		defer func() { <-s.printing }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return export.Render(ctx, src, f)
}

// answerBudget bounds the bytes of the answers kept for reuse: a minute
// grain over 48 hours is megabytes, and the dashboards' memory is budgeted.
const answerBudget = 64 << 20

// maxPrinting bounds the PDFs printed at once.
const maxPrinting = 2

// DataRange is the answer of /api/v1/range: where the data is, the day
// (Europe/Paris) the page opens on, and the values of the filters.
type DataRange struct {
	Empty bool       `json:"empty"`
	From  *time.Time `json:"from"` // first hour bucket
	To    *time.Time `json:"to"`   // end of the last hour bucket
	// LastDay is the Paris date of the most recent data, e.g. "2021-04-06".
	LastDay string `json:"last_day,omitempty"`
	// RegionNames are every known region's name by INSEE code.
	RegionNames map[string]string  `json:"region_names"`
	Regions     []Region           `json:"regions"`
	Services    []store.ServiceKey `json:"services"`
	Grains      []GrainLimit       `json:"grains"`
}

// GrainLimit is a grain and the longest range it may cover.
type GrainLimit struct {
	Grain   string  `json:"grain"`
	MaxDays float64 `json:"max_days"`
}

func (s *Server) dataRange(w http.ResponseWriter, r *http.Request) {
	if _, err := newRequest(r); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	first, last, ok, err := s.src.HourRange(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	services, err := s.src.Services(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := DataRange{Empty: true, RegionNames: schemas.RegionNames, Services: services}
	if ok {
		end := last.Add(time.Hour)
		out = DataRange{From: &first, To: &end, LastDay: last.In(paris).Format(time.DateOnly), RegionNames: schemas.RegionNames, Services: services}
	}
	for _, code := range schemas.Regions {
		out.Regions = append(out.Regions, regionOf(code))
	}
	for _, g := range grainNames {
		out.Grains = append(out.Grains, GrainLimit{Grain: g, MaxDays: grainLimits[store.Grain(g)].Hours() / 24})
	}
	s.reply(w, r, out)
}

// paris is the one Europe/Paris, where the dashboard's days are.
var paris = tzparis.Location

func (s *Server) reply(w http.ResponseWriter, _ *http.Request, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		s.log.Warn("write api answer", "err", err)
	}
}

// fail answers 400 naming the parameter for bad input, 504 for a query
// past its deadline, 500 otherwise (details in the log, not to the client).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	var pe *paramError
	if errors.As(err, &pe) {
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(pe)
		return
	}
	status := statusOf(err)
	s.log.Error("dashboard api", "path", r.URL.Path, "status", status, "err", err)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": http.StatusText(status)})
}

func statusOf(err error) int {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, warehouse.ErrTimeout) {
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

func errAs(err error, target any) bool { return err != nil && errors.As(err, target) }
