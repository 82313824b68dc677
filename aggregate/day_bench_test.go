package aggregate

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	rtmetrics "runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/vigie-fr/vigie/internal/broker"
	"github.com/vigie-fr/vigie/internal/broker/brokertest"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/store"
	"github.com/vigie-fr/vigie/internal/warehouse"
	"github.com/vigie-fr/vigie/internal/warehouse/chdb"
	"github.com/vigie-fr/vigie/schemas"
)

// Sizes of BenchmarkDay, from the environment so that `make bench` stays
// short and the 10 M-event day is one variable away (docs/benchmarks.md).
const (
	dayEventsEnv = "VIGIE_BENCH_DAY_EVENTS" // events of the day; default dayEventsDefault
	dayRateEnv   = "VIGIE_BENCH_DAY_RATE"   // events/s produced; default dayRateDefault
)

const (
	dayEventsDefault = 600_000
	// dayRateDefault is the national peak of remote school (31,000 events/s,
	// docs/capacity.md); 3× is the acceptance's load, set with dayRateEnv.
	dayRateDefault = 31_000
	dayPartitions  = 8 // kafka.partitions' default
	dayProbeEvery  = 100 * time.Millisecond
	dayTick        = 10 * time.Millisecond
)

// BenchmarkDay runs a school day through one process holding what `vigie
// serve` holds on one machine: the embedded broker, chDB and the
// aggregator with production settings, while a producer writes events at
// a steady rate (acks=all, as the collectors produce) over the day's hours
// for 18 regions, ENT and CNED. It reports:
//
//   - fresh_p50_s, fresh_p99_s: freshness under that load, from the
//     producer's acknowledgement of a probe event (one every 100 ms, in the
//     stream) to the moment its raw row is queryable in the warehouse
//     (polled every 50 ms);
//   - events/s: the day's events over the time from the first produce to
//     WaitCaughtUp, and drain_s, the part of it after the last acknowledged produce: a
//     drain of a second or two means the aggregator kept up with the rate;
//     longer, the rate was above its capacity and events/s is that capacity;
//   - cpu_us/event: the CPU time of the whole process (user and system, all
//     threads: producer, broker, aggregator, engine) per event, which a
//     machine shared with other work changes far less than wall time;
//   - peak_rss_MiB: the process's peak resident set (VmHWM, reset at the
//     start), broker, engine, aggregator and producer together, and its two
//     halves sampled every half second: peak_engine_MiB, the engine's own
//     account (MemoryTracking), and peak_go_MiB, the Go runtime's memory
//     (broker, aggregator, producer; runtime/metrics, released pages
//     excepted).
//
// The day's size and rate come from VIGIE_BENCH_DAY_EVENTS and
// VIGIE_BENCH_DAY_RATE (defaults 600,000 and 31,000 events/s). The warehouse
// must hold every event once at the end.
func BenchmarkDay(b *testing.B) {
	total, rate := envInt(b, dayEventsEnv, dayEventsDefault), envInt(b, dayRateEnv, dayRateDefault)
	kcfg, brokers, db, dlq := benchParts(b, dayPartitions)
	ctx := context.Background()
	name := fmt.Sprintf("%dk_events_at_%dk_per_s", total/1000, rate/1000)
	runs := 0
	b.Run(name, func(b *testing.B) {
		var fresh []time.Duration
		var elapsed, drain, cpu time.Duration
		var peak, peakEngine, peakGo int64
		for b.Loop() {
			runs++
			resetPeakRSS(b)
			database := fmt.Sprintf("day_%d", runs)
			if _, err := store.Migrate(ctx, db, store.MigrateOptions{Database: database}); err != nil {
				b.Fatal(err)
			}
			k := kcfg
			k.Group = fmt.Sprintf("vigie-day-%d", runs)
			k.Topic = fmt.Sprintf("vigie.day.%d", runs)
			if err := broker.EnsureTopics(ctx, broker.Plain(brokers), k, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
				b.Fatal(err)
			}
			agg, err := New(Options{
				Access: broker.Plain(brokers), Kafka: k, Config: config.Default().Aggregate, Database: database,
				Warehouse: db, DLQ: dlq, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Registerer: prometheus.NewRegistry(),
			})
			if err != nil {
				b.Fatal(err)
			}
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- agg.Run(runCtx) }()

			sampled := make(chan [2]int64, 1)
			sampleCtx, stopSampling := context.WithCancel(ctx)
			go func() { sampled <- daySampleMemory(sampleCtx, db) }()
			cpu0 := brokertest.ProcessCPU()
			t0 := time.Now()
			f, sent, produced := dayRun(b, db, database, brokers, k, total, rate)
			waitCtx, cancel := context.WithTimeout(ctx, 30*time.Minute)
			err = agg.WaitCaughtUp(waitCtx, 100*time.Millisecond)
			cancel()
			elapsed += time.Since(t0)
			drain += time.Since(t0) - produced
			cpu += brokertest.ProcessCPU() - cpu0
			stopSampling()
			mem := <-sampled
			peakEngine, peakGo = max(peakEngine, mem[0]), max(peakGo, mem[1])
			stop()
			if runErr := <-done; err != nil || runErr != nil {
				b.Fatalf("aggregator: caught up: %v; run: %v", err, runErr)
			}
			fresh = append(fresh, f...)
			benchCheckTotals(b, db, database, sent)
			peak = max(peak, peakRSS(b))
		}
		slices.Sort(fresh)
		if len(fresh) == 0 {
			b.Fatal("no probe event was seen in the warehouse")
		}
		b.ReportMetric(float64(total*b.N)/elapsed.Seconds(), "events/s")
		b.ReportMetric(drain.Seconds()/float64(b.N), "drain_s")
		b.ReportMetric(float64(cpu.Microseconds())/float64(total*b.N), "cpu_us/event")
		b.ReportMetric(fresh[len(fresh)/2].Seconds(), "fresh_p50_s")
		b.ReportMetric(fresh[len(fresh)*99/100].Seconds(), "fresh_p99_s")
		b.ReportMetric(float64(peak)/(1<<20), "peak_rss_MiB")
		b.ReportMetric(float64(peakEngine)/(1<<20), "peak_engine_MiB")
		b.ReportMetric(float64(peakGo)/(1<<20), "peak_go_MiB")
	})
}

func envInt(b *testing.B, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}

// dayRun produces total events at rate events/s and measures the
// freshness of the probes among them; it returns once every probe was
// seen, with how many events it sent (probes included) and how long the
// producing took.
func dayRun(b *testing.B, db *chdb.DB, database string, brokers []string, k config.KafkaConfig, total, rate int) ([]time.Duration, int, time.Duration) {
	w := broker.NewWriter(broker.Plain(brokers), k.Topic, k)
	// A transport of its own: kafka-go's shared one caches the metadata of
	// the previous run, which does not know this run's new topic yet.
	w.Transport = &kafka.Transport{}
	defer w.Close()
	ctx := context.Background()
	// Several producers, as several collectors would be: one synchronous
	// writer call waits for its acknowledgement.
	const producers = 4
	var mu sync.Mutex
	acked := map[string]time.Time{} // probe id → acknowledged at
	var fresh []time.Duration
	var sent int
	var wg sync.WaitGroup
	start := time.Now()
	for p := range producers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(p), 15))
			tick := time.NewTicker(dayTick)
			defer tick.Stop()
			lastProbe := time.Now()
			var buf []byte
			mine := 0 // events this producer sent
			for i := p; i < total; {
				<-tick.C
				// As many as the rate asks by now: a slow acknowledgement
				// makes the next call larger, not the day slower.
				due := int(time.Since(start).Seconds()*float64(rate)/producers) - mine
				perTick := min(max(due, 0), 5000)
				msgs := make([]kafka.Message, 0, perTick)
				buf = buf[:0]
				var ends []int
				probe := ""
				if p == 0 && time.Since(lastProbe) >= dayProbeEvery {
					lastProbe = time.Now()
					probe = fmt.Sprintf("probe-%d", i)
				}
				for n := 0; n < perTick && i < total; n++ {
					ev := dayEvent(r, i, total)
					if n == 0 && probe != "" {
						ev.ID = probe
					}
					var err error
					if buf, err = schemas.AppendJSON(buf, &ev); err != nil {
						b.Error(err)
						return
					}
					ends = append(ends, len(buf))
					msgs = append(msgs, kafka.Message{Key: []byte(ev.PartitionKey())})
					i += producers
				}
				from := 0
				for j := range msgs {
					msgs[j].Value = buf[from:ends[j]]
					from = ends[j]
				}
				if err := w.WriteMessages(ctx, msgs...); err != nil {
					b.Error(err)
					return
				}
				now := time.Now()
				mine += len(msgs)
				mu.Lock()
				sent += len(msgs)
				if probe != "" {
					acked[probe] = now
				}
				mu.Unlock()
			}
		})
	}
	// The poller: every probe acknowledged and not yet seen is looked for.
	produced := make(chan struct{})
	go func() { wg.Wait(); close(produced) }()
	finished := false
	var produceTime time.Duration
	for {
		select {
		case <-produced:
			if !finished {
				produceTime = time.Since(start)
			}
			finished = true
		case <-time.After(50 * time.Millisecond):
		}
		mu.Lock()
		ids := make([]string, 0, len(acked))
		for id := range acked {
			ids = append(ids, "'"+id+"'")
		}
		mu.Unlock()
		if len(ids) > 0 {
			res, err := db.Query(ctx, fmt.Sprintf("SELECT id FROM %s.events WHERE id IN (%s)", database, strings.Join(ids, ",")), nil)
			if err != nil {
				b.Fatal(err)
			}
			now := time.Now()
			mu.Lock()
			for _, row := range res.Rows {
				id := row[0].(string)
				fresh = append(fresh, now.Sub(acked[id]))
				delete(acked, id)
			}
			mu.Unlock()
		}
		mu.Lock()
		left := len(acked)
		mu.Unlock()
		if finished && left == 0 {
			b.Logf("%d events produced in %v (%d events/s asked)", sent, produceTime.Round(time.Millisecond), rate)
			return fresh, sent, produceTime
		}
	}
}

// dayEvent is event i of a day of total events, spread over 08:00–18:00
// of 6 April 2021 in event time: 18 regions, ENT and CNED, one failure in
// eight, 2 million users (already pseudonymised, as the aggregator reads
// them), distinct ids.
func dayEvent(r *rand.Rand, i, total int) schemas.Event {
	base := time.Date(2021, 4, 6, 8, 0, 0, 0, time.UTC)
	reg := schemas.Regions[i%len(schemas.Regions)]
	plat := schemas.Platforms[(i/len(schemas.Regions))%2]
	ev := schemas.Event{
		ID: "d" + strconv.Itoa(i), TS: base.Add(time.Duration(int64(i) * int64(10*time.Hour) / int64(total))),
		Platform: plat, Service: plat + "-" + reg, Region: reg, Academy: "ac-" + reg, Kind: "page",
		Outcome: "ok", Status: 200, Role: "student", Source: "beacon",
		User: fmt.Sprintf("%016x", 1+r.Uint64N(2_000_000)),
	}
	if r.IntN(8) == 0 {
		ev.Outcome, ev.Status = "error", 503
	} else {
		l := float64(20 + r.IntN(2000))
		ev.LatencyMS = &l
	}
	return ev
}

// daySampleMemory samples, until ctx ends, the engine's tracked memory and
// the Go runtime's, and returns the peak of each.
func daySampleMemory(ctx context.Context, db *chdb.DB) [2]int64 {
	samples := []rtmetrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	var peak [2]int64
	for {
		if res, err := db.Query(ctx, "SELECT value FROM system.metrics WHERE metric = 'MemoryTracking'", nil); err == nil && len(res.Rows) == 1 {
			peak[0] = max(peak[0], warehouse.AsInt64(res.Rows[0][0]))
		}
		rtmetrics.Read(samples)
		peak[1] = max(peak[1], int64(samples[0].Value.Uint64()-samples[1].Value.Uint64()))
		select {
		case <-ctx.Done():
			return peak
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// resetPeakRSS resets the process's VmHWM (Linux: clear_refs 5), so that a
// day's peak is not an earlier benchmark's.
func resetPeakRSS(b *testing.B) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Logf("peak RSS not reset (%v): the figure covers the whole process", err)
	}
}

// peakRSS is VmHWM in bytes.
func peakRSS(b *testing.B) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				b.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb << 10
		}
	}
	b.Fatal("no VmHWM in /proc/self/status")
	return 0
}
