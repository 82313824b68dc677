package aggregate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/vigie-fr/vigie/internal/broker"
	"github.com/vigie-fr/vigie/internal/broker/brokertest"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/store"
	"github.com/vigie-fr/vigie/internal/warehouse/chdb"
	"github.com/vigie-fr/vigie/schemas"
)

const (
	benchEventsN     = 200_000
	benchPartitions  = 4
	benchCaughtUpMax = 2 * time.Minute
)

// benchMessages are n valid events as the ingest API writes them to Kafka
// (pseudonymised users, keyed by region/service): 18 regions × 2 platforms
// over an hour, a 1-in-8 failure rate, 50,000 users. No duplicates and no
// poison: this measures the common path.
func benchMessages(n int) []kafka.Message {
	r := rand.New(rand.NewPCG(8, 9))
	base := time.Date(2021, 4, 6, 6, 0, 0, 0, time.UTC)
	outcomes := []string{"ok", "ok", "ok", "ok", "ok", "ok", "error", "timeout"}
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		reg := schemas.Regions[i%len(schemas.Regions)]
		plat := schemas.Platforms[(i/len(schemas.Regions))%2]
		ev := schemas.Event{
			ID: fmt.Sprintf("bench-%08d", i), TS: base.Add(time.Duration(r.IntN(3600_000)) * time.Millisecond),
			Platform: plat, Service: plat + "-" + reg, Region: reg, Academy: "ac-" + reg, Kind: "page",
			Outcome: outcomes[r.IntN(len(outcomes))], Status: 200, Role: "student", Source: "beacon",
			User: fmt.Sprintf("%016x", 1+r.Uint64N(50_000)),
		}
		if ev.Outcome == "ok" {
			l := math.Round(math.Exp(5+r.NormFloat64())*10) / 10
			ev.LatencyMS = &l
		} else {
			ev.Status = 503
		}
		b, err := json.Marshal(ev)
		if err != nil {
			panic(err)
		}
		msgs[i] = kafka.Message{Key: []byte(ev.PartitionKey()), Value: b}
	}
	return msgs
}

// benchLogEnds returns each partition's log end offset.
func benchLogEnds(ctx context.Context, brokers []string, topic string, partitions int) (map[int]int64, error) {
	c := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	req := map[string][]kafka.OffsetRequest{}
	for p := range partitions {
		req[topic] = append(req[topic], kafka.LastOffsetOf(p))
	}
	resp, err := c.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: req})
	if err != nil {
		return nil, err
	}
	ends := map[int]int64{}
	for _, po := range resp.Topics[topic] {
		if po.Error != nil {
			return nil, po.Error
		}
		ends[po.Partition] = po.LastOffset
	}
	return ends, nil
}

// benchRawRead reads every partition to its end with plain kafka-go
// Readers, one per partition in parallel, configured as the aggregator's
// (aggregator.go, consume): the ceiling the aggregator is compared with.
func benchRawRead(ctx context.Context, brokers []string, topic string, ends map[int]int64) (int, error) {
	var wg sync.WaitGroup
	counts := make([]int, len(ends))
	errs := make([]error, len(ends))
	for p, end := range ends {
		wg.Go(func() {
			r := kafka.NewReader(kafka.ReaderConfig{
				Brokers: brokers, Topic: topic, Partition: p,
				MinBytes: 1, MaxBytes: 8 << 20, MaxWait: 200 * time.Millisecond, ReadLagInterval: -1,
			})
			defer r.Close()
			for end > 0 {
				m, err := r.FetchMessage(ctx)
				if err != nil {
					errs[p] = fmt.Errorf("partition %d: %w", p, err)
					return
				}
				counts[p]++
				if m.Offset+1 >= end {
					return
				}
			}
		})
	}
	wg.Wait()
	n := 0
	for _, c := range counts {
		n += c
	}
	return n, errors.Join(errs...)
}

// BenchmarkAggregator measures the aggregator end to end: 200,000 events
// already in a 4-partition topic on the embedded broker, consumed as a
// consumer group, decoded, folded into windows and written (raw events,
// windows, offset markers) to chDB until WaitCaughtUp says the warehouse
// holds every offset. Each operation is a fresh consumer group and a fresh
// database, so it starts from offset 0. Target: ≥ 30,000 events/s on 2
// cores (docs/benchmarks.md).
//
// In the same operation, just before and just after the aggregator, plain
// kafka-go Readers consume the same topic; "ratio" is aggregator events/s
// over raw reader events/s, meant to stay comparable on a shared machine
// whose speed varies (docs/benchmarks.md says how well it does).
//
// chDB: one engine per process. This package's test opens it only in child
// processes, and in the parent only at the end of its test, closing it
// before any benchmark starts (benchmarks run after tests); children run
// with -test.run=^$ and no -test.bench. So this engine, opened once here
// for the whole benchmark, is the only one open while it runs.
func BenchmarkAggregator(b *testing.B) {
	if _, err := os.Stat(chdb.LibraryPath()); err != nil {
		b.Skip("libchdb.so is not installed: run scripts/install-chdb.sh")
	}
	kcfg := brokertest.Config(benchPartitions)
	br := brokertest.Start(b, kcfg)
	brokers := br.Addrs()
	ctx := context.Background()

	msgs := benchMessages(benchEventsN)
	w := broker.NewWriter(broker.Plain(brokers), kcfg.Topic, kcfg)
	start := time.Now()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		b.Fatal(err)
	}
	produce := time.Since(start)
	w.Close()
	ends, err := benchLogEnds(ctx, brokers, kcfg.Topic, benchPartitions)
	if err != nil {
		b.Fatal(err)
	}

	db, err := chdb.Open(b.TempDir())
	if errors.Is(err, chdb.ErrLibraryMissing) {
		b.Skipf("%v", err)
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	dlq := broker.NewWriter(broker.Plain(brokers), kcfg.DLQTopic, kcfg)
	b.Cleanup(func() { dlq.Close() })

	runs := 0
	b.Run(fmt.Sprintf("end_to_end_%dk_events", benchEventsN/1000), func(b *testing.B) {
		var aggTime, rawTime time.Duration
		var flushSum float64
		// The raw readers run just before and just after the aggregator, so
		// that their figure brackets the same moment of a shared machine.
		rawRead := func() {
			t0 := time.Now()
			n, err := benchRawRead(ctx, brokers, kcfg.Topic, ends)
			rawTime += time.Since(t0)
			if err != nil || n != benchEventsN {
				b.Fatalf("raw readers read %d messages (%v), want %d", n, err, benchEventsN)
			}
		}
		for b.Loop() {
			b.StopTimer()
			runs++
			rawRead()
			database := fmt.Sprintf("bench_%d", runs)
			if _, err := store.Migrate(ctx, db, store.MigrateOptions{Database: database}); err != nil {
				b.Fatal(err)
			}
			k := kcfg
			k.Group = fmt.Sprintf("vigie-bench-%d", runs)
			reg := prometheus.NewRegistry()
			agg, err := New(Options{
				Access: broker.Plain(brokers), Kafka: k, Config: config.Default().Aggregate, Database: database,
				Warehouse: db, DLQ: dlq, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Registerer: reg,
			})
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()

			t0 := time.Now()
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- agg.Run(runCtx) }()
			waitCtx, cancel := context.WithTimeout(ctx, benchCaughtUpMax)
			err = agg.WaitCaughtUp(waitCtx, 100*time.Millisecond)
			cancel()
			aggTime += time.Since(t0)

			b.StopTimer()
			stop()
			if runErr := <-done; err != nil || runErr != nil {
				b.Fatalf("aggregator: caught up: %v; run: %v", err, runErr)
			}
			benchCheckTotals(b, db, database)
			flushSum += benchFlushSeconds(b, reg)
			rawRead()
			b.StartTimer()
		}
		agg := float64(benchEventsN*b.N) / aggTime.Seconds()
		raw := float64(2*benchEventsN*b.N) / rawTime.Seconds()
		b.ReportMetric(agg, "events/s")
		b.ReportMetric(raw, "raw_events/s")
		b.ReportMetric(agg/raw, "ratio")
		b.ReportMetric(float64(benchEventsN)/produce.Seconds(), "produce_events/s")
		// How many of the four partition workers were, on average, inside a
		// flush (writing to or waiting for the warehouse) rather than
		// consuming: a worker does not read while it flushes.
		b.ReportMetric(flushSum/aggTime.Seconds(), "flushing_workers")
	})
}

// benchFlushSeconds is the time the run spent in flushes, from the
// aggregator's own histogram.
func benchFlushSeconds(b *testing.B, reg *prometheus.Registry) float64 {
	b.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "vigie_aggregate_flush_duration_seconds" && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetHistogram().GetSampleSum()
		}
	}
	b.Fatal("the aggregator has no vigie_aggregate_flush_duration_seconds histogram")
	return 0
}

// benchCheckTotals fails the benchmark unless the warehouse holds every
// event once, raw and in the minute windows: a fast wrong answer is no figure.
func benchCheckTotals(b *testing.B, db *chdb.DB, database string) {
	b.Helper()
	res, err := db.Query(context.Background(), fmt.Sprintf(
		"SELECT (SELECT count() FROM %[1]s.events), (SELECT sum(n_total) FROM %[1]s.agg_minute)", database), nil)
	if err != nil {
		b.Fatal(err)
	}
	raw, _ := res.Rows[0][0].(uint64)
	windows, _ := res.Rows[0][1].(uint64)
	if raw != benchEventsN || windows != benchEventsN {
		b.Fatalf("warehouse holds %d raw events and %d in windows, want %d of each", raw, windows, benchEventsN)
	}
}
