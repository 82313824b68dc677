package incidenttest

import (
	"hash/fnv"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/vigie-fr/vigie/ingest/simulate"
	"github.com/vigie-fr/vigie/internal/store"
	"github.com/vigie-fr/vigie/schemas"
)

// Simulated runs a scenario of the simulator and sums its events into the
// minute rows and latency counts the store would read for them (exact
// counts and an exact p95, where the warehouse's sketch is within 1 %):
// detection's accuracy can be measured over days of traffic without the
// pipeline. threshold gives a series' latency threshold in ms.
func Simulated(sc simulate.Scenario, seed int64, scale float64, threshold func(platform, service string) float64) ([]store.Stats, []store.Slow, error) {
	type key struct {
		bucket                    time.Time
		platform, service, region string
	}
	type acc struct {
		st   store.Stats
		lats []float64
		over uint64
	}
	rows := map[key]*acc{}
	_, err := simulate.Generate(sc, seed, scale, func(ev schemas.Event) error {
		k := key{ev.TS.UTC().Truncate(time.Minute), ev.Platform, ev.Service, ev.Region}
		a := rows[k]
		if a == nil {
			a = &acc{st: store.Stats{Bucket: k.bucket, Platform: k.platform, Service: k.service, Region: k.region}}
			rows[k] = a
		}
		a.st.Events++
		switch ev.Outcome {
		case "ok":
			a.st.OK++
		case "error":
			a.st.Errors++
		case "timeout":
			a.st.Timeouts++
		case "rejected":
			a.st.Rejected++
		case "queued":
			a.st.Queued++
		}
		if ev.LatencyMS != nil {
			a.lats = append(a.lats, *ev.LatencyMS)
			if *ev.LatencyMS > threshold(ev.Platform, ev.Service) {
				a.over++
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	stats := make([]store.Stats, 0, len(rows))
	var slow []store.Slow
	for _, a := range rows {
		if n := len(a.lats); n > 0 {
			sort.Float64s(a.lats)
			a.st.P95MS = a.lats[min(n-1, int(0.95*float64(n)))]
			slow = append(slow, store.Slow{Bucket: a.st.Bucket, Platform: a.st.Platform, Service: a.st.Service, Region: a.st.Region,
				Samples: uint64(n), Over: a.over})
		}
		stats = append(stats, a.st)
	}
	sort.Slice(stats, func(i, j int) bool { return stats[i].Bucket.Before(stats[j].Bucket) })
	return stats, slow, nil
}

// SimulatedRows runs a scenario of the simulator and sums its events into
// the rows the aggregator would write to agg_in (latencies to the
// millisecond, users by a hash of their id), for tests of the whole read
// path: materialized views, the latency histogram, the store's reads.
func SimulatedRows(sc simulate.Scenario, seed int64, scale float64) ([]Row, error) {
	type key struct {
		bucket                    time.Time
		platform, service, region string
	}
	type acc struct {
		row   Row
		lats  map[float64]uint64
		users map[uint64]bool
		fail  map[uint64]bool
	}
	rows := map[key]*acc{}
	var order []key
	_, err := simulate.Generate(sc, seed, scale, func(ev schemas.Event) error {
		k := key{ev.TS.UTC().Truncate(time.Minute), ev.Platform, ev.Service, ev.Region}
		a := rows[k]
		if a == nil {
			a = &acc{row: Row{Bucket: k.bucket, Platform: k.platform, Service: k.service, Region: k.region},
				lats: map[float64]uint64{}, users: map[uint64]bool{}, fail: map[uint64]bool{}}
			rows[k] = a
			order = append(order, k)
		}
		switch ev.Outcome {
		case "ok":
			a.row.OK++
		case "error":
			a.row.Errors++
		case "timeout":
			a.row.Timeouts++
		case "rejected":
			a.row.Rejected++
		case "queued":
			a.row.Queue++
		}
		if ev.LatencyMS != nil {
			a.lats[float64(int(*ev.LatencyMS))]++
		}
		if ev.User != "" {
			h := fnv.New64a()
			h.Write([]byte(ev.User))
			a.users[h.Sum64()] = true
			if ev.Failed() {
				a.fail[h.Sum64()] = true
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]Row, 0, len(order))
	for _, k := range order {
		a := rows[k]
		for _, v := range slices.Sorted(maps.Keys(a.lats)) {
			a.row.LatValues = append(a.row.LatValues, v)
			a.row.LatCounts = append(a.row.LatCounts, a.lats[v])
		}
		a.row.Users = slices.Sorted(maps.Keys(a.users))
		a.row.UsersFailed = slices.Sorted(maps.Keys(a.fail))
		out = append(out, a.row)
	}
	return out, nil
}
