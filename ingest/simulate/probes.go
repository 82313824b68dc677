package simulate

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"time"

	"github.com/vigie-fr/vigie/schemas"
)

// Probe timing of the simulated probers: once a minute, a 10 s timeout
// (vigie probe's defaults), the median latencies of the simulated services.
const (
	probeTimeoutMS   = 10000
	entProbeMedian   = 220
	cnedProbeMedian  = 320
	probeQuotaMedian = 400 // the quota page is small and served at once
)

// ProbeStats counts the probe results Probes made, by outcome.
type ProbeStats struct {
	Events    int
	ByOutcome map[string]int
}

// Probes is what synthetic probes (vigie probe) would have seen during the
// scenario: a prober in each region fetching, once a minute, its region's
// ENT and the CNED virtual classroom, as kind probe and source probe
// events with attrs from (the prober's region) and the phases, like
// package probe sends. The outcome follows the scenario's script for the
// service at that minute — a quota page (rejected) or a waiting room
// (queued) during an overload, timeouts and slow pages under attack, slow
// pages while an overload builds — and is drawn with its own random
// source: the scenario's other events do not change. The same (scenario,
// seed) gives the same probes, in time order.
func Probes(sc Scenario, seed int64) ([]schemas.Event, ProbeStats) {
	h := fnv.New64a()
	h.Write([]byte("probes/" + sc.Name))
	rng := rand.New(rand.NewPCG(uint64(seed), h.Sum64()))
	st := ProbeStats{ByOutcome: map[string]int{}}
	var out []schemas.Event
	prefix := "sim-probe-" + sc.Name + "-" + strconv.FormatInt(seed, 10) + "-"
	for t := sc.Start; t.Before(sc.End); t = t.Add(time.Minute) {
		var minute []schemas.Event
		for _, region := range schemas.Regions {
			for _, target := range []struct {
				platform, service string
				median            float64
			}{{"ent", ENTService(region), entProbeMedian}, {"cned", CNEDService, cnedProbeMedian}} {
				var incidents []Incident
				for _, in := range sc.Incidents {
					if in.Platform == target.platform && in.Service == target.service && (in.Regions == nil || contains(in.Regions, region)) {
						incidents = append(incidents, in)
					}
				}
				ph := phaseAt(incidents, t, target.median)
				ev := probeResult(rng, ph, target.median)
				ev.TS = t.Add(time.Duration(rng.IntN(60000)) * time.Millisecond)
				ev.Platform, ev.Service, ev.Region = target.platform, target.service, region
				ev.Attrs["from"] = region
				ev.Attrs["target"] = target.service + "@" + region
				minute = append(minute, ev)
			}
		}
		sort.SliceStable(minute, func(i, j int) bool { return minute[i].TS.Before(minute[j].TS) })
		for _, ev := range minute {
			ev.ID = prefix + strconv.Itoa(st.Events)
			out = append(out, ev)
			st.Events++
			st.ByOutcome[ev.Outcome]++
		}
	}
	return out, st
}

// probeResult draws one probe's outcome, status and phases in phase ph.
func probeResult(rng *rand.Rand, ph phase, median float64) schemas.Event {
	lognormal := func(m, sigma float64) float64 { return m * math.Exp(sigma*rng.NormFloat64()) }
	outcome, status, total := "ok", 200, lognormal(median*ph.ramp*1.3, 0.3)
	r := rng.Float64()
	switch {
	case ph.failing && ph.cause == CauseOverload:
		switch {
		case r < 0.45:
			outcome, total = "rejected", lognormal(probeQuotaMedian, 0.3) // "le nombre de sessions est limité", a 200
		case r < 0.65:
			outcome, total = "queued", lognormal(probeQuotaMedian, 0.3)
		case r < 0.80:
			outcome, status, total = "timeout", 0, probeTimeoutMS
		default:
			outcome, status, total = "error", []int{500, 502, 503}[rng.IntN(3)], lognormal(1200, 0.5)
		}
	case ph.failing && ph.cause == CauseAttack:
		switch {
		case r < 0.40:
			outcome, status, total = "timeout", 0, probeTimeoutMS
		case r < 0.50:
			outcome, status, total = "error", 503, lognormal(800, 0.5)
		default:
			total = lognormal(2800, 0.5)
		}
	case ph.waitingRoom && r < 0.25:
		outcome, total = "queued", lognormal(probeQuotaMedian, 0.3)
	}
	total = math.Min(total, probeTimeoutMS)
	dns, conn, tls := lognormal(8, 0.5), lognormal(12, 0.4), lognormal(25, 0.4)
	ttfb := math.Min(total, dns+conn+tls+0.7*(total-dns-conn-tls))
	if status == 0 {
		ttfb = 0
	}
	ms := func(x float64) string { return fmt.Sprintf("%.3f", math.Max(x, 0)) }
	lat := math.Round(total*10) / 10
	return schemas.Event{
		Kind: "probe", Outcome: outcome, Status: status, LatencyMS: &lat, Source: "probe",
		Attrs: map[string]string{"dns_ms": ms(dns), "connect_ms": ms(conn), "tls_ms": ms(tls), "ttfb_ms": ms(ttfb)},
	}
}
