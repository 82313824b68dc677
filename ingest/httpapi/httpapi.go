// Package httpapi is the HTTP collector: POST /v1/events takes a batch of
// schema v1 events (NDJSON or a JSON array, optionally gzip), checks each
// event, pseudonymises user ids and produces the valid events to Kafka,
// answering only once every replica has them. Each collector's events must
// stay within its scope (platforms, services, regions, and no history older
// than ingest.max_past without backfill), at its request rate. It does not
// authenticate (auth.Guard does, in front), does not de-duplicate re-sent
// events (the aggregator does, per collector) and does not serve the other
// endpoints (metrics, health, dashboards).
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/vigie-fr/vigie/ingest/pseudonym"
	"github.com/vigie-fr/vigie/ingest/publish"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/schemas"
)

// Path is where the handler is mounted.
const Path = "/v1/events"

// DefaultSource is the source recorded for events that do not name one:
// what reaches this endpoint is, unless told otherwise, a browser or app beacon.
const DefaultSource = "beacon"

// RetryAfterSeconds is the Retry-After sent when the event log cannot take a batch.
const RetryAfterSeconds = 5

// MaxErrors caps the per-event errors listed in one response; the rejected
// count stays exact.
const MaxErrors = 1000

// Response is the JSON body of every answer.
type Response struct {
	Accepted int                  `json:"accepted"`
	Rejected int                  `json:"rejected"`
	Errors   []schemas.FieldError `json:"errors"`
	// ErrorsOmitted counts per-event errors left out beyond MaxErrors.
	ErrorsOmitted int `json:"errors_omitted,omitempty"`
	// Error says why the batch as a whole was refused.
	Error string `json:"error,omitempty"`
	// LimitBytes is the body limit, sent with 413.
	LimitBytes int64 `json:"limit_bytes,omitempty"`
}

// Handler serves POST /v1/events.
type Handler struct {
	cfg     config.IngestConfig
	maxBody int64
	pub     *publish.Publisher
	log     *slog.Logger
	m       *metrics
	limits  *limits
	now     func() time.Time
}

// New wires the handler; it does no I/O. cfg and maxBodyBytes
// (http.max_body_bytes, which bounds the body both as sent and after gzip
// decompression) come from a configuration that passed config.Validate and
// are not checked again here. What New refuses is wiring no configuration
// can fix: the writer must wait for all in-sync replicas (broker.NewWriter
// does), since the handler reports an event accepted only when it cannot be
// lost. Metrics are registered on reg.
func New(cfg config.IngestConfig, maxBodyBytes int64, w *kafka.Writer, p *pseudonym.Pseudonymiser, log *slog.Logger, reg prometheus.Registerer) (*Handler, error) {
	var errs []error
	pub, err := publish.New(w, p, DefaultSource)
	if err != nil {
		errs = append(errs, err)
	}
	if reg == nil {
		errs = append(errs, errors.New("no Prometheus registerer"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("ingest handler: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("ingest handler: %w", err)
	}
	return &Handler{cfg: cfg, maxBody: maxBodyBytes, pub: pub, log: log, m: m, limits: newLimits(cfg.MaxInFlight), now: time.Now}, nil
}

// Routes mounts the handler on mux at Path.
func (h *Handler) Routes(mux *http.ServeMux) { mux.Handle(Path, h) }

// ServeHTTP answers one batch from the collector the auth.Guard in front
// put in the request's context. Status: 200 when at least one event was
// accepted or the batch was empty; 400 when every event is invalid or the
// batch is unreadable; 401 without a collector; 405, 413 (body too large),
// 415 (unknown Content-Encoding); 429 with Retry-After over the collector's
// rate; 503 with Retry-After when ingest.max_in_flight requests are
// already running or Kafka did not take the batch, in which case no event of
// it counts as accepted and the client resends. Events outside the
// collector's scope or older than ingest.max_past are per-event errors.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.reply(w, http.StatusMethodNotAllowed, Response{Error: "use POST to send events"})
		return
	}
	id, release, ok := h.collector(w, r)
	if !ok {
		return
	}
	defer release()
	body := http.MaxBytesReader(w, r.Body, h.maxBody)
	b, ref := readBatch(body, r.Header.Get("Content-Encoding"), r.ContentLength, h.maxBody, schemas.DecodeOptions{
		MaxEvents: h.cfg.MaxBatchEvents, MaxFuture: h.cfg.MaxFuture, Now: h.now,
	})
	if ref != nil {
		h.m.rejected.WithLabelValues(ref.reason).Inc()
		h.reply(w, ref.status, Response{Error: ref.msg, LimitBytes: ref.limit})
		return
	}
	h.scoped(&b, id)
	for _, fe := range b.bad {
		h.m.rejected.WithLabelValues(fe.Reason()).Inc()
	}
	resp := Response{Rejected: len(b.bad)}
	resp.Errors, resp.ErrorsOmitted = capErrors(b.bad)
	if len(b.events) == 0 {
		status := http.StatusOK // an empty batch is not an error
		if len(b.bad) > 0 {
			status = http.StatusBadRequest
			resp.Error = "every event of the batch is invalid"
		}
		h.reply(w, status, resp)
		return
	}
	if err := h.produce(r.Context(), b.events, id.Name); err != nil {
		h.m.rejected.WithLabelValues("unavailable").Add(float64(len(b.events)))
		h.log.Warn("events not produced, client told to retry", "events", len(b.events), "topic", h.pub.Topic(), "err", err)
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfterSeconds))
		resp.Error = "the event log cannot take events right now, nothing of this batch was stored: retry later"
		h.reply(w, http.StatusServiceUnavailable, resp)
		return
	}
	h.m.accepted.Add(float64(len(b.events)))
	resp.Accepted = len(b.events)
	h.reply(w, http.StatusOK, resp)
}

// CheckKey refuses this collector's pseudonymisation key when the topic's
// newest events went through another (see publish.Publisher.CheckKey).
func (h *Handler) CheckKey(newest [][]kafka.Header) error { return h.pub.CheckKey(newest) }

// produce writes the events synchronously; nil means every replica has all
// of them. Each message names its collector (schemas.CollectorHeader): the
// aggregator de-duplicates ids per collector, so no collector can take
// another's ids.
func (h *Handler) produce(ctx context.Context, events []schemas.Event, collector string) error {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.ProduceTimeout)
	defer cancel()
	start := time.Now()
	err := h.pub.Publish(ctx, events, collector)
	h.m.produce.Observe(time.Since(start).Seconds())
	return err
}

func (h *Handler) reply(w http.ResponseWriter, status int, resp Response) {
	if resp.Errors == nil {
		resp.Errors = []schemas.FieldError{}
	}
	h.m.batches.WithLabelValues(strconv.Itoa(status)).Inc()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(resp); err != nil {
		h.log.Debug("ingest response not sent", "err", err)
	}
}

func capErrors(bad []schemas.FieldError) ([]schemas.FieldError, int) {
	if len(bad) > MaxErrors {
		return bad[:MaxErrors], len(bad) - MaxErrors
	}
	return bad, 0
}
