package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/vigie-fr/vigie/dashboards/incident"
)

// maxHourColumns is the widest region × hour table; longer ranges get one
// column per day so the table stays readable.
const maxHourColumns = 36

// paris is where the readers are; every time in the Markdown is local.
var paris = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil { // cannot happen with time/tzdata linked in
		return time.UTC
	}
	return loc
}()

// WriteJSON writes the report as indented JSON, times in UTC.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteMarkdown writes the report for people, times in Europe/Paris.
func (r *Report) WriteMarkdown(w io.Writer) error {
	b := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	from, to := r.From.In(paris), r.To.In(paris)
	p("# Lessons learned: %s to %s (Paris time)\n\n", from.Format("2006-01-02 15:04"), to.Format("2006-01-02 15:04"))
	p("Range in UTC: %s to %s. ", r.From.Format(time.RFC3339), r.To.Format(time.RFC3339))
	o := r.Objective
	p("A service is **in incident** when, for at least %d minutes with %d or more attempts a minute, "+
		"its availability falls below %s or its 95th-percentile response time exceeds %s "+
		"(bad minutes separated by at most %d good or quiet minutes count as one incident).\n\n",
		o.MinMinutes, o.MinEvents, pct(o.AvailabilityTarget), ms(o.P95ThresholdMS), o.MergeGapMinutes)

	r.writeSummary(p)
	r.writeGroups(p)
	r.writeTimeline(p)
	r.writeSignals(p)
	for _, g := range r.Grids {
		r.writeGrid(p, g)
	}
	p("## Definitions\n\n")
	p("- **Availability** = successful attempts / (successful + errors + timeouts + quota refusals). " +
		"Attempts sent to a waiting room are not counted as failures.\n")
	p("- **Users affected** = distinct pseudonymous users who saw at least one error, timeout or quota refusal during the incident; " +
		"a user failing for an hour counts once (HyperLogLog estimate, about 1 %% error on large counts).\n")
	p("- **p95** = the response time that 95 %% of measured answers beat (1 %% relative error).\n")
	p("- Regions are those of the users (INSEE codes in brackets); a national service is counted in each region it failed in.\n")
	return b.Flush()
}

type printf func(format string, a ...any)

func (r *Report) writeSummary(p printf) {
	s := r.Summary
	p("## Summary\n\n")
	if s.Incidents == 0 {
		p("No incident: every service met its objective over the range.\n\n")
		return
	}
	p("- **%s** on **%s** in **%s**, **%s** in incident in total.\n",
		plural(s.Incidents, "incident"), plural(len(s.Services), "service"), plural(len(s.Regions), "region"), duration(s.IncidentMinutes))
	p("- **%s users** saw at least one failure; %s of %s attempts failed during the incidents (%s).\n",
		count(s.UsersAffected), count(s.Failed), count(s.Events), pct(ratio(s.Failed, s.Events)))
	p("- Services: %s.\n", strings.Join(s.Services, ", "))
	names := make([]string, len(s.Regions))
	for i, c := range s.Regions {
		names[i] = RegionName(c)
	}
	p("- Regions: %s.\n", strings.Join(names, ", "))
	if len(r.Signals) > 0 {
		kinds := []string{}
		seen := map[string]bool{}
		for _, sg := range r.Signals {
			if !seen[sg.Kind] {
				seen[sg.Kind] = true
				kinds = append(kinds, sg.Label)
			}
		}
		p("- What the data points to: %s (see Cause signals).\n", strings.Join(kinds, "; "))
	}
	p("\n")
}

func (r *Report) writeGroups(p printf) {
	if len(r.Groups) == 0 {
		return
	}
	p("## Impact by service\n\n")
	p("Incidents of one service that overlap in time are one failure seen from several regions.\n\n")
	p("| Service | Platform | When (Paris) | Regions | Worst availability | Worst p95 | Failed / attempts | Users affected |\n")
	p("|---|---|---|---|---:|---:|---:|---:|\n")
	for _, g := range r.Groups {
		p("| %s | %s | %s | %s | %s | %s | %s / %s | %s |\n", g.Service, strings.ToUpper(g.Platform),
			period(g.Start, g.End), r.regionList(g.Platform, g.Regions), pct(g.WorstAvailability), ms(g.WorstP95MS),
			count(g.Failed), count(g.Events), count(g.UsersAffected))
	}
	p("\n")
}

// regionList names regions, or says "all regions" when every region of the
// platform that had traffic is in the list.
func (r *Report) regionList(platform string, regions []string) string {
	for _, g := range r.Grids {
		if g.Platform == platform && len(regions) > 1 && len(regions) == len(g.Regions) {
			return fmt.Sprintf("all regions with traffic (%d)", len(regions))
		}
	}
	names := make([]string, len(regions))
	for i, c := range regions {
		names[i] = RegionName(c)
	}
	return strings.Join(names, ", ")
}

func (r *Report) writeTimeline(p printf) {
	if len(r.Incidents) == 0 {
		return
	}
	p("## Timeline\n\n")
	p("| # | Start (Paris) | End (Paris) | Duration | Service | Region | Objective broken | Worst availability | Worst p95 | Failed / attempts | Users affected |\n")
	p("|---:|---|---|---:|---|---|---|---:|---:|---:|---:|\n")
	for i, in := range r.Incidents {
		p("| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s | %s |\n", i+1,
			in.Start.In(paris).Format("2006-01-02 15:04"), endTime(in.Start, in.End), duration(in.Minutes),
			in.Service, regionLabel(in.Region), reasonText(in.Reason), pct(in.WorstAvailability), ms(in.WorstP95MS),
			count(in.Failed), count(in.Events), count(in.UsersAffected))
	}
	p("\n")
}

func (r *Report) writeSignals(p printf) {
	if len(r.Incidents) == 0 {
		return
	}
	p("## Cause signals\n\n")
	if len(r.Signals) == 0 {
		p("No cause signal crossed its threshold.\n\n")
	}
	for _, s := range r.Signals {
		when := period(s.Start, s.End)
		switch s.Kind {
		case SignalSaturation:
			p("- **%s**: %s, %s, %s: %s of attempts were refused by a quota or sent to a waiting room.\n",
				s.Label, s.Service, r.regionList(s.Platform, s.Regions), when, pct(s.Value))
		case SignalAttack:
			p("- **%s**: %s, %s, %s: %.1f attempts per active user a minute, %.1f× the platform's normal %.1f.\n",
				s.Label, s.Service, r.regionList(s.Platform, s.Regions), when, s.Value, s.Value/s.Baseline, s.Baseline)
		case SignalSharedProvider:
			p("- **%s**: %d services in incident at the same time, %s: %s. "+
				"A common surge of demand looks the same: check whether they share a host or network before concluding.\n",
				s.Label, int(s.Value), when, strings.Join(s.Services, ", "))
		}
	}
	p("\nThese are patterns in the data, not proven causes. Thresholds: saturation when %s or more of the attempts "+
		"were refused or queued; attack-like when attempts per active user reach %.0f× the platform's rate outside incidents; "+
		"shared provider when %d or more distinct services are in incident at once.\n\n",
		pct(SaturationShare), AttackRatio, SharedProviderServices)
}

// writeGrid writes one platform's availability table, rows = regions.
func (r *Report) writeGrid(p printf, g *Grid) {
	p("## Availability by region and hour: %s\n\n", strings.ToUpper(g.Platform))
	if len(g.Cells) == 0 {
		p("No %s traffic in the range.\n\n", strings.ToUpper(g.Platform))
		return
	}
	// Columns are the buckets with data, or Paris days for long ranges.
	colOf := func(t time.Time) time.Time { return t }
	label := func(t time.Time) string { return t.In(paris).Format("15h") }
	if r.From.In(paris).YearDay() != r.To.Add(-time.Nanosecond).In(paris).YearDay() {
		label = func(t time.Time) string { return t.In(paris).Format("02/01 15h") }
	}
	cols := distinctBuckets(g.Cells, colOf)
	if len(cols) > maxHourColumns {
		colOf = func(t time.Time) time.Time {
			l := t.In(paris)
			return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, paris)
		}
		label = func(t time.Time) string { return t.In(paris).Format("02/01") }
		cols = distinctBuckets(g.Cells, colOf)
		p("One column per day (Paris); ")
	} else {
		p("One column per hour (Paris); ")
	}
	p("availability in %%, **bold** below the %s target, · where there was no attempt.\n\n", pct(r.Objective.AvailabilityTarget))
	type sums struct{ ok, failed uint64 }
	cell := map[string]map[time.Time]*sums{}
	for _, c := range g.Cells {
		if cell[c.Region] == nil {
			cell[c.Region] = map[time.Time]*sums{}
		}
		k := colOf(c.Bucket)
		if cell[c.Region][k] == nil {
			cell[c.Region][k] = &sums{}
		}
		cell[c.Region][k].ok += c.OK
		cell[c.Region][k].failed += c.Failed
	}
	p("| Region |")
	for _, c := range cols {
		p(" %s |", label(c))
	}
	p("\n|---|%s\n", strings.Repeat("---:|", len(cols)))
	for _, region := range g.Regions {
		p("| %s |", regionLabel(region))
		for _, c := range cols {
			s := cell[region][c]
			if s == nil || s.ok+s.failed == 0 {
				p(" · |")
				continue
			}
			a := ratio(s.ok, s.ok+s.failed)
			v := num1(a * 100)
			if a < r.Objective.AvailabilityTarget {
				v = "**" + v + "**"
			}
			p(" %s |", v)
		}
		p("\n")
	}
	p("\n")
}

func distinctBuckets(cells []Cell, colOf func(time.Time) time.Time) []time.Time {
	seen := map[time.Time]bool{}
	var out []time.Time
	for _, c := range cells {
		k := colOf(c.Bucket)
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

func regionLabel(code string) string {
	if n := RegionName(code); n != code {
		return fmt.Sprintf("%s (%s)", n, code)
	}
	return code
}

func reasonText(reason string) string {
	switch reason {
	case incident.ReasonAvailability:
		return "availability"
	case incident.ReasonLatency:
		return "response time"
	case incident.ReasonBoth:
		return "availability and response time"
	}
	return reason
}

// period shows [start, end) in Paris, the date once when it is one day.
func period(start, end time.Time) string {
	s, e := start.In(paris), end.In(paris)
	if s.YearDay() == e.Add(-time.Nanosecond).YearDay() && s.Year() == e.Year() {
		return fmt.Sprintf("%s %s–%s", s.Format("2006-01-02"), s.Format("15:04"), e.Format("15:04"))
	}
	return fmt.Sprintf("%s – %s", s.Format("2006-01-02 15:04"), e.Format("2006-01-02 15:04"))
}

// endTime shows end in Paris, without its date when start has the same one.
func endTime(start, end time.Time) string {
	s, e := start.In(paris), end.In(paris)
	if s.Format(time.DateOnly) == e.Format(time.DateOnly) {
		return e.Format("15:04")
	}
	return e.Format("2006-01-02 15:04")
}

// duration shows minutes as "45 min" or "2 h 05 min".
func duration(minutes int) string {
	if minutes < 60 {
		return fmt.Sprintf("%d min", minutes)
	}
	return fmt.Sprintf("%d h %02d min", minutes/60, minutes%60)
}

// num1 shows a percentage rounded down to 0.1, so 99.96 is never shown as
// 100.0 (which would hide a failure).
func num1(v float64) string {
	return fmt.Sprintf("%.1f", math.Floor(v*10+1e-9)/10)
}

func pct(a float64) string { return num1(a*100) + " %" }

func ms(v float64) string { return count(uint64(math.Round(v))) + " ms" }

// count groups digits by three with spaces (12 400 000), readable in
// French and English alike.
func count(n uint64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func ratio(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
