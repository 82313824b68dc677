package aggregate

import (
	"math"
	"time"
)

// Re-sent events are recognised over a horizon of arrival time
// (aggregate.dedup_horizon, a day by default), not a count of offsets: a
// collector re-sending its spool after an hour's outage must not count
// twice. Memory stays bounded: per partition, Bloom filters by slot of
// arrival time, each half the horizon wide (about 1.4 MB per million ids in
// steady traffic, under 1 % false positives), say "new" for sure or "maybe
// seen", checking three or four filters an event whatever the horizon; a
// "maybe" is confirmed against the events table at flush time (warehouse
// lookups by collector and id, rare by construction); the ids of the range
// being built sit in an exact set. On resume, the filters are
// rebuilt from the events the warehouse received within the horizon, so the
// decision does not depend on restarts or on which member owns the
// partition.

// A slot's filter grows as a scalable Bloom filter: when a stage holds its
// capacity, a stage twice as large with half the false-positive rate
// follows, so that the slot's rate stays under firstFP × 2 = 1 % whatever
// the volume. A slot sized from the slot before holds about 1.4 MB per
// million ids; a first slot that grows from nothing, up to 4 MB.
const (
	firstCapacity = 1 << 16
	firstFP       = 0.005
)

// bloom is a fixed-size Bloom filter over 64-bit hashes (double hashing).
type bloom struct {
	bits []uint64
	m    uint64 // number of bits
	k    uint64 // hash functions
	n    int    // ids added
	cap  int
	fp   float64
}

func newBloom(capacity int, fp float64) *bloom {
	m := uint64(math.Ceil(-float64(capacity) * math.Log(fp) / (math.Ln2 * math.Ln2)))
	m = (m + 63) &^ 63
	k := uint64(math.Ceil(-math.Log2(fp)))
	return &bloom{bits: make([]uint64, m/64), m: m, k: k, cap: capacity, fp: fp}
}

func (b *bloom) positions(h uint64, f func(uint64) bool) bool {
	a, c := h&0xffffffff, h>>32|1
	for i := range b.k {
		if !f((a + i*c) % b.m) {
			return false
		}
	}
	return true
}

func (b *bloom) add(h uint64) {
	b.positions(h, func(p uint64) bool { b.bits[p/64] |= 1 << (p % 64); return true })
	b.n++
}

func (b *bloom) has(h uint64) bool {
	return b.positions(h, func(p uint64) bool { return b.bits[p/64]&(1<<(p%64)) != 0 })
}

// seen is one partition's memory of ids within the horizon.
type seen struct {
	horizon time.Duration
	slot    int64              // seconds of arrival time a filter covers: half the horizon
	slots   map[int64][]*bloom // by slot of arrival (Unix seconds / slot)
	pending map[uint64]struct{}
}

func newSeen(horizon time.Duration) *seen {
	slot := max(int64(horizon/time.Second)/2, 60)
	return &seen{horizon: horizon, slot: slot, slots: map[int64][]*bloom{}, pending: map[uint64]struct{}{}}
}

// inRange reports whether h was added since the last flush: certain.
func (s *seen) inRange(h uint64) bool {
	_, ok := s.pending[h]
	return ok
}

// maybe reports whether h may have arrived within the horizon before the
// range being built; false is certain.
func (s *seen) maybe(h uint64) bool {
	for _, fs := range s.slots {
		for _, f := range fs {
			if f.has(h) {
				return true
			}
		}
	}
	return false
}

// add records h, arrived at t, in the current range.
func (s *seen) add(h uint64, t time.Time) {
	s.pending[h] = struct{}{}
	s.remember(h, t)
}

// remember records h in the filter of t's slot, growing it when full.
func (s *seen) remember(h uint64, t time.Time) {
	slot := t.Unix() / s.slot
	fs := s.slots[slot]
	if len(fs) == 0 || fs[len(fs)-1].n >= fs[len(fs)-1].cap {
		// A new slot starts the size of the busiest slot held: in steady
		// traffic one stage holds the slot.
		size, fp := max(firstCapacity, s.busiest()), firstFP
		if len(fs) > 0 {
			size, fp = fs[len(fs)-1].cap*2, fs[len(fs)-1].fp/2
		}
		fs = append(fs, newBloom(size, fp))
		s.slots[slot] = fs
	}
	fs[len(fs)-1].add(h)
}

// busiest is the most ids any slot held holds.
func (s *seen) busiest() int {
	most := 0
	for _, fs := range s.slots {
		n := 0
		for _, f := range fs {
			n += f.n
		}
		most = max(most, n)
	}
	return most
}

// flushed ends the range: its ids are in the warehouse now. Slots past the
// horizon are forgotten (an id is kept at least the horizon, at most one
// slot more).
func (s *seen) flushed(now time.Time) {
	clear(s.pending)
	oldest := now.Add(-s.horizon).Unix()/s.slot - 1
	for slot := range s.slots {
		if slot < oldest {
			delete(s.slots, slot)
		}
	}
}

// bytes is the memory the filters hold (0 for no memory).
func (s *seen) bytes() int {
	if s == nil {
		return 0
	}
	n := 0
	for _, fs := range s.slots {
		for _, f := range fs {
			n += len(f.bits) * 8
		}
	}
	return n
}
