package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/vigie-fr/vigie/dashboards/incident"
)

// The report's text is written once, as a list of blocks in reading order,
// and rendered as Markdown or HTML. Text is inline Markdown limited to
// **bold**, which both renderers understand.
type block struct {
	heading string   // a section title
	para    string   // a paragraph
	items   []string // a bullet list
	table   *table
	grid    *Grid // region × hour availability: a table in Markdown, a heatmap in HTML
	chart   string
	cover   bool // also printed on the cover (print layout: cover.go)
}

// Charts only the HTML page draws.
const (
	chartKPIs     = "kpis"
	chartTimeline = "timeline"
)

type table struct {
	head  []string
	right []bool // right-aligned (numeric) columns
	rows  [][]string
}

func (r *Report) blocks() []block {
	var out []block
	add := func(b ...block) { out = append(out, b...) }
	o := r.Objective
	add(block{para: fmt.Sprintf("Range in UTC: %s to %s. ", r.From.Format(time.RFC3339), r.To.Format(time.RFC3339)) +
		fmt.Sprintf("A service is **in incident** when the data show, beyond reasonable doubt (%s confidence), that it misses its objective "+
			"(by default availability %s, %s response time %s) or that it fell silent while it usually carries traffic; "+
			"the rule is under Definitions.", pct(o.Confidence), pct(o.AvailabilityTarget), quantileName(o.LatencyQuantile), ms(o.P95ThresholdMS))})
	add(r.summaryBlocks()...)
	add(r.groupBlocks()...)
	add(r.timelineBlocks()...)
	add(r.detectionBlocks()...)
	add(r.regionBlocks()...)
	add(r.signalBlocks()...)
	add(r.comparisonBlocks()...)
	add(r.capacityBlocks()...)
	for _, g := range r.Grids {
		add(block{heading: "Availability by region and hour: " + text(strings.ToUpper(g.Platform))}, block{grid: g})
	}
	add(block{heading: "Definitions"}, block{cover: true, items: []string{
		"**Availability** = successful attempts / (successful + errors + timeouts + quota refusals). " +
			"Attempts sent to a waiting room are not counted as failures.",
		"**Users affected** = distinct pseudonymous users who saw at least one error, timeout or quota refusal during the incident; " +
			"a user failing for an hour counts once (HyperLogLog estimate, about 1 % error on large counts).",
		"**p95** = the response time that 95 % of measured answers beat (1 % relative error).",
		"Regions are those of the users (INSEE codes in brackets); a national service is counted in each region it failed in.",
	}})
	add(block{heading: "How incidents are found"}, block{items: RuleText(o)})
	add(r.objectiveBlocks()...)
	return out
}

// regionBlocks answer "how long, and where": time in incident per region.
func (r *Report) regionBlocks() []block {
	if len(r.ByRegion) == 0 {
		return nil
	}
	t := &table{head: []string{"Region", "ENT in incident", "CNED in incident", "Either in incident", "Incidents"},
		right: []bool{false, true, true, true, true}}
	for _, rt := range r.ByRegion {
		t.rows = append(t.rows, []string{regionLabel(rt.Region), minutesOrDash(rt.ENTMinutes),
			minutesOrDash(rt.CNEDMinutes), duration(rt.EitherMinutes), fmt.Sprint(rt.Incidents)})
	}
	return []block{{heading: "Time in incident by region"},
		{para: "How long pupils of each region had their ENT, the CNED, or either of them in incident (overlapping incidents count once)."},
		{table: t}}
}

func minutesOrDash(minutes int) string {
	if minutes == 0 {
		return "—"
	}
	return duration(minutes)
}

// title is the report's first heading.
func (r *Report) title() string {
	return fmt.Sprintf("Lessons learned: %s to %s (Paris time)", r.From.In(paris).Format("2006-01-02 15:04"), r.To.In(paris).Format("2006-01-02 15:04"))
}

func (r *Report) summaryBlocks() []block {
	s := r.Summary
	head := block{heading: "Summary"}
	if s.Incidents == 0 {
		return []block{head, {para: "No incident: every service met its objective over the range."}}
	}
	names := make([]string, len(s.Regions))
	for i, c := range s.Regions {
		names[i] = RegionName(c)
	}
	items := []string{
		fmt.Sprintf("**%s** on **%s** in **%s**, **%s** in incident in total.",
			plural(s.Incidents, "incident"), plural(len(s.Services), "service"), plural(len(s.Regions), "region"), duration(s.IncidentMinutes)),
		fmt.Sprintf("**%s users** saw at least one failure; %s of %s attempts failed during the incidents (%s).",
			count(s.UsersAffected), count(s.Failed), count(s.Events), pct(ratio(s.Failed, s.Events))),
		fmt.Sprintf("Services: %s.", texts(s.Services)),
		fmt.Sprintf("Regions: %s.", texts(names)),
	}
	if len(r.Signals) > 0 {
		kinds := []string{}
		seen := map[string]bool{}
		for _, sg := range r.Signals {
			if !seen[sg.Kind] {
				seen[sg.Kind] = true
				kinds = append(kinds, sg.Label)
			}
		}
		items = append(items, fmt.Sprintf("What the data points to: %s (see Cause signals).", strings.Join(kinds, "; ")))
	}
	if line := r.repeatSummary(); line != "" {
		items = append(items, line)
	}
	return []block{head, {chart: chartKPIs}, {items: items}}
}

// repeatSummary says how many of the failing pairs had failed before.
func (r *Report) repeatSummary() string {
	if r.Comparison == nil {
		return ""
	}
	now := map[[2]string]bool{}
	for _, in := range r.Incidents {
		now[[2]string{in.Service, in.Region}] = true
	}
	again := map[[2]string]bool{}
	var dates []string
	for _, d := range r.Comparison.Days {
		if len(d.Repeated) == 0 {
			continue
		}
		dates = append(dates, longDate(d.Date))
		for _, rp := range d.Repeated {
			again[[2]string{rp.Service, rp.Region}] = true
		}
	}
	if len(again) == 0 {
		return ""
	}
	return fmt.Sprintf("**Not the first time**: %d of the %d service–region pairs in incident had already failed on %s (see Comparison with earlier incidents).",
		len(again), len(now), joinAnd(dates))
}

func (r *Report) groupBlocks() []block {
	if len(r.Groups) == 0 {
		return nil
	}
	t := &table{head: []string{"Service", "Platform", "When (Paris)", "Regions", "Worst availability", "Worst p95", "Failed / attempts", "Users affected"},
		right: []bool{false, false, false, false, true, true, true, true}}
	for _, g := range r.Groups {
		t.rows = append(t.rows, []string{text(g.Service), text(strings.ToUpper(g.Platform)), period(g.Start, g.End), r.regionList(g.Platform, g.Regions),
			pct(g.WorstAvailability), ms(g.WorstP95MS), count(g.Failed) + " / " + count(g.Events), count(g.UsersAffected)})
	}
	return []block{{heading: "Impact by service"},
		{para: "Incidents of one service that overlap in time are one failure seen from several regions."}, {table: t}}
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
	return texts(names)
}

func (r *Report) timelineBlocks() []block {
	if len(r.Incidents) == 0 {
		return nil
	}
	t := &table{head: []string{"#", "Start (Paris)", "End (Paris)", "Duration", "Service", "Region", "Objective broken",
		"Worst availability", "Worst p95", "Failed / attempts", "Users affected"},
		right: []bool{true, false, false, true, false, false, false, true, true, true, true}}
	for i, in := range r.Incidents {
		t.rows = append(t.rows, []string{fmt.Sprint(i + 1), in.Start.In(paris).Format("2006-01-02 15:04"), endTime(in.Start, in.End),
			duration(in.Minutes), text(in.Service), regionLabel(in.Region), reasonText(in.Reason), pct(in.WorstAvailability), ms(in.WorstP95MS),
			count(in.Failed) + " / " + count(in.Events), count(in.UsersAffected)})
	}
	return []block{{heading: "Timeline"}, {chart: chartTimeline}, {table: t}}
}

func (r *Report) signalBlocks() []block {
	if len(r.Incidents) == 0 {
		return nil
	}
	out := []block{{heading: "Cause signals"}}
	if len(r.Signals) == 0 {
		out = append(out, block{para: "No cause signal crossed its threshold."})
	}
	var items []string
	for _, s := range r.Signals {
		when := period(s.Start, s.End)
		switch s.Kind {
		case SignalSaturation:
			items = append(items, fmt.Sprintf("**%s**: %s, %s, %s: %s of attempts were refused by a quota or sent to a waiting room.",
				s.Label, text(s.Service), r.regionList(s.Platform, s.Regions), when, pct(s.Value)))
		case SignalAttack:
			items = append(items, fmt.Sprintf("**%s**: %s, %s, %s: %.1f attempts per active user a minute, %.1f× the platform's normal %.1f.",
				s.Label, text(s.Service), r.regionList(s.Platform, s.Regions), when, s.Value, s.Value/s.Baseline, s.Baseline))
		case SignalAnonymous:
			items = append(items, fmt.Sprintf("**%s**: %s, %s, %s: %s of the attempts carried no user session (%s outside the incident), from %d distinct networks.",
				s.Label, text(s.Service), r.regionList(s.Platform, s.Regions), when, pct(s.Value), pct(s.Baseline), s.Sources))
		case SignalSharedProvider:
			items = append(items, fmt.Sprintf("**%s**: %d services in incident at the same time, %s: %s. "+
				"A common surge of demand looks the same: check whether they share a host or network before concluding.",
				s.Label, int(s.Value), when, texts(s.Services)))
		}
	}
	if len(items) > 0 {
		out = append(out, block{items: items})
	}
	return append(out, block{para: fmt.Sprintf("These are patterns in the data, not proven causes. Thresholds: saturation when %s or more of the attempts "+
		"were refused or queued; attack-like when attempts per active user reach %.0f× the platform's rate outside incidents, "+
		"or when %s or more of the attempts carry no user session and at least %.0f× the service's share outside incidents (raw events, kept 90 days); "+
		"shared provider when %d or more distinct services are in incident at once.",
		pct(SaturationShare), AttackRatio, pct(AnonymousShare), AnonymousRatio, SharedProviderServices)})
}

func (r *Report) comparisonBlocks() []block {
	c := r.Comparison
	if c == nil {
		return nil
	}
	out := []block{{heading: "Comparison with earlier incidents"}}
	since := fmt.Sprintf("the %d days before the range (since %s)", LookbackDays, c.From.In(paris).Format(time.DateOnly))
	switch {
	case c.DaysWithData == 0:
		return append(out, block{para: "No earlier data: the warehouse holds nothing from " + since + ", so there is nothing to compare with."})
	case len(c.Days) == 0:
		return append(out, block{para: fmt.Sprintf("No earlier incident: the warehouse holds %s of data from %s, and none had an incident.",
			plural(c.DaysWithData, "day"), since)})
	}
	out = append(out, block{para: fmt.Sprintf("Searched %s: %s of data, %s with an hour below the objective, %d examined for incidents. "+
		"The last column lists the service–region pairs that failed then and fail again in this range.",
		since, plural(c.DaysWithData, "day"), plural(c.CandidateDays, "day"), c.ExaminedDays)})
	t := &table{head: []string{"Date (Paris)", "Days before", "Incidents", "Services", "Regions", "Time in incident", "Worst availability", "Worst p95", "Users affected", "Failed again now"},
		right: []bool{false, true, true, false, false, true, true, true, true, false}}
	var sentences []string
	for _, d := range c.Days {
		date := d.Date
		if d.Grain == ComparedByHour {
			date += " (by hour)"
		}
		var again []string
		for _, rps := range repeatsByService(d.Repeated) {
			if len(rps) >= manyRegions {
				again = append(again, fmt.Sprintf("%s in %d regions", text(rps[0].Service), len(rps)))
				sentences = append(sentences, repeatManySentence(d, rps))
				continue
			}
			for _, rp := range rps {
				again = append(again, fmt.Sprintf("%s in %s", text(rp.Service), text(RegionName(rp.Region))))
				sentences = append(sentences, repeatSentence(d, rp))
			}
		}
		t.rows = append(t.rows, []string{date, fmt.Sprint(d.DaysBefore), fmt.Sprint(d.Incidents), texts(d.Services),
			regionNames(d.Regions), duration(d.IncidentMinutes), pct(d.WorstAvailability), ms(d.WorstP95MS), count(d.UsersAffected),
			orNone(strings.Join(again, ", "))})
	}
	s := r.Summary
	worst, worstP95 := 1.0, 0.0
	for _, in := range r.Incidents {
		worst, worstP95 = min(worst, in.WorstAvailability), max(worstP95, in.WorstP95MS)
	}
	t.rows = append(t.rows, []string{"**this range**", "0", fmt.Sprint(s.Incidents), texts(s.Services), regionNames(s.Regions),
		duration(s.IncidentMinutes), pct(worst), ms(worstP95), count(s.UsersAffected), "—"})
	out = append(out, block{table: t})
	if len(sentences) > 0 {
		out = append(out, block{items: sentences})
	}
	if c.ExaminedDays < c.CandidateDays {
		out = append(out, block{para: fmt.Sprintf("%s with an hour below the objective were not examined (only the %d with the most such hours are).",
			plural(c.CandidateDays-c.ExaminedDays, "other day"), MaxEarlierDays)})
	}
	return out
}

// manyRegions is from how many regions a service's repeats are told as one
// sentence (a national service such as the CNED fails in every region).
const manyRegions = 4

// repeatsByService groups repeats by service, in first-seen order.
func repeatsByService(rps []Repeat) [][]Repeat {
	var out [][]Repeat
	at := map[string]int{}
	for _, rp := range rps {
		i, ok := at[rp.Service]
		if !ok {
			i = len(out)
			at[rp.Service] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], rp)
	}
	return out
}

// repeatManySentence tells one service failing again in many regions.
func repeatManySentence(d EarlierDay, rps []Repeat) string {
	then, now := 0, 0
	for _, rp := range rps {
		then, now = max(then, rp.ThenMinutes), max(now, rp.NowMinutes)
	}
	rp := rps[0]
	return fmt.Sprintf("The %s (%s) failed in %d regions on %s (up to %s) and again in the same %d regions on %s (up to %s).",
		text(strings.ToUpper(rp.Platform)), text(rp.Service), len(rps), longDate(d.Date), duration(then),
		len(rps), rp.NowStart.In(paris).Format("2 January 2006"), duration(now))
}

// repeatSentence says plainly that the same pair failed then and now.
func repeatSentence(d EarlierDay, rp Repeat) string {
	who := fmt.Sprintf("%s's %s (%s)", text(RegionName(rp.Region)), text(strings.ToUpper(rp.Platform)), text(rp.Service))
	if rp.Platform != "ent" {
		who = fmt.Sprintf("The %s (%s) in %s", text(strings.ToUpper(rp.Platform)), text(rp.Service), text(RegionName(rp.Region)))
	}
	return fmt.Sprintf("%s failed on %s for %s and again on %s for %s.", who, longDate(d.Date), duration(rp.ThenMinutes),
		rp.NowStart.In(paris).Format("2 January 2006"), duration(rp.NowMinutes))
}

func (r *Report) capacityBlocks() []block {
	if len(r.Capacity) == 0 {
		return nil
	}
	t := &table{head: []string{"Service", "When (Paris)", "Regions", "Peak attempts / min", "Peak minute", "Served then / min",
		"Median served / min", "Users at peak", "Capacity needed"},
		right: []bool{false, false, false, true, false, true, true, true, true}}
	var items []string
	for _, c := range r.Capacity {
		factor := "nothing served"
		if c.Factor > 0 {
			factor = fmt.Sprintf("≈ %.1f×", c.Factor)
		}
		t.rows = append(t.rows, []string{text(c.Service), period(c.Start, c.End), r.regionList(c.Platform, c.Regions), count(c.PeakAttempts),
			c.PeakAt.In(paris).Format("15:04"), count(c.ServedAtPeak), count(uint64(c.MedianServed + 0.5)), count(c.UsersAtPeak), factor})
		if c.Factor > 0 {
			items = append(items, fmt.Sprintf("**%s** would have needed **≈ %.1f× the capacity it served**: %s attempts in its busiest minute "+
				"(%s, from %s users) against a median of %s successful attempts a minute.",
				text(c.Service), c.Factor, count(c.PeakAttempts), c.PeakAt.In(paris).Format("15:04"), count(c.UsersAtPeak), count(uint64(c.MedianServed+0.5))))
		}
	}
	out := []block{{heading: "Capacity needed"},
		{para: "Per failing service, the busiest minute's attempts (all its regions in incident together) against the median number of " +
			"successful attempts a minute during the incident. Attempts include retries and waiting-room entries, so the factor is an " +
			"upper bound; for a service under attack-like traffic it includes the attack."},
		{table: t}}
	if len(items) > 0 {
		out = append(out, block{items: items})
	}
	return out
}

func regionNames(codes []string) string {
	names := make([]string, len(codes))
	for i, c := range codes {
		names[i] = RegionName(c)
	}
	return texts(names)
}

// longDate shows a YYYY-MM-DD date as "16 March 2020".
func longDate(date string) string {
	t, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return date
	}
	return t.Format("2 January 2006")
}

func joinAnd(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// RuleText is the detection rule in plain words, with the parameters the
// report applied: the report's definitions and docs/detection.md (whose
// test compares them) say it the same way.
func RuleText(o Objective) []string {
	out := []string{
		fmt.Sprintf("Each minute of each service and region is judged on the minutes just before it: the window grows, up to %d minutes, "+
			"until it holds %d attempts. A busy service is thus judged minute by minute and a quiet one over a few minutes; "+
			"a service that cannot gather %d attempts in %d minutes is not judged on its answers.", o.MaxWindowMinutes, o.MinEvents, o.MinEvents, o.MaxWindowMinutes),
		fmt.Sprintf("The window **breaks availability** when even the most favourable availability compatible with its attempts "+
			"(the upper Wilson bound at %s confidence) is below the service's target: a few unlucky errors do not make an incident.", pct(o.Confidence)),
		fmt.Sprintf("It **breaks response time** when, among its measured answers (the window grows to %d of them too), the share slower "+
			"than the service's threshold is, at %s confidence, above what its quantile allows (5 %% for p95): the quantile is above the threshold.",
			o.MinEvents, pct(o.Confidence)),
		fmt.Sprintf("It is **silent** (reason \"no data\") when the service usually carries at least %s events in it "+
			"(the same time on the previous %d days of the same kind, weekdays or weekends, closed hours left out, when at least %d of them had the platform's traffic then, scaled to its own level "+
			"of the last 3 hours; or else the other regions' curve times its usual share), at most %s of them came, and so few are improbable at %s confidence. A platform closed by the calendar is never silent.",
			num(o.SilenceMinExpected), o.HistoryDays, incident.MinHistoryDays, pct(o.SilenceFraction), pct(o.Confidence)),
		fmt.Sprintf("The minutes of such windows are marked; marked stretches at most %d minutes apart are one. "+
			"An incident starts at the first minute that misses the objective on its own and ends one minute after the last, and lasts at least %s.",
			o.MergeGapMinutes, plural(o.MinMinutes, "minute")),
		"**Detected at** is when the rule, run every minute as the data arrived, would have alerted: the end of the first minute whose window broke " +
			"(and not before the incident lasted its minimum). Live alerts add the aggregator's flush and the evaluation period, seconds.",
	}
	if len(o.Closed) > 0 {
		out = append(out, "Closed (Paris time): "+strings.Join(o.Closed, ", ")+".")
	}
	return out
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// quantileName is "p95" for 0.95.
func quantileName(q float64) string { return "p" + num(math.Round(q*1000)/10) }

func (r *Report) objectiveBlocks() []block {
	o := r.Objective
	t := &table{head: []string{"Platform or service", "Availability target", "Response time"}, right: []bool{false, true, true}}
	t.rows = append(t.rows, []string{"default", pct(o.AvailabilityTarget), quantileName(o.LatencyQuantile) + " ≤ " + ms(o.P95ThresholdMS)})
	for _, s := range o.Services {
		t.rows = append(t.rows, []string{text(s.Name), pct(s.AvailabilityTarget), quantileName(s.LatencyQuantile) + " ≤ " + ms(s.LatencyThresholdMS)})
	}
	return []block{{heading: "Objectives"}, {para: "The objective each platform or service is held to (configuration incidents.objectives; the others take the default)."}, {table: t}}
}

// detectionBlocks is the post-mortem's "detection" section: for each
// incident, when it started in the data and when the live rule would have
// alerted.
func (r *Report) detectionBlocks() []block {
	if len(r.Incidents) == 0 {
		return nil
	}
	t := &table{head: []string{"#", "Service", "Region", "Started (Paris)", "Detected at (Paris)", "Time to detect"},
		right: []bool{true, false, false, false, false, true}}
	var total, worst int
	for i, in := range r.Incidents {
		t.rows = append(t.rows, []string{fmt.Sprint(i + 1), text(in.Service), regionLabel(in.Region), in.Start.In(paris).Format("15:04"),
			in.AlertAt.In(paris).Format("15:04"), duration(in.DetectionSeconds / 60)})
		total += in.DetectionSeconds
		worst = max(worst, in.DetectionSeconds)
	}
	return []block{{heading: "Detection"}, {para: fmt.Sprintf("When each incident started in the data and when Vigie, evaluating as the data arrived, "+
		"would have alerted: %s on average, %s at worst.", duration(total/len(r.Incidents)/60), duration(worst/60))}, {table: t}}
}
