package main

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vigie-fr/vigie/dashboards/incident"
	"github.com/vigie-fr/vigie/dashboards/report"
	"github.com/vigie-fr/vigie/ingest/simulate"
	tzparis "github.com/vigie-fr/vigie/internal/paris"
)

// What the README promises of the demo's report, checked against the
// scenarios' truth (simulate.Scenario.Truth), never against numbers
// written here: every scripted incident found once, in its region, from
// its first bad minute to one minute after its last; the CNED in every
// region; a saturation signal for each overloaded service and an
// attack-like one for the attacked CNED, and no wrong cause; the capacity
// each failing service would have needed; and the comparison with the
// 2020 morning naming exactly the services that failed both times.

// truthKey is one (platform, service, region) the scenario breaks.
type truthKey = incident.Key

// truthService is what the scenario says of one failing service.
type truthService struct {
	platform   string
	regions    []string // sorted by code
	start, end time.Time
	cause      string
}

func byKey(truth []simulate.TruthIncident) map[truthKey]simulate.TruthIncident {
	m := map[truthKey]simulate.TruthIncident{}
	for _, tr := range truth {
		m[truthKey{Platform: tr.Platform, Service: tr.Service, Region: tr.Region}] = tr
	}
	return m
}

func byService(truth []simulate.TruthIncident) map[string]*truthService {
	m := map[string]*truthService{}
	for _, tr := range truth {
		s := m[tr.Service]
		if s == nil {
			s = &truthService{platform: tr.Platform, start: tr.Start, end: tr.End, cause: tr.Cause}
			m[tr.Service] = s
		}
		s.regions = append(s.regions, tr.Region)
	}
	for _, s := range m {
		sort.Strings(s.regions)
	}
	return m
}

func hm(t time.Time) string { return t.In(tzparis.Location).Format("15:04") }

func minutes(from, to time.Time) int { return int(to.Sub(from) / time.Minute) }

// attackLike are the signal kinds that say "attack-like traffic".
var attackLike = map[string]bool{report.SignalAttack: true, report.SignalAnonymous: true}

// checkDemoReport returns every way r and its Markdown md break what the
// scenarios now (the reported day) and then (the comparison day) script.
func checkDemoReport(r *report.Report, md string, now, then simulate.Scenario) []string {
	var bad []string
	errf := func(format string, a ...any) { bad = append(bad, fmt.Sprintf(format, a...)) }
	truth, earlier := now.Truth(), then.Truth()
	keys, services := byKey(truth), byService(truth)

	// Incidents: one per scripted (service, region), to the minute.
	found := map[truthKey]int{}
	for _, in := range r.Incidents {
		tr, ok := keys[in.Key()]
		if !ok {
			errf("incident %s in region %s %s–%s Paris, but the scenario breaks nothing there", in.Service, in.Region, hm(in.Start), hm(in.End))
			continue
		}
		found[in.Key()]++
		if !in.Start.Equal(tr.Start) || !in.End.Equal(tr.End) {
			errf("%s in region %s: incident %s–%s Paris, the scenario says %s–%s", in.Service, in.Region, hm(in.Start), hm(in.End), hm(tr.Start), hm(tr.End))
		}
	}
	for k := range keys {
		if found[k] != 1 {
			errf("%s failed in region %s in the scenario: %d incidents in the report, want 1", k.Service, k.Region, found[k])
		}
	}
	if want := len(truth); r.Summary.Incidents != want {
		errf("summary: %d incidents, want %d", r.Summary.Incidents, want)
	}

	// Groups: one per failing service, with all its regions (the CNED's
	// are every region), over the scripted period.
	groups := map[string]int{}
	for _, g := range r.Groups {
		groups[g.Service]++
		s := services[g.Service]
		if s == nil {
			errf("group for %s, which did not fail in the scenario", g.Service)
			continue
		}
		if !sameSet(g.Regions, s.regions) || !g.Start.Equal(s.start) || !g.End.Equal(s.end) {
			errf("%s: one failure in regions %v %s–%s Paris, the scenario says regions %v %s–%s", g.Service, g.Regions, hm(g.Start), hm(g.End), s.regions, hm(s.start), hm(s.end))
		}
	}
	for svc := range services {
		if groups[svc] != 1 {
			errf("%s: %d groups in the report, want 1", svc, groups[svc])
		}
	}

	// Cause signals: saturation for an overloaded service, attack-like
	// traffic for an attacked one, never the other's.
	kinds := map[string]map[string]bool{}
	for _, sg := range r.Signals {
		if sg.Kind == report.SignalSharedProvider {
			continue
		}
		s := services[sg.Service]
		if s == nil {
			errf("%s signal for %s, which did not fail in the scenario", sg.Kind, sg.Service)
			continue
		}
		if kinds[sg.Service] == nil {
			kinds[sg.Service] = map[string]bool{}
		}
		kinds[sg.Service][sg.Kind] = true
		if !sameSet(sg.Regions, s.regions) || !sg.Start.Equal(s.start) || !sg.End.Equal(s.end) {
			errf("%s signal for %s: regions %v %s–%s Paris, the scenario says %v %s–%s", sg.Kind, sg.Service, sg.Regions, hm(sg.Start), hm(sg.End), s.regions, hm(s.start), hm(s.end))
		}
	}
	for svc, s := range services {
		k := kinds[svc]
		attack := k[report.SignalAttack] || k[report.SignalAnonymous]
		switch s.cause {
		case simulate.CauseOverload:
			if !k[report.SignalSaturation] || attack {
				errf("%s was overloaded (quota, waiting room): signals %v, want saturation and nothing attack-like", svc, sortedKeys(k))
			}
		case simulate.CauseAttack:
			if !attack || k[report.SignalSaturation] {
				errf("%s was under attack-like traffic: signals %v, want an attack-like signal and no saturation", svc, sortedKeys(k))
			}
		default:
			errf("%s: the scenario's cause %q is not one this test knows", svc, s.cause)
		}
	}
	checkSharedProvider(errf, r.Signals, truth)
	for _, sg := range r.Signals {
		if !strings.Contains(section(md, "Cause signals"), sg.Label) {
			errf("the Markdown's cause signals do not mention %q (%s)", sg.Label, sg.Service)
		}
	}

	// Capacity: one line per failing service, its demand above what it
	// served.
	capacity := map[string]int{}
	for _, c := range r.Capacity {
		capacity[c.Service]++
		s := services[c.Service]
		if s == nil {
			errf("capacity line for %s, which did not fail in the scenario", c.Service)
			continue
		}
		if !sameSet(c.Regions, s.regions) || !c.Start.Equal(s.start) || !c.End.Equal(s.end) {
			errf("capacity of %s: regions %v %s–%s Paris, the scenario says %v %s–%s", c.Service, c.Regions, hm(c.Start), hm(c.End), s.regions, hm(s.start), hm(s.end))
		}
		if c.PeakAt.Before(s.start) || !c.PeakAt.Before(s.end) {
			errf("capacity of %s: peak at %s Paris, outside its failure %s–%s", c.Service, hm(c.PeakAt), hm(s.start), hm(s.end))
		}
		if c.MedianServed <= 0 || c.Factor <= 1 || math.Abs(c.Factor-float64(c.PeakAttempts)/c.MedianServed) > 1e-9 {
			errf("capacity of %s: factor %.3f from a peak of %d attempts and a median of %.1f served, want peak/median > 1",
				c.Service, c.Factor, c.PeakAttempts, c.MedianServed)
		}
	}
	lines := bullets(section(md, "Capacity needed"))
	for svc := range services {
		if capacity[svc] != 1 {
			errf("%s: %d capacity lines in the report, want 1", svc, capacity[svc])
		}
		if n := countNaming(lines, "**"+shown(r, svc)+"**"); n != 1 {
			errf("the Markdown's capacity section has %d lines for %s, want 1", n, svc)
		}
	}

	// Comparison: the earlier morning is found, on its day, and exactly
	// the pairs that failed both times are named, with both periods.
	thenKeys := byKey(earlier)
	var day *report.EarlierDay
	if r.Comparison != nil {
		for i := range r.Comparison.Days {
			if r.Comparison.Days[i].Date == then.Name {
				day = &r.Comparison.Days[i]
			} else {
				errf("comparison: incidents on %s, a day the scenarios do not break", r.Comparison.Days[i].Date)
			}
		}
	}
	if day == nil {
		errf("the comparison does not find the incidents of %s", then.Name)
		return bad
	}
	d0, _ := time.Parse(time.DateOnly, then.Name)
	d1, _ := time.Parse(time.DateOnly, now.Name)
	if want := int(d1.Sub(d0).Hours() / 24); day.DaysBefore != want {
		errf("comparison: %s is %d days before, want %d", then.Name, day.DaysBefore, want)
	}
	if want := sortedKeys(byServiceSet(earlier)); !slices.Equal(day.Services, want) {
		errf("comparison: services in incident on %s %v, the scenario says %v", then.Name, day.Services, want)
	}
	repeated := map[truthKey]report.Repeat{}
	for _, rp := range day.Repeated {
		repeated[truthKey{Platform: rp.Platform, Service: rp.Service, Region: rp.Region}] = rp
	}
	bothTimes := map[string]bool{}
	for k, tr := range keys {
		was, ok := thenKeys[k]
		rp, named := repeated[k]
		switch {
		case ok && !named:
			errf("comparison: %s in region %s failed on %s and again, but is not named", k.Service, k.Region, then.Name)
		case !ok && named:
			errf("comparison: %s in region %s is named as failing again, but did not fail on %s", k.Service, k.Region, then.Name)
		case ok:
			bothTimes[k.Service] = true
			if !rp.ThenStart.Equal(was.Start) || rp.ThenMinutes != minutes(was.Start, was.End) ||
				!rp.NowStart.Equal(tr.Start) || rp.NowMinutes != minutes(tr.Start, tr.End) {
				errf("comparison: %s in region %s then %s +%d min, now %s +%d min; the scenarios say %s +%d, %s +%d",
					k.Service, k.Region, hm(rp.ThenStart), rp.ThenMinutes, hm(rp.NowStart), rp.NowMinutes,
					hm(was.Start), minutes(was.Start, was.End), hm(tr.Start), minutes(tr.Start, tr.End))
			}
		}
	}
	if len(repeated) != len(day.Repeated) {
		errf("comparison: %d repeated pairs, %d distinct", len(day.Repeated), len(repeated))
	}
	lines = bullets(section(md, "Comparison with earlier incidents"))
	for svc := range services {
		n := countNaming(lines, shown(r, svc))
		if bothTimes[svc] && n != 1 || !bothTimes[svc] && n != 0 {
			errf("the Markdown's comparison has %d lines naming %s, want %d", n, svc, map[bool]int{true: 1}[bothTimes[svc]])
		}
	}
	return bad
}

// checkSharedProvider: the most services in incident at once, from the
// scenario's periods, is the shared-provider signal (first such period).
func checkSharedProvider(errf func(string, ...any), signals []report.Signal, truth []simulate.TruthIncident) {
	var cuts []time.Time
	for _, tr := range truth {
		cuts = append(cuts, tr.Start, tr.End)
	}
	sort.Slice(cuts, func(i, j int) bool { return cuts[i].Before(cuts[j]) })
	var best []string
	var from, to time.Time
	for i := 0; i+1 < len(cuts); i++ {
		set := map[string]bool{}
		for _, tr := range truth {
			if tr.Start.Before(cuts[i+1]) && tr.End.After(cuts[i]) {
				set[tr.Service] = true
			}
		}
		switch s := sortedKeys(set); {
		case len(s) > len(best):
			best, from, to = s, cuts[i], cuts[i+1]
		case slices.Equal(s, best) && cuts[i].Equal(to):
			to = cuts[i+1]
		}
	}
	var got []report.Signal
	for _, sg := range signals {
		if sg.Kind == report.SignalSharedProvider {
			got = append(got, sg)
		}
	}
	if len(best) < report.SharedProviderServices {
		if len(got) != 0 {
			errf("shared-provider signal %v, but at most %d services fail at once in the scenario", got[0].Services, len(best))
		}
		return
	}
	if len(got) != 1 || !slices.Equal(got[0].Services, best) || !got[0].Start.Equal(from) || !got[0].End.Equal(to) {
		errf("shared-provider signals %+v, want one for %v %s–%s Paris", got, best, hm(from), hm(to))
	}
}

// sameSet says whether a holds the strings of sorted, in any order.
func sameSet(a, sorted []string) bool {
	a = slices.Clone(a)
	sort.Strings(a)
	return slices.Equal(a, sorted)
}

func byServiceSet(truth []simulate.TruthIncident) map[string]bool {
	m := map[string]bool{}
	for _, tr := range truth {
		m[tr.Service] = true
	}
	return m
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// section is the text under a Markdown "## heading", up to the next one.
func section(md, heading string) string {
	_, rest, ok := strings.Cut(md, "\n## "+heading+"\n")
	if !ok {
		return ""
	}
	if i := strings.Index(rest, "\n## "); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// bullets are the "- " lines of a Markdown text.
func bullets(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "- ") {
			out = append(out, l)
		}
	}
	return out
}

func countNaming(lines []string, s string) int {
	n := 0
	for _, l := range lines {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// shown is how the report names a service: its catalogue name and
// operator, else its id.
func shown(r *report.Report, svc string) string {
	for _, e := range r.Catalogue {
		if e.ID == svc {
			return e.Name + " (" + e.Operator + ")"
		}
	}
	return svc
}

// checkHeadline checks the report's first numbers against the scenario:
// regions hit per platform, wall-clock time in incident per platform and
// in all (the union of the scripted periods, never their sum), and people
// by role estimated for the whole population with the method stated in
// the (French) Markdown md.
func checkHeadline(r *report.Report, md string, now simulate.Scenario) []string {
	var bad []string
	errf := func(format string, a ...any) { bad = append(bad, fmt.Sprintf(format, a...)) }
	union := func(keep func(simulate.TruthIncident) bool) (int, []string) {
		var ivs [][2]time.Time
		regions := map[string]bool{}
		for _, tr := range now.Truth() {
			if keep(tr) {
				ivs = append(ivs, [2]time.Time{tr.Start, tr.End})
				regions[tr.Region] = true
			}
		}
		sort.Slice(ivs, func(i, j int) bool { return ivs[i][0].Before(ivs[j][0]) })
		total, end := 0, time.Time{}
		for _, iv := range ivs {
			if iv[0].After(end) {
				total += minutes(iv[0], iv[1])
				end = iv[1]
			} else if iv[1].After(end) {
				total += minutes(end, iv[1])
				end = iv[1]
			}
		}
		return total, sortedKeys(regions)
	}
	for _, ph := range r.Headline.Platforms {
		wall, regions := union(func(tr simulate.TruthIncident) bool { return tr.Platform == ph.Platform })
		if ph.WallMinutes != wall || !sameSet(ph.Regions, regions) {
			errf("headline %s: %d min in %d regions, the scenario says %d min in %d regions", ph.Platform, ph.WallMinutes, len(ph.Regions), wall, len(regions))
		}
	}
	if wall, _ := union(func(simulate.TruthIncident) bool { return true }); r.Headline.WallMinutes != wall || len(r.Headline.Platforms) != 2 {
		errf("headline: %d min in incident over %d platforms, the scenario says %d min over 2", r.Headline.WallMinutes, len(r.Headline.Platforms), wall)
	}
	e := r.Estimate
	if !e.Available || !e.Sampled || e.Total.Failed == 0 {
		errf("estimate: available %v, sampled %v, %d people seen failing; want sampled people", e.Available, e.Sampled, e.Total.Failed)
		return bad
	}
	// Each simulated user stands for pupils/users of its region: between
	// 1 and PupilsPerUser people (small regions have at least 40 users).
	if ratio := e.Total.EstFailed / float64(e.Total.Failed); ratio < 100 || ratio > simulate.PupilsPerUser+1 {
		errf("estimate: %.0f people for %d seen, %.0f each; want each simulated user to stand for up to %d", e.Total.EstFailed, e.Total.Failed, ratio, simulate.PupilsPerUser)
	}
	roles := map[string]bool{}
	for _, p := range e.ByRole {
		if p.Failed > 0 {
			roles[p.Role] = true
		}
	}
	if !roles["student"] || !roles["teacher"] || !roles["parent"] {
		errf("estimate: roles affected %v, want pupils, teachers and parents", sortedKeys(roles))
	}
	for _, want := range []string{"Méthode : les émetteurs n'envoient qu'une partie des usagers", "élèves", "enseignants", "parents",
		"estimation pour l'ensemble des usagers"} {
		if !strings.Contains(md, want) {
			errf("the French report does not say %q", want)
		}
	}
	return bad
}
