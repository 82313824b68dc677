package web

import (
	"bytes"
	"encoding/json"
	"html/template"
	"io/fs"
	"net/http"
	"slices"

	"github.com/vigie-fr/vigie/internal/i18n"
	"github.com/vigie-fr/vigie/schemas"
)

// The pages' routes besides the dashboard itself: the words of the page in
// a language, and the public status page (aggregates only, no login; its
// data comes from /api/v1/status).
const (
	// MessagesRoute answers the web.* messages of internal/i18n in one
	// language as a JSON object, for the pages' scripts.
	MessagesRoute = "GET /i18n/{lang}"
	// StatusRoute and StatusRegionRoute serve the public status page.
	StatusRoute       = "GET /status"
	StatusRegionRoute = "GET /status/{region}"
)

// statusPage is static/status.html, its links made relative to where it is
// served (/status or /status/11), so the page works behind a path prefix.
var statusPage = template.Must(template.ParseFS(static, "static/status.html"))

func (s *Server) registerPages(mux *http.ServeMux) {
	mux.HandleFunc(MessagesRoute, s.messages)
	mux.HandleFunc(StatusRoute, func(w http.ResponseWriter, r *http.Request) { s.statusPage(w, "./", "") })
	mux.HandleFunc(StatusRegionRoute, func(w http.ResponseWriter, r *http.Request) {
		code := r.PathValue("region")
		if !slices.Contains(schemas.Regions, code) {
			http.NotFound(w, r)
			return
		}
		s.statusPage(w, "../", code)
	})
}

// staticFiles serves the pages' script, style and vendored files, gzipped
// when the browser asks (uPlot and the map are 94 kB, 38 kB compressed).
// A range request is answered uncompressed by the file server: its byte
// offsets would not match a compressed body.
func staticFiles(sub fs.FS) http.Handler {
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	zipped := gzipped(files.ServeHTTP)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Range") != "" {
			files.ServeHTTP(w, r)
			return
		}
		zipped.ServeHTTP(w, r)
	})
}

func (s *Server) messages(w http.ResponseWriter, r *http.Request) {
	l, err := i18n.Parse(r.PathValue("lang"))
	if err != nil {
		s.fail(w, r, &paramError{Param: "lang", Msg: "lang: " + err.Error()})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	// Words change with the binary only: a day in the browser's cache.
	w.Header().Set("Cache-Control", "public, max-age=86400")
	if err := json.NewEncoder(w).Encode(i18n.Catalogue(l, "web.")); err != nil {
		s.log.Warn("write messages", "err", err)
	}
}

func (s *Server) statusPage(w http.ResponseWriter, base, region string) {
	var b bytes.Buffer
	if err := statusPage.Execute(&b, struct{ Base, Region string }{base, region}); err != nil {
		s.log.Error("status page", "err", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(b.Bytes())
}
