package report

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/vigie-fr/vigie/dashboards/incident"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/i18n"
	"github.com/vigie-fr/vigie/internal/store"
)

// The report's text is written once, as a list of blocks in reading order,
// and rendered as Markdown or HTML. Text is inline Markdown limited to
// **bold**, which both renderers understand. Every word comes from the
// report.* messages of internal/i18n, in the report's language; every
// string from data or from people goes through text.
type block struct {
	heading string   // a section title (h2)
	sub     string   // a subsection title (h3)
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

// doc writes a report in one language.
type doc struct {
	r *Report
	p *i18n.Printer
}

func (r *Report) doc() *doc {
	// i18n.For keeps "" as it is (its messages fall back to French, its
	// numbers do not): parse it to the default first.
	l, err := i18n.Parse(string(r.Lang))
	if err != nil {
		l = i18n.Default
	}
	return &doc{r: r, p: i18n.For(l)}
}

func (d *doc) blocks() []block {
	var out []block
	add := func(b ...block) { out = append(out, b...) }
	r, p, o := d.r, d.p, d.r.Objective
	add(block{para: d.status()})
	add(block{para: p.T("report.intro", "From", d.dateTime(r.From), "To", d.dateTime(r.To), "Target", d.share(o.AvailabilityTarget),
		"Quantile", d.share(o.LatencyQuantile), "Threshold", d.ms(o.P95ThresholdMS))})
	add(d.summaryBlocks()...)
	add(d.impactBlocks()...)
	add(d.triggerBlocks()...)
	add(d.detectionBlocks()...)
	add(d.recoveryBlocks()...)
	add(d.timelineBlocks()...)
	add(d.regionBlocks()...)
	add(d.signalBlocks()...)
	add(d.comparisonBlocks()...)
	add(d.capacityBlocks()...)
	add(d.actionBlocks()...)
	add(d.lessonBlocks()...)
	for _, g := range r.Grids {
		add(block{heading: p.T("report.grid.title", "Platform", d.platform(g.Platform))}, block{grid: g})
	}
	add(block{heading: p.T("report.definitions.title")}, block{cover: true, items: []string{
		p.T("report.definitions.availability"),
		p.T("report.definitions.people"),
		p.T("report.definitions.response", "Quantile", d.share(o.LatencyQuantile)),
		p.T("report.definitions.regions"),
		p.T("report.definitions.recovery"),
	}})
	add(block{heading: p.T("report.rule.title")}, block{items: RuleText(p, o)})
	add(d.objectiveBlocks()...)
	add(d.glossaryBlocks()...)
	return out
}

// title is the report's first heading.
func (d *doc) title() string {
	return d.p.T("report.title", "From", d.dateTime(d.r.From), "To", d.dateTime(d.r.To))
}

func (d *doc) status() string {
	n := d.r.Notes
	if n.Status == StatusFinal {
		at := ""
		if n.StatusAt != nil {
			at = d.dateTime(*n.StatusAt)
		}
		return d.p.T("report.status.final", "Author", text(n.StatusBy), "At", at)
	}
	return d.p.T("report.status.draft")
}

// Formats, in the report's language.

// pct shows a ratio rounded down to 0.1 %, so 99.96 % is never shown as
// 100 % (which would hide a failure).
func (d *doc) pct(a float64) string { return d.p.Percent(math.Floor(a*1000+1e-9)/1000, 1) }

// share shows a configured share (a target, a quantile, a confidence) as
// exactly as it was set: "95 %", "99,9 %".
func (d *doc) share(a float64) string {
	v := math.Round(a*100*1000) / 1000
	return d.p.Percent(v/100, decimals(v))
}

// num1 is pct's number without the sign (heatmap cells).
func (d *doc) num1(a float64) string { return d.p.Float(math.Floor(a*1000+1e-9)/10, 1) }

func (d *doc) ms(v float64) string { return d.p.T("report.ms", "N", d.p.Int(int64(math.Round(v)))) }

func (d *doc) count(n uint64) string { return d.p.Int(int64(n)) }

// est shows an estimate, rounded to a readable precision: three
// significant digits above a thousand ("≈" is the caller's).
func (d *doc) est(v float64) string { return d.p.Int(roundEst(v)) }

// roundEst rounds an estimate to three significant digits above a
// thousand: its precision is no better.
func roundEst(v float64) int64 {
	n := int64(math.Round(v))
	if n >= 1000 {
		mag := math.Pow(10, math.Floor(math.Log10(float64(n)))-2)
		n = int64(math.Round(float64(n)/mag) * mag)
	}
	return n
}

func (d *doc) dur(minutes int) string { return d.p.Duration(time.Duration(minutes) * time.Minute) }

func (d *doc) clock(t time.Time) string { return d.p.Clock(t.In(paris)) }

func (d *doc) dateTime(t time.Time) string { return d.p.DateTime(t.In(paris)) }

// regionClock is clock, with the region's own time beside it overseas.
func (d *doc) regionClock(t time.Time, region string) string {
	if loc := localZone(region); loc != nil {
		return d.p.T("report.localtime", "Paris", d.clock(t), "Local", d.p.Clock(t.In(loc)))
	}
	return d.clock(t)
}

// period shows [start, end) in Paris, the date once when it is one day.
func (d *doc) period(start, end time.Time) string {
	s, e := start.In(paris), end.In(paris)
	if s.YearDay() == e.Add(-time.Nanosecond).YearDay() && s.Year() == e.Year() {
		return d.p.T("report.period.day", "Date", d.p.Date(s), "From", d.p.Clock(s), "To", d.p.Clock(e))
	}
	return d.p.T("report.period", "From", d.p.DateTime(s), "To", d.p.DateTime(e))
}

// endTime shows end in Paris, without its date when start has the same one.
func (d *doc) endTime(start, end time.Time) string {
	s, e := start.In(paris), end.In(paris)
	if s.Format(time.DateOnly) == e.Format(time.DateOnly) {
		return d.p.Clock(e)
	}
	return d.p.DateTime(e)
}

func (d *doc) longDate(date string) string {
	t, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return text(date)
	}
	return d.p.Date(t)
}

func (d *doc) platform(p string) string { return text(strings.ToUpper(p)) }

// service names a service: its catalogue name and operator, or its id.
func (d *doc) service(id string) string {
	e, ok := d.entry(id)
	if !ok {
		return text(id)
	}
	if e.Operator == "" {
		return text(e.Name)
	}
	return d.p.T("report.service.named", "Name", text(e.Name), "Operator", text(e.Operator))
}

func (d *doc) services(ids []string) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = d.service(id)
	}
	return strings.Join(out, ", ")
}

func (d *doc) joinAnd(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return d.p.T("report.and", "List", strings.Join(s[:len(s)-1], ", "), "Last", s[len(s)-1])
}

func (d *doc) orNone(s string) string {
	if s == "" {
		return d.p.T("report.none")
	}
	return s
}

func (d *doc) reason(reason string) string {
	switch reason {
	case incident.ReasonAvailability:
		return d.p.T("report.reason.availability")
	case incident.ReasonLatency:
		return d.p.T("report.reason.latency")
	case incident.ReasonBoth:
		return d.p.T("report.reason.both")
	case incident.ReasonNoData:
		return d.p.T("report.reason.nodata")
	}
	return text(reason)
}

// regionList names regions, or says "all regions with traffic" when every
// region of the platform that had traffic is in the list.
func (d *doc) regionList(platform string, regions []string) string {
	for _, g := range d.r.Grids {
		if g.Platform == platform && len(regions) > 1 && len(regions) == len(g.Regions) {
			return d.p.T("report.regions.all", "N", len(regions))
		}
	}
	return regionNames(regions)
}

func (d *doc) signalLabel(kind string) string {
	switch kind {
	case SignalSaturation:
		return d.p.T("report.signal.saturation")
	case SignalAttack:
		return d.p.T("report.signal.attack")
	case SignalSharedProvider:
		return d.p.T("report.signal.shared")
	case SignalAnonymous:
		return d.p.T("report.signal.anonymous")
	}
	return text(kind)
}

func (d *doc) role(role string, n int64) string {
	switch role {
	case "student":
		return d.p.N("report.role.student", n)
	case "teacher":
		return d.p.N("report.role.teacher", n)
	case "parent":
		return d.p.N("report.role.parent", n)
	case "staff":
		return d.p.N("report.role.staff", n)
	}
	return d.p.N("report.role.unknown", n)
}

func (d *doc) roleName(role string) string {
	switch role {
	case "student":
		return d.p.T("report.rolename.student")
	case "teacher":
		return d.p.T("report.rolename.teacher")
	case "parent":
		return d.p.T("report.rolename.parent")
	case "staff":
		return d.p.T("report.rolename.staff")
	}
	return d.p.T("report.rolename.unknown")
}

func (d *doc) summaryBlocks() []block {
	r, p, s := d.r, d.p, d.r.Summary
	head := block{heading: p.T("report.summary.title")}
	if s.Incidents == 0 {
		return []block{head, {para: p.T("report.summary.none")}}
	}
	var items []string
	for _, ph := range r.Headline.Platforms {
		items = append(items, p.T("report.headline.platform", "Platform", d.platform(ph.Platform),
			"Services", p.N("report.n.services", int64(len(ph.Services))), "Regions", p.N("report.n.regions", int64(len(ph.Regions))),
			"Names", d.regionList(ph.Platform, ph.Regions), "Wall", d.dur(ph.WallMinutes), "Period", d.period(ph.Start, ph.End)))
	}
	items = append(items, p.T("report.headline.total", "Wall", d.dur(r.Headline.WallMinutes), "Period", d.period(r.Headline.Start, r.Headline.End)))
	items = append(items, d.peopleHeadline())
	items = append(items, p.T("report.headline.services", "List", d.services(s.Services)))
	if len(r.Signals) > 0 {
		var kinds []string
		seen := map[string]bool{}
		for _, sg := range r.Signals {
			if !seen[sg.Kind] {
				seen[sg.Kind] = true
				kinds = append(kinds, d.signalLabel(sg.Kind))
			}
		}
		items = append(items, p.T("report.headline.signals", "List", strings.Join(kinds, " ; ")))
	}
	if line := d.repeatSummary(); line != "" {
		items = append(items, line)
	}
	return []block{head, {chart: chartKPIs}, {items: items}}
}

// peopleHeadline says how many people were affected, by role.
func (d *doc) peopleHeadline() string {
	e, s, p := d.r.Estimate, d.r.Summary, d.p
	if !e.Available {
		return p.T("report.headline.users", "N", d.count(s.UsersAffected), "Failed", d.count(s.Failed), "Attempts", d.count(s.Events),
			"Share", d.pct(ratio(s.Failed, s.Events)))
	}
	var roles []string
	for _, rp := range e.ByRole {
		if rp.Failed > 0 {
			roles = append(roles, d.role(rp.Role, roundEst(rp.EstFailed)))
		}
	}
	t := e.Total
	id := "report.headline.people.counted"
	if e.Sampled {
		id = "report.headline.people.estimated"
	}
	return p.T(id, "People", d.est(t.EstFailed), "Roles", d.orNone(strings.Join(roles, ", ")), "Failed", d.est(t.EstFailedAttempts),
		"Attempts", d.est(t.EstAttempts), "Share", d.pct(t.EstFailedAttempts/math.Max(t.EstAttempts, 1)))
}

// repeatSummary says how many of the failing pairs had failed before.
func (d *doc) repeatSummary() string {
	r := d.r
	if r.Comparison == nil {
		return ""
	}
	now := map[[2]string]bool{}
	for _, in := range r.Incidents {
		now[[2]string{in.Service, in.Region}] = true
	}
	again := map[[2]string]bool{}
	var dates []string
	for _, day := range r.Comparison.Days {
		if len(day.Repeated) == 0 {
			continue
		}
		dates = append(dates, d.longDate(day.Date))
		for _, rp := range day.Repeated {
			again[[2]string{rp.Service, rp.Region}] = true
		}
	}
	if len(again) == 0 {
		return ""
	}
	return d.p.T("report.headline.repeat", "Again", len(again), "Now", len(now), "Dates", d.joinAnd(dates))
}

func (d *doc) impactBlocks() []block {
	r, p := d.r, d.p
	if len(r.Groups) == 0 {
		return nil
	}
	t := &table{head: []string{p.T("report.col.service"), p.T("report.col.platform"), p.T("report.col.when"), p.T("report.col.regions"),
		p.T("report.col.worst_availability"), p.T("report.col.worst_response"), p.T("report.col.failed_attempts"), p.T("report.col.users_observed")},
		right: []bool{false, false, false, false, true, true, true, true}}
	for _, g := range r.Groups {
		t.rows = append(t.rows, []string{d.service(g.Service), d.platform(g.Platform), d.period(g.Start, g.End), d.regionList(g.Platform, g.Regions),
			d.pct(g.WorstAvailability), d.ms(g.WorstP95MS), d.count(g.Failed) + " / " + d.count(g.Events), d.count(g.UsersAffected)})
	}
	out := []block{{heading: p.T("report.impact.title")}, {para: p.T("report.impact.intro")}, {table: t}}
	return append(out, d.peopleBlocks()...)
}

// peopleBlocks are the impact by role and the estimate's method.
func (d *doc) peopleBlocks() []block {
	e, p := d.r.Estimate, d.p
	out := []block{{sub: p.T("report.people.title")}}
	if !e.Available {
		return append(out, block{para: p.T("report.people.unavailable")})
	}
	t := &table{head: []string{p.T("report.col.role"), p.T("report.col.people_failed"), p.T("report.col.people_active"),
		p.T("report.col.observed"), p.T("report.col.attempts_failed_est")}, right: []bool{false, true, true, true, true}}
	rows := append(append([]store.People{}, e.ByRole...), e.Total)
	for i, rp := range rows {
		name := d.roleName(rp.Role)
		if i == len(rows)-1 {
			name = "**" + p.T("report.people.total") + "**"
		}
		t.rows = append(t.rows, []string{name, d.est(rp.EstFailed), d.est(rp.EstUsers), d.count(rp.Failed) + " / " + d.count(rp.Users),
			d.est(rp.EstFailedAttempts) + " / " + d.est(rp.EstAttempts)})
	}
	method := p.T("report.people.method.counted")
	if e.Sampled {
		method = p.T("report.people.method.sampled", "Sampled", d.count(e.Total.Sampled), "Events", d.count(e.Total.Attempts),
			"Weight", d.est(e.Total.EstAttempts/math.Max(float64(e.Total.Attempts), 1)))
	}
	return append(out, block{table: t}, block{para: method})
}

func (d *doc) triggerBlocks() []block {
	tr, p := d.r.Trigger, d.p
	if tr == nil {
		return nil
	}
	out := []block{{heading: p.T("report.trigger.title")}}
	items := []string{p.T("report.trigger.first", "Service", d.service(tr.Service),
		"Region", regionLabel(tr.Region), "At", d.regionClock(tr.Start, tr.Region), "Reason", d.reason(tr.Reason))}
	switch {
	case tr.Before > 0:
		items = append(items, p.T("report.trigger.demand", "Now", d.count(tr.StartAttempts), "Before", d.p.Float(tr.Before, 0),
			"Ratio", d.p.Float(float64(tr.StartAttempts)/tr.Before, 1)))
	default:
		items = append(items, p.T("report.trigger.nobefore"))
	}
	if len(tr.Signals) > 0 {
		var labels []string
		for _, k := range tr.Signals {
			labels = append(labels, d.signalLabel(k))
		}
		items = append(items, p.T("report.trigger.signals", "List", strings.Join(labels, " ; ")))
	} else {
		items = append(items, p.T("report.trigger.nosignal"))
	}
	return append(out, block{items: items}, block{para: p.T("report.trigger.caveat")})
}

// detectionBlocks is the post-mortem's "detection" section: for each
// incident, when it started in the data and when the live rule would have
// alerted.
func (d *doc) detectionBlocks() []block {
	r, p := d.r, d.p
	if len(r.Incidents) == 0 {
		return nil
	}
	t := &table{head: []string{"#", p.T("report.col.service"), p.T("report.col.region"), p.T("report.col.started"), p.T("report.col.detected"),
		p.T("report.col.time_to_detect")}, right: []bool{true, false, false, false, false, true}}
	var total, worst int
	for i, in := range r.Incidents {
		t.rows = append(t.rows, []string{strconv.Itoa(i + 1), d.service(in.Service), regionLabel(in.Region), d.regionClock(in.Start, in.Region),
			d.regionClock(in.AlertAt, in.Region), d.dur(in.DetectionSeconds / 60)})
		total += in.DetectionSeconds
		worst = max(worst, in.DetectionSeconds)
	}
	return []block{{heading: p.T("report.detection.title")}, {para: p.T("report.detection.intro",
		"Mean", d.dur(total/len(r.Incidents)/60), "Worst", d.dur(worst/60))}, {table: t}}
}

func (d *doc) recoveryBlocks() []block {
	r, p := d.r, d.p
	if len(r.Recovery) == 0 {
		return nil
	}
	t := &table{head: []string{p.T("report.col.service"), p.T("report.col.regions"), p.T("report.col.started"), p.T("report.col.detected"),
		p.T("report.col.worst_minute"), p.T("report.col.mitigated"), p.T("report.col.resolved"), p.T("report.col.time_to_mitigate"),
		p.T("report.col.time_to_resolve")}, right: []bool{false, false, false, false, false, false, false, true, true}}
	for _, rc := range r.Recovery {
		t.rows = append(t.rows, []string{d.service(rc.Service), d.regionList(rc.Platform, rc.Regions), d.clock(rc.Start), d.clock(rc.AlertAt),
			d.clock(rc.WorstAt), d.clock(rc.MitigatedAt), d.endTime(rc.Start, rc.End), d.dur(int(rc.MitigatedAt.Sub(rc.Start) / time.Minute)),
			d.dur(int(rc.End.Sub(rc.Start) / time.Minute))})
	}
	return []block{{heading: p.T("report.recovery.title")}, {para: p.T("report.recovery.intro")}, {table: t}}
}

// timelineEntry is one line of the merged timeline.
type timelineEntry struct {
	at           time.Time
	order        int
	source, what string
}

func (d *doc) timelineBlocks() []block {
	r, p := d.r, d.p
	var events []timelineEntry
	data := p.T("report.timeline.data")
	for _, rc := range r.Recovery {
		who := d.service(rc.Service) + " (" + d.regionList(rc.Platform, rc.Regions) + ")"
		events = append(events,
			timelineEntry{rc.Start, 0, data, p.T("report.timeline.start", "Service", who)},
			timelineEntry{rc.AlertAt, 1, data, p.T("report.timeline.alert", "Service", who)})
		// The worst minute and the mitigation are told when they are moments
		// of their own, not the start or the end again.
		if rc.WorstAt.After(rc.Start) {
			events = append(events, timelineEntry{rc.WorstAt, 2, data, p.T("report.timeline.worst", "Service", who)})
		}
		if rc.MitigatedAt.Before(rc.End) {
			events = append(events, timelineEntry{rc.MitigatedAt, 3, data, p.T("report.timeline.mitigated", "Service", who)})
		}
		events = append(events, timelineEntry{rc.End, 4, data, p.T("report.timeline.end", "Service", who)})
	}
	for _, s := range r.Signals {
		what := d.services(s.Services)
		if s.Service != "" {
			what = d.service(s.Service)
		}
		events = append(events, timelineEntry{s.Start, 5, data, p.T("report.timeline.signal", "Signal", d.signalLabel(s.Kind), "Service", what)})
	}
	for _, a := range r.Notes.Annotations {
		if a.Kind != store.AnnotationEvent && a.Kind != "" {
			continue
		}
		where := ""
		if a.Platform != "" {
			where += d.platform(a.Platform) + " "
		}
		if a.Region != "" {
			where += regionLabel(a.Region) + " "
		}
		events = append(events, timelineEntry{a.At, 6, p.T("report.timeline.person", "Author", text(a.Author)), where + text(a.Text)})
	}
	if len(events) == 0 {
		return nil
	}
	sortTimeline(events)
	t := &table{head: []string{p.T("report.col.time"), p.T("report.col.source"), p.T("report.col.what")}}
	for _, e := range events {
		t.rows = append(t.rows, []string{d.p.DateTime(e.at.In(paris)), e.source, e.what})
	}
	out := []block{{heading: p.T("report.timeline.title")}, {para: p.T("report.timeline.intro")}, {table: t}}
	if len(r.Incidents) == 0 {
		return out
	}
	it := &table{head: []string{"#", p.T("report.col.start"), p.T("report.col.end"), p.T("report.col.duration"), p.T("report.col.service"),
		p.T("report.col.region"), p.T("report.col.objective_broken"), p.T("report.col.worst_availability"), p.T("report.col.worst_response"),
		p.T("report.col.failed_attempts"), p.T("report.col.users_observed")},
		right: []bool{true, false, false, true, false, false, false, true, true, true, true}}
	for i, in := range r.Incidents {
		it.rows = append(it.rows, []string{strconv.Itoa(i + 1), d.p.Date(in.Start.In(paris)) + " " + d.regionClock(in.Start, in.Region),
			d.regionEnd(in), d.dur(in.Minutes), d.service(in.Service), regionLabel(in.Region), d.reason(in.Reason), d.pct(in.WorstAvailability),
			d.ms(in.WorstP95MS), d.count(in.Failed) + " / " + d.count(in.Events), d.count(in.UsersAffected)})
	}
	return append(out, block{sub: p.T("report.incidents.title")}, block{chart: chartTimeline}, block{table: it})
}

// regionEnd is endTime with the region's own time beside it overseas.
func (d *doc) regionEnd(in incident.Incident) string {
	if localZone(in.Region) == nil {
		return d.endTime(in.Start, in.End)
	}
	s, e := in.Start.In(paris), in.End.In(paris)
	if s.Format(time.DateOnly) == e.Format(time.DateOnly) {
		return d.regionClock(in.End, in.Region)
	}
	return d.p.Date(e) + " " + d.regionClock(in.End, in.Region)
}

func sortTimeline(es []timelineEntry) {
	for i := 1; i < len(es); i++ {
		for j := i; j > 0; j-- {
			a, b := es[j-1], es[j]
			if a.at.Before(b.at) || a.at.Equal(b.at) && a.order <= b.order {
				break
			}
			es[j-1], es[j] = b, a
		}
	}
}

// regionBlocks answer "how long, and where": time in incident per region.
func (d *doc) regionBlocks() []block {
	r, p := d.r, d.p
	if len(r.ByRegion) == 0 {
		return nil
	}
	t := &table{head: []string{p.T("report.col.region"), p.T("report.col.ent_time"), p.T("report.col.cned_time"), p.T("report.col.either_time"),
		p.T("report.col.incidents")}, right: []bool{false, true, true, true, true}}
	for _, rt := range r.ByRegion {
		t.rows = append(t.rows, []string{regionLabel(rt.Region), d.minutesOrDash(rt.ENTMinutes), d.minutesOrDash(rt.CNEDMinutes),
			d.dur(rt.EitherMinutes), strconv.Itoa(rt.Incidents)})
	}
	return []block{{heading: p.T("report.regions.title")}, {para: p.T("report.regions.intro")}, {table: t}}
}

func (d *doc) minutesOrDash(minutes int) string {
	if minutes == 0 {
		return "—"
	}
	return d.dur(minutes)
}

func (d *doc) signalBlocks() []block {
	r, p := d.r, d.p
	if len(r.Incidents) == 0 {
		return nil
	}
	out := []block{{heading: p.T("report.signals.title")}}
	if len(r.Signals) == 0 {
		out = append(out, block{para: p.T("report.signals.none")})
	}
	var items []string
	for _, s := range r.Signals {
		label, when := d.signalLabel(s.Kind), d.period(s.Start, s.End)
		switch s.Kind {
		case SignalSaturation:
			items = append(items, p.T("report.signals.saturation", "Label", label, "Service", d.service(s.Service),
				"Regions", d.regionList(s.Platform, s.Regions), "When", when, "Share", d.pct(s.Value)))
		case SignalAttack:
			items = append(items, p.T("report.signals.attack", "Label", label, "Service", d.service(s.Service),
				"Regions", d.regionList(s.Platform, s.Regions), "When", when, "Rate", p.Float(s.Value, 1),
				"Ratio", p.Float(s.Value/s.Baseline, 1), "Baseline", p.Float(s.Baseline, 1)))
		case SignalAnonymous:
			items = append(items, p.T("report.signals.anonymous", "Label", label, "Service", d.service(s.Service),
				"Regions", d.regionList(s.Platform, s.Regions), "When", when, "Share", d.pct(s.Value), "Baseline", d.pct(s.Baseline),
				"Sources", p.N("report.n.networks", int64(s.Sources))))
		case SignalSharedProvider:
			line := p.T("report.signals.shared", "Label", label, "N", int(s.Value), "When", when, "List", d.services(s.Services))
			if len(s.Providers) > 0 {
				line += " " + d.providerVerdict(s.Providers)
			}
			items = append(items, line)
		}
	}
	if len(items) > 0 {
		out = append(out, block{items: items})
	}
	out = append(out, d.providerBlocks()...)
	return append(out, block{para: p.T("report.signals.thresholds", "Saturation", d.share(SaturationShare), "Attack", p.Float(AttackRatio, 0),
		"Anonymous", d.share(AnonymousShare), "AnonymousRatio", p.Float(AnonymousRatio, 0), "Shared", SharedProviderServices)})
}

// providerBlocks compare the failing services with the catalogue's hosts.
func (d *doc) providerBlocks() []block {
	r, p := d.r, d.p
	if len(r.Providers) == 0 {
		return nil
	}
	out := []block{{sub: p.T("report.providers.title")}}
	var items []string
	for _, ps := range r.Providers {
		if ps.Provider == "" {
			items = append(items, p.T("report.providers.unknown", "List", d.services(ps.Failed)))
			continue
		}
		name := text(ps.Provider)
		if ps.Network != "" {
			name = p.T("report.providers.network", "Provider", name, "Network", text(ps.Network))
		}
		held := p.T("report.providers.noheld")
		if len(ps.Held) > 0 {
			held = p.T("report.providers.held", "List", d.services(ps.Held))
		}
		items = append(items, p.T("report.providers.failed", "Provider", name, "N", p.N("report.n.services", int64(len(ps.Failed))),
			"List", d.services(ps.Failed), "Held", held))
	}
	out = append(out, block{items: items})
	return append(out, block{para: d.providerVerdict(r.Providers)})
}

// providerVerdict says what the hosts of failing services point to.
func (d *doc) providerVerdict(shares []ProviderShare) string {
	p := d.p
	var hosts []ProviderShare
	for _, ps := range shares {
		if ps.Provider != "" {
			hosts = append(hosts, ps)
		}
	}
	switch {
	case len(hosts) == 0:
		return p.T("report.providers.verdict.none")
	case len(hosts) == 1 && len(hosts[0].Held) == 0:
		return p.T("report.providers.verdict.one", "Provider", text(hosts[0].Provider))
	case len(hosts) == 1:
		return p.T("report.providers.verdict.oneheld", "Provider", text(hosts[0].Provider))
	}
	return p.T("report.providers.verdict.many", "N", len(hosts))
}

func (d *doc) comparisonBlocks() []block {
	r, p := d.r, d.p
	c := r.Comparison
	if c == nil {
		return nil
	}
	out := []block{{heading: p.T("report.compare.title")}}
	since := p.T("report.compare.since", "Days", LookbackDays, "Date", d.p.Date(c.From.In(paris)))
	switch {
	case c.DaysWithData == 0:
		return append(out, block{para: p.T("report.compare.nodata", "Since", since)})
	case len(c.Days) == 0:
		return append(out, block{para: p.T("report.compare.none", "Days", p.N("report.n.days", int64(c.DaysWithData)), "Since", since)})
	}
	out = append(out, block{para: p.T("report.compare.intro", "Since", since, "Days", p.N("report.n.days", int64(c.DaysWithData)),
		"Candidates", p.N("report.n.days", int64(c.CandidateDays)), "Examined", p.N("report.n.examined", int64(c.ExaminedDays)))})
	t := &table{head: []string{p.T("report.col.date"), p.T("report.col.days_before"), p.T("report.col.incidents"), p.T("report.col.services"),
		p.T("report.col.regions"), p.T("report.col.wall_time"), p.T("report.col.worst_availability"), p.T("report.col.worst_response"),
		p.T("report.col.users_observed"), p.T("report.col.failed_again")},
		right: []bool{false, true, true, false, false, true, true, true, true, false}}
	var sentences []string
	for _, day := range c.Days {
		date := d.longDate(day.Date)
		if day.Grain == ComparedByHour {
			date = p.T("report.compare.byhour", "Date", date)
		}
		var again []string
		for _, rps := range repeatsByService(day.Repeated) {
			if len(rps) >= manyRegions {
				again = append(again, p.T("report.compare.again.many", "Service", d.service(rps[0].Service), "N", len(rps)))
				sentences = append(sentences, d.repeatManySentence(day, rps))
				continue
			}
			for _, rp := range rps {
				again = append(again, p.T("report.compare.again.one", "Service", d.service(rp.Service), "Region", text(RegionName(rp.Region))))
				sentences = append(sentences, d.repeatSentence(day, rp))
			}
		}
		t.rows = append(t.rows, []string{date, strconv.Itoa(day.DaysBefore), strconv.Itoa(day.Incidents), d.services(day.Services),
			regionNames(day.Regions), d.dur(day.WallMinutes), d.pct(day.WorstAvailability), d.ms(day.WorstP95MS), d.count(day.UsersAffected),
			d.orNone(strings.Join(again, ", "))})
	}
	s := r.Summary
	worst, worstP95 := 1.0, 0.0
	for _, in := range r.Incidents {
		worst, worstP95 = min(worst, in.WorstAvailability), max(worstP95, in.WorstP95MS)
	}
	t.rows = append(t.rows, []string{"**" + p.T("report.compare.thisrange") + "**", "0", strconv.Itoa(s.Incidents), d.services(s.Services),
		regionNames(s.Regions), d.dur(s.WallMinutes), d.pct(worst), d.ms(worstP95), d.count(s.UsersAffected), "—"})
	out = append(out, block{table: t})
	if len(sentences) > 0 {
		out = append(out, block{items: sentences})
	}
	if c.ExaminedDays < c.CandidateDays {
		out = append(out, block{para: p.T("report.compare.skipped", "Days", p.N("report.n.otherdays", int64(c.CandidateDays-c.ExaminedDays)),
			"Max", MaxEarlierDays)})
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
func (d *doc) repeatManySentence(day EarlierDay, rps []Repeat) string {
	then, now := 0, 0
	for _, rp := range rps {
		then, now = max(then, rp.ThenMinutes), max(now, rp.NowMinutes)
	}
	rp := rps[0]
	return d.p.T("report.compare.many", "Platform", d.platform(rp.Platform), "Service", d.service(rp.Service), "N", len(rps),
		"Then", d.longDate(day.Date), "ThenTime", d.dur(then), "Now", d.p.Date(rp.NowStart.In(paris)), "NowTime", d.dur(now))
}

// repeatSentence says plainly that the same pair failed then and now.
func (d *doc) repeatSentence(day EarlierDay, rp Repeat) string {
	return d.p.T("report.compare.one", "Platform", d.platform(rp.Platform), "Service", d.service(rp.Service),
		"Region", text(RegionName(rp.Region)), "Then", d.longDate(day.Date), "ThenTime", d.dur(rp.ThenMinutes),
		"Now", d.p.Date(rp.NowStart.In(paris)), "NowTime", d.dur(rp.NowMinutes))
}

func (d *doc) capacityBlocks() []block {
	r, p := d.r, d.p
	if len(r.Capacity) == 0 {
		return nil
	}
	t := &table{head: []string{p.T("report.col.service"), p.T("report.col.when"), p.T("report.col.regions"), p.T("report.col.peak"),
		p.T("report.col.peak_minute"), p.T("report.col.served_then"), p.T("report.col.median_served"), p.T("report.col.users_peak"),
		p.T("report.col.capacity")}, right: []bool{false, false, false, true, false, true, true, true, true}}
	var items []string
	for _, c := range r.Capacity {
		factor := p.T("report.capacity.nothing")
		if c.Factor > 0 {
			factor = "≈ " + p.Float(c.Factor, 1) + "×"
		}
		median := d.count(uint64(c.MedianServed + 0.5))
		t.rows = append(t.rows, []string{d.service(c.Service), d.period(c.Start, c.End), d.regionList(c.Platform, c.Regions), d.count(c.PeakAttempts),
			d.clock(c.PeakAt), d.count(c.ServedAtPeak), median, d.count(c.UsersAtPeak), factor})
		if c.Factor > 0 {
			items = append(items, p.T("report.capacity.sentence", "Service", d.service(c.Service), "Factor", p.Float(c.Factor, 1),
				"Peak", d.count(c.PeakAttempts), "At", d.clock(c.PeakAt), "Users", d.count(c.UsersAtPeak), "Median", median))
		}
	}
	out := []block{{heading: p.T("report.capacity.title")}, {para: p.T("report.capacity.intro")}, {table: t}}
	if len(items) > 0 {
		out = append(out, block{items: items})
	}
	return out
}

func (d *doc) actionBlocks() []block {
	r, p := d.r, d.p
	out := []block{{heading: p.T("report.actions.title")}}
	if len(r.Notes.Actions) == 0 {
		return append(out, block{para: p.T("report.actions.none")})
	}
	t := &table{head: []string{p.T("report.col.action"), p.T("report.col.owner"), p.T("report.col.priority"), p.T("report.col.due"),
		p.T("report.col.state"), p.T("report.col.author")}}
	for _, a := range r.Notes.Actions {
		due := "—"
		if !a.Due.IsZero() {
			due = d.p.Date(a.Due)
		}
		t.rows = append(t.rows, []string{text(a.Title), text(a.Owner), text(a.Priority), due, d.actionState(a.State),
			p.T("report.actions.by", "Author", text(a.Author), "At", d.dateTime(a.WrittenAt))})
	}
	return append(out, block{table: t})
}

func (d *doc) actionState(s string) string {
	switch s {
	case "open":
		return d.p.T("report.actions.state.open")
	case "doing":
		return d.p.T("report.actions.state.doing")
	case "done":
		return d.p.T("report.actions.state.done")
	}
	return text(s)
}

// lessonBlocks say what went well, badly and luckily: what the data shows,
// then what people added.
func (d *doc) lessonBlocks() []block {
	r, p := d.r, d.p
	if len(r.Incidents) == 0 && len(r.Notes.Annotations) == 0 {
		return nil
	}
	well, badly, lucky := d.computedLessons()
	for _, a := range r.Notes.Annotations {
		line := p.T("report.lessons.person", "Text", text(a.Text), "Author", text(a.Author))
		switch a.Kind {
		case store.AnnotationWell:
			well = append(well, line)
		case store.AnnotationBadly:
			badly = append(badly, line)
		case store.AnnotationLucky:
			lucky = append(lucky, line)
		}
	}
	out := []block{{heading: p.T("report.lessons.title")}}
	for _, part := range []struct {
		title string
		items []string
	}{{p.T("report.lessons.well"), well}, {p.T("report.lessons.badly"), badly}, {p.T("report.lessons.lucky"), lucky}} {
		out = append(out, block{sub: part.title})
		if len(part.items) == 0 {
			out = append(out, block{para: p.T("report.lessons.nothing")})
			continue
		}
		out = append(out, block{items: part.items})
	}
	return out
}

// detectionGood is the mean time to detect under which detection went well.
const detectionGood = 10 * time.Minute

func (d *doc) computedLessons() (well, badly, lucky []string) {
	r, p := d.r, d.p
	if len(r.Incidents) == 0 {
		return nil, nil, nil
	}
	failing := map[string]map[string]bool{} // platform → regions in incident
	var queued uint64
	var queuedServices []string
	for _, in := range r.Incidents {
		if failing[in.Platform] == nil {
			failing[in.Platform] = map[string]bool{}
		}
		failing[in.Platform][in.Region] = true
	}
	for _, g := range r.Groups {
		var q uint64
		for _, i := range g.Incidents {
			if i >= 0 && i < len(r.Incidents) { // a report read back from JSON may be edited
				q += r.Incidents[i].Queued
			}
		}
		if q > 0 {
			queued += q
			queuedServices = append(queuedServices, d.service(g.Service))
		}
	}
	for _, g := range r.Grids {
		var held []string
		for _, reg := range g.Regions {
			if !failing[g.Platform][reg] {
				held = append(held, text(RegionName(reg)))
			}
		}
		switch {
		case len(g.Regions) == 0:
		case failing[g.Platform] == nil:
			lucky = append(lucky, p.T("report.lessons.platform_held", "Platform", d.platform(g.Platform)))
		case len(held) > 0:
			well = append(well, p.N("report.lessons.regions_held", int64(len(held)), "Platform", d.platform(g.Platform),
				"Total", len(g.Regions), "List", strings.Join(held, ", ")))
		}
	}
	var total, worst int
	for _, in := range r.Incidents {
		total += in.DetectionSeconds
		worst = max(worst, in.DetectionSeconds)
	}
	mean := time.Duration(total/len(r.Incidents)) * time.Second
	if mean <= detectionGood {
		well = append(well, p.T("report.lessons.detection_fast", "Mean", d.dur(int(mean/time.Minute)), "Worst", d.dur(worst/60)))
	} else {
		badly = append(badly, p.T("report.lessons.detection_slow", "Mean", d.dur(int(mean/time.Minute)), "Worst", d.dur(worst/60)))
	}
	if queued > 0 {
		well = append(well, p.T("report.lessons.waiting_room", "N", d.count(queued), "List", strings.Join(queuedServices, ", ")))
	}
	badly = append(badly, d.peopleHeadline())
	attacked := map[string]bool{}
	for _, sg := range r.Signals {
		if sg.Kind == SignalAttack || sg.Kind == SignalAnonymous {
			attacked[sg.Service] = true
		}
	}
	for _, c := range r.Capacity {
		// Under attack-like traffic the demand includes the attack: it
		// says nothing of the capacity the service lacked.
		if c.Factor >= 1.5 && !attacked[c.Service] {
			badly = append(badly, p.T("report.lessons.capacity", "Service", d.service(c.Service), "Factor", p.Float(c.Factor, 1)))
		}
	}
	if line := d.repeatSummary(); line != "" {
		badly = append(badly, line)
	}
	for _, ps := range r.Providers {
		if ps.Provider != "" && len(ps.Held) > 0 {
			lucky = append(lucky, p.T("report.lessons.provider_held", "Provider", text(ps.Provider), "List", d.services(ps.Held)))
		}
	}
	return well, badly, lucky
}

// RuleText is the detection rule in plain words, with the parameters the
// report applied: the report's definitions and docs/detection.md (whose
// test compares them) say it the same way.
func RuleText(p *i18n.Printer, o Objective) []string {
	d := &doc{p: p}
	out := []string{
		p.T("report.rule.window", "Max", o.MaxWindowMinutes, "Min", o.MinEvents),
		p.T("report.rule.availability", "Confidence", d.share(o.Confidence)),
		p.T("report.rule.latency", "Min", o.MinEvents, "Confidence", d.share(o.Confidence), "Allowed", d.share(1-o.LatencyQuantile)),
		p.T("report.rule.silence", "Expected", p.Float(o.SilenceMinExpected, decimals(o.SilenceMinExpected)), "Days", o.HistoryDays,
			"MinDays", incident.MinHistoryDays, "Fraction", d.share(o.SilenceFraction), "Confidence", d.share(o.Confidence)),
		p.T("report.rule.merge", "Gap", o.MergeGapMinutes, "Min", p.N("report.n.minutes", int64(o.MinMinutes))),
		p.T("report.rule.detected"),
	}
	if len(o.Closed) > 0 {
		out = append(out, p.T("report.rule.closed", "List", strings.Join(closedText(p, o.Closed), ", ")))
	}
	return out
}

// closedText translates the calendar's words (nights, weekends); holidays
// are dates and stay as configured.
func closedText(p *i18n.Printer, closed []string) []string {
	out := make([]string, len(closed))
	for i, c := range closed {
		switch {
		case strings.HasPrefix(c, "nights "):
			out[i] = p.T("report.rule.nights", "Hours", text(strings.TrimPrefix(c, "nights ")))
		case c == "weekends":
			out[i] = p.T("report.rule.weekends")
		default:
			out[i] = text(c)
		}
	}
	return out
}

// decimals is how many decimals v needs (at most 3).
func decimals(v float64) int {
	for n := 0; n < 3; n++ {
		if s := strconv.FormatFloat(v, 'f', n, 64); s == strconv.FormatFloat(v, 'f', -1, 64) {
			return n
		}
	}
	return 3
}

// quantileName is "p95" for 0.95.
func quantileName(q float64) string {
	return "p" + strconv.FormatFloat(math.Round(q*1000)/10, 'f', -1, 64)
}

func (d *doc) objectiveBlocks() []block {
	o, p := d.r.Objective, d.p
	resp := func(q, ms float64) string {
		return p.T("report.objectives.response", "Quantile", d.share(q), "Threshold", d.ms(ms))
	}
	t := &table{head: []string{p.T("report.col.objective_of"), p.T("report.col.availability_target"), p.T("report.col.response_time")},
		right: []bool{false, true, true}}
	t.rows = append(t.rows, []string{p.T("report.objectives.default"), d.share(o.AvailabilityTarget), resp(o.LatencyQuantile, o.P95ThresholdMS)})
	for _, s := range o.Services {
		t.rows = append(t.rows, []string{text(s.Name), d.share(s.AvailabilityTarget), resp(s.LatencyQuantile, s.LatencyThresholdMS)})
	}
	return []block{{heading: p.T("report.objectives.title")}, {para: p.T("report.objectives.intro")}, {table: t}}
}

// glossaryBlocks hold the technical terms the body avoids.
func (d *doc) glossaryBlocks() []block {
	p, o := d.p, d.r.Objective
	return []block{{heading: p.T("report.glossary.title")}, {items: []string{
		p.T("report.glossary.quantile", "Name", quantileName(o.LatencyQuantile), "Quantile", d.share(o.LatencyQuantile)),
		p.T("report.glossary.hll"),
		p.T("report.glossary.wilson"),
		p.T("report.glossary.sample"),
		p.T("report.glossary.asn"),
		p.T("report.glossary.insee"),
	}}}
}

func regionNames(codes []string) string {
	names := make([]string, len(codes))
	for i, c := range codes {
		names[i] = RegionName(c)
	}
	return texts(names)
}

// overseas are the time zones of the overseas regions, whose tables show
// local time beside Paris time.
var overseas = map[string]string{
	"01": "America/Guadeloupe", "02": "America/Martinique", "03": "America/Cayenne", "04": "Indian/Reunion", "06": "Indian/Mayotte",
}

// localZone is an overseas region's time zone; nil for metropolitan ones.
func localZone(region string) *time.Location {
	name, ok := overseas[region]
	if !ok {
		return nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil // time/tzdata is linked in: cannot happen
	}
	return loc
}

// plainService is service as plain text, for places that escape for
// themselves (the charts' SVG labels).
func (d *doc) plainService(id string) string {
	if e, ok := d.entry(id); ok {
		return e.Name
	}
	return id
}

// entry is the report's catalogue entry of a service.
func (d *doc) entry(id string) (config.ServiceEntry, bool) {
	for _, e := range d.r.Catalogue {
		if e.ID == id {
			return e, true
		}
	}
	return config.ServiceEntry{}, false
}
