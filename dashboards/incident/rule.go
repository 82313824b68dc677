package incident

import (
	"math"
	"sort"
	"time"

	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/paris"
	"github.com/vigie-fr/vigie/internal/store"
)

// Evidence a window can give, as bits of a minute's marks.
const (
	markAvail uint8 = 1 << iota
	markLat
	markSilence
)

// rule is config.IncidentsConfig made ready for one bucket width.
type rule struct {
	cfg      config.IncidentsConfig
	step     time.Duration
	z        float64 // one-sided normal quantile of Confidence
	alpha    float64 // 1 - Confidence
	maxW     int     // longest window, in buckets
	minEv    uint64
	gap      int // merge gap, in buckets
	lookback int // buckets of the peers' share, for silence
}

func newRule(cfg config.IncidentsConfig, step time.Duration) rule {
	c := cfg.Confidence
	if !(c >= 0.5 && c < 1) {
		c = 0.999
	}
	return rule{
		cfg: cfg, step: step,
		z:        math.Sqrt2 * math.Erfinv(2*c-1),
		alpha:    1 - c,
		maxW:     max(1, int(time.Duration(cfg.MaxWindowMinutes)*time.Minute/step)),
		minEv:    uint64(max(cfg.MinEvents, 1)),
		gap:      int(time.Duration(max(cfg.MergeGapMinutes, 0)) * time.Minute / step),
		lookback: max(3, int(3*time.Hour/step)),
	}
}

// wilson returns the Wilson score interval of k successes in n trials.
func wilson(k, n uint64, z float64) (lo, hi float64) {
	if n == 0 {
		return 0, 1
	}
	nf := float64(n)
	p := float64(k) / nf
	z2 := z * z
	den := 1 + z2/nf
	center := p + z2/(2*nf)
	half := z * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	return (center - half) / den, (center + half) / den
}

// poissonAtMost is P(X <= k) for X Poisson with mean lambda.
func poissonAtMost(k uint64, lambda float64) float64 {
	if lambda <= 0 {
		return 1
	}
	sum := 0.0
	for i := uint64(0); i <= k; i++ {
		lg, _ := math.Lgamma(float64(i) + 1)
		sum += math.Exp(-lambda + float64(i)*math.Log(lambda) - lg)
	}
	return math.Min(sum, 1)
}

// availFails is the availability test of one window.
func (r rule) availFails(s sample, o config.ObjectiveConfig) bool {
	if s.attempts < r.minEv {
		return false
	}
	_, hi := wilson(s.ok, s.attempts, r.z)
	return hi < o.AvailabilityTarget
}

// latFails is the latency test of one window: the share of samples above
// the threshold is beyond 1 - quantile, so the quantile is above it.
func (r rule) latFails(s sample, o config.ObjectiveConfig) bool {
	if s.latN < r.minEv {
		return false
	}
	lo, _ := wilson(s.over, s.latN, r.z)
	return lo > 1-o.LatencyQuantile
}

// silenceFails is the silence test of the window [from, to]: observed
// events against expected ones. Against earlier days' usual traffic, the
// count is Poisson; against the peers' curve, the series' share is itself
// estimated from the lookback, so the test is the exact one comparing two
// Poisson rates: given the series' events in the lookback and the window,
// those in the window are binomial with the peers' split between the two.
func (r rule) silenceFails(s *seriesData, u *usual, total []float64, grid []time.Time, closed []bool, marks []uint8, from, to int, observed uint64, expected float64) bool {
	if expected < r.cfg.Silence.MinExpected || float64(observed) > r.cfg.Silence.Fraction*expected {
		return false
	}
	if _, disp, ok := u.at(grid[to]); ok {
		disp = max(disp, r.ownDispersion(s, closed, marks, from))
		return poissonAtMost(uint64(float64(observed)/disp), expected/disp) < r.alpha
	}
	own, peers, disp, ok := r.lookbackShare(s, total, closed, marks, from)
	if !ok {
		return false
	}
	var peersW float64
	for j := from; j <= to; j++ {
		peersW += total[j] - float64(s.samples[j].events)
	}
	obs := uint64(float64(observed) / disp)
	return binomialAtMost(obs, obs+uint64(own/disp), peersW/(peersW+peers)) < r.alpha
}

// minuteBreaks is the point test that trims a stretch: bucket i breaks the
// objective on its own, for one of the kinds of evidence in marks.
func (r rule) minuteBreaks(s *seriesData, i int, marks uint8) bool {
	smp := s.samples[i]
	if marks&markAvail != 0 && smp.attempts > 0 && float64(smp.ok) < s.o.AvailabilityTarget*float64(smp.attempts) {
		return true
	}
	if marks&markLat != 0 && smp.latN > 0 && float64(smp.over) > (1-s.o.LatencyQuantile)*float64(smp.latN) {
		return true
	}
	return marks&markSilence != 0 && s.expected[i] > 0 && float64(smp.events) <= r.cfg.Silence.Fraction*s.expected[i]
}

// trimKeeps says whether bucket j may bound a stretch [first, last]: it
// breaks the objective on its own, with more than one bad attempt or
// sample, or next to a bucket that breaks it too. One slow answer of two
// in a thin minute is evidence for the window, not a start.
func (r rule) trimKeeps(s *seriesData, j int, bits uint8, first, last int) bool {
	if !r.minuteBreaks(s, j, bits) {
		return false
	}
	smp := s.samples[j]
	if bits&markSilence != 0 || smp.attempts-smp.ok >= 2 || smp.over >= 2 {
		return true
	}
	return j > first && r.minuteBreaks(s, j-1, bits) || j < last && r.minuteBreaks(s, j+1, bits)
}

// MinHistoryDays is how many earlier open days must have carried the
// platform's traffic at an hour before they say what is usual then: one or
// two days may have been exceptional (a lockdown's first morning).
const MinHistoryDays = 3

// usual is a series' traffic on earlier open days of the same kind
// (weekdays or weekends), by Paris hour of day: the median events per
// bucket over the days the platform had data, and the dispersion of the
// days around it (variance over mean, at least 1), which divides the
// counts of the silence test as the peers' does.
type usual struct {
	perBucket [2][24]float64
	disp      [2][24]float64
	days      [2][24]int
}

// dayKind is 1 on weekends, 0 on weekdays: a Saturday morning is not
// expected to look like a Monday's.
func dayKind(p time.Time) int {
	if wd := p.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return 1
	}
	return 0
}

// at says what is usual at t, interpolated between the middles of the
// hours around it (traffic ramps within an hour); ok is false without
// enough days for both.
func (u *usual) at(t time.Time) (perBucket, disp float64, ok bool) {
	if u == nil {
		return 0, 1, false
	}
	p := t.In(paris.Location)
	k := dayKind(p)
	x := float64(p.Hour()) + float64(p.Minute())/60 - 0.5
	if x < 0 {
		x += 24
	}
	h0 := int(x) % 24
	h1 := (h0 + 1) % 24
	f := x - float64(int(x))
	perBucket = u.perBucket[k][h0]*(1-f) + u.perBucket[k][h1]*f
	disp = max(u.disp[k][h0], u.disp[k][h1])
	return perBucket, disp, u.days[k][h0] >= MinHistoryDays && u.days[k][h1] >= MinHistoryDays
}

// usualTraffic reads history (hour buckets of earlier days) into each
// series' usual traffic, skipping hours the calendar has closed.
func usualTraffic(history []Minute, cfg config.IncidentsConfig, step time.Duration) map[Key]*usual {
	if len(history) == 0 {
		return nil
	}
	type slot struct {
		day        string
		kind, hour int
	}
	platformSlots := map[string]map[slot]bool{}
	events := map[Key]map[slot]float64{}
	for _, h := range history {
		if cfg.Calendar.Closed(h.Bucket, paris.Location) {
			continue
		}
		p := h.Bucket.In(paris.Location)
		sl := slot{p.Format(time.DateOnly), dayKind(p), p.Hour()}
		if platformSlots[h.Platform] == nil {
			platformSlots[h.Platform] = map[slot]bool{}
		}
		platformSlots[h.Platform][sl] = true
		k := keyOf(h)
		if events[k] == nil {
			events[k] = map[slot]float64{}
		}
		events[k][sl] += float64(h.Events)
	}
	out := map[Key]*usual{}
	perBucket := float64(step) / float64(time.Hour)
	for k, byslot := range events {
		u := &usual{}
		for kind := range 2 {
			for hour := range 24 {
				var vals []float64
				for sl := range platformSlots[k.Platform] {
					if sl.kind == kind && sl.hour == hour {
						vals = append(vals, byslot[sl])
					}
				}
				med := median(vals)
				u.perBucket[kind][hour], u.days[kind][hour], u.disp[kind][hour] = med*perBucket, len(vals), 1
				if len(vals) > 1 && med > 0 {
					var ss float64
					for _, v := range vals {
						ss += (v - med) * (v - med)
					}
					u.disp[kind][hour] = max(1, ss/float64(len(vals)-1)/med)
				}
			}
		}
		out[k] = u
	}
	return out
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// detect runs the rule over one series. Buckets are judged in time order,
// so that the peers' share used for silence at a bucket only uses earlier
// buckets not already found silent: what the rule would have known live.
func (r rule) detect(s *seriesData, u *usual, total []float64, grid []time.Time, closed []bool) []Incident {
	n := len(grid)
	s.expected = make([]float64, n)
	marks := make([]uint8, n)
	failEnd := make([]bool, n)
	winAvail := make([]float64, n) // availability of a failing window ending at i, else 2
	for i := range n {
		winAvail[i] = 2
		s.expected[i] = r.expectedAt(s, u, total, grid, closed, marks, i)
		// Availability and latency: grow the window to enough evidence.
		var a, l sample
		la, ll := 0, 0
		for L := 1; L <= min(r.maxW, i+1); L++ {
			smp := s.samples[i-L+1]
			if a.attempts < r.minEv {
				a.attempts += smp.attempts
				a.ok += smp.ok
				la = L
			}
			if l.latN < r.minEv {
				l.latN += smp.latN
				l.over += smp.over
				ll = L
			}
		}
		if r.availFails(a, s.o) {
			r.mark(marks, i, la, markAvail)
			failEnd[i] = true
			winAvail[i] = float64(a.ok) / float64(a.attempts)
		}
		if r.latFails(l, s.o) {
			r.mark(marks, i, ll, markLat)
			failEnd[i] = true
		}
		// Silence: grow the window to enough expected events.
		var obs uint64
		var exp float64
		ls := 0
		for L := 1; L <= min(r.maxW, i+1) && exp < r.cfg.Silence.MinExpected; L++ {
			obs += s.samples[i-L+1].events
			exp += s.expected[i-L+1]
			ls = L
		}
		if r.silenceFails(s, u, total, grid, closed, marks, i-ls+1, i, obs, exp) {
			r.mark(marks, i, ls, markSilence)
			failEnd[i] = true
		}
	}
	return r.stretches(s, marks, failEnd, winAvail, grid)
}

func (r rule) mark(marks []uint8, end, length int, bit uint8) {
	for j := end - length + 1; j <= end; j++ {
		marks[j] |= bit
	}
}

// expectedAt is the events the series usually carries at bucket i: its
// usual traffic at that hour on earlier days, else its share of the
// platform's other series over the lookback times their events at i. 0
// when closed or unknown.
func (r rule) expectedAt(s *seriesData, u *usual, total []float64, grid []time.Time, closed []bool, marks []uint8, i int) float64 {
	if closed[i] {
		return 0
	}
	if e, _, ok := u.at(grid[i]); ok {
		return e * r.level(s, u, grid, closed, marks, i)
	}
	own, peers, _, ok := r.lookbackShare(s, total, closed, marks, i)
	if !ok {
		return 0
	}
	return own / peers * (total[i] - float64(s.samples[i].events))
}

// level is how busy the series was over the lookback before bucket i
// compared with its usual traffic then (buckets found silent or closed left
// out): the earlier days give the day's shape, today's own level scales it,
// so a quieter day is not a silent one. 1 when the lookback usually holds
// too little to say.
func (r rule) level(s *seriesData, u *usual, grid []time.Time, closed []bool, marks []uint8, i int) float64 {
	var obs, exp float64
	for j := max(0, i-r.lookback); j < i; j++ {
		if marks[j]&markSilence != 0 || closed[j] {
			continue
		}
		if e, _, ok := u.at(grid[j]); ok {
			obs += float64(s.samples[j].events)
			exp += e
		}
	}
	if exp < 2*r.cfg.Silence.MinExpected {
		return 1
	}
	return obs / exp
}

// lookbackShare sums the series' events and its peers' over the lookback
// before bucket i, leaving out closed buckets and buckets found silent; ok
// is false when too little of it is usable or the series carried too
// little to estimate its share.
//
// It also returns the dispersion of the series' counts around its share of
// the peers (Pearson's chi-square per bucket, at least 1): events come in
// bursts (a user's session makes several), so counts vary more than a
// Poisson law says, and the tests divide counts by it (quasi-Poisson).
func (r rule) lookbackShare(s *seriesData, total []float64, closed []bool, marks []uint8, i int) (own, peers, dispersion float64, ok bool) {
	used := 0
	lo := max(0, i-r.lookback)
	for j := lo; j < i; j++ {
		if marks[j]&markSilence != 0 || closed[j] {
			continue
		}
		e := float64(s.samples[j].events)
		own += e
		peers += total[j] - e
		used++
	}
	if used < r.lookback/2 || peers <= 0 || own < 2*r.cfg.Silence.MinExpected {
		return own, peers, 1, false
	}
	var chi float64
	share := own / peers
	for j := lo; j < i; j++ {
		if marks[j]&markSilence != 0 || closed[j] {
			continue
		}
		e := float64(s.samples[j].events)
		if exp := share * (total[j] - e); exp > 0 {
			chi += (e - exp) * (e - exp) / exp
		}
	}
	return own, peers, max(1, chi/float64(max(1, used-1))), true
}

// ownDispersion is how much the series' minutes varied around what was
// expected of them over the lookback before bucket i (Pearson's chi-square
// per bucket, at least 1): events come in sessions, so a quiet service's
// minutes vary more than a Poisson law says, whatever the days' curve.
func (r rule) ownDispersion(s *seriesData, closed []bool, marks []uint8, i int) float64 {
	var chi float64
	used := 0
	for j := max(0, i-r.lookback); j < i; j++ {
		e := s.expected[j]
		if marks[j]&markSilence != 0 || closed[j] || e <= 0 {
			continue
		}
		d := float64(s.samples[j].events) - e
		chi += d * d / e
		used++
	}
	if used < 2 {
		return 1
	}
	return max(1, chi/float64(used-1))
}

// binomialAtMost is P(X <= k) for X binomial with n trials of probability p.
func binomialAtMost(k, n uint64, p float64) float64 {
	if p <= 0 {
		return 1
	}
	if p >= 1 {
		if k >= n {
			return 1
		}
		return 0
	}
	sum := 0.0
	ln, _ := math.Lgamma(float64(n) + 1)
	for i := uint64(0); i <= min(k, n); i++ {
		li, _ := math.Lgamma(float64(i) + 1)
		lr, _ := math.Lgamma(float64(n-i) + 1)
		sum += math.Exp(ln - li - lr + float64(i)*math.Log(p) + float64(n-i)*math.Log1p(-p))
	}
	return math.Min(sum, 1)
}

// stretches turns marked buckets into incidents: merged across short gaps,
// trimmed to buckets that break the objective on their own, long enough.
func (r rule) stretches(s *seriesData, marks []uint8, failEnd []bool, winAvail []float64, grid []time.Time) []Incident {
	var out []Incident
	n := len(marks)
	for i := 0; i < n; {
		if marks[i] == 0 {
			i++
			continue
		}
		first, last := i, i
		var bits uint8
		for j := i; j < n; j++ {
			if marks[j] != 0 {
				last = j
				bits |= marks[j]
				continue
			}
			if j-last > r.gap {
				break
			}
		}
		i = last + 1
		start, end := -1, -1
		for j := first; j <= last; j++ {
			if r.trimKeeps(s, j, bits, first, last) {
				if start < 0 {
					start = j
				}
				end = j
			}
		}
		if start < 0 {
			start, end = first, last
		}
		in := r.summarise(s, start, end, first, last, bits, failEnd, winAvail, grid)
		if in.Duration >= time.Duration(r.cfg.MinMinutes)*time.Minute {
			out = append(out, in)
		}
	}
	return out
}

// summarise builds the incident of buckets [start, end] of s, out of the
// marked stretch [first, last].
func (r rule) summarise(s *seriesData, start, end, first, last int, bits uint8, failEnd []bool, winAvail []float64, grid []time.Time) Incident {
	k := s.key
	in := Incident{Platform: k.Platform, Service: k.Service, Region: k.Region,
		Start: grid[start], End: grid[end].Add(r.step), WorstAvailability: 1}
	in.Duration = in.End.Sub(in.Start)
	in.Minutes = int(in.Duration / time.Minute)
	alert := -1
	for j := first; j <= last; j++ {
		if failEnd[j] && alert < 0 {
			alert = j
		}
		in.WorstAvailability = math.Min(in.WorstAvailability, winAvail[j])
	}
	var p95Any float64
	for j := start; j <= end; j++ {
		if r.minuteBreaks(s, j, bits) {
			in.BadMinutes += int(r.step / time.Minute)
		}
		in.ExpectedEvents += s.expected[j]
		m := s.minutes[j]
		if m == nil {
			continue
		}
		in.Events += m.Events
		in.OK += m.OK
		in.Failed += m.Failed()
		in.Rejected += m.Rejected
		in.Queued += m.Queued
		p95Any = math.Max(p95Any, m.P95MS)
		if m.OK+m.Failed() >= r.minEv {
			in.WorstP95MS = math.Max(in.WorstP95MS, m.P95MS)
		}
	}
	if in.WorstP95MS == 0 {
		in.WorstP95MS = p95Any
	}
	in.Availability = 1
	if a, ok := store.Availability(in.OK, in.Failed); ok {
		in.Availability = a
	}
	if bits&markAvail == 0 {
		in.WorstAvailability = math.Min(1, in.Availability)
	}
	switch {
	case bits&markAvail != 0 && bits&markLat != 0:
		in.Reason = ReasonBoth
	case bits&markAvail != 0:
		in.Reason = ReasonAvailability
	case bits&markLat != 0:
		in.Reason = ReasonLatency
	default:
		in.Reason = ReasonNoData
	}
	if in.Reason != ReasonNoData {
		in.ExpectedEvents = 0
	}
	if alert < 0 {
		alert = start
	}
	in.AlertAt = grid[alert].Add(r.step)
	if earliest := in.Start.Add(time.Duration(r.cfg.MinMinutes) * time.Minute); in.AlertAt.Before(earliest) {
		in.AlertAt = earliest
	}
	in.DetectionSeconds = int(in.AlertAt.Sub(in.Start) / time.Second)
	return in
}
