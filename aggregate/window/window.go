// Package window folds events into per-minute windows keyed by (minute,
// platform, service, region) and turns them into the rows the warehouse's
// agg_in table takes (store.Window). It holds deltas only: what arrived since the last
// flush. The warehouse adds deltas up (AggregatingMergeTree), so a late event
// just adds to its own, older window, and the hour grain is derived there.
// It does no I/O and knows nothing of Kafka.
package window

import (
	"cmp"
	"slices"
	"time"

	"github.com/vigie-fr/vigie/internal/store"
	"github.com/vigie-fr/vigie/schemas"
)

// Key identifies a minute window.
type Key struct {
	Minute   int64 // Unix seconds of the minute's start, UTC
	Platform string
	Service  string
	Region   string
}

// Acc is what one window accumulated.
type Acc struct {
	store.Counts
	Status             map[uint16]uint64
	Latency            Sketch
	Users, UsersFailed map[uint64]struct{}
}

// Set is the windows of one flush.
type Set struct {
	w map[Key]*Acc
}

// NewSet returns an empty set.
func NewSet() *Set { return &Set{w: make(map[Key]*Acc)} }

// Len is the number of windows held.
func (s *Set) Len() int { return len(s.w) }

// Add folds one event in; user is its pseudonym as a number (0: none).
func (s *Set) Add(ev *schemas.Event, user uint64) {
	k := Key{Minute: ev.TS.Truncate(time.Minute).Unix(), Platform: ev.Platform, Service: ev.Service, Region: ev.Region}
	a := s.w[k]
	if a == nil {
		a = &Acc{Status: map[uint16]uint64{}, Latency: Sketch{}, Users: map[uint64]struct{}{}, UsersFailed: map[uint64]struct{}{}}
		s.w[k] = a
	}
	a.Total++
	switch ev.Outcome {
	case "ok":
		a.OK++
	case "error":
		a.Error++
	case "timeout":
		a.Timeout++
	case "rejected":
		a.Rejected++
	case "queued":
		a.Queued++
	}
	switch ev.Kind {
	case "login":
		a.Login++
	case "page":
		a.Page++
	case "api":
		a.API++
	case "probe":
		a.Probe++
	case "session_start":
		a.SessionStart++
	case "session_end":
		a.SessionEnd++
	case "queue":
		a.QueueKind++
	}
	if ev.Status != 0 {
		a.Status[uint16(ev.Status)]++
	}
	if ev.LatencyMS != nil {
		l := *ev.LatencyMS
		a.LatencyN++
		a.LatencySum += l
		a.LatencyMax = max(a.LatencyMax, float32(l))
		a.Latency.Add(l)
	}
	if ev.QueueMS != nil {
		q := *ev.QueueMS
		a.QueueN++
		a.QueueSum += q
		a.QueueMax = max(a.QueueMax, float32(q))
	}
	if user != 0 {
		a.Users[user] = struct{}{}
		if ev.Failed() {
			a.UsersFailed[user] = struct{}{}
		}
	}
}

// Rows returns one agg_in row per window, in a deterministic order (by key,
// users sorted): a replayed flush must resend byte-identical rows for its
// de-duplication token to hold.
func (s *Set) Rows() []store.Window {
	keys := make([]Key, 0, len(s.w))
	for k := range s.w {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b Key) int {
		return cmp.Or(cmp.Compare(a.Minute, b.Minute), cmp.Compare(a.Platform, b.Platform),
			cmp.Compare(a.Service, b.Service), cmp.Compare(a.Region, b.Region))
	})
	rows := make([]store.Window, 0, len(keys))
	for _, k := range keys {
		a := s.w[k]
		vals, counts := a.Latency.Arrays()
		rows = append(rows, store.Window{
			Bucket: time.Unix(k.Minute, 0).UTC(), Platform: k.Platform, Service: k.Service, Region: k.Region,
			Counts: a.Counts, Status: a.Status, LatValues: vals, LatCounts: counts,
			Users: sortedSet(a.Users), UsersFailed: sortedSet(a.UsersFailed),
		})
	}
	return rows
}

func sortedSet(m map[uint64]struct{}) []uint64 {
	out := make([]uint64, 0, len(m))
	for u := range m {
		out = append(out, u)
	}
	slices.Sort(out)
	return out
}
