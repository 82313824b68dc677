package simulate

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/paris"
	"github.com/vigie-fr/vigie/schemas"
)

func TestLookup(t *testing.T) {
	for _, tc := range []struct {
		name, scenario, wantErr string
		offset                  int
	}{
		{"the 2021 morning is known, in summer time", "2021-04-06", "", 2 * 3600},
		{"the 2020 morning is known, in winter time", "2020-03-16", "", 3600},
		{"the scripted silent morning is known, in summer time", "2021-04-08", "", 2 * 3600},
		{"the healthy week is known, in summer time", "healthy-week", "", 2 * 3600},
		{"an unknown day names the known ones", "2021-04-07", `unknown scenario "2021-04-07": known scenarios are 2021-04-06, 2020-03-16, 2021-04-08, healthy-week`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := Lookup(tc.scenario)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, off := sc.Start.Zone(); off != tc.offset {
				t.Errorf("offset = %d, want %d", off, tc.offset)
			}
			switch {
			case sc.Diurnal:
				if sc.Start.Hour() != 0 || sc.End.Sub(sc.Start) != 7*24*time.Hour {
					t.Errorf("window %s – %s, want seven days from a Paris midnight", sc.Start, sc.End)
				}
			case sc.Start.Hour() != 6 || sc.End.Hour() != 12 || sc.End.Sub(sc.Start) != 6*time.Hour:
				t.Errorf("window %s – %s, want 06:00–12:00 Paris time", sc.Start, sc.End)
			}
		})
	}
}

func TestTruth(t *testing.T) {
	for _, tc := range []struct {
		name     string
		scenario string
		ents     []string
		cned     [2]string // start, end (Paris time)
		cause    string
	}{
		{"2021: seven ENTs and the CNED under attack", "2021-04-06", []string{"11", "24", "28", "32", "44", "52", "76"}, [2]string{"08:00", "10:00"}, CauseAttack},
		{"2020: five ENTs and the CNED overloaded", "2020-03-16", []string{"11", "27", "32", "44", "84"}, [2]string{"08:45", "10:30"}, CauseOverload},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, _ := Lookup(tc.scenario)
			var ents []string
			cned := 0
			for _, in := range sc.Truth() {
				switch in.Platform {
				case "ent":
					ents = append(ents, in.Region)
					if in.Service != "ent-"+in.Region || in.Cause != CauseOverload {
						t.Errorf("ENT truth %+v", in)
					}
					if in.Start.Hour() != 8 || !in.End.Before(sc.End) || in.End.Sub(in.Start) < time.Hour {
						t.Errorf("ENT %s fails %s–%s: want a start at 08:xx and a recovery before noon", in.Region, in.Start, in.End)
					}
				case "cned":
					cned++
					if got := [2]string{in.Start.Format("15:04"), in.End.Format("15:04")}; got != tc.cned || in.Cause != tc.cause || in.Service != CNEDService {
						t.Errorf("CNED truth %+v, want %v %s", in, tc.cned, tc.cause)
					}
				}
			}
			sort.Strings(ents)
			if strings.Join(ents, ",") != strings.Join(tc.ents, ",") {
				t.Errorf("failing ENTs %v, want %v", ents, tc.ents)
			}
			if cned != len(schemas.Regions) {
				t.Errorf("CNED truth in %d regions, want all %d", cned, len(schemas.Regions))
			}
		})
	}
}

func TestGenerateRefusesBadArguments(t *testing.T) {
	sc, _ := Lookup("2021-04-06")
	for _, scale := range []float64{0, -1, 101} {
		if _, err := Generate(sc, 1, scale, func(schemas.Event) error { return nil }); err == nil {
			t.Errorf("scale %v accepted", scale)
		}
	}
	empty := sc
	empty.End = empty.Start
	if _, err := Generate(empty, 1, 1, func(schemas.Event) error { return nil }); err == nil {
		t.Error("empty window accepted")
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	sc, _ := Lookup("2021-04-06")
	digest := func(seed int64) (string, int) {
		h := sha256.New()
		st, err := Generate(sc, seed, 0.1, func(ev schemas.Event) error {
			return json.NewEncoder(h).Encode(ev)
		})
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%x", h.Sum(nil)), st.Events
	}
	a, n := digest(7)
	b, m := digest(7)
	c, _ := digest(8)
	if a != b || n != m {
		t.Errorf("seed 7 twice: %d events %s vs %d events %s", n, a, m, b)
	}
	if a == c {
		t.Error("seeds 7 and 8 gave identical events")
	}
}

func TestGenerateStopsWhenEmitFails(t *testing.T) {
	sc, _ := Lookup("2021-04-06")
	boom := fmt.Errorf("sink full")
	st, err := Generate(sc, 1, 1, func(schemas.Event) error {
		return boom
	})
	if err != boom || st.Events != 0 {
		t.Errorf("Generate = %d events, %v; want 0, %v", st.Events, err, boom)
	}
}

// minuteKey is one (service, region, minute) window, as the aggregator keys it.
type minuteKey struct {
	service, region string
	minute          time.Time
}

type minuteAgg struct {
	events, ok, failed, queued, rejected, logins, noUser int
	lat                                                  []float64
	sources                                              map[string]bool
}

func (a *minuteAgg) availability() float64 { return float64(a.ok) / float64(a.ok+a.failed) }

func (a *minuteAgg) quantile(q float64) float64 {
	sort.Float64s(a.lat)
	return a.lat[int(q*float64(len(a.lat)-1)+0.5)]
}

type generated struct {
	sc      Scenario
	stats   Stats
	minutes map[minuteKey]*minuteAgg
	err     error
}

var (
	genOnce  = map[string]*sync.Once{"2021-04-06": {}, "2020-03-16": {}}
	genCache = map[string]*generated{}
	genMu    sync.Mutex
)

// generate runs a scenario at scale 1, seed 42, once per test binary, checks
// each event's fields and keeps per-minute aggregates.
// regionPupils are the pupils of each region, from academies.csv.
var regionPupils = func() map[string]int {
	acs, err := Academies()
	if err != nil {
		panic(err)
	}
	out := map[string]int{}
	for _, a := range acs {
		out[a.Region] += a.Pupils
	}
	return out
}()

func generate(t *testing.T, name string) *generated {
	t.Helper()
	genOnce[name].Do(func() {
		sc, _ := Lookup(name)
		g := &generated{sc: sc, minutes: map[minuteKey]*minuteAgg{}}
		ids := map[string]bool{}
		_, wantOffset := sc.Start.Zone()
		var last time.Time
		g.stats, g.err = Generate(sc, 42, 1, func(ev schemas.Event) error {
			if _, off := ev.TS.Zone(); off != wantOffset {
				return fmt.Errorf("event %s: offset %d", ev.ID, off)
			}
			if ids[ev.ID] {
				return fmt.Errorf("duplicate id %s", ev.ID)
			}
			ids[ev.ID] = true
			if ev.TS.Before(last) || ev.TS.Before(sc.Start) || !ev.TS.Before(sc.End) {
				return fmt.Errorf("event %s at %s: out of order or outside the window", ev.ID, ev.TS)
			}
			last = ev.TS
			if ev.Source != "sim" || ev.LatencyMS == nil || (ev.Outcome == "queued" && ev.Kind == "queue" && ev.QueueMS == nil) {
				return fmt.Errorf("event %s lacks source, latency or queue time: %+v", ev.ID, ev)
			}
			wantService := CNEDService
			if ev.Platform == "ent" {
				wantService = ENTService(ev.Region)
			}
			if ev.Service != wantService {
				return fmt.Errorf("event %s: service %s in region %s", ev.ID, ev.Service, ev.Region)
			}
			if ev.User != "" && (ev.Role == "" || ev.Academy == "") {
				return fmt.Errorf("event %s: user without role or académie", ev.ID)
			}
			// A user stands for the people of its region: its events weigh
			// pupils / users, the pool holding max(40, pupils / 500) users.
			if ev.User != "" {
				pupils := regionPupils[ev.Region]
				if want := float64(max(40, pupils/PupilsPerUser)) / float64(pupils); ev.SampleRate != want {
					return fmt.Errorf("event %s in %s: sample_rate %v, want %v", ev.ID, ev.Region, ev.SampleRate, want)
				}
			} else if ev.SampleRate != 0 {
				return fmt.Errorf("event %s without a user has sample_rate %v, want none", ev.ID, ev.SampleRate)
			}
			return g.add(ev)
		})
		genMu.Lock()
		genCache[name] = g
		genMu.Unlock()
	})
	genMu.Lock()
	defer genMu.Unlock()
	g := genCache[name]
	if g.err != nil {
		t.Fatal(g.err)
	}
	return g
}

func (g *generated) add(ev schemas.Event) error {
	k := minuteKey{ev.Service, ev.Region, ev.TS.Truncate(time.Minute)}
	a := g.minutes[k]
	if a == nil {
		a = &minuteAgg{sources: map[string]bool{}}
		g.minutes[k] = a
	}
	a.events++
	switch {
	case ev.Outcome == "ok":
		a.ok++
	case ev.Failed():
		a.failed++
	case ev.Outcome == "queued":
		a.queued++
	}
	if ev.Outcome == "rejected" {
		a.rejected++
	}
	if ev.Kind == "login" {
		a.logins++
	}
	if ev.User == "" {
		a.noUser++
		a.sources[ev.Attrs["src"]] = true
	}
	a.lat = append(a.lat, *ev.LatencyMS)
	return nil
}

// Every event must pass the collector's strict decoder after a JSON round
// trip, and come back with the same instant in UTC.
func TestEveryEventPassesTheDecoder(t *testing.T) {
	for _, tc := range []struct {
		name  string
		scale float64
	}{
		{"2021-04-06", 1},   // what the demo replays: all of it
		{"2020-03-16", 0.3}, // the same code paths, fewer events to keep the test fast
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, _ := Lookup(tc.name)
			raws := make(chan []byte, 1024)
			errs := make(chan error, 2)
			var wg sync.WaitGroup
			for range 2 { // the strict decoder dominates: use both cores
				wg.Go(func() {
					for raw := range raws {
						ev, ferr := schemas.DecodeEvent(raw, 0, time.Now())
						if ferr != nil {
							errs <- fmt.Errorf("decode %s: %v", raw, ferr)
							for range raws {
							}
							return
						}
						if ev.TS.Location() != time.UTC || !strings.Contains(string(raw), ev.TS.In(sc.Start.Location()).Format(time.RFC3339)[:19]) {
							errs <- fmt.Errorf("round trip changed the time of %s: %s", raw, ev.TS)
							for range raws {
							}
							return
						}
					}
				})
			}
			st, err := Generate(sc, 3, tc.scale, func(ev schemas.Event) error {
				raw, err := json.Marshal(ev)
				raws <- raw
				return err
			})
			close(raws)
			wg.Wait()
			close(errs)
			if err != nil {
				t.Fatal(err)
			}
			for err := range errs {
				t.Fatal(err)
			}
			if st.Events < 50_000 {
				t.Errorf("only %d events checked", st.Events)
			}
		})
	}
}

func TestGeneratedEventsCoverEveryRegionInVolume(t *testing.T) {
	for _, tc := range []struct {
		name     string
		min, max int
	}{
		{"2021-04-06", 300_000, 400_000},
		{"2020-03-16", 250_000, 400_000},
	} {
		t.Run(tc.name+" has the expected volume in every region", func(t *testing.T) {
			g := generate(t, tc.name)
			if g.stats.Events < tc.min || g.stats.Events > tc.max {
				t.Errorf("%d events, want %d–%d", g.stats.Events, tc.min, tc.max)
			}
			seen := map[string]bool{}
			for k := range g.minutes {
				seen[k.service+"/"+k.region] = true
			}
			for _, r := range schemas.Regions {
				for _, s := range []string{ENTService(r), CNEDService} {
					if !seen[s+"/"+r] {
						t.Errorf("no events for %s in region %s", s, r)
					}
				}
			}
			if g.stats.Users < 10_000 || g.stats.ByPlatform["ent"] == 0 || g.stats.ByPlatform["cned"] == 0 {
				t.Errorf("stats %+v", g.stats)
			}
		})
	}
}

// truthAt returns the truth incident of (service, region) covering minute m.
func truthAt(sc Scenario, service, region string, m time.Time) (TruthIncident, bool) {
	for _, in := range sc.Truth() {
		if in.Service == service && in.Region == region && !m.Before(in.Start) && m.Before(in.End) {
			return in, true
		}
	}
	return TruthIncident{}, false
}

// The report finds incidents from per-minute availability and p95 alone:
// inside the truth every minute must be bad, outside it every minute with
// enough events must be good, or the report would find other incidents.
//
// This holds for the two historical mornings at full volume; the scripted
// 2021-04-08 (a silent outage has no minute to judge) and the healthy days
// are measured by the incident rule itself (dashboards/incident).
func TestMinutesMatchTheTruth(t *testing.T) {
	for _, name := range []string{"2021-04-06", "2020-03-16"} {
		t.Run(name+": every minute is bad inside the truth and healthy outside", func(t *testing.T) {
			g := generate(t, name)
			bad, good := 0, 0
			for k, a := range g.minutes {
				in, failing := truthAt(g.sc, k.service, k.region, k.minute)
				h := k.minute.In(g.sc.Start.Location()).Hour()
				if h >= 8 && h < 11 && a.events < 20 {
					t.Errorf("%s/%s %s: %d events, want ≥ 20 from 08:00 to 11:00", k.service, k.region, k.minute, a.events)
				}
				if a.events < 20 {
					continue
				}
				av, p95 := a.availability(), a.quantile(0.95)
				if failing {
					bad++
					if av >= 0.90 || p95 <= 3000 {
						t.Errorf("%s/%s %s inside the %s incident: availability %.3f, p95 %.0f ms; want < 0.90 and > 3000", k.service, k.region, k.minute, in.Cause, av, p95)
					}
					continue
				}
				good++
				if av < 0.99 || p95 >= 2500 {
					t.Errorf("%s/%s %s outside any incident: availability %.3f, p95 %.0f ms; want ≥ 0.99 and < 2500", k.service, k.region, k.minute, av, p95)
				}
			}
			if bad < 1000 || good < 5000 {
				t.Errorf("%d bad and %d good minutes judged: too few", bad, good)
			}
		})
	}
}

// sumMinutes adds up a (service, region)'s minutes in [from, to).
func sumMinutes(g *generated, service, region string, from, to time.Time) minuteAgg {
	var s minuteAgg
	s.sources = map[string]bool{}
	for k, a := range g.minutes {
		if k.service == service && (region == "" || k.region == region) && !k.minute.Before(from) && k.minute.Before(to) {
			s.events += a.events
			s.ok += a.ok
			s.failed += a.failed
			s.queued += a.queued
			s.rejected += a.rejected
			s.logins += a.logins
			s.noUser += a.noUser
			s.lat = append(s.lat, a.lat...)
			for src := range a.sources {
				s.sources[src] = true
			}
		}
	}
	return s
}

func TestOverloadedENTsShowQuotaWaitingRoomAndRisingLatency(t *testing.T) {
	g := generate(t, "2021-04-06")
	for _, in := range g.sc.Truth() {
		if in.Platform != "ent" {
			continue
		}
		t.Run("ENT "+in.Region+" slows down, then rejects and queues", func(t *testing.T) {
			calm := sumMinutes(g, in.Service, in.Region, g.sc.Start.Add(time.Hour), g.sc.Start.Add(90*time.Minute))
			before := sumMinutes(g, in.Service, in.Region, in.Start.Add(-5*time.Minute), in.Start)
			during := sumMinutes(g, in.Service, in.Region, in.Start, in.End)
			if c, b := calm.quantile(0.5), before.quantile(0.5); b < 2*c || before.failed > before.events/100 {
				t.Errorf("median latency %.0f ms before the failure vs %.0f ms at 07:00, %d failures: want latency rising before errors", b, c, before.failed)
			}
			if during.rejected < 100 || during.queued < 100 {
				t.Errorf("%d rejected and %d queued during the failure: want quota rejections and a waiting room", during.rejected, during.queued)
			}
		})
	}
	t.Run("the Pays de la Loire waiting room opens at 07:30, before the failures", func(t *testing.T) {
		loc := g.sc.Start.Location()
		early := sumMinutes(g, "ent-52", "52", time.Date(2021, 4, 6, 7, 30, 0, 0, loc), time.Date(2021, 4, 6, 8, 40, 0, 0, loc))
		if early.queued < 50 || early.failed > early.events/100 {
			t.Errorf("07:30–08:40: %d queued, %d failed of %d", early.queued, early.failed, early.events)
		}
	})
}

func TestDemandPeaksBetweenEightAndNine(t *testing.T) {
	g := generate(t, "2021-04-06")
	loc := g.sc.Start.Location()
	logins := map[int]int{}
	for k, a := range g.minutes {
		logins[k.minute.In(loc).Hour()] += a.logins
	}
	for h := 6; h < 12; h++ {
		if h != 8 && logins[h] >= logins[8] {
			t.Errorf("logins per hour %v: want the peak at 08:00–09:00", logins)
		}
	}
}

func TestCNEDIsSlowUnderAttackFromEightToTen(t *testing.T) {
	g := generate(t, "2021-04-06")
	loc := g.sc.Start.Location()
	at := func(h int) time.Time { return time.Date(2021, 4, 6, h, 0, 0, 0, loc) }
	attack := sumMinutes(g, CNEDService, "", at(8), at(10))
	after := sumMinutes(g, CNEDService, "", at(10), at(12))
	before := sumMinutes(g, CNEDService, "", at(7), at(8))
	for _, tc := range []struct {
		name string
		ok   bool
		got  string
	}{
		{"p95 is far above 3 s during the attack", attack.quantile(0.95) > 10000, fmt.Sprintf("%.0f ms", attack.quantile(0.95))},
		{"many requests time out during the attack", attack.failed > attack.events/4, fmt.Sprintf("%d of %d", attack.failed, attack.events)},
		{"most requests carry no user during the attack", attack.noUser > attack.events/2, fmt.Sprintf("%d of %d", attack.noUser, attack.events)},
		{"they come from few sources", len(attack.sources) <= 30, fmt.Sprintf("%d sources", len(attack.sources))},
		{"p95 is back under 1 s from 10:00", after.quantile(0.95) < 1000, fmt.Sprintf("%.0f ms", after.quantile(0.95))},
		{"no anonymous traffic outside the attack", before.noUser+after.noUser == 0, fmt.Sprintf("%d", before.noUser+after.noUser)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.ok {
				t.Error(tc.got)
			}
		})
	}
}

func TestCNEDIn2020IsOverloadedNotAttacked(t *testing.T) {
	g := generate(t, "2020-03-16")
	all := sumMinutes(g, CNEDService, "", g.sc.Start, g.sc.End)
	if all.noUser != 0 {
		t.Errorf("%d events without a user in 2020: the CNED was overloaded by its users, not attacked", all.noUser)
	}
	loc := g.sc.Start.Location()
	during := sumMinutes(g, CNEDService, "", time.Date(2020, 3, 16, 8, 45, 0, 0, loc), time.Date(2020, 3, 16, 10, 30, 0, 0, loc))
	if during.rejected < 100 || during.queued < 100 {
		t.Errorf("%d rejected, %d queued: want the waiting room and quota", during.rejected, during.queued)
	}
}

// BenchmarkGenerate2021 generates the 6 April 2021 morning (seed 1, scale
// 1) and reports events/s; it checks that every run emits the same events
// and that the stats count them.
func BenchmarkGenerate2021(b *testing.B) {
	sc, _ := Lookup("2021-04-06")
	n, first := 0, 0
	for b.Loop() {
		emitted := 0
		st, err := Generate(sc, 1, 1, func(schemas.Event) error { emitted++; return nil })
		if err != nil {
			b.Fatal(err)
		}
		// The same seed gives the same morning every time, and the stats
		// count what was emitted.
		if first == 0 {
			first = emitted
		}
		if st.Events != emitted || emitted != first || emitted == 0 {
			b.Fatalf("emitted %d events, stats say %d, the first run emitted %d", emitted, st.Events, first)
		}
		n += emitted
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

// A silent outage sends nothing at all: the pair's beacons stop for the
// scripted span, and come back after it.
func TestASilentOutageSendsNothing(t *testing.T) {
	sc, err := Lookup("2021-04-08")
	if err != nil {
		t.Fatal(err)
	}
	var silent TruthIncident
	for _, in := range sc.Truth() {
		if in.Cause == CauseSilent {
			silent = in
		}
	}
	if silent.Service == "" {
		t.Fatal("2021-04-08 scripts no silent outage")
	}
	inside, before, after := 0, 0, 0
	_, err = Generate(sc, 1, 0.05, func(ev schemas.Event) error {
		if ev.Service != silent.Service || ev.Region != silent.Region {
			return nil
		}
		switch {
		case ev.TS.Before(silent.Start):
			if silent.Start.Sub(ev.TS) <= 10*time.Minute {
				before++
			}
		case ev.TS.Before(silent.End):
			inside++
		case ev.TS.Sub(silent.End) < 10*time.Minute:
			after++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if inside != 0 || before < 10 || after < 10 {
		t.Errorf("%s/%s: %d events inside the silent span, %d and %d in the 10 minutes before and after; want 0 inside, at least 10 around",
			silent.Service, silent.Region, inside, before, after)
	}
}

// Healthy days follow a day's curve: nights nearly empty, weekdays busier
// than weekends, and about 1 % of requests failing at random.
func TestHealthyDaysHaveADiurnalCurveAndRandomErrors(t *testing.T) {
	start := time.Date(2021, 5, 14, 0, 0, 0, 0, paris.Location) // a Friday, then the weekend
	sc := HealthyDays(start, 2)
	byHour := map[int]int{}
	var friday, saturday, requests, failed int
	_, err := Generate(sc, 1, 0.2, func(ev schemas.Event) error {
		p := ev.TS.In(paris.Location)
		if p.Weekday() == time.Friday {
			friday++
			byHour[p.Hour()]++
		} else {
			saturday++
		}
		if ev.Kind == "page" || ev.Kind == "api" {
			requests++
			if ev.Failed() {
				failed++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if byHour[3]*20 > byHour[9] || byHour[9] == 0 {
		t.Errorf("Friday 03:00 has %d events, 09:00 %d: want the night under a twentieth of the morning", byHour[3], byHour[9])
	}
	if saturday*2 > friday {
		t.Errorf("Saturday %d events, Friday %d: want the weekend under half a weekday", saturday, friday)
	}
	if rate := float64(failed) / float64(requests); rate < 0.007 || rate > 0.013 {
		t.Errorf("%d of %d requests failed (%.4f), want about 1 %%", failed, requests, rate)
	}
}

// The demo's catalogue names every service the simulator sends, and passes
// the configuration's own rules.
func TestTheCatalogueNamesEverySimulatedService(t *testing.T) {
	cat, err := Catalogue()
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Catalogue = cat
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, r := range schemas.Regions {
		e, ok := cat.Service(ENTService(r))
		if !ok || e.Provider == "" || len(e.Academies) == 0 || e.Regions[0] != r {
			t.Errorf("ENT of %s: %+v (found %v)", r, e, ok)
		}
	}
	if e, ok := cat.Service(CNEDService); !ok || e.Name != "Ma classe à la maison" || len(e.Regions) != len(schemas.Regions) {
		t.Errorf("CNED: %+v (found %v)", e, ok)
	}
	if e, _ := cat.Service("ent-11"); e.Name != "monlycee.net" || e.Operator != "Région Île-de-France" {
		t.Errorf("ent-11 = %+v", e)
	}
}
