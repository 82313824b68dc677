package simulate

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigie-fr/vigie/internal/progress"
	"github.com/vigie-fr/vigie/schemas"
)

// SendOptions tune Send. Zero values take the defaults.
type SendOptions struct {
	// BatchSize is the number of events per POST (default 2000; the collector
	// refuses batches above its ingest.max_batch_events, 10000 by default).
	BatchSize int
	// Concurrency is the number of POSTs in flight (default 2).
	Concurrency int
	// Speed compresses time: 0 sends as fast as possible; N sends N simulated
	// seconds per real second, each event when its simulated time comes.
	Speed float64
	// Total is the number of events expected (see Count), for the percentage
	// and ETA of the progress display; 0 shows counts only.
	Total int
	// Progress receives a progress display; nil shows none. On a terminal the
	// line is rewritten in place; elsewhere a plain line is written every few seconds.
	Progress io.Writer
	// PlainProgress forces plain lines even on a terminal.
	PlainProgress bool
	// MaxRetries bounds the attempts per batch after the first (default 10).
	MaxRetries int
	// Client is the HTTP client (default: one with a 60 s timeout).
	Client *http.Client
	// Token is the collector's token, sent as a bearer; "" sends none (an
	// open loopback server). Replaying history needs a token whose
	// collector has backfill: true.
	Token string
}

// SendStats counts what Send did.
type SendStats struct {
	Events   int // events the collector acknowledged (accepted or rejected one by one)
	Rejected int // events the collector refused one by one (invalid)
	Batches  int
	Requests int // HTTP attempts, retries included
	Retries  int
	Bytes    int64 // gzip bytes sent, retries included
	Elapsed  time.Duration
}

// Add sums o into s: two Sends as one.
func (s *SendStats) Add(o SendStats) {
	s.Events += o.Events
	s.Rejected += o.Rejected
	s.Batches += o.Batches
	s.Requests += o.Requests
	s.Retries += o.Retries
	s.Bytes += o.Bytes
	s.Elapsed += o.Elapsed
}

// Send POSTs events to <url>/v1/events in gzip NDJSON batches. A batch is
// retried as a whole on 503/429 (honouring Retry-After), other 5xx and network
// errors, with backoff: ids then repeat, and the pipeline drops duplicates by
// id. Per-event rejections in the response are counted, not fatal; any other
// 4xx stops Send with the collector's message. Send returns when every event
// is acknowledged, or at the first fatal error or when ctx is done.
func Send(ctx context.Context, url string, events iter.Seq[schemas.Event], opt SendOptions) (SendStats, error) {
	if opt.BatchSize <= 0 {
		opt.BatchSize = 2000
	}
	if opt.Concurrency <= 0 {
		opt.Concurrency = 2
	}
	if opt.MaxRetries <= 0 {
		opt.MaxRetries = 10
	}
	if opt.Speed < 0 {
		return SendStats{}, fmt.Errorf("simulate: speed %v is negative, use 0 (as fast as possible) or more", opt.Speed)
	}
	if opt.Client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		defer tr.CloseIdleConnections() // leave no keep-alive goroutines behind
		opt.Client = &http.Client{Timeout: 60 * time.Second, Transport: tr}
	}
	endpoint := strings.TrimRight(url, "/") + "/v1/events"
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	s := &sender{opt: opt, endpoint: endpoint, start: time.Now()}
	stopProgress := s.progress()
	work := make(chan []schemas.Event, opt.Concurrency)
	var wg sync.WaitGroup
	for range opt.Concurrency {
		wg.Go(func() {
			for batch := range work {
				if err := s.post(ctx, batch); err != nil {
					cancel(err)
				}
			}
		})
	}

	var batch []schemas.Event
	var batchStart time.Time
	flush := func() bool {
		if len(batch) == 0 {
			return true
		}
		select {
		case work <- batch:
			batch = nil
			return true
		case <-ctx.Done():
			return false
		}
	}
	var simT0, realT0 time.Time
	for ev := range events {
		if ctx.Err() != nil {
			break
		}
		if opt.Speed > 0 {
			if simT0.IsZero() {
				simT0, realT0 = ev.TS, time.Now()
			}
			due := realT0.Add(time.Duration(float64(ev.TS.Sub(simT0)) / opt.Speed))
			if wait := time.Until(due); wait > 5*time.Millisecond {
				// Hold a partial batch at most a fifth of a second, so a slow
				// replay still reaches the collector promptly.
				if len(batch) > 0 && (time.Since(batchStart) > 200*time.Millisecond || wait > 200*time.Millisecond) && !flush() {
					break
				}
				if !sleep(ctx, wait) {
					break
				}
			}
		}
		if len(batch) == 0 {
			batchStart = time.Now()
		}
		batch = append(batch, ev)
		if len(batch) >= opt.BatchSize && !flush() {
			break
		}
	}
	if ctx.Err() == nil {
		flush()
	}
	close(work)
	wg.Wait()
	stopProgress()
	st := s.stats()
	if err := context.Cause(ctx); err != nil {
		return st, err
	}
	return st, nil
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

type sender struct {
	opt      SendOptions
	endpoint string
	start    time.Time
	events   atomic.Int64
	rejected atomic.Int64
	batches  atomic.Int64
	requests atomic.Int64
	retries  atomic.Int64
	bytes    atomic.Int64
}

func (s *sender) stats() SendStats {
	return SendStats{
		Events: int(s.events.Load()), Rejected: int(s.rejected.Load()), Batches: int(s.batches.Load()),
		Requests: int(s.requests.Load()), Retries: int(s.retries.Load()), Bytes: s.bytes.Load(),
		Elapsed: time.Since(s.start),
	}
}

// errFatal marks answers that retrying cannot fix.
var errFatal = errors.New("collector refused the batch")

// post sends one batch until it is acknowledged.
func (s *sender) post(ctx context.Context, batch []schemas.Event) error {
	body, err := encodeBatch(batch)
	if err != nil {
		return err
	}
	backoff := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			s.retries.Add(1)
		}
		s.requests.Add(1)
		s.bytes.Add(int64(len(body)))
		rejected, retryAfter, err := s.try(ctx, body)
		if err == nil {
			s.events.Add(int64(len(batch)))
			s.rejected.Add(int64(rejected))
			s.batches.Add(1)
			return nil
		}
		if errors.Is(err, errFatal) || ctx.Err() != nil {
			return err
		}
		if attempt >= s.opt.MaxRetries {
			return fmt.Errorf("simulate: batch of %d events not delivered after %d attempts: %w", len(batch), attempt+1, err)
		}
		wait := backoff
		if retryAfter >= 0 {
			wait = retryAfter
		}
		if !sleep(ctx, wait) {
			return ctx.Err()
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// try is one POST. It returns the per-event rejections, the Retry-After delay
// (-1 when none) and an error, wrapping errFatal when retrying is pointless.
func (s *sender) try(ctx context.Context, body []byte) (int, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, -1, fmt.Errorf("%w: %v", errFatal, err)
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Content-Encoding", "gzip")
	if s.opt.Token != "" {
		req.Header.Set("Authorization", "Bearer "+s.opt.Token)
	}
	resp, err := s.opt.Client.Do(req)
	if err != nil {
		return 0, -1, err // network: retry
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	rejected, perEvent := perEventErrors(msg)
	switch {
	case resp.StatusCode/100 == 2:
		return rejected, -1, nil
	case resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests:
		return 0, retryAfter(resp.Header.Get("Retry-After")), fmt.Errorf("%s: %s", resp.Status, snippet(msg))
	case resp.StatusCode/100 == 5:
		return 0, -1, fmt.Errorf("%s: %s", resp.Status, snippet(msg))
	case resp.StatusCode/100 == 4 && perEvent:
		// Every event of the batch was invalid: counted, not fatal.
		return rejected, -1, nil
	}
	return 0, -1, fmt.Errorf("%w: POST %s: %s: %s", errFatal, s.endpoint, resp.Status, snippet(msg))
}

// perEventErrors reads the collector's answer: {"rejected": n} or an
// "errors" array of per-event errors (schemas.FieldError). ok reports whether
// the answer names events one by one.
func perEventErrors(body []byte) (n int, ok bool) {
	var r struct {
		Rejected *int                 `json:"rejected"`
		Errors   []schemas.FieldError `json:"errors"`
	}
	if json.Unmarshal(body, &r) != nil {
		return 0, false
	}
	if r.Rejected != nil {
		return *r.Rejected, *r.Rejected > 0 || len(r.Errors) > 0
	}
	return len(r.Errors), len(r.Errors) > 0
}

// retryAfter parses a Retry-After header (seconds or an HTTP date), capped
// at 30 s; -1 when absent or unreadable.
func retryAfter(h string) time.Duration {
	if h == "" {
		return -1
	}
	if n, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && n >= 0 {
		return min(time.Duration(n)*time.Second, 30*time.Second)
	}
	if t, err := http.ParseTime(h); err == nil {
		return min(max(time.Until(t), 0), 30*time.Second)
	}
	return -1
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func encodeBatch(batch []schemas.Event) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	enc := json.NewEncoder(zw) // one object per line: NDJSON
	for i := range batch {
		if err := enc.Encode(&batch[i]); err != nil {
			return nil, fmt.Errorf("simulate: encode event %q: %w", batch[i].ID, err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// progress starts the progress display and returns its stop function.
func (s *sender) progress() (stop func()) {
	return progress.Start(s.opt.Progress, s.opt.PlainProgress, s.progressLine)
}

func (s *sender) progressLine() string {
	n := s.events.Load()
	el := time.Since(s.start)
	rate := float64(n) / max(el.Seconds(), 1e-3)
	line := fmt.Sprintf("%d events, %.0f events/s", n, rate)
	if s.opt.Total > 0 {
		pct := 100 * float64(n) / float64(s.opt.Total)
		eta := "?"
		if rate > 0 {
			eta = (time.Duration(float64(int64(s.opt.Total)-n)/rate) * time.Second).Round(time.Second).String()
		}
		line = fmt.Sprintf("%5.1f%% %d/%d events, %.0f events/s, ETA %s", pct, n, s.opt.Total, rate, eta)
	}
	if r := s.retries.Load(); r > 0 {
		line += fmt.Sprintf(", %d retries", r)
	}
	if r := s.rejected.Load(); r > 0 {
		line += fmt.Sprintf(", %d rejected", r)
	}
	return line
}

// Stream is the scenario's events as an iterator for Send. Arguments are
// checked before it is returned, so ranging over it cannot fail.
func Stream(sc Scenario, seed int64, scale float64) (iter.Seq[schemas.Event], error) {
	if _, err := newGenerator(sc, seed, scale); err != nil {
		return nil, err
	}
	return func(yield func(schemas.Event) bool) {
		g, _ := newGenerator(sc, seed, scale)
		g.run(func(ev schemas.Event) error {
			if !yield(ev) {
				return errStop
			}
			return nil
		})
	}, nil
}
