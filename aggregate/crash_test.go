package aggregate

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/goleak"

	"github.com/vigie-fr/vigie/aggregate/window"
	"github.com/vigie-fr/vigie/internal/broker"
	"github.com/vigie-fr/vigie/internal/broker/brokertest"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/store"
	"github.com/vigie-fr/vigie/internal/warehouse"
	"github.com/vigie-fr/vigie/internal/warehouse/chdb"
	"github.com/vigie-fr/vigie/schemas"
)

// The aggregator under test runs in child processes (this test binary
// re-executed), so that it can die for real: os.Exit at chosen points
// between its inserts, and SIGKILL at random moments. The broker lives in
// the parent and survives; chDB's data dir passes from child to child and is
// opened by the parent only at the end (one process per data dir).
func TestMain(m *testing.M) {
	if os.Getenv("VIGIE_AGG_CHILD") == "1" {
		os.Exit(runChild())
	}
	// Every aggregator a test starts must be gone when it ends (kafka-go's
	// shared connection pool stays, by design).
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/segmentio/kafka-go.(*connPool).discover"),
		goleak.IgnoreTopFunction("github.com/segmentio/kafka-go.(*conn).run"),
	)
}

const (
	testDB        = "vigie"
	exitCrashed   = 3
	exitCaughtUp  = 0
	childDeadline = 60 * time.Second
)

func childOptions(brokers []string, wh warehouse.Warehouse) Options {
	k := brokertest.Config(4)
	a := config.Default().Aggregate
	a.FlushEvents = 300 // many flushes, so crashes land between them
	a.FlushInterval = 50 * time.Millisecond
	a.SessionTimeout = 6 * time.Second
	return Options{
		Access: broker.Plain(brokers), Kafka: k, Config: a, Database: testDB, Warehouse: wh,
		DLQ: broker.NewWriter(broker.Plain(brokers), k.DLQTopic, k),
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
}

// crashAfter dies (exit 3, no cleanup, like a crash) right after its n-th
// insert, and reports its progress on stdout so that the parent can
// SIGKILL it in the middle of the stream: "commit P L" once the 'after'
// marker of a range ending at offset L of partition P is written, then
// "insert N" after every insert. (Before any insert the child reports
// "held P NEXT": partition P is committed up to offset NEXT.)
type crashAfter struct {
	warehouse.Warehouse
	mu      sync.Mutex
	n, seen int
}

func (c *crashAfter) Insert(ctx context.Context, b *warehouse.Batch, s warehouse.Settings) error {
	err := c.Warehouse.Insert(ctx, b, s)
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, last, ok := committedRange(b); ok && err == nil {
		fmt.Printf("commit %d %d\n", p, last)
	}
	c.seen++
	fmt.Printf("insert %d\n", c.seen)
	if c.seen == c.n {
		os.Exit(exitCrashed)
	}
	return err
}

// committedRange reads an 'after' marker's partition and last offset.
func committedRange(b *warehouse.Batch) (p uint32, last int64, ok bool) {
	if !strings.HasSuffix(b.Table, "."+store.TableOffsets) || len(b.Rows) != 1 {
		return 0, 0, false
	}
	row := map[string]any{}
	for i, c := range b.Columns {
		row[c] = b.Rows[0][i]
	}
	p, okP := row["partition"].(uint32)
	last, okL := row["last_offset"].(int64)
	return p, last, okP && okL && row["state"] == store.StateAfter
}

func runChild() int {
	brokers := strings.Split(os.Getenv("VIGIE_AGG_BROKERS"), ",")
	db, err := chdb.Open(os.Getenv("VIGIE_AGG_CHDB"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: open chdb:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), childDeadline)
	defer cancel()
	if _, err := store.Migrate(ctx, db, store.MigrateOptions{Database: testDB}); err != nil {
		fmt.Fprintln(os.Stderr, "child: migrate:", err)
		return 2
	}
	n, _ := strconv.Atoi(os.Getenv("VIGIE_AGG_CRASH_AFTER"))
	opts := childOptions(brokers, &crashAfter{Warehouse: db, n: n})
	agg, err := New(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	// Where each partition stands before this run, from the offset store:
	// a previous child may have died between an 'after' marker and its
	// report, so the parent learns the work left from here.
	st, err := store.New(db, testDB)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	offsets := st.Offsets(opts.Kafka.Group, opts.Kafka.Topic)
	for p := range opts.Kafka.Partitions {
		mk, err := offsets.Last(ctx, p)
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			return 2
		}
		fmt.Printf("held %d %d\n", p, mk.Resume(0).Next)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- agg.Run(runCtx) }()
	if err := agg.WaitCaughtUp(ctx, 100*time.Millisecond); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	stop()
	<-done
	return exitCaughtUp
}

// testEvents is a morning of events over 18 regions and both platforms,
// with late events, re-sent duplicates and poison messages mixed in.
func testEvents(n int) (msgs []kafka.Message, valid []schemas.Event) {
	r := rand.New(rand.NewPCG(42, 7))
	base := time.Date(2021, 4, 6, 6, 0, 0, 0, time.UTC)
	outcomes := []string{"ok", "ok", "ok", "ok", "error", "timeout", "rejected", "queued"}
	for i := range n {
		reg := schemas.Regions[r.IntN(len(schemas.Regions))]
		ev := schemas.Event{
			ID: fmt.Sprintf("ev-%d", i), TS: base.Add(time.Duration(r.IntN(3*3600)) * time.Second),
			Platform: "ent", Service: "ent-" + reg, Region: reg, Kind: "page",
			Outcome: outcomes[r.IntN(len(outcomes))], Status: 200,
			User: fmt.Sprintf("%016x", 1+r.Uint64N(500)),
		}
		if i%5 == 0 {
			ev.Platform, ev.Service, ev.Kind = "cned", "cned-classe-virtuelle", "api"
		}
		if ev.Outcome == "ok" || r.IntN(2) == 0 {
			l := math.Exp(5 + 1.5*r.NormFloat64())
			ev.LatencyMS = &l
		}
		if ev.Outcome == "queued" {
			q := float64(r.IntN(600000))
			ev.QueueMS = &q
		}
		valid = append(valid, ev)
	}
	for i, ev := range valid {
		b, _ := json.Marshal(ev)
		msgs = append(msgs, kafka.Message{Key: []byte(ev.PartitionKey()), Value: b})
		if i%20 == 7 { // re-sent later: the same id and content
			j := min(len(valid)-1, i+r.IntN(400))
			d, _ := json.Marshal(valid[j])
			msgs = append(msgs, kafka.Message{Key: []byte(valid[j].PartitionKey()), Value: d})
		}
		if i%997 == 0 {
			msgs = append(msgs, kafka.Message{Key: []byte("11/ent-11"), Value: []byte(`{"id":"poison-` + strconv.Itoa(i) + `","ts":"yesterday"}`)})
			msgs = append(msgs, kafka.Message{Key: []byte("11/ent-11"), Value: []byte(`not json at all`)})
		}
	}
	return msgs, valid
}

type total struct {
	events, ok, errors, timeouts, rejected, queued uint64
	users                                          map[uint64]bool
	latency                                        window.Sketch
}

func truth(events []schemas.Event) map[string]*total {
	out := map[string]*total{}
	seen := map[string]bool{}
	for _, ev := range events {
		if seen[ev.ID] {
			continue
		}
		seen[ev.ID] = true
		k := fmt.Sprintf("%s|%s|%s|%s", ev.TS.Truncate(time.Hour).Format("2006-01-02 15:04:05"), ev.Platform, ev.Service, ev.Region)
		t := out[k]
		if t == nil {
			t = &total{users: map[uint64]bool{}, latency: window.Sketch{}}
			out[k] = t
		}
		t.events++
		switch ev.Outcome {
		case "ok":
			t.ok++
		case "error":
			t.errors++
		case "timeout":
			t.timeouts++
		case "rejected":
			t.rejected++
		case "queued":
			t.queued++
		}
		u, _ := strconv.ParseUint(ev.User, 16, 64)
		t.users[u] = true
		if ev.LatencyMS != nil {
			t.latency.Add(*ev.LatencyMS)
		}
	}
	return out
}

// minLeftToKill is the fewest messages left for which make test-long
// still kills a child: two flushes' worth, since the parent's count may
// miss a range the last killed child committed just before it died.
const minLeftToKill = 2 * 300

// childTimeout bounds one child run from the parent's side: the child's own
// deadline plus the time to start and to leave, so that a hung child is
// stopped and named rather than eating the test binary's timeout.
const childTimeout = childDeadline + 30*time.Second

// A kill names when the parent SIGKILLs a child: at its insert atInsert,
// or once it has committed the share share of the messages left when it
// started (as it reports them).
type kill struct {
	atInsert int
	share    float64
}

func TestKilledAggregatorRestartsWithExactlyTheTotalsOfAnUninterruptedRun(t *testing.T) {
	if _, err := os.Stat(chdb.LibraryPath()); err != nil {
		t.Skip("libchdb.so is not installed: run scripts/install-chdb.sh")
	}
	b := brokertest.Start(t, brokertest.Config(4))
	brokers := b.Addrs()
	msgs, valid := testEvents(12000)
	w := broker.NewWriter(broker.Plain(brokers), "vigie.events.v1", brokertest.Config(4))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	w.Close()
	dataDir := t.TempDir()
	seed := uint64(time.Now().UnixNano())
	r := rand.New(rand.NewPCG(seed, 3))
	logSize := brokertest.Messages(t, brokers, "vigie.events.v1")
	partitions := brokertest.Config(4).Partitions

	// committed[p] is the offset after partition p's last committed range,
	// as the children report it: the work done so far.
	committed := map[uint32]int64{}
	done := func() int64 {
		var n int64
		for _, next := range committed {
			n += next
		}
		return n
	}

	// child runs one aggregator process, with a deadline of its own; it
	// exits by itself after insert crashAfter, or is SIGKILLed as k says.
	// It returns the exit code, or minus the signal that ended it, and the
	// messages left when it started.
	child := func(crashAfter int, k kill) (code int, left int64) {
		cctx, cancel := context.WithTimeout(context.Background(), childTimeout)
		defer cancel()
		cmd := exec.CommandContext(cctx, os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "VIGIE_AGG_CHILD=1",
			"VIGIE_AGG_BROKERS="+strings.Join(brokers, ","), "VIGIE_AGG_CHDB="+dataDir,
			"VIGIE_AGG_CRASH_AFTER="+strconv.Itoa(crashAfter))
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var start, target int64 = -1, -1
		held, killed := 0, false
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var p uint32
			var n int
			var off int64
			switch {
			case killed:
			case scan(sc.Text(), "held %d %d", &p, &off):
				committed[p] = off
				if held++; held == partitions {
					start, left = done(), logSize-done()
					if k.share > 0 {
						target = max(1, int64(k.share*float64(left)))
					}
				}
			case scan(sc.Text(), "commit %d %d", &p, &off):
				committed[p] = max(committed[p], off+1)
				if target > 0 && done()-start >= target {
					_ = cmd.Process.Signal(syscall.SIGKILL)
					killed = true
				}
			case scan(sc.Text(), "insert %d", &n):
				if n == k.atInsert {
					_ = cmd.Process.Signal(syscall.SIGKILL)
					killed = true
				}
			}
		}
		_ = cmd.Wait()
		if cctx.Err() != nil {
			t.Fatalf("a child ran past its %v deadline and was stopped (crash after %d, kill %+v)", childTimeout, crashAfter, k)
		}
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return -int(ws.Signal()), left
		}
		return cmd.ProcessState.ExitCode(), left
	}
	// Crash points: after a 'before' marker (insert 1 of a flush), after
	// the raw events of a flush (2), after its windows (3), and deep in the
	// stream.
	for _, n := range []int{2, 3, 13} {
		if code, _ := child(n, kill{}); code != exitCrashed {
			t.Fatalf("child crashing after insert %d exited %d, want %d", n, code, exitCrashed)
		}
	}
	// Then SIGKILLs while other partitions' flushes are in flight: one at
	// insert 30, far from the end of the stream; make test-long adds a
	// dozen, each once the child has committed a random 4 to 20 % of the
	// messages left when it started, so that each lands while work remains.
	kills := []kill{{atInsert: 30}}
	if os.Getenv("VIGIE_LONG_TESTS") != "" {
		for range 12 {
			kills = append(kills, kill{share: 0.04 + 0.16*r.Float64()})
		}
	}
	var at []string
	for _, k := range kills {
		// Commits come a flush at a time (300 messages a partition here), so
		// a kill may take more than its share: near the end of the log a
		// child could have nothing left to commit before its kill.
		if k.share > 0 && logSize-done() < minLeftToKill {
			t.Logf("%d messages left after %d kills: no more kills", logSize-done(), len(at))
			break
		}
		code, left := child(0, k)
		if code != -int(syscall.SIGKILL) {
			t.Fatalf("child to be killed (%+v, %d messages left) exited %d, want SIGKILL (seed %d)", k, left, code, seed)
		}
		at = append(at, fmt.Sprintf("%d/%d", left-(logSize-done()), left))
	}
	t.Logf("%d SIGKILLs landed, each after committing (messages committed/left): %s; seed %d", len(at), strings.Join(at, " "), seed)
	if os.Getenv("VIGIE_LONG_TESTS") != "" && len(at) < 10 {
		t.Fatalf("only %d SIGKILLs landed, want at least 10", len(at))
	}
	if code, _ := child(0, kill{}); code != exitCaughtUp {
		t.Fatalf("final child exited %d, want %d (caught up)", code, exitCaughtUp)
	}

	// The children may take minutes (make test-long kills thirteen): the
	// checks get a deadline of their own.
	ctx, cancel = context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db, err := chdb.Open(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkTotals(t, ctx, db, valid)
	dlq := brokertest.ReadAll(t, brokers, "vigie.events.dlq")
	// The DLQ is at-least-once (a replayed range re-sends its poison), so
	// count distinct source offsets, and check each carries its reason.
	poison := map[string]bool{}
	for _, m := range dlq {
		var src, reason string
		for _, h := range m.Headers {
			switch h.Key {
			case "vigie-source":
				src = string(h.Value)
			case "vigie-reason":
				reason = string(h.Value)
			}
		}
		if reason == "" {
			t.Errorf("dead letter %s has no reason", src)
		}
		poison[src] = true
	}
	if len(poison) != 26 {
		t.Errorf("%d distinct poison messages in the DLQ, want 26", len(poison))
	}
}

func u64(v any) uint64 { return uint64(warehouse.AsInt64(v)) }

// scan reports whether line has format's shape, filling args.
func scan(line, format string, args ...any) bool {
	n, err := fmt.Sscanf(line, format, args...)
	return err == nil && n == len(args)
}
