// Package sqlapi is Vigie's ad-hoc SQL for engineers: the read-only
// POST /api/v1/sql endpoint, its Go client, the table/CSV/JSON printers and
// the body of `vigie query`. Every statement runs through package sandbox
// (the engine's parser and an allow-list, then read-only sessions of its
// own); this package adds the bearer token, the row-limit flag, the HTTP
// mapping of errors and printing that data cannot turn against the reader.
// It is not the dashboards' JSON API (fixed, parameterised queries) and it
// never writes.
package sqlapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/vigie-fr/vigie/internal/auth"
	"github.com/vigie-fr/vigie/internal/sandbox"
	"github.com/vigie-fr/vigie/internal/warehouse"
)

// Path is the route NewHandler serves (POST).
const Path = "/api/v1/sql"

// MaxSQLBytes bounds a request body: SQL text is small, a huge body is a mistake or abuse.
const MaxSQLBytes = 1 << 20

// NewHandler serves POST /api/v1/sql. The body is the SQL text, or
// {"sql": "…"} when it is JSON (Content-Type application/json, or a body that
// starts with "{", which no SQL statement does). The request must carry
// "Authorization: Bearer <token>", or come through an auth.Guard that put an
// engineer in its context; an empty token refuses every other request.
// Every statement is logged with who ran it.
//
// Answers (JSON): 200 with an Answer; 400 for an empty body, a syntax error
// or any other SQL error; 401 without the right token; 403 when the sandbox
// refused the statement (package sandbox: not on its allow-list) or the
// engine refused a write (readonly=1); 405 for other methods; 503 for a
// statement cancelled because the server stops; 504 when the query ran past
// lim.Timeout. Errors are {"error": "<message>"}. Results longer than
// lim.MaxRows are cut to it and flagged "truncated": true.
//
// Close cancels the statements running when the server stops: their
// requests answer at once and the server's shutdown does not wait for them.
func NewHandler(wh warehouse.Warehouse, token string, lim warehouse.Limits, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	stop, cancel := context.WithCancel(context.Background())
	return &Handler{wh: wh, tokenSum: sha256.Sum256([]byte(token)), hasToken: token != "", lim: lim, log: log, stop: stop, cancel: cancel}
}

// Handler is the SQL endpoint; see NewHandler.
type Handler struct {
	stop   context.Context
	cancel context.CancelFunc

	wh       warehouse.Warehouse
	tokenSum [sha256.Size]byte // compared as hashes: constant time whatever the lengths
	hasToken bool
	lim      warehouse.Limits
	log      *slog.Logger
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "use POST with the SQL text as the body")
		return
	}
	who, authorized := h.authorized(r)
	if !authorized {
		// Never log the header: a wrong token is often a right one pasted in the wrong place.
		h.log.Warn("sql: unauthorized request", "remote", r.RemoteAddr)
		w.Header().Set("WWW-Authenticate", `Bearer realm="vigie-sql"`)
		writeError(w, http.StatusUnauthorized, "missing or wrong bearer token (see <data_dir>/sql.token or http.sql_token)")
		return
	}
	sql, err := readSQL(w, r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, stopped := context.WithCancel(r.Context())
	defer stopped()
	defer context.AfterFunc(h.stop, stopped)()
	if h.lim.Timeout > 0 {
		// The engine stops the query at max_execution_time; this is a backstop
		// for a transport that would not answer at all.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.lim.Timeout+5*time.Second)
		defer cancel()
	}
	start := time.Now()
	res, truncated, err := sandbox.Query(ctx, h.wh, sql, h.lim)
	elapsed := time.Since(start)
	if err != nil {
		status := statusOf(err)
		if h.stop.Err() != nil && errors.Is(err, context.Canceled) {
			status, err = http.StatusServiceUnavailable, errors.New("the server is stopping: the statement was cancelled")
		}
		h.log.Info("sql: query refused", who.LogAttrs(), "status", status, "elapsed", elapsed, "sql", abbreviate(sql), "err", err)
		if r.Context().Err() != nil {
			return // the client went away; nobody reads an answer
		}
		writeError(w, status, err.Error())
		return
	}
	h.log.Info("sql: query", who.LogAttrs(), "rows", len(res.Rows), "truncated", truncated, "elapsed", elapsed, "sql", abbreviate(sql))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	body, err := json.Marshal(&Answer{Result: res, Truncated: truncated, MaxRows: h.lim.MaxRows, Elapsed: elapsed})
	if err != nil {
		writeError(w, http.StatusInternalServerError, "encode answer: "+err.Error())
		return
	}
	_, _ = w.Write(body)
}

// Close cancels every running statement; later ones are cancelled at once.
func (h *Handler) Close() { h.cancel() }

// authorized returns who runs the statement: the engineer the auth.Guard in
// front put in the context, else (the handler mounted alone) the holder of
// the token.
func (h *Handler) authorized(r *http.Request) (auth.Identity, bool) {
	if id, ok := auth.FromContext(r.Context()); ok && id.Has(auth.Engineer) {
		return id, true
	}
	scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || !h.hasToken {
		return auth.Identity{}, false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
	return auth.Identity{Name: "sql-token", Roles: []auth.Role{auth.Engineer}, Via: auth.ViaLocal},
		subtle.ConstantTimeCompare(sum[:], h.tokenSum[:]) == 1
}

func readSQL(w http.ResponseWriter, r *http.Request) (string, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxSQLBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return "", errors.New("SQL text is larger than 1 MiB")
		}
		return "", err
	}
	text := strings.TrimSpace(string(body))
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" || strings.HasPrefix(text, "{") {
		var req struct {
			SQL string `json:"sql"`
		}
		d := json.NewDecoder(strings.NewReader(text))
		d.DisallowUnknownFields()
		if err := d.Decode(&req); err != nil {
			return "", errors.New(`body is not {"sql": "..."}: ` + err.Error())
		}
		text = req.SQL
	}
	if strings.TrimSpace(text) == "" {
		return "", sandbox.ErrEmpty
	}
	return text, nil
}

// statusOf maps a query error to its HTTP status.
func statusOf(err error) int {
	switch {
	case errors.Is(err, warehouse.ErrReadOnly), errors.Is(err, sandbox.ErrRefused):
		return http.StatusForbidden
	case errors.Is(err, warehouse.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	}
	return http.StatusBadRequest
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(wireError{Error: msg})
}

// abbreviate keeps logs readable: the statement's first 200 bytes on one line.
func abbreviate(sql string) string {
	s := strings.Join(strings.Fields(sql), " ")
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "") + "…"
	}
	return s
}
