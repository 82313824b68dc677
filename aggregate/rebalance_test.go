package aggregate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/segmentio/kafka-go"

	"github.com/vigie-fr/vigie/internal/broker"
	"github.com/vigie-fr/vigie/internal/broker/brokertest"
	"github.com/vigie-fr/vigie/internal/warehouse"
)

// freezer stands for a whole member stopped in its tracks (a GC pause, a
// frozen VM): while frozen, its connections to the brokers and its calls
// to the warehouse block, so it neither heartbeats nor writes; thawed, it
// carries on from where it stood, unaware that its partitions moved.
type freezer struct {
	mu     sync.Mutex
	frozen chan struct{} // closed when thawed; nil when not frozen
}

func (f *freezer) freeze() {
	f.mu.Lock()
	f.frozen = make(chan struct{})
	f.mu.Unlock()
}

func (f *freezer) thaw() {
	f.mu.Lock()
	if f.frozen != nil {
		close(f.frozen)
		f.frozen = nil
	}
	f.mu.Unlock()
}

func (f *freezer) wait() {
	f.mu.Lock()
	c := f.frozen
	f.mu.Unlock()
	if c != nil {
		<-c
	}
}

type frozenConn struct {
	net.Conn
	f *freezer
}

func (c frozenConn) Read(b []byte) (int, error)  { c.f.wait(); return c.Conn.Read(b) }
func (c frozenConn) Write(b []byte) (int, error) { c.f.wait(); return c.Conn.Write(b) }

func (f *freezer) dialer() *kafka.Dialer {
	return &kafka.Dialer{Timeout: 10 * time.Second, DialFunc: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return frozenConn{Conn: c, f: f}, nil
	}}
}

// memberWarehouse is one member's door to the shared warehouse: it can
// freeze (with its member, on a freezer of its own so that a test can thaw
// it first) or die (a crash: nothing is written after).
type memberWarehouse struct {
	warehouse.Warehouse
	f    *freezer
	mu   sync.Mutex
	dead bool
}

var errDead = errors.New("this member is dead")

func (m *memberWarehouse) alive() error {
	m.f.wait()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dead {
		return errDead
	}
	return nil
}

func (m *memberWarehouse) Insert(ctx context.Context, b *warehouse.Batch, s warehouse.Settings) error {
	if err := m.alive(); err != nil {
		return err
	}
	return m.Warehouse.Insert(ctx, b, s)
}

func (m *memberWarehouse) Query(ctx context.Context, q string, s warehouse.Settings) (*warehouse.Result, error) {
	if err := m.alive(); err != nil {
		return nil, err
	}
	return m.Warehouse.Query(ctx, q, s)
}

// freeze stops the member's network and warehouse calls where they stand.
func (m *member) freeze() { m.f.freeze(); m.wh.f.freeze() }

// thaw lets the member's warehouse calls go on first, a while before its
// network: the worst order, in which it writes what it held before it can
// learn that its partitions moved.
func (m *member) thaw() {
	m.wh.f.thaw()
	time.Sleep(3 * time.Second)
	m.f.thaw()
}

// member is one aggregator of the group, running until stopped.
type member struct {
	agg  *Aggregator
	wh   *memberWarehouse
	f    *freezer
	stop context.CancelFunc
	done chan error
	dlq  *kafka.Writer
}

func startMember(t *testing.T, ctx context.Context, brokers []string, db warehouse.Warehouse, fence bool) *member {
	t.Helper()
	f := &freezer{}
	mw := &memberWarehouse{Warehouse: db, f: &freezer{}}
	opts := childOptions(brokers, mw)
	opts.Kafka.Partitions = 8
	opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	agg, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	agg.noFence = !fence
	agg.dialer = f.dialer()
	runCtx, cancel := context.WithCancel(ctx)
	m := &member{agg: agg, wh: mw, f: f, stop: cancel, done: make(chan error, 1), dlq: opts.DLQ}
	go func() { m.done <- agg.Run(runCtx) }()
	return m
}

// leave stops the member the clean way: its last flush, then it leaves.
func (m *member) leave() {
	m.wh.f.thaw()
	m.f.thaw()
	m.stop()
	<-m.done
	m.dlq.Close()
}

// die stops the member as a crash would: nothing more reaches the
// warehouse, not even its last flush.
func (m *member) die() {
	m.wh.mu.Lock()
	m.wh.dead = true
	m.wh.mu.Unlock()
	m.leave()
}

// Three aggregator members share eight partitions while events stream in:
// one joins, one leaves cleanly, one dies without flushing, and one freezes
// past the session timeout, its partitions move, and it thaws holding
// events it never flushed. Every hourly count, unique users and p95 end
// exact, raw rows = distinct ids, and the dead letters hold every poison
// message. VIGIE_LONG_TESTS=1 runs it 20 times.
func TestMembersJoiningLeavingDyingAndFreezingChangeNoTotal(t *testing.T) {
	runs := 1
	if os.Getenv("VIGIE_LONG_TESTS") != "" {
		runs = 20
	}
	for i := range runs {
		// A subtest each: its engine and broker close before the next opens
		// (one chDB engine per process).
		t.Run(fmt.Sprintf("run %d", i), func(t *testing.T) {
			rebalanceRun(t, i, os.Getenv("VIGIE_TEST_NO_FENCE") == "")
		})
	}
}

func rebalanceRun(t *testing.T, run int, fence bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	kcfg := brokertest.Config(8)
	b := brokertest.Start(t, kcfg)
	db := openWarehouse(t, ctx)
	msgs, valid := testEvents(16000)
	// The stream: a slice of events every 100 ms, for about 16 s.
	streamed := make(chan struct{})
	go func() {
		defer close(streamed)
		w := broker.NewWriter(b.Access(), kcfg.Topic, kcfg)
		defer w.Close()
		for i := 0; i < len(msgs); i += 100 {
			if err := w.WriteMessages(ctx, msgs[i:min(i+100, len(msgs))]...); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	a := startMember(t, ctx, b.Addrs(), db, fence)
	leaver := startMember(t, ctx, b.Addrs(), db, fence)
	zombie := startMember(t, ctx, b.Addrs(), db, fence)
	time.Sleep(3 * time.Second)
	joiner := startMember(t, ctx, b.Addrs(), db, fence) // joins mid-stream
	time.Sleep(3 * time.Second)
	leaver.leave() // leaves cleanly
	time.Sleep(2 * time.Second)
	zombie.freeze() // past the 6 s session timeout: its partitions move
	time.Sleep(10 * time.Second)
	zombie.thaw() // wakes up holding what it had not flushed, and flushes
	time.Sleep(2 * time.Second)
	joiner.die() // dies without a last flush
	<-streamed
	if err := a.agg.WaitCaughtUp(ctx, 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	zombie.leave()
	a.leave()
	checkTotals(t, ctx, db, valid)
	poison := map[string]bool{}
	for _, m := range brokertest.ReadAll(t, b.Addrs(), kcfg.DLQTopic) {
		for _, h := range m.Headers {
			if h.Key == "vigie-source" {
				poison[string(h.Value)] = true
			}
		}
	}
	if want := 2 * ((16000 + 996) / 997); len(poison) != want {
		t.Errorf("run %d: %d distinct poison messages in the DLQ, want %d", run, len(poison), want)
	}
	t.Logf("run %d: fenced flushes %v", run, []float64{counter(a.agg.m.fenced), counter(zombie.agg.m.fenced), counter(joiner.agg.m.fenced)})
}

// counter reads a Prometheus counter's value.
func counter(c interface{ Write(*dto.Metric) error }) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}
