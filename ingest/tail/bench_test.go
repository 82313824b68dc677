package tail

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkTailBacklog reads a backlog of 100,000 nginx lines into the
// embedded broker (parse, route, check, pseudonymise, produce with acks=all,
// checkpoint), batch_events 1000: the rate of `vigie tail` catching up.
func BenchmarkTailBacklog(b *testing.B) {
	const lines = 100_000
	r := newRig(b)
	r.cfg.BatchEvents = 1000
	w := &writer{t: b, path: r.logPath, truth: map[string]int{}}
	w.write(lines)
	b.ResetTimer()
	for i := range b.N {
		r.cfg.Checkpoint = filepath.Join(r.dir, "bench", time.Now().Format("150405.000000")+string(rune('a'+i%26)))
		start := time.Now()
		stop, reg := r.start()
		waitSentB(b, reg, r.logPath, lines)
		stop()
		b.ReportMetric(lines/time.Since(start).Seconds(), "lines/s")
	}
}

func waitSentB(b *testing.B, reg *prometheus.Registry, path string, n int) {
	deadline := time.Now().Add(5 * time.Minute)
	for sentOf(reg, path) < float64(n) {
		if time.Now().After(deadline) {
			b.Fatalf("%v of %d lines sent in 5 minutes", sentOf(reg, path), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
