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
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/vigie-fr/vigie/dashboards/incident"
	"github.com/vigie-fr/vigie/dashboards/report"
	"github.com/vigie-fr/vigie/dashboards/report/export"
	"github.com/vigie-fr/vigie/internal/auth"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/i18n"
	tzparis "github.com/vigie-fr/vigie/internal/paris"
	"github.com/vigie-fr/vigie/internal/warehouse"
	"github.com/vigie-fr/vigie/schemas"
)

//go:embed static
var static embed.FS

// Range limits per request keep answers small enough for a browser: a
// minute heatmap of two days is 18 × 2880 cells.
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
}

// Server serves the dashboard page and its API.
type Server struct {
	src      Source
	cfg      config.IncidentsConfig
	cat      config.CatalogueConfig
	log      *slog.Logger
	printing chan struct{} // print's slots
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
	return &Server{src: src, cfg: cfg, log: log, printing: make(chan struct{}, maxPrinting)}
}

// Register adds the page and the API to mux:
//
//	GET /                      the dashboard page
//	GET /static/…              its script and style
//	GET /api/v1/availability   ?from&to (RFC 3339, or a Paris day such as 2021-04-06) &platform=ent|cned &grain=hour|minute
//	GET /api/v1/incidents      ?from&to
//	GET /api/v1/range          first and last bucket in the warehouse
func (s *Server) Register(mux *http.ServeMux) {
	sub, _ := fs.Sub(static, "static") // cannot fail: the directory is embedded
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, sub, "index.html")
	})
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(sub)))
	mux.HandleFunc("GET /api/v1/availability", s.availability)
	mux.HandleFunc("GET /api/v1/incidents", s.incidents)
	mux.HandleFunc("GET /api/v1/range", s.dataRange)
	mux.HandleFunc("GET /api/v1/report", s.report)
}

// paramError is a bad query parameter: 400 with the parameter's name.
type paramError struct {
	Param string `json:"parameter"`
	Msg   string `json:"error"`
}

func (e *paramError) Error() string { return e.Param + ": " + e.Msg }

func badParam(name, format string, a ...any) error {
	return &paramError{Param: name, Msg: name + ": " + fmt.Sprintf(format, a...)}
}

// Region is a row label of the heatmap.
type Region struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// Cell is one heatmap cell as the API gives it: the report's grid cell.
type Cell = report.Cell

// Availability is the answer of /api/v1/availability.
type Availability struct {
	From     time.Time   `json:"from"`
	To       time.Time   `json:"to"`
	Grain    string      `json:"grain"`
	Platform string      `json:"platform"`
	Regions  []Region    `json:"regions"`
	Buckets  []time.Time `json:"buckets"`
	Cells    []Cell      `json:"cells"`
}

func (s *Server) availability(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	platform := q.Get("platform")
	if platform == "" {
		platform = "ent"
	}
	if platform != "ent" && platform != "cned" {
		s.fail(w, r, badParam("platform", "%q is not one of ent, cned", platform))
		return
	}
	grain := q.Get("grain")
	if grain == "" {
		grain = report.GrainHour
	}
	limit := MaxHourRange
	switch grain {
	case report.GrainHour:
	case report.GrainMinute:
		limit = MaxMinuteRange
	default:
		s.fail(w, r, badParam("grain", "%q is not one of hour, minute", grain))
		return
	}
	from, to, err := timeRange(q.Get("from"), q.Get("to"), limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	g, err := report.LoadGrid(ctx, s.src, platform, grain, from, to)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := Availability{From: g.From, To: g.To, Grain: grain, Platform: platform,
		Regions: make([]Region, len(g.Regions)), Buckets: g.Buckets, Cells: g.Cells}
	for i, code := range g.Regions {
		out.Regions[i] = Region{Code: code, Name: report.RegionName(code)}
	}
	s.reply(w, out)
}

func (s *Server) incidents(w http.ResponseWriter, r *http.Request) {
	from, to, err := timeRange(r.URL.Query().Get("from"), r.URL.Query().Get("to"), MaxIncidentRange)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	f, _, err := incident.Find(ctx, s.src, from, to, s.cfg)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.reply(w, f)
}

// report answers the lessons-learned report of [from, to) in a format of
// export.Formats: Markdown (format=md, the default), JSON, a
// self-contained HTML page, or that page printed to PDF by the server's
// headless Chromium (503 with a sentence saying so where none is
// installed). It is what `vigie report` fetches when a server owns the
// warehouse, and what a browser can open and save.
func (s *Server) report(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, to, err := timeRange(q.Get("from"), q.Get("to"), MaxIncidentRange)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	format := q.Get("format")
	if format == "" {
		format = "md"
	}
	fs, err := export.Expand(format)
	if err != nil || len(fs) != 1 {
		s.fail(w, r, badParam("format", "%q is not one of md, json, html, pdf", format))
		return
	}
	f := fs[0]
	lang, err := reportLang(r)
	if err != nil {
		s.fail(w, r, badParam("lang", "%v", err))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	src, err := export.Local(ctx, s.src, from, to, report.Options{Incidents: s.cfg, Catalogue: s.cat}, lang)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var body []byte
	if f.PrintedFrom != "" {
		body, err = s.print(r.Context(), src, f)
	} else {
		body, err = export.Render(ctx, src, f)
	}
	if errors.Is(err, report.ErrNoBrowser) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusServiceUnavailable)
		json.NewEncoder(w).Encode(map[string]string{"error": "this server cannot print PDF: no Chromium is installed where it runs " +
			"(install Debian's chromium package, or ask for format=html and print it from a browser)"})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", f.ContentType)
	w.Header().Set("Cache-Control", "no-store")
	if f.PrintedFrom != "" {
		w.Header().Set("Content-Disposition", `inline; filename="lessons-`+from.In(paris).Format("2006-01-02T1504")+`.pdf"`)
	}
	_, _ = w.Write(body)
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

// maxPrinting bounds the PDFs printed at once.
const maxPrinting = 2

// reportLang is the report's language: ?lang= when given, else the
// user's preference (auth.users[].lang), else French.
func reportLang(r *http.Request) (i18n.Lang, error) {
	if q := r.URL.Query().Get("lang"); q != "" {
		return i18n.Parse(q)
	}
	if id, ok := auth.FromContext(r.Context()); ok && id.Lang != "" {
		return i18n.Parse(id.Lang)
	}
	return i18n.Default, nil
}

// DataRange is the answer of /api/v1/range: where the data is, and the
// day (Europe/Paris) the page opens on.
type DataRange struct {
	Empty bool       `json:"empty"`
	From  *time.Time `json:"from"` // first hour bucket
	To    *time.Time `json:"to"`   // end of the last hour bucket
	// LastDay is the Paris date of the most recent data, e.g. "2021-04-06".
	LastDay string `json:"last_day,omitempty"`
	// RegionNames are every known region's name by INSEE code.
	RegionNames map[string]string `json:"region_names"`
}

func (s *Server) dataRange(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	first, last, ok, err := s.src.HourRange(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := DataRange{Empty: true, RegionNames: schemas.RegionNames}
	if ok {
		end := last.Add(time.Hour)
		out = DataRange{From: &first, To: &end, LastDay: last.In(paris).Format(time.DateOnly), RegionNames: schemas.RegionNames}
	}
	s.reply(w, out)
}

// paris is the one Europe/Paris, where the dashboard's days are.
var paris = tzparis.Location

// timeRange parses from and to as vigie report does (tzparis.ParseRange:
// RFC 3339, or a day YYYY-MM-DD meaning that whole Paris day, a day given
// as to included), from < to, at most limit apart. Unlike the command, the
// API wants to: a request says which range it shows.
func timeRange(fromS, toS string, limit time.Duration) (time.Time, time.Time, error) {
	var zero time.Time
	if fromS != "" && toS == "" {
		return zero, zero, badParam("to", "missing, give an RFC 3339 time such as 2021-04-07T00:00:00+02:00 or a day such as 2021-04-06")
	}
	from, to, err := tzparis.ParseRange(fromS, toS)
	if re := (*tzparis.RangeError)(nil); errors.As(err, &re) {
		return zero, zero, &paramError{Param: re.Param, Msg: re.Error()}
	} else if err != nil {
		return zero, zero, err
	}
	if to.Sub(from) > limit {
		return zero, zero, badParam("to", "a range of %s is longer than the %s allowed here", span(to.Sub(from)), span(limit))
	}
	return from.UTC(), to.UTC(), nil
}

// span writes a duration as people count it, "92 days", "49 hours" or
// "95 days 23 hours" (a range of Paris days across the start of summer
// time), else in Go's form ("1h30m0s").
func span(d time.Duration) string {
	if d <= 0 || d%time.Hour != 0 {
		return d.String()
	}
	count := func(n time.Duration, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	days, hours := d/(24*time.Hour), d%(24*time.Hour)/time.Hour
	switch {
	case days == 0:
		return count(hours, "hour")
	case hours == 0:
		return count(days, "day")
	}
	return count(days, "day") + " " + count(hours, "hour")
}

func (s *Server) reply(w http.ResponseWriter, v any) {
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
