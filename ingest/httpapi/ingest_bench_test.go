package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie-fr/vigie/ingest/httpapi"
	"github.com/vigie-fr/vigie/ingest/pseudonym"
	"github.com/vigie-fr/vigie/internal/broker"
	"github.com/vigie-fr/vigie/internal/broker/brokertest"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/schemas"
)

const (
	benchClients   = 8
	benchPerBody   = 1000
	benchPerOp     = 200 // bodies per operation: 200,000 distinct events
	benchKcatTopic = "vigie.bench.kcat"
)

// BenchmarkIngest measures the HTTP collector end to end: 8 clients POST
// NDJSON bodies of 1,000 distinct events each (200,000 events an
// operation), every one validated, pseudonymised and acknowledged by Kafka
// (acks=all) before its 200. In the same operation kcat -P produces the
// same lines, keyed as the collector keys them, to another topic of the
// same broker: kcat_ratio is Vigie's events/s over kcat's, the figure of
// issue 15's acceptance (≥ 0.5, or the documented bound: docs/benchmarks.md).
// p99_ms is the request latency the clients saw.
func BenchmarkIngest(b *testing.B) {
	kcfg := brokertest.Config(4)
	br := brokertest.Start(b, kcfg)
	kcat := brokertest.KcatPath() != ""
	if kcat {
		kc := kcfg
		kc.Topic = benchKcatTopic
		if err := broker.EnsureTopics(context.Background(), br.Access(), kc, quiet()); err != nil {
			b.Fatal(err)
		}
	} else {
		b.Log("kcat is not installed (scripts/install-test-deps.sh installs it): no kcat_ratio")
	}
	w := broker.NewWriter(br.Access(), kcfg.Topic, kcfg)
	defer w.Close()
	p, _ := pseudonym.New([]byte(testKey))
	h, err := httpapi.New(config.Default().Ingest, 8<<20, w, p, quiet(), prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, asAll(r)) }))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchClients}}

	var vigieTime, kcatTime, vigieCPU, kcatCPU time.Duration
	var latencies []time.Duration
	op := 0
	for b.Loop() {
		b.StopTimer()
		op++
		bodies, kcatLines := benchBodies(op)
		b.StartTimer()

		t0, cpu0 := time.Now(), brokertest.ProcessCPU()
		lat := benchPost(b, client, srv.URL, bodies)
		vigieTime += time.Since(t0)
		vigieCPU += brokertest.ProcessCPU() - cpu0
		latencies = append(latencies, lat...)

		if kcat {
			b.StopTimer()
			run, err := brokertest.KcatProduce(context.Background(), br.Addrs(), benchKcatTopic, kcatLines)
			if err != nil {
				b.Fatal(err)
			}
			kcatTime += run.Wall
			kcatCPU += run.CPU + run.BrokerCPU
			b.StartTimer()
		}
	}
	b.StopTimer()
	events := op * benchPerOp * benchPerBody
	// Accepted means acknowledged by Kafka: the topic holds every event.
	if got := brokertest.Messages(b, br.Addrs(), kcfg.Topic); got != int64(events) {
		b.Fatalf("%d messages in %s after %d accepted events", got, kcfg.Topic, events)
	}
	rate := float64(events) / vigieTime.Seconds()
	b.ReportMetric(rate, "events/s")
	slices.Sort(latencies)
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99_ms")
	if kcat {
		if got := brokertest.Messages(b, br.Addrs(), benchKcatTopic); got != int64(events) {
			b.Fatalf("kcat produced %d messages, want %d", got, events)
		}
		k := float64(events) / kcatTime.Seconds()
		b.ReportMetric(k, "kcat_events/s")
		b.ReportMetric(rate/k, "kcat_ratio")
		// CPU per event, which other work on the machine changes less than
		// wall time. Vigie's side counts this whole process: the HTTP
		// clients, the collector and the broker; kcat's, kcat and the broker.
		b.ReportMetric(float64(vigieCPU.Nanoseconds())/1000/float64(events), "cpu_us/event")
		b.ReportMetric(float64(kcatCPU.Nanoseconds())/1000/float64(events), "kcat_cpu_us/event")
	}
}

// benchBodies are operation op's NDJSON bodies (distinct ids across
// operations) and the same events as kcat -P input lines, "key\tvalue",
// keyed by region/service as the collector keys them.
func benchBodies(op int) (bodies [][]byte, kcatLines []byte) {
	services := []string{"monlycee.net", "enthdf.fr", "ent.auvergnerhonealpes.fr", "cned-classe-virtuelle"}
	regions := []string{"11", "32", "84", "76"}
	at := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339Nano)
	var kl bytes.Buffer
	for n := range benchPerOp {
		var body bytes.Buffer
		for i := range benchPerBody {
			k := n*benchPerBody + i
			start := body.Len()
			fmt.Fprintf(&body, `{"id":"bench-%d-%d","ts":"%s","platform":"ent","service":"%s","region":"%s","kind":"page","outcome":"ok","latency_ms":%d,"user":"eleve-%d"}`+"\n",
				op, k, at, services[k%4], regions[k%4], k%900, k%30000)
			ev := schemas.Event{Region: regions[k%4], Service: services[k%4]}
			kl.WriteString(ev.PartitionKey())
			kl.WriteByte('\t')
			kl.Write(body.Bytes()[start:])
		}
		bodies = append(bodies, body.Bytes())
	}
	return bodies, kl.Bytes()
}

// benchPost sends bodies from benchClients clients at once and returns
// each request's latency; every answer must accept the whole body.
func benchPost(b *testing.B, client *http.Client, url string, bodies [][]byte) []time.Duration {
	next := make(chan []byte)
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	for range benchClients {
		wg.Go(func() {
			for body := range next {
				t0 := time.Now()
				res, err := client.Post(url, "application/x-ndjson", bytes.NewReader(body))
				if err != nil {
					b.Error(err)
					continue
				}
				var resp httpapi.Response
				err = json.NewDecoder(res.Body).Decode(&resp)
				res.Body.Close()
				d := time.Since(t0)
				if err != nil || res.StatusCode != 200 || resp.Accepted != benchPerBody {
					b.Errorf("status %d, %+v (%v); want 200 and %d accepted", res.StatusCode, resp, err, benchPerBody)
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		})
	}
	for _, body := range bodies {
		next <- body
	}
	close(next)
	wg.Wait()
	return lat
}
