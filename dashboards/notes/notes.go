// Package notes takes what people add to a post-mortem: annotations of its
// timeline and lessons, action items, and the status of a report's range
// (draft or final). Analysts and engineers enter them through the HTTP API
// under /api/v1/ (auth.Policy says who may) or `vigie annotate` and
// `vigie action`; this package validates every field and stores them
// through package store, with the author's name and the time. It does not
// write the report (package report reads them back) and it trusts no text:
// the report escapes what it shows.
package notes

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vigie-fr/vigie/dashboards/report"
	"github.com/vigie-fr/vigie/internal/auth"
	tzparis "github.com/vigie-fr/vigie/internal/paris"
	"github.com/vigie-fr/vigie/internal/store"
	"github.com/vigie-fr/vigie/schemas"
)

// Routes of the API, as auth.Policy names them.
const (
	AnnotationsPath = "/api/v1/annotations"
	ActionsPath     = "/api/v1/actions"
	StatusPath      = "/api/v1/report/status"
)

// Limits of what people type.
const (
	MaxText     = 2000 // an annotation
	MaxTitle    = 300  // an action item
	MaxName     = 120  // an owner, an author
	maxBody     = 16 << 10
	maxRange    = 92 * 24 * time.Hour
	timeout     = 30 * time.Second
	idAlphabet  = "letters, digits, - and _"
	maxIDLength = 64
)

// Priorities and states of action items, in order.
var (
	Priorities = []string{"P1", "P2", "P3", "P4"}
	States     = []string{"open", "doing", "done"}
)

var idRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Store is what the API reads and writes (*store.Store).
type Store interface {
	report.NoteSource
	PutAnnotation(ctx context.Context, a store.Annotation) error
	PutAction(ctx context.Context, a store.Action) error
	SetReportStatus(ctx context.Context, st store.ReportStatus) error
}

// Annotation is an annotation as people send it.
type Annotation struct {
	// ID names an annotation to replace or delete; empty adds one.
	ID       string    `json:"id,omitempty"`
	At       time.Time `json:"at"`
	Platform string    `json:"platform,omitempty"`
	Region   string    `json:"region,omitempty"`
	// Kind is "event" (the timeline, the default) or a lesson: "well",
	// "badly", "lucky".
	Kind    string `json:"kind,omitempty"`
	Text    string `json:"text"`
	Deleted bool   `json:"deleted,omitempty"`
	// Author is taken from the identity; only the data dir's local token
	// (a shell on the server) may name the person it writes for.
	Author string `json:"author,omitempty"`
}

// Action is an action item as people send it.
type Action struct {
	ID       string    `json:"id,omitempty"`
	At       time.Time `json:"at"`
	Title    string    `json:"title"`
	Owner    string    `json:"owner"`
	Priority string    `json:"priority"`
	// Due is a day, 2021-04-19; empty for none.
	Due     string `json:"due,omitempty"`
	State   string `json:"state,omitempty"`
	Deleted bool   `json:"deleted,omitempty"`
	Author  string `json:"author,omitempty"`
}

// Status is a report range's status as people send it.
type Status struct {
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Status string    `json:"status"`
	Author string    `json:"author,omitempty"`
}

// FieldError names the field people got wrong.
type FieldError struct {
	Field string `json:"field"`
	Msg   string `json:"error"`
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func bad(field, format string, a ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, a...)}
}

// text checks a free text: valid UTF-8, no control character but line
// breaks and tabs (when multiline), required or not, at most max bytes.
func text(field, s string, required, multiline bool, max int) error {
	switch {
	case required && strings.TrimSpace(s) == "":
		return bad(field, "is empty")
	case len(s) > max:
		return bad(field, "is %d bytes long, at most %d are allowed", len(s), max)
	case !utf8.ValidString(s):
		return bad(field, "is not valid UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t' || r == '\r')) {
			return bad(field, "holds the control character %U", r)
		}
	}
	return nil
}

func checkAt(field string, at time.Time, now time.Time) error {
	if at.IsZero() {
		return bad(field, "is required, an RFC 3339 time such as 2021-04-06T08:50:00+02:00")
	}
	if at.Year() < 2000 || at.After(now.Add(366*24*time.Hour)) {
		return bad(field, "%s is not between 2000 and a year from now", at.Format(time.RFC3339))
	}
	return nil
}

func checkID(id string) error {
	if id != "" && !idRE.MatchString(id) {
		return bad("id", "%q is not an id (1 to %d %s)", clip(id), maxIDLength, idAlphabet)
	}
	return nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Validate checks an annotation; now bounds its time.
func (a Annotation) Validate(now time.Time) error {
	if err := checkID(a.ID); err != nil {
		return err
	}
	if err := checkAt("at", a.At, now); err != nil {
		return err
	}
	if a.Platform != "" && !slices.Contains(schemas.Platforms, a.Platform) {
		return bad("platform", "%q is not one of %s", clip(a.Platform), strings.Join(schemas.Platforms, ", "))
	}
	if a.Region != "" && !slices.Contains(schemas.Regions, a.Region) {
		return bad("region", "%q is not an INSEE region code (%s)", clip(a.Region), strings.Join(schemas.Regions, ", "))
	}
	if a.Kind != "" && !slices.Contains(store.AnnotationKinds, a.Kind) {
		return bad("kind", "%q is not one of %s", clip(a.Kind), strings.Join(store.AnnotationKinds, ", "))
	}
	if a.Deleted && a.ID == "" {
		return bad("id", "is required to delete an annotation")
	}
	if err := text("text", a.Text, !a.Deleted, true, MaxText); err != nil {
		return err
	}
	return text("author", a.Author, false, false, MaxName)
}

// Validate checks an action item; now bounds its times.
func (a Action) Validate(now time.Time) error {
	if err := checkID(a.ID); err != nil {
		return err
	}
	if err := checkAt("at", a.At, now); err != nil {
		return err
	}
	if a.Deleted && a.ID == "" {
		return bad("id", "is required to delete an action item")
	}
	if err := text("title", a.Title, !a.Deleted, false, MaxTitle); err != nil {
		return err
	}
	if err := text("owner", a.Owner, !a.Deleted, false, MaxName); err != nil {
		return err
	}
	if !slices.Contains(Priorities, a.Priority) && !(a.Deleted && a.Priority == "") {
		return bad("priority", "%q is not one of %s", clip(a.Priority), strings.Join(Priorities, ", "))
	}
	if a.State != "" && !slices.Contains(States, a.State) {
		return bad("state", "%q is not one of %s", clip(a.State), strings.Join(States, ", "))
	}
	if a.Due != "" {
		d, err := time.Parse(time.DateOnly, a.Due)
		if err != nil || d.Year() < 2000 || d.After(now.Add(5*366*24*time.Hour)) {
			return bad("due", "%q is not a day such as 2021-04-19 between 2000 and five years from now", clip(a.Due))
		}
	}
	return text("author", a.Author, false, false, MaxName)
}

// Validate checks a status (now is unused: a status has no time of its
// own).
func (s Status) Validate(time.Time) error {
	if s.From.IsZero() || s.To.IsZero() || !s.To.After(s.From) {
		return bad("to", "the range %s..%s is empty: give from and to, to after from", s.From.Format(time.RFC3339), s.To.Format(time.RFC3339))
	}
	if s.To.Sub(s.From) > maxRange {
		return bad("to", "a range longer than %d days is no report's", int(maxRange.Hours()/24))
	}
	if s.Status != report.StatusDraft && s.Status != report.StatusFinal {
		return bad("status", "%q is not one of %s, %s", clip(s.Status), report.StatusDraft, report.StatusFinal)
	}
	return text("author", s.Author, false, false, MaxName)
}

// NewID returns a random id for a new annotation or action item.
func NewID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand does not fail
	return hex.EncodeToString(b)
}

// Record is an annotation stored: what people sent, validated, with its
// id, author and time.
func (a Annotation) Record(author string, now time.Time) store.Annotation {
	id := a.ID
	if id == "" {
		id = NewID()
	}
	kind := a.Kind
	if kind == "" {
		kind = store.AnnotationEvent
	}
	return store.Annotation{ID: id, At: a.At.UTC().Truncate(time.Minute), Platform: a.Platform, Region: a.Region, Kind: kind,
		Text: a.Text, Author: author, WrittenAt: now.UTC(), Deleted: a.Deleted}
}

// Record is an action item stored.
func (a Action) Record(author string, now time.Time) store.Action {
	id := a.ID
	if id == "" {
		id = NewID()
	}
	state := a.State
	if state == "" {
		state = "open"
	}
	var due time.Time
	if a.Due != "" {
		due, _ = time.Parse(time.DateOnly, a.Due) // validated
	}
	return store.Action{ID: id, At: a.At.UTC().Truncate(time.Minute), Title: a.Title, Owner: a.Owner, Priority: a.Priority,
		Due: due, State: state, Author: author, WrittenAt: now.UTC(), Deleted: a.Deleted}
}

// Handler serves the API.
type Handler struct {
	st  Store
	log *slog.Logger
	now func() time.Time
}

// New returns the API over st.
func New(st Store, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{st: st, log: log, now: time.Now}
}

// Register adds the routes to mux:
//
//	GET  /api/v1/annotations     ?from&to: the annotations of a range
//	POST /api/v1/annotations     add, replace (id) or delete (id, deleted) one
//	GET  /api/v1/actions         ?from&to: the action items of a range
//	POST /api/v1/actions         add, replace or delete one
//	GET  /api/v1/report/status   ?from&to: the status of exactly that range
//	POST /api/v1/report/status   set it: draft or final
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+AnnotationsPath, h.listAnnotations)
	mux.HandleFunc("POST "+AnnotationsPath, h.postAnnotation)
	mux.HandleFunc("GET "+ActionsPath, h.listActions)
	mux.HandleFunc("POST "+ActionsPath, h.postAction)
	mux.HandleFunc("GET "+StatusPath, h.getStatus)
	mux.HandleFunc("POST "+StatusPath, h.postStatus)
}

// author is who writes: the identity's name; the local token may write
// for a named person, shown as such.
func author(r *http.Request, asked string) string {
	id, ok := auth.FromContext(r.Context())
	if !ok {
		return "anonymous"
	}
	if id.Via == auth.ViaLocal && asked != "" {
		return asked + " (local)"
	}
	return id.Name
}

// Note is what people send (Annotation, Action, Status), stored as R.
type Note[R any] interface {
	Validate(now time.Time) error
	Record(author string, now time.Time) R
	// Asked is the author the request names (only the local token may).
	Asked() string
}

// Asked is the author an annotation names.
func (a Annotation) Asked() string { return a.Author }

// Asked is the author an action item names.
func (a Action) Asked() string { return a.Author }

// Asked is the author a status names.
func (s Status) Asked() string { return s.Author }

// Record is a status stored.
func (s Status) Record(author string, now time.Time) store.ReportStatus {
	return store.ReportStatus{From: s.From.UTC(), To: s.To.UTC(), Status: s.Status, Author: author, WrittenAt: now.UTC()}
}

func (h *Handler) listAnnotations(w http.ResponseWriter, r *http.Request) {
	list(h, w, r, h.st.Annotations)
}

func (h *Handler) listActions(w http.ResponseWriter, r *http.Request) { list(h, w, r, h.st.Actions) }

func (h *Handler) getStatus(w http.ResponseWriter, r *http.Request) {
	list(h, w, r, func(ctx context.Context, from, to time.Time) (store.ReportStatus, error) {
		st, ok, err := h.st.ReportStatusOf(ctx, from, to)
		if err == nil && !ok {
			st = store.ReportStatus{From: from, To: to, Status: report.StatusDraft}
		}
		return st, err
	})
}

func (h *Handler) postAnnotation(w http.ResponseWriter, r *http.Request) {
	post[Annotation](h, w, r, h.st.PutAnnotation, func(rec store.Annotation) []any {
		return []any{"id", rec.ID, "author", rec.Author, "kind", rec.Kind, "deleted", rec.Deleted}
	})
}

func (h *Handler) postAction(w http.ResponseWriter, r *http.Request) {
	post[Action](h, w, r, h.st.PutAction, func(rec store.Action) []any {
		return []any{"id", rec.ID, "author", rec.Author, "state", rec.State, "deleted", rec.Deleted}
	})
}

func (h *Handler) postStatus(w http.ResponseWriter, r *http.Request) {
	post[Status](h, w, r, h.st.SetReportStatus, func(rec store.ReportStatus) []any {
		return []any{"from", rec.From, "to", rec.To, "status", rec.Status, "author", rec.Author}
	})
}

// list answers a GET of ?from&to with what read returns.
func list[T any](h *Handler, w http.ResponseWriter, r *http.Request, read func(ctx context.Context, from, to time.Time) (T, error)) {
	from, to, err := rangeOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	out, err := read(ctx, from, to)
	h.reply(w, r, http.StatusOK, out, err)
}

// post reads a note of type N, checks it, stores it with put in the name
// of the request's identity, logs it (attrs) and answers what was stored.
func post[N Note[R], R any](h *Handler, w http.ResponseWriter, r *http.Request, put func(context.Context, R) error, attrs func(R) []any) {
	var n N
	if err := decode(r, &n); err != nil {
		h.fail(w, r, err)
		return
	}
	now := h.now()
	if err := n.Validate(now); err != nil {
		h.fail(w, r, err)
		return
	}
	rec := n.Record(author(r, n.Asked()), now)
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	if err := put(ctx, rec); err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.Info("post-mortem note written", append([]any{"path", r.URL.Path}, attrs(rec)...)...)
	h.reply(w, r, http.StatusCreated, rec, nil)
}

// rangeOf reads ?from&to as the dashboard does (RFC 3339 or a Paris day).
func rangeOf(r *http.Request) (time.Time, time.Time, error) {
	q := r.URL.Query()
	from, to, err := tzparis.ParseRange(q.Get("from"), q.Get("to"))
	if re := (*tzparis.RangeError)(nil); errors.As(err, &re) {
		return from, to, bad(re.Param, "%s", re.Msg)
	}
	if err != nil {
		return from, to, err
	}
	if to.Sub(from) > maxRange {
		return from, to, bad("to", "a range longer than %d days is too long here", int(maxRange.Hours()/24))
	}
	return from, to, nil
}

// decode reads one JSON object, refusing unknown fields and big bodies.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody+1))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bad("body", "is not the JSON object expected: %v", err)
	}
	if dec.More() {
		return bad("body", "holds more than one JSON value")
	}
	return nil
}

func (h *Handler) reply(w http.ResponseWriter, r *http.Request, code int, v any, err error) {
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	var fe *FieldError
	if errors.As(err, &fe) {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(fe)
		return
	}
	h.log.Error("notes api", "path", r.URL.Path, "err", err)
	w.WriteHeader(http.StatusInternalServerError)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": http.StatusText(http.StatusInternalServerError)})
}
