// Package aggregate is Vigie's stream processor: a kafka-go consumer group
// that folds events into minute windows (package window) and writes them,
// with the raw events, to the warehouse exactly once, through the store.
//
// One partition, one goroutine, read top to bottom: consume (a partition
// reader started where the offset store says), fold (decode, drop re-sent
// ids, dead-letter poison, add to the windows), flush (the store's 'before'
// marker, the events and the windows with the range's de-duplication
// tokens), commit (the 'after' marker). On start a partition resumes after
// its last committed range, or replays exactly a range that was begun and
// not committed, resending the same rows with the same tokens, which the
// engine drops where they were already written. A crash anywhere therefore
// changes no total. docs/design.md tells the whole protocol.
//
// Re-sent events (same collector and id) are counted once within
// aggregate.dedup_horizon of the first arrival (dedup.go), the same after a
// restart or a rebalance.
package aggregate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/vigie-fr/vigie/aggregate/window"
	"github.com/vigie-fr/vigie/ingest/pseudonym"
	"github.com/vigie-fr/vigie/internal/broker"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/store"
	"github.com/vigie-fr/vigie/internal/warehouse"
	"github.com/vigie-fr/vigie/schemas"
)

// Options wires an Aggregator.
type Options struct {
	// Access is how the group and its readers reach the brokers (TLS, SASL).
	Access     broker.Access
	Kafka      config.KafkaConfig
	Config     config.AggregateConfig
	Database   string
	Warehouse  warehouse.Warehouse
	DLQ        *kafka.Writer // writes to Kafka.DLQTopic
	Log        *slog.Logger
	Registerer prometheus.Registerer
	// Now is the clock of the de-duplication horizon; nil is time.Now.
	Now func() time.Time
}

// Aggregator consumes the events topic as a consumer group member.
type Aggregator struct {
	o       Options
	id      string // names this member in the claims it writes
	m       *metrics
	store   *store.Store
	offsets *store.Offsets
	mu      sync.Mutex
	cg      *kafka.ConsumerGroup
	blocked map[int]string // partitions stopped on a log mismatch
	noFence bool           // tests only: write without claiming, to show what fencing prevents
	dialer  *kafka.Dialer  // tests only: how the group and the readers reach the brokers (nil: o.Access's)
}

// dialerOf is the dialer of the group and the readers: o.Access's, unless
// a test replaced it.
func (a *Aggregator) dialerOf() *kafka.Dialer {
	if a.dialer != nil {
		return a.dialer
	}
	return a.o.Access.Dialer()
}

// finalFlushTimeout bounds the flush at the end of a generation: well under
// the rebalance timeout, so that a member never writes after another one
// has taken its partitions over.
const finalFlushTimeout = 5 * time.Second

// New validates the options; it opens nothing.
func New(o Options) (*Aggregator, error) {
	switch {
	case len(o.Access.Brokers()) == 0:
		return nil, errors.New("aggregate: no brokers")
	case o.Warehouse == nil:
		return nil, errors.New("aggregate: no warehouse")
	case o.DLQ == nil:
		return nil, errors.New("aggregate: no DLQ writer")
	}
	st, err := store.New(o.Warehouse, o.Database)
	if err != nil {
		return nil, fmt.Errorf("aggregate: %w", err)
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	id := fmt.Sprintf("%s/%d/%x", host, os.Getpid(), rand.Uint64())
	return &Aggregator{o: o, id: id, m: m, store: st, offsets: st.Offsets(o.Kafka.Group, o.Kafka.Topic)}, nil
}

// Run joins the group and consumes until ctx ends, then flushes what it
// holds (bounded) and leaves the group.
func (a *Aggregator) Run(ctx context.Context) error {
	cg, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                a.o.Kafka.Group,
		Brokers:           a.o.Access.Brokers(),
		Topics:            []string{a.o.Kafka.Topic},
		HeartbeatInterval: a.o.Config.SessionTimeout / 4,
		SessionTimeout:    a.o.Config.SessionTimeout,
		RebalanceTimeout:  a.o.Config.SessionTimeout,
		JoinGroupBackoff:  time.Second,
		Timeout:           5 * time.Second,
		StartOffset:       kafka.FirstOffset,
		ErrorLogger:       broker.ErrorLogger(a.o.Log),
		Dialer:            a.dialerOf(),
	})
	if err != nil {
		return fmt.Errorf("aggregate: join group %s: %w", a.o.Kafka.Group, err)
	}
	a.mu.Lock()
	a.cg = cg
	a.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { cg.Close() })
	defer stop()
	defer cg.Close()
	for {
		gen, err := cg.Next(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, kafka.ErrGroupClosed) {
				return nil
			}
			a.o.Log.Warn("consumer group: next generation failed, retrying", "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
			continue
		}
		parts := gen.Assignments[a.o.Kafka.Topic]
		a.m.owned.Set(float64(len(parts)))
		a.o.Log.Info("consumer group generation", "generation", gen.ID, "member", gen.MemberID, "partitions", len(parts))
		for _, pa := range parts {
			p := pa.ID
			gen.Start(func(gctx context.Context) {
				a.consume(gctx, gen, p)
			})
		}
	}
}

// consume owns one partition for one generation. It never returns early on
// an error (that would end the whole generation): it retries until the
// generation's context ends.
func (a *Aggregator) consume(ctx context.Context, gen *kafka.Generation, p int) {
	log := a.o.Log.With("partition", p, "generation", gen.ID)
	for {
		w := a.resumeWorker(ctx, gen, p, log)
		if w == nil || !a.run(ctx, w, log) {
			return
		}
		// Another member claimed the range this one was about to write
		// (fencing, see write): resume from the offset store, which now
		// replays exactly the claimed range.
		log.Warn("range claimed by another member: re-reading the claimed range", "first", w.first)
	}
}

// resumeWorker resumes partition p from the offset store, retrying until
// the generation ends (nil).
func (a *Aggregator) resumeWorker(ctx context.Context, gen *kafka.Generation, p int, log *slog.Logger) *worker {
	for {
		w, err := a.resume(ctx, p, gen.ID)
		if err == nil {
			a.unblock(p)
			log.Info("partition resumed", "offset", w.next, "replay_to", w.replayEnd, "dedup_filter_bytes", w.ids.bytes())
			return w
		}
		var mm *LogMismatch
		if errors.As(err, &mm) {
			// Never guess: the partition waits for an operator, who decides
			// where it restarts (docs/operations.md). The marker is read
			// again now and then, so `vigie offsets resume` run against a
			// cluster takes effect without a restart.
			if a.block(p, mm) {
				log.Error("partition stopped: its log no longer matches the warehouse", "reason", mm.Error(),
					"action", "see docs/operations.md, then run `vigie offsets resume --partition "+strconv.Itoa(p)+" …`")
			}
			if !sleep(ctx, blockedRecheck) {
				return nil
			}
			continue
		}
		log.Error("resume partition from the warehouse failed, retrying", "err", err)
		if !sleep(ctx, 2*time.Second) {
			return nil
		}
	}
}

// run reads the partition from w.next and folds and flushes until the
// generation ends (false) or a flush was fenced by another member's claim
// (true: resume again).
func (a *Aggregator) run(ctx context.Context, w *worker, log *slog.Logger) (restart bool) {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: a.o.Access.Brokers(), Topic: a.o.Kafka.Topic, Partition: w.p,
		MinBytes: 1, MaxBytes: 8 << 20, MaxWait: 200 * time.Millisecond, ReadLagInterval: -1,
		ErrorLogger: broker.ErrorLogger(log), Dialer: a.dialerOf(),
	})
	defer r.Close()
	if err := r.SetOffset(w.next); err != nil {
		log.Error("seek failed", "offset", w.next, "err", err)
		return false
	}
	fetchCtx, stopFetch := context.WithCancel(ctx)
	defer stopFetch()
	msgs := make(chan kafka.Message, 256)
	go func() {
		defer close(msgs)
		for {
			m, err := r.FetchMessage(fetchCtx)
			if err != nil {
				if fetchCtx.Err() == nil {
					log.Error("fetch failed", "err", err)
				}
				return
			}
			select {
			case msgs <- m:
			case <-fetchCtx.Done():
				return
			}
		}
	}()
	tick := time.NewTicker(max(a.o.Config.FlushInterval/4, 10*time.Millisecond))
	defer tick.Stop()
	lag := a.m.lag.WithLabelValues(strconv.Itoa(w.p))
	flushed := func() bool { return a.flush(ctx, w, log) }
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				a.finalFlush(ctx, w, log)
				return false
			}
			lag.Set(float64(m.HighWaterMark - m.Offset - 1))
			if err := a.add(ctx, w, m); err != nil {
				log.Error("dead-letter write failed; stopping this partition until the next generation", "offset", m.Offset, "err", err)
				return false
			}
			if w.replayEnd >= 0 {
				if m.Offset >= w.replayEnd {
					if !flushed() {
						return w.fenced && ctx.Err() == nil
					}
					w.replayEnd = -1
				}
				continue
			}
			if w.pending >= a.o.Config.FlushEvents && !flushed() {
				return w.fenced && ctx.Err() == nil
			}
		case <-tick.C:
			if w.replayEnd < 0 && w.pending > 0 && time.Since(w.since) >= a.o.Config.FlushInterval && !flushed() {
				return w.fenced && ctx.Err() == nil
			}
		case <-ctx.Done():
			a.finalFlush(ctx, w, log)
			return false
		}
	}
}

// finalFlush writes what the worker holds when its generation ends, within
// finalFlushTimeout. A range being replayed is not flushed half-way: its
// 'before' marker names the whole range, and the next owner replays it.
func (a *Aggregator) finalFlush(ctx context.Context, w *worker, log *slog.Logger) {
	if w.pending == 0 || w.replayEnd >= 0 {
		return
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalFlushTimeout)
	defer cancel()
	if a.flush(fctx, w, log) {
		log.Info("flushed at generation end", "last_offset", w.next-1)
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// worker is one partition's state between two flushes.
type worker struct {
	p         int
	gen       int32
	epoch     uint32 // the partition's log epoch, from its marker
	lastHash  uint64 // RecordHash of the last message read
	next      int64  // next offset to read
	first     int64  // first offset of the pending range
	pending   int    // messages folded since the last flush (all kinds)
	since     time.Time
	replayEnd int64 // >= 0 while re-reading a range whose 'before' marker has no 'after'
	set       *window.Set
	raw       []store.Event
	fenced    bool        // a flush found another member's claim on its range
	ids       *seen       // nil when de-duplication is off
	maybe     []candidate // events whose key may have arrived before this range
}

// candidate is an event held until flush, when the warehouse says whether
// its key arrived before (a re-send) or not (a Bloom filter's false alarm).
type candidate struct {
	ev        schemas.Event
	user      uint64
	collector string
	offset    int64
	hash      uint64
}

func (w *worker) reset() {
	w.pending = 0
	w.set = window.NewSet()
	w.raw = w.raw[:0]
	w.maybe = w.maybe[:0]
}

// add folds one message in: an event, a duplicate (skipped) or poison (to the DLQ).
func (a *Aggregator) add(ctx context.Context, w *worker, m kafka.Message) error {
	if w.pending == 0 {
		w.first = m.Offset
		w.since = time.Now()
	}
	w.pending++
	w.next = m.Offset + 1
	w.lastHash = store.RecordHash(m.Key, m.Value)
	ev, user, ferr := decodeMessage(m.Value)
	if ferr != nil {
		a.m.dlq.WithLabelValues(ferr.Reason()).Inc()
		return a.deadLetter(ctx, m, ferr.Error())
	}
	collector := collectorOf(m)
	if w.ids != nil {
		h := dedupKey(collector, ev.ID)
		switch {
		case w.ids.inRange(h):
			a.m.duplicates.Inc()
			return nil
		case w.ids.maybe(h):
			w.maybe = append(w.maybe, candidate{ev: ev, user: user, collector: collector, offset: m.Offset, hash: h})
			return nil
		}
		w.ids.add(h, a.o.Now())
	}
	a.fold(w, &ev, user, collector, m.Offset)
	return nil
}

// dedupKey is the duplicate memory's key of an event: ids are unique per
// collector, so one collector sending another's id first does not hide
// the real event.
func dedupKey(collector, id string) uint64 {
	var d xxhash.Digest // on the stack: this runs for every event
	d.Reset()
	n := len(collector) // length first: ("a", "bc") and ("ab", "c") differ
	_, _ = d.Write([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	_, _ = d.WriteString(collector)
	_, _ = d.WriteString(id)
	return d.Sum64()
}

// collectorOf is the collector the ingest API named on m; "" for a message
// produced to the topic by something else.
func collectorOf(m kafka.Message) string {
	for _, h := range m.Headers {
		if h.Key == schemas.CollectorHeader {
			return string(h.Value)
		}
	}
	return ""
}

// fold adds one new event to the range's windows and raw rows.
func (a *Aggregator) fold(w *worker, ev *schemas.Event, user uint64, collector string, offset int64) {
	a.m.events.Inc()
	w.set.Add(ev, user)
	w.raw = append(w.raw, rawEvent(ev, user, collector, w.p, offset, w.epoch))
}

// settle decides the range's candidates: those whose key the warehouse
// received before this range (within the horizon) are re-sends; the others
// are new and folded in. The raw rows go back to offset order, so a replay
// sends the same block.
func (a *Aggregator) settle(ctx context.Context, w *worker) error {
	if len(w.maybe) == 0 {
		return nil
	}
	keys := make([]store.Key, 0, len(w.maybe))
	for _, c := range w.maybe {
		keys = append(keys, store.Key{Collector: c.collector, ID: c.ev.ID})
	}
	earlier, err := a.store.Earlier(ctx, w.p, keys, w.epoch, w.first, a.o.Now().Add(-a.o.Config.DedupHorizon))
	if err != nil {
		return err
	}
	for _, c := range w.maybe {
		if earlier[store.Key{Collector: c.collector, ID: c.ev.ID}] || w.ids.inRange(c.hash) {
			a.m.duplicates.Inc()
			continue
		}
		w.ids.add(c.hash, a.o.Now())
		a.fold(w, &c.ev, c.user, c.collector, c.offset)
	}
	w.maybe = w.maybe[:0]
	slices.SortFunc(w.raw, func(x, y store.Event) int { return cmp.Compare(x.Offset, y.Offset) })
	return nil
}

// decodeMessage validates a message as the ingest API would (a producer
// other than Vigie's collector may write to the topic) and checks that the
// user field is a pseudonym, never a raw id.
func decodeMessage(b []byte) (schemas.Event, uint64, *schemas.FieldError) {
	ev, ferr := schemas.DecodeEvent(b, 0, time.Now())
	if ferr != nil {
		return ev, 0, ferr
	}
	// The collector already did this; a producer writing to the topic
	// directly may not have.
	pseudonym.TruncateIPs(ev.Attrs)
	var user uint64
	if ev.User != "" {
		u, err := strconv.ParseUint(ev.User, 16, 64)
		if err != nil || len(ev.User) != 16 || u == 0 {
			return ev, 0, &schemas.FieldError{ID: ev.ID, Field: "user",
				Msg: "not a pseudonym (16 hex digits); send events through the ingest API, which pseudonymises users"}
		}
		user = u
	}
	return ev, user, nil
}

func (a *Aggregator) deadLetter(ctx context.Context, m kafka.Message, reason string) error {
	msg := kafka.Message{
		Key:   m.Key,
		Value: m.Value,
		Headers: []kafka.Header{
			{Key: "vigie-reason", Value: []byte(reason)},
			{Key: "vigie-source", Value: []byte(fmt.Sprintf("%s/%d/%d", m.Topic, m.Partition, m.Offset))},
		},
	}
	for {
		err := a.o.DLQ.WriteMessages(ctx, msg)
		if err == nil {
			return nil
		}
		a.o.Log.Warn("dead-letter write failed, retrying", "partition", m.Partition, "offset", m.Offset, "err", err)
		if !sleep(ctx, time.Second) {
			return err
		}
	}
}

// rawEvent is the events table's row of one folded event.
func rawEvent(ev *schemas.Event, user uint64, collector string, partition int, offset int64, epoch uint32) store.Event {
	return store.Event{ID: ev.ID, Collector: collector, TS: ev.TS, Platform: ev.Platform, Service: ev.Service, Region: ev.Region,
		Academy: ev.Academy, Kind: ev.Kind, Outcome: ev.Outcome, Status: uint16(ev.Status),
		LatencyMS: f32(ev.LatencyMS), QueueMS: f32(ev.QueueMS), User: user, Role: ev.Role, Source: ev.Source,
		SampleRate: ev.SampleRate, Attrs: ev.Attrs, Partition: uint32(partition), Offset: offset, Epoch: epoch}
}

func f32(p *float64) *float32 {
	if p == nil {
		return nil
	}
	v := float32(*p)
	return &v
}
