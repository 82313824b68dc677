package schemas

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"
	"time"
)

// benchBatch is the number of events one benchmark operation decodes. An
// operation is a whole batch, not one event, so that `make bench`
// (-benchtime 1x) still times thousands of decodes rather than one.
const benchBatch = 2000

// benchLines returns benchBatch events as the ingest API receives them: a
// mix of successes, failures, queued requests, optional fields and attrs.
func benchLines() [][]byte {
	lines := make([][]byte, benchBatch)
	base := time.Date(2021, 4, 6, 8, 0, 0, 0, time.FixedZone("CEST", 2*3600))
	for i := range lines {
		reg := Regions[i%len(Regions)]
		ts := base.Add(time.Duration(i) * 37 * time.Millisecond).Format(time.RFC3339Nano)
		var tail string
		switch i % 8 {
		case 5:
			tail = `"outcome":"error","status":502,"latency_ms":30012.5`
		case 6:
			tail = `"outcome":"queued","queue_ms":120000,"attrs":{"queue":"salle-attente","position":"1234"}`
		case 7:
			tail = `"outcome":"timeout","status":504`
		default:
			tail = fmt.Sprintf(`"outcome":"ok","status":200,"latency_ms":%d.%d,"academy":"ac-%s","role":"student","source":"beacon"`, 80+i%900, i%10, reg)
		}
		lines[i] = fmt.Appendf(nil, `{"id":"ev-%07d","ts":"%s","platform":"ent","service":"ent-%s","region":"%s","kind":"page","user":"%016x",%s}`,
			i, ts, reg, reg, 1+i%5000, tail)
	}
	return lines
}

// reportPerEvent adds events/s and allocs/event, the figures that stay
// comparable whatever the batch size.
func reportPerEvent(b *testing.B, events int, before *runtime.MemStats) {
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(events), "allocs/event")
}

// BenchmarkDecodeEvent decodes benchBatch events one by one, as the
// aggregator does for each Kafka message. Target: ≥ 60,000 events/s, twice
// the aggregator's end-to-end target (docs/benchmarks.md).
func BenchmarkDecodeEvent(b *testing.B) {
	lines := benchLines()
	now := time.Date(2021, 4, 6, 12, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	n := 0
	for b.Loop() {
		for _, l := range lines {
			if _, ferr := DecodeEvent(l, time.Hour, now); ferr != nil {
				b.Fatal(ferr)
			}
		}
		n += len(lines)
	}
	reportPerEvent(b, n, &before)
}

// BenchmarkDecodeBatch decodes one NDJSON body of benchBatch events, as the
// ingest API does for each POST. Target: ≥ 60,000 events/s.
func BenchmarkDecodeBatch(b *testing.B) {
	body := bytes.Join(benchLines(), []byte("\n"))
	opt := DecodeOptions{MaxEvents: 10000, MaxFuture: time.Hour, Now: func() time.Time { return time.Date(2021, 4, 6, 12, 0, 0, 0, time.UTC) }}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	n := 0
	for b.Loop() {
		events, _, bad, err := DecodeBatch(bytes.NewReader(body), opt)
		if err != nil || len(bad) != 0 || len(events) != benchBatch {
			b.Fatalf("decoded %d events, %d bad, err %v; want %d good", len(events), len(bad), err, benchBatch)
		}
		n += len(events)
	}
	reportPerEvent(b, n, &before)
}
