package httpapi_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/vigie-fr/vigie/ingest/httpapi"
	"github.com/vigie-fr/vigie/ingest/pseudonym"
	"github.com/vigie-fr/vigie/internal/broker"
	"github.com/vigie-fr/vigie/internal/broker/brokertest"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/schemas"
)

const testKey = "test-key-test-key-test-key-test-key"

type fixture struct {
	srv     *httptest.Server
	brokers []string
	topic   string
	reg     *prometheus.Registry
	pseudo  *pseudonym.Pseudonymiser
	embed   *broker.Embedded
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// start runs the handler against a real embedded broker over TCP.
func start(t *testing.T, maxBody int64, edit func(*config.IngestConfig, *kafka.Writer)) *fixture {
	t.Helper()
	kcfg := brokertest.Config(4)
	b := brokertest.Start(t, kcfg)
	w := broker.NewWriter(b.Access(), kcfg.Topic, kcfg)
	icfg := config.Default().Ingest
	icfg.Collectors = testCollectors
	if edit != nil {
		edit(&icfg, w)
	}
	t.Cleanup(func() { w.Close() })
	p, err := pseudonym.New([]byte(testKey))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	h, err := httpapi.New(icfg, maxBody, w, p, quiet(), reg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	mux := http.NewServeMux()
	h.Routes(mux)
	srv := httptest.NewServer(guarded(t, icfg, mux))
	t.Cleanup(srv.Close)
	return &fixture{srv: srv, brokers: b.Addrs(), topic: kcfg.Topic, reg: reg, pseudo: p, embed: b}
}

func (f *fixture) post(t *testing.T, body []byte, encoding string) (int, http.Header, httpapi.Response) {
	t.Helper()
	return f.postAs(t, tokenAll, body, encoding)
}

// postAs posts body with token as the bearer ("" sends none).
func (f *fixture) postAs(t *testing.T, token string, body []byte, encoding string) (int, http.Header, httpapi.Response) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+httpapi.Path, bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out httpapi.Response
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("response %d is not JSON: %v: %s", res.StatusCode, err, raw)
	}
	return res.StatusCode, res.Header, out
}

// metric returns the value of a counter (or a histogram's count) with the given labels.
func (f *fixture) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
			if h := m.GetHistogram(); h != nil {
				return float64(h.GetSampleCount())
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func ts(offset time.Duration) string {
	return time.Now().Add(offset).UTC().Truncate(time.Second).Format(time.RFC3339)
}

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func topicEvents(t *testing.T, f *fixture) map[string]kafka.Message {
	t.Helper()
	out := map[string]kafka.Message{}
	for _, m := range brokertest.ReadAll(t, f.brokers, f.topic) {
		var ev schemas.Event
		if err := json.Unmarshal(m.Value, &ev); err != nil {
			t.Fatalf("message at %d/%d is not an event: %v", m.Partition, m.Offset, err)
		}
		out[ev.ID] = m
	}
	return out
}

func TestMixedBatchProducesExactlyTheValidEvents(t *testing.T) {
	f := start(t, 1<<20, nil)
	ndjson := strings.Join([]string{
		`{"id":"e1","ts":"` + ts(-time.Minute) + `","platform":"ent","service":"monlycee.net","region":"11","kind":"login","outcome":"ok","latency_ms":120,"user":"eleve-11-0001","role":"student"}`,
		`{"id":"e2","ts":"` + ts(-time.Minute) + `","platform":"ent","service":"monlycee.net","region":"99","kind":"login","outcome":"error","user":"eleve-11-0002"}`,
		`{"id":"e3","ts":"` + ts(-time.Minute) + `","platform":"cned","service":"cned-classe-virtuelle","region":"84","kind":"session_start","outcome":"timeout","user":"prof-84-0003","source":"sim"}`,
		`{"id":"e4","ts":"` + ts(-time.Minute) + `","platform":"ent","service":"enthdf.fr","region":"32","kind":"page","outcome":"ok","latency":80}`,
		`not json at all`,
	}, "\n")
	arr := `[{"id":"g1","ts":"` + ts(-time.Second) + `","platform":"ent","service":"ent.auvergnerhonealpes.fr","region":"84","kind":"api","outcome":"rejected","status":429,"user":"eleve-84-0009"},` +
		`{"id":"g2","ts":"` + ts(3*time.Hour) + `","platform":"ent","service":"ent.auvergnerhonealpes.fr","region":"84","kind":"api","outcome":"error"}]`

	t.Run("per-event errors name the event and the field, valid ones are accepted", func(t *testing.T) {
		code, _, resp := f.post(t, []byte(ndjson), "")
		if code != http.StatusOK || resp.Accepted != 2 || resp.Rejected != 3 {
			t.Fatalf("status %d accepted %d rejected %d, want 200/2/3: %+v", code, resp.Accepted, resp.Rejected, resp)
		}
		got := make([][3]any, len(resp.Errors))
		for i, e := range resp.Errors {
			got[i] = [3]any{e.Index, e.ID, e.Field}
		}
		want := [][3]any{{1, "e2", "region"}, {3, "e4", "latency"}, {4, "", ""}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("errors (index, id, field) = %v, want %v\n%+v", got, want, resp.Errors)
		}
	})
	t.Run("a gzip JSON array is read like NDJSON", func(t *testing.T) {
		code, _, resp := f.post(t, gz(t, []byte(arr)), "gzip")
		if code != http.StatusOK || resp.Accepted != 1 || resp.Rejected != 1 {
			t.Fatalf("status %d %+v, want 200 with 1 accepted, 1 rejected", code, resp)
		}
		if e := resp.Errors[0]; e.Index != 1 || e.ID != "g2" || e.Field != "ts" || !strings.Contains(e.Msg, "future") {
			t.Errorf("error = %+v, want g2's ts in the future", e)
		}
	})
	t.Run("the topic holds exactly the valid events, pseudonymised and keyed", func(t *testing.T) {
		got := topicEvents(t, f)
		if ids := slices.Sorted(maps.Keys(got)); !reflect.DeepEqual(ids, []string{"e1", "e3", "g1"}) {
			t.Fatalf("ids in topic = %v, want [e1 e3 g1]", ids)
		}
		for id, want := range map[string]struct{ user, source, key string }{
			"e1": {f.pseudo.Of("eleve-11-0001"), "beacon", "11/monlycee.net"},
			"e3": {f.pseudo.Of("prof-84-0003"), "sim", "84/cned-classe-virtuelle"},
			"g1": {f.pseudo.Of("eleve-84-0009"), "beacon", "84/ent.auvergnerhonealpes.fr"},
		} {
			m := got[id]
			var ev schemas.Event
			json.Unmarshal(m.Value, &ev)
			if ev.User != want.user || len(ev.User) != 16 || ev.Source != want.source || string(m.Key) != want.key {
				t.Errorf("%s: user %q source %q key %q, want %q %q %q", id, ev.User, ev.Source, m.Key, want.user, want.source, want.key)
			}
			// What the aggregator reads must pass the same strict decoder.
			if _, fe := schemas.DecodeEvent(m.Value, 0, time.Now()); fe != nil {
				t.Errorf("%s as produced does not decode: %v", id, fe)
			}
		}
		for _, m := range got {
			for _, raw := range []string{"eleve-11-0001", "eleve-11-0002", "prof-84-0003", "eleve-84-0009", "eleve-", "prof-"} {
				if bytes.Contains(m.Value, []byte(raw)) || bytes.Contains(m.Key, []byte(raw)) {
					t.Errorf("raw user id %q found in the topic: %s", raw, m.Value)
				}
			}
		}
	})
	t.Run("metrics count accepted and rejected events by bounded reason", func(t *testing.T) {
		for _, c := range []struct {
			name   string
			labels []string
			want   float64
		}{
			{"vigie_ingest_events_accepted_total", nil, 3},
			{"vigie_ingest_events_rejected_total", []string{"reason", "region"}, 1},
			{"vigie_ingest_events_rejected_total", []string{"reason", "unknown_field"}, 1},
			{"vigie_ingest_events_rejected_total", []string{"reason", "not_an_object"}, 1},
			{"vigie_ingest_events_rejected_total", []string{"reason", "ts"}, 1},
			{"vigie_ingest_batches_total", []string{"code", "200"}, 2},
			{"vigie_ingest_produce_seconds", nil, 2},
		} {
			if got := f.metric(t, c.name, c.labels...); got != c.want {
				t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
			}
		}
	})
}

func validEvent(id string) string {
	return `{"id":"` + id + `","ts":"` + ts(-time.Minute) + `","platform":"ent","service":"monlycee.net","region":"11","kind":"page","outcome":"ok","latency_ms":5}`
}

func TestBatchesRefusedAsAWhole(t *testing.T) {
	const limit = 4096
	f := start(t, limit, func(c *config.IngestConfig, _ *kafka.Writer) { c.MaxBatchEvents = 3 })
	big := bytes.Repeat([]byte(validEvent("x")+"\n"), limit/100)
	bomb := gz(t, []byte(validEvent("b")+"\n"+strings.Repeat(" ", 10*limit)))
	noise := make([]byte, 2*limit)
	rand.NewChaCha8([32]byte{1}).Read(noise)
	bigGzip := gz(t, noise) // incompressible: over the limit as sent
	for _, tc := range []struct {
		name     string
		body     []byte
		encoding string
		status   int
		inError  string
		accepted int
		rejected int
	}{
		{"an empty body is an empty batch", nil, "", 200, "", 0, 0},
		{"a body over the limit is 413 naming the limit", big, "", 413, "4096 bytes", 0, 0},
		{"a gzip body that expands over the limit is 413", bomb, "gzip", 413, "after decompression", 0, 0},
		{"a gzip body over the limit as sent is 413", bigGzip, "gzip", 413, "4096 bytes", 0, 0},
		{"a body that is not gzip as announced is 400", []byte(validEvent("n")), "gzip", 400, "not gzip", 0, 0},
		{"an unknown content encoding is 415", []byte(validEvent("n")), "br", 415, `"br" is not supported`, 0, 0},
		{"a truncated JSON array is unreadable", []byte("[" + validEvent("t1") + "," + validEvent("t2")), "", 400, "unreadable batch", 0, 0},
		{"more events than max_batch_events is unreadable", []byte(strings.Repeat(validEvent("m")+"\n", 4)), "", 400, "more than 3 events", 0, 0},
		{"a batch of only invalid events is 400 with each error", []byte(`{"id":"i1"}` + "\n" + `{"id":"i2"}`), "", 400, "every event", 0, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, resp := f.post(t, tc.body, tc.encoding)
			if code != tc.status || !strings.Contains(resp.Error, tc.inError) || resp.Accepted != tc.accepted || resp.Rejected != tc.rejected {
				t.Errorf("got %d %+v, want %d with error containing %q, %d accepted, %d rejected", code, resp, tc.status, tc.inError, tc.accepted, tc.rejected)
			}
			if code == 413 && resp.LimitBytes != limit {
				t.Errorf("limit_bytes = %d, want %d", resp.LimitBytes, limit)
			}
		})
	}
	if n := len(brokertest.ReadAll(t, f.brokers, f.topic)); n != 0 {
		t.Errorf("%d messages in the topic after refused batches, want 0", n)
	}
	if got := f.metric(t, "vigie_ingest_events_rejected_total", "reason", "oversize"); got != 3 {
		t.Errorf("rejected{oversize} = %v, want 3", got)
	}
}

func TestOtherMethodsAre405(t *testing.T) {
	f := start(t, 1<<20, nil)
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+httpapi.Path, nil)
	req.Header.Set("Authorization", "Bearer "+tokenAll)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "POST" {
		t.Errorf("GET: %d Allow %q, want 405 Allow POST", res.StatusCode, res.Header.Get("Allow"))
	}
}

func TestResentEventsAreProducedAgain(t *testing.T) {
	f := start(t, 1<<20, nil)
	body := []byte(validEvent("same") + "\n")
	for i := 0; i < 2; i++ {
		if code, _, resp := f.post(t, body, ""); code != 200 || resp.Accepted != 1 {
			t.Fatalf("post %d: %d %+v", i, code, resp)
		}
	}
	msgs := brokertest.ReadAll(t, f.brokers, f.topic)
	if len(msgs) != 2 || msgs[0].Partition != msgs[1].Partition {
		t.Fatalf("got %d messages, want the event twice on one partition (the aggregator de-duplicates)", len(msgs))
	}
}

func TestBrokerDownIs503WithRetryAfter(t *testing.T) {
	f := start(t, 1<<20, func(c *config.IngestConfig, w *kafka.Writer) {
		c.ProduceTimeout = time.Second
		w.MaxAttempts = 2 // so that Close does not wait out the full retry budget (about 7s)
	})
	// Warm up so the writer has metadata, then stop the broker.
	if code, _, _ := f.post(t, []byte(validEvent("before")), ""); code != 200 {
		t.Fatalf("warm-up: %d", code)
	}
	f.embed.Close()
	start := time.Now()
	code, hdr, resp := f.post(t, []byte(validEvent("during")+"\n"+`{"id":"bad"}`), "")
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") != "5" {
		t.Fatalf("got %d Retry-After %q, want 503 with Retry-After 5: %+v", code, hdr.Get("Retry-After"), resp)
	}
	if resp.Accepted != 0 || resp.Rejected != 1 || !strings.Contains(resp.Error, "retry later") {
		t.Errorf("response %+v, want nothing accepted, the invalid event reported, and a retry hint", resp)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("503 took %v, want it within about the produce timeout (1s)", d)
	}
	if got := f.metric(t, "vigie_ingest_events_rejected_total", "reason", "unavailable"); got != 1 {
		t.Errorf("rejected{unavailable} = %v, want 1", got)
	}
	if got := f.metric(t, "vigie_ingest_batches_total", "code", "503"); got != 1 {
		t.Errorf("batches{503} = %v, want 1", got)
	}
}

// onHungBroker is a handler with cfg whose broker accepts connections and
// never answers. Everything is closed at the end of the test.
func onHungBroker(t *testing.T, cfg config.IngestConfig) *httpapi.Handler {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c) // never read, never answered
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	w := broker.NewWriter(broker.Plain([]string{ln.Addr().String()}), "vigie.events.v1", config.Default().Kafka)
	t.Cleanup(func() { w.Close() })
	p, _ := pseudonym.New([]byte(testKey))
	h, err := httpapi.New(cfg, 1<<20, w, p, quiet(), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestBrokerThatDoesNotAnswerIs503WithinTheProduceTimeout(t *testing.T) {
	cfg := config.Default().Ingest
	cfg.ProduceTimeout = 500 * time.Millisecond
	h := onHungBroker(t, cfg)
	start := time.Now()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, asAll(httptest.NewRequest(http.MethodPost, httpapi.Path, strings.NewReader(validEvent("hung")))))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "5" {
		t.Fatalf("got %d Retry-After %q: %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	if d := time.Since(start); d < cfg.ProduceTimeout || d > cfg.ProduceTimeout+2*time.Second {
		t.Errorf("answered after %v, want just after the produce timeout of %v", d, cfg.ProduceTimeout)
	}
	var resp httpapi.Response
	json.Unmarshal(rec.Body.Bytes(), &resp)
	if resp.Accepted != 0 || resp.Error == "" {
		t.Errorf("response %+v, want nothing accepted and an error", resp)
	}
}

func TestNewRefusesUnsafeWiring(t *testing.T) {
	p, _ := pseudonym.New([]byte(testKey))
	cfg := config.Default().Ingest
	good := func() *kafka.Writer {
		return broker.NewWriter(broker.Plain([]string{"127.0.0.1:1"}), "t", config.Default().Kafka)
	}
	for _, tc := range []struct {
		name    string
		edit    func(*kafka.Writer)
		inError string
	}{
		{"a writer that does not wait for all replicas", func(w *kafka.Writer) { w.RequiredAcks = kafka.RequireOne }, "RequireAll"},
		{"an asynchronous writer", func(w *kafka.Writer) { w.Async = true }, "RequireAll"},
		{"a writer without a topic", func(w *kafka.Writer) { w.Topic = "" }, "no topic"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := good()
			tc.edit(w)
			_, err := httpapi.New(cfg, 1024, w, p, quiet(), prometheus.NewRegistry())
			if err == nil || !strings.Contains(err.Error(), tc.inError) {
				t.Errorf("err = %v, want it to mention %q", err, tc.inError)
			}
		})
	}
	t.Run("metrics registered twice on one registry", func(t *testing.T) {
		reg := prometheus.NewRegistry()
		if _, err := httpapi.New(cfg, 1024, good(), p, quiet(), reg); err != nil {
			t.Fatal(err)
		}
		if _, err := httpapi.New(cfg, 1024, good(), p, quiet(), reg); err == nil {
			t.Error("second New on the same registry succeeded, want a duplicate registration error")
		}
	})
}

// BenchmarkIngest posts batches of 1000 valid events through HTTP to the
// embedded broker and reports events/s end to end (acknowledged by Kafka).
func BenchmarkIngest(b *testing.B) {
	kcfg := brokertest.Config(4)
	br := brokertest.Start(b, kcfg)
	w := broker.NewWriter(br.Access(), kcfg.Topic, kcfg)
	defer w.Close()
	p, _ := pseudonym.New([]byte(testKey))
	h, err := httpapi.New(config.Default().Ingest, 8<<20, w, p, quiet(), prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, asAll(r)) }))
	defer srv.Close()
	services := []string{"monlycee.net", "enthdf.fr", "ent.auvergnerhonealpes.fr", "cned-classe-virtuelle"}
	regions := []string{"11", "32", "84", "76"}
	var body bytes.Buffer
	const perBatch = 1000
	for i := 0; i < perBatch; i++ {
		fmt.Fprintf(&body, `{"id":"bench-%d","ts":"%s","platform":"ent","service":"%s","region":"%s","kind":"page","outcome":"ok","latency_ms":%d,"user":"eleve-%d"}`+"\n",
			i, ts(-time.Minute), services[i%4], regions[i%4], i%900, i%300)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := http.Post(srv.URL, "application/x-ndjson", bytes.NewReader(body.Bytes()))
			if err != nil {
				b.Error(err)
				return
			}
			var resp httpapi.Response
			err = json.NewDecoder(res.Body).Decode(&resp)
			res.Body.Close()
			if err != nil || res.StatusCode != 200 || resp.Accepted != perBatch {
				b.Errorf("status %d, %+v (%v); want 200 and %d accepted", res.StatusCode, resp, err, perBatch)
			}
		}
	})
	b.StopTimer()
	// Accepted means acknowledged by Kafka: the topic holds every event.
	if got, want := brokertest.Messages(b, br.Addrs(), kcfg.Topic), int64(b.N*perBatch); got != want {
		b.Fatalf("%d messages in %s after %d accepted events", got, kcfg.Topic, want)
	}
	b.ReportMetric(float64(b.N*perBatch)/b.Elapsed().Seconds(), "events/s")
}
