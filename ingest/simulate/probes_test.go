package simulate

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/schemas"
)

func TestProbesFollowTheScript(t *testing.T) {
	sc, _ := Lookup("2021-04-06")
	evs, st := Probes(sc, 1)
	minutes := int(sc.End.Sub(sc.Start) / time.Minute)
	if want := minutes * len(schemas.Regions) * 2; len(evs) != want || st.Events != want {
		t.Fatalf("%d probe events (stats %d), want %d: each region's prober, its ENT and the CNED, once a minute", len(evs), st.Events, want)
	}
	again, _ := Probes(sc, 1)
	if !reflect.DeepEqual(evs, again) {
		t.Error("the same scenario and seed gave other probes")
	}
	now := sc.End
	type key struct {
		service string
		during  bool
	}
	outcomes := map[key]map[string]int{}
	ids := map[string]bool{}
	var last time.Time
	for _, ev := range evs {
		raw, _ := json.Marshal(ev)
		if _, fe := schemas.DecodeEvent(raw, time.Hour, now); fe != nil {
			t.Fatalf("probe event %s does not pass the decoder: %v", ev.ID, fe)
		}
		if ids[ev.ID] || ev.TS.Before(last) || ev.Kind != "probe" || ev.Source != "probe" || ev.Attrs["from"] != ev.Region || ev.User != "" {
			t.Fatalf("probe event %+v: duplicate id, out of order, or not a probe of its region", ev)
		}
		ids[ev.ID], last = true, ev.TS
		if ev.Region != "11" && ev.Region != "53" && ev.Region != "52" {
			continue
		}
		during := false
		for _, tr := range sc.Truth() {
			if tr.Service == ev.Service && tr.Region == ev.Region && !ev.TS.Before(tr.Start) && ev.TS.Before(tr.End) {
				during = true
			}
		}
		k := key{ev.Service + "/" + ev.Region, during}
		if outcomes[k] == nil {
			outcomes[k] = map[string]int{}
		}
		outcomes[k][ev.Outcome]++
	}
	// Île-de-France's ENT under quota: no probe gets in; mostly the quota
	// page or the waiting room.
	in11 := outcomes[key{"ent-11/11", true}]
	if in11["ok"] != 0 || in11["rejected"]+in11["queued"] < in11["timeout"]+in11["error"] {
		t.Errorf("ent-11 during its failure: %v", in11)
	}
	// Bretagne's ENT never failed: every probe ok.
	if b := outcomes[key{"ent-53/53", false}]; b["ok"] != minutes || len(b) != 1 {
		t.Errorf("ent-53 (healthy all morning): %v, want %d ok", b, minutes)
	}
	// The CNED under attack: timeouts, from every region.
	if c := outcomes[key{CNEDService + "/53", true}]; c["timeout"] == 0 || c["ok"] == 0 {
		t.Errorf("CNED from Bretagne under attack: %v, want timeouts and slow pages", c)
	}
	// Pays de la Loire's waiting room opened at 07:30, before the failure.
	if p := outcomes[key{"ent-52/52", false}]; p["queued"] == 0 || p["rejected"] != 0 {
		t.Errorf("ent-52 outside its failure: %v, want some queued (the early waiting room) and no quota page", p)
	}
}
