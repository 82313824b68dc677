package simulate

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vigie-fr/vigie/schemas"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// collector is an httptest collector that decodes what it receives with the
// real strict decoder and records every id, duplicates included.
type collector struct {
	mu       sync.Mutex
	ids      map[string]int
	requests int
	// answer, when set, replaces the normal 200 for the n-th request (from 1).
	answer func(n int, w http.ResponseWriter, events []schemas.Event) bool
}

func newCollector(t *testing.T, answer func(int, http.ResponseWriter, []schemas.Event) bool) (*collector, *httptest.Server) {
	c := &collector{ids: map[string]int{}, answer: answer}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/events" || r.Header.Get("Content-Encoding") != "gzip" || r.Header.Get("Content-Type") != "application/x-ndjson" {
			http.Error(w, "bad request shape", http.StatusBadRequest)
			return
		}
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		events, _, bad, err := schemas.DecodeBatch(zr, schemas.DecodeOptions{})
		if err != nil || len(bad) > 0 {
			http.Error(w, fmt.Sprint(err, bad), http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		c.requests++
		n := c.requests
		c.mu.Unlock()
		if c.answer != nil && c.answer(n, w, events) {
			return
		}
		c.mu.Lock()
		for _, ev := range events {
			c.ids[ev.ID]++
		}
		c.mu.Unlock()
		fmt.Fprintf(w, `{"accepted":%d,"rejected":0}`, len(events))
	}))
	t.Cleanup(srv.Close)
	return c, srv
}

// someEvents is the first n events of the 2021 scenario.
func someEvents(t *testing.T, n int) []schemas.Event {
	t.Helper()
	sc, _ := Lookup("2021-04-06")
	seq, err := Stream(sc, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	var out []schemas.Event
	for ev := range seq {
		out = append(out, ev)
		if len(out) == n {
			break
		}
	}
	return out
}

func TestSendRetriesA503AndDeliversEveryEvent(t *testing.T) {
	events := someEvents(t, 5000)
	c, srv := newCollector(t, func(n int, w http.ResponseWriter, _ []schemas.Event) bool {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "broker unavailable", http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	var progress bytes.Buffer
	start := time.Now()
	st, err := Send(context.Background(), srv.URL+"/", slices.Values(events), SendOptions{BatchSize: 1000, Concurrency: 2, Total: len(events), Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < time.Second {
		t.Errorf("Send took %s: the Retry-After of 1 s was not honoured", time.Since(start))
	}
	want := SendStats{Events: 5000, Batches: 5, Requests: 6, Retries: 1}
	st.Bytes, st.Elapsed = 0, 0
	if st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	if len(c.ids) != len(events) {
		t.Errorf("collector holds %d distinct ids, want %d", len(c.ids), len(events))
	}
	for _, ev := range events {
		if c.ids[ev.ID] != 1 {
			t.Fatalf("event %s received %d times, want once (the refused batch is not stored)", ev.ID, c.ids[ev.ID])
		}
	}
	if !strings.Contains(progress.String(), "100.0% 5000/5000 events") || !strings.Contains(progress.String(), "1 retries") {
		t.Errorf("progress %q", progress.String())
	}
}

func TestSendAnswers(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   int
		body     string
		wantErr  string
		rejected int
	}{
		{"per-event rejections in a 200 are counted", 200, `{"accepted":98,"rejected":2,"errors":[{"index":0,"error":"x"},{"index":1,"error":"y"}]}`, "", 2},
		{"a 400 naming every event as invalid is counted, not fatal", 400, `{"accepted":0,"errors":[{"index":0,"field":"ts","error":"bad"}]}`, "", 1},
		{"a 400 without per-event errors stops Send", 400, `{"error":"unsupported content type"}`, `400 Bad Request: {"error":"unsupported content type"}`, 0},
		{"a 413 stops Send", 413, `batch too large`, "413 Request Entity Too Large: batch too large", 0},
		{"a 500 that never clears gives up after the retries", 500, `boom`, "not delivered after 3 attempts: 500 Internal Server Error: boom", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, srv := newCollector(t, func(_ int, w http.ResponseWriter, _ []schemas.Event) bool {
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
				return true
			})
			st, err := Send(context.Background(), srv.URL, slices.Values(someEvents(t, 100)), SendOptions{BatchSize: 100, MaxRetries: 2})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.Rejected != tc.rejected || st.Events != 100 {
				t.Errorf("stats %+v, want %d rejected of 100", st, tc.rejected)
			}
		})
	}
}

func TestSendRetriesNetworkErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens any more: connection refused
	st, err := Send(context.Background(), url, slices.Values(someEvents(t, 10)), SendOptions{MaxRetries: 2})
	if err == nil || !strings.Contains(err.Error(), "not delivered after 3 attempts") || st.Requests != 3 || st.Events != 0 {
		t.Errorf("Send = %+v, %v; want 3 attempts then an error", st, err)
	}
}

func TestSendPacesEventsAtTheRequestedSpeed(t *testing.T) {
	base := time.Date(2021, 4, 6, 8, 0, 0, 0, time.FixedZone("CEST", 7200))
	evs := someEvents(t, 3)
	for i := range evs {
		evs[i].TS = base.Add(time.Duration(i) * 300 * time.Millisecond) // 0.6 s of simulated time
	}
	var arrivals []time.Time
	var mu sync.Mutex
	_, srv := newCollector(t, func(_ int, _ http.ResponseWriter, events []schemas.Event) bool {
		mu.Lock()
		for range events {
			arrivals = append(arrivals, time.Now())
		}
		mu.Unlock()
		return false
	})
	for _, tc := range []struct {
		name     string
		speed    float64
		min, max time.Duration
	}{
		{"speed 0 sends at once", 0, 0, 250 * time.Millisecond},
		{"speed 1 takes the simulated 0.6 s", 1, 550 * time.Millisecond, 3 * time.Second},
		{"speed 2 takes half of it", 2, 250 * time.Millisecond, 550 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			arrivals = nil
			start := time.Now()
			st, err := Send(context.Background(), srv.URL, slices.Values(evs), SendOptions{Speed: tc.speed, BatchSize: 10})
			if err != nil || st.Events != 3 {
				t.Fatalf("Send = %+v, %v", st, err)
			}
			mu.Lock()
			last := arrivals[len(arrivals)-1].Sub(start)
			mu.Unlock()
			if last < tc.min || last > tc.max {
				t.Errorf("last event arrived after %s, want %s–%s", last, tc.min, tc.max)
			}
		})
	}
}

func TestSendStopsWhenTheContextEnds(t *testing.T) {
	_, srv := newCollector(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	var seq iter.Seq[schemas.Event] = func(yield func(schemas.Event) bool) {
		for i, ev := range someEvents(t, 50) {
			if i == 10 {
				cancel()
			}
			if !yield(ev) {
				return
			}
		}
	}
	_, err := Send(ctx, srv.URL, seq, SendOptions{BatchSize: 5})
	if err != context.Canceled {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestStreamRefusesABadScale(t *testing.T) {
	sc, _ := Lookup("2021-04-06")
	if _, err := Stream(sc, 1, 0); err == nil {
		t.Error("scale 0 accepted")
	}
}
