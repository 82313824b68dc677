package web_test

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"
	"testing"

	"github.com/vigie-fr/vigie/aggregate/window"
	"github.com/vigie-fr/vigie/dashboards/incident/incidenttest"
	"github.com/vigie-fr/vigie/ingest/simulate"
	"github.com/vigie-fr/vigie/internal/store"
	"github.com/vigie-fr/vigie/schemas"
)

// demoScale keeps the demo-like load small enough for go test: the demo's
// two mornings (16 March 2020 and 6 April 2021, every region, ENT and
// CNED) at a tenth of the demo's volume.
const demoScale = 0.005

var (
	demoOnce sync.Once
	demoName string
	demoErr  error
)

// demoDB is a database holding what vigie demo writes: the simulator's two
// mornings folded into minute windows by the aggregator's own fold
// (aggregate/window) and their raw events, written through the store. It
// is loaded once per process.
func demoDB(t *testing.T) string {
	t.Helper()
	demoOnce.Do(func() {
		demoName = incidenttest.DB(t)
		st := incidenttest.Store(t, demoName)
		for _, name := range []string{"2020-03-16", "2021-04-06"} {
			if demoErr = loadScenario(st, name); demoErr != nil {
				return
			}
		}
	})
	if demoErr != nil {
		t.Fatalf("demo load: %v", demoErr)
	}
	return demoName
}

func loadScenario(st *store.Store, name string) error {
	sc, err := simulate.Lookup(name)
	if err != nil {
		return err
	}
	ctx := context.Background()
	set := window.NewSet()
	var raw []store.Event
	flush := func() error {
		if err := st.InsertEvents(ctx, raw, ""); err != nil {
			return fmt.Errorf("%s: insert %d events: %w", name, len(raw), err)
		}
		raw = raw[:0]
		return nil
	}
	_, err = simulate.Generate(sc, 1, demoScale, func(ev schemas.Event) error {
		var user uint64
		if ev.User != "" { // a stand-in for the keyed pseudonym
			h := fnv.New64a()
			h.Write([]byte(ev.User))
			user = h.Sum64()
		}
		set.Add(&ev, user)
		raw = append(raw, store.Event{ID: ev.ID, Collector: "sim", TS: ev.TS, Platform: ev.Platform, Service: ev.Service,
			Region: ev.Region, Academy: ev.Academy, Kind: ev.Kind, Outcome: ev.Outcome, Status: uint16(ev.Status),
			LatencyMS: f32(ev.LatencyMS), QueueMS: f32(ev.QueueMS), User: user, Role: ev.Role, Source: ev.Source, Attrs: ev.Attrs})
		if len(raw) == 20000 {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	probes, _ := simulate.Probes(sc, 1)
	for i := range probes {
		set.Add(&probes[i], 0)
	}
	if err := flush(); err != nil {
		return err
	}
	if err := st.InsertWindows(ctx, set.Rows(), ""); err != nil {
		return fmt.Errorf("%s: insert windows: %w", name, err)
	}
	return nil
}

func f32(p *float64) *float32 {
	if p == nil {
		return nil
	}
	v := float32(*p)
	return &v
}
