package simulate

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"time"

	"github.com/vigie-fr/vigie/schemas"
)

// Stats sums up what Generate emitted.
type Stats struct {
	Events      int
	Users       int // distinct simulated users seen (each stands for PupilsPerUser pupils)
	ByPlatform  map[string]int
	ByOutcome   map[string]int
	First, Last time.Time
}

// Volume knobs, in arrivals (new visits) per minute at the 08:00–09:00 peak,
// before scale. Each region gets a base plus a part proportional to its
// pupils: the base over-samples small regions (Corse, the overseas regions)
// so their minutes hold enough events to judge. Tuned so the 2021 scenario is
// about 350k events at scale 1.
const (
	entBase, entPerShare   = 0.8, 75.0
	cnedBase, cnedPerShare = 0.5, 30.0
	// attackPerMinute is the attack-like request rate on the CNED, all
	// regions together: several times what its legitimate users send.
	attackPerMinute = 500.0
	// floorEvents is the least a (service, region) minute holds from 07:30
	// on in a morning scenario (times scale; at scale 0.05, 2 events): the
	// background polling of open pages. Diurnal scenarios draw it in
	// proportion to demand instead.
	floorEvents = 24
	// healthyErrorRate is the background failure rate of a healthy service,
	// applied as a whole number per minute (so small minutes see none).
	healthyErrorRate = 0.005
	// requestsPerMinute is how many page/api requests an open session makes a minute.
	requestsPerMinute = 0.35
)

// Generate simulates the scenario and hands every event to emit, in event-time
// order. The same (scenario, seed, scale) gives the same events, ids included.
// scale multiplies the volume; below 1 minutes get too thin to judge.
// An error from emit stops the run and is returned.
func Generate(sc Scenario, seed int64, scale float64, emit func(schemas.Event) error) (Stats, error) {
	g, err := newGenerator(sc, seed, scale)
	if err != nil {
		return Stats{}, err
	}
	return g.run(emit)
}

// Count runs the scenario without emitting, to size a progress bar.
func Count(sc Scenario, seed int64, scale float64) (int, error) {
	st, err := Generate(sc, seed, scale, func(schemas.Event) error { return nil })
	return st.Events, err
}

// simUser is one member of a region's pool.
type simUser struct {
	id, role, academy, ua string
}

// Task kinds scheduled for a later minute.
const (
	taskEnd       = iota // the session closes
	taskRetry            // the user tries to log in again
	taskQueueExit        // the user leaves the waiting room (admitted or giving up)
)

type task struct {
	kind  uint8
	tries uint8
	user  int32
	since time.Time // when the user entered the waiting room
}

// User states.
const (
	idle uint8 = iota
	active
	waiting // in the waiting room or about to retry
)

// pair is one (service, region): its user pool, open sessions and plans.
type pair struct {
	platform, service, region string
	rate                      float64 // arrivals per minute at demand 1, scaled
	attackRate                float64 // attack requests per minute while attacked, scaled
	users                     []simUser
	sampleRate                float64 // users / the people they stand for: schemas.Event.SampleRate
	state                     []uint8
	seen                      []bool
	active                    []int32 // open sessions' users
	pos                       []int32 // index in active, -1 when none
	sched                     map[int][]task
	cap                       int // session quota while overloaded; -1 when none
	incidents                 []Incident
	latencyMedian             float64 // ms, when healthy
	buf                       []schemas.Event
}

type generator struct {
	sc     Scenario
	seed   int64
	scale  float64
	rng    *rand.Rand
	pairs  []*pair
	minute int
	t      time.Time // start of the current minute
}

func newGenerator(sc Scenario, seed int64, scale float64) (*generator, error) {
	if !(scale > 0) || scale > 100 || math.IsInf(scale, 0) {
		return nil, fmt.Errorf("simulate: scale %v is not allowed, use a number above 0 and at most 100", scale)
	}
	if !sc.End.After(sc.Start) {
		return nil, fmt.Errorf("simulate: scenario %q: end %s is not after start %s", sc.Name, sc.End, sc.Start)
	}
	acs, err := Academies()
	if err != nil {
		return nil, err
	}
	pupils := map[string]int{}
	byRegion := map[string][]Academy{}
	total := 0
	for _, a := range acs {
		pupils[a.Region] += a.Pupils
		byRegion[a.Region] = append(byRegion[a.Region], a)
		total += a.Pupils
	}
	g := &generator{sc: sc, seed: seed, scale: scale}
	h := fnv.New64a()
	h.Write([]byte(sc.Name))
	g.rng = rand.New(rand.NewPCG(uint64(seed), h.Sum64()))
	for _, platform := range []string{"ent", "cned"} {
		for _, r := range schemas.Regions {
			if pupils[r] == 0 {
				return nil, fmt.Errorf("simulate: academies.csv has no académie for region %s", r)
			}
			share := float64(pupils[r]) / float64(total)
			p := &pair{platform: platform, region: r, cap: -1, sched: map[int][]task{}}
			if platform == "ent" {
				p.service = ENTService(r)
				p.rate = scale * (entBase + entPerShare*share)
				p.latencyMedian = 220
			} else {
				p.service = CNEDService
				p.rate = scale * (cnedBase + cnedPerShare*share)
				p.attackRate = scale * attackPerMinute * (cnedBase + cnedPerShare*share) / (cnedBase*float64(len(schemas.Regions)) + cnedPerShare)
				p.latencyMedian = 320
			}
			p.users = pool(platform, r, pupils[r], byRegion[r])
			p.sampleRate = min(1, float64(len(p.users))/float64(max(1, pupils[r])))
			p.state = make([]uint8, len(p.users))
			p.seen = make([]bool, len(p.users))
			p.pos = make([]int32, len(p.users))
			for i := range p.pos {
				p.pos[i] = -1
			}
			for _, in := range sc.Incidents {
				if in.Platform == platform && in.Service == p.service && (in.Regions == nil || contains(in.Regions, r)) {
					p.incidents = append(p.incidents, in)
				}
			}
			g.pairs = append(g.pairs, p)
		}
	}
	return g, nil
}

// pool builds a region's users: ids that look pseudonymous (a hash, not a
// name), roles in the proportions of the school population (pupils, their
// parents, ~7% teachers), each attached to an académie by its pupils.
func pool(platform, region string, pupils int, acs []Academy) []simUser {
	n := max(40, pupils/PupilsPerUser)
	users := make([]simUser, n)
	for i := range users {
		h := fnv.New64a()
		fmt.Fprintf(h, "%s/%s/%d", platform, region, i)
		x := h.Sum64()
		u := simUser{id: fmt.Sprintf("%s%s-%012x", platform[:1], region, x>>16)}
		switch r := (x >> 8) % 100; {
		case platform == "cned" && r < 85, platform == "ent" && r < 80:
			u.role = "student"
		case platform == "ent" && r < 93:
			u.role = "parent"
		default:
			u.role = "teacher"
		}
		u.ua = browsers[(x>>20)%uint64(len(browsers))]
		k := int((x >> 32) % uint64(pupils))
		for _, a := range acs {
			if k < a.Pupils {
				u.academy = a.Slug
				break
			}
			k -= a.Pupils
		}
		users[i] = u
	}
	return users
}

var (
	browsers = []string{"Chrome/89", "Chrome/89", "Chrome/88", "Firefox/87", "Safari/14", "Edge/89", "Chrome Mobile/89", "Safari Mobile/14"}
	// The attack's user agents and sources: few, odd, repeated. Addresses are
	// from the documentation ranges (RFC 5737).
	attackUAs     = []string{"python-requests/2.25.1", "Go-http-client/1.1", "curl/7.68.0", "-", "Mozilla/4.0 (compatible; MSIE 6.0)"}
	attackSources = func() []string {
		var s []string
		for i := 1; i <= 12; i++ {
			s = append(s, "198.51.100."+strconv.Itoa(i*7), "203.0.113."+strconv.Itoa(i*11))
		}
		return s
	}()
)

// errStop ends a run early without an error to report.
var errStop = errors.New("stop")

func (g *generator) run(emit func(schemas.Event) error) (Stats, error) {
	st := Stats{ByPlatform: map[string]int{}, ByOutcome: map[string]int{}}
	minutes := int(g.sc.End.Sub(g.sc.Start) / time.Minute)
	prefix := "sim-" + g.sc.Name + "-" + strconv.FormatInt(g.seed, 10) + "-"
	var all []schemas.Event
	for g.minute = 0; g.minute < minutes; g.minute++ {
		g.t = g.sc.Start.Add(time.Duration(g.minute) * time.Minute)
		all = all[:0]
		for _, p := range g.pairs {
			g.step(p)
			all = append(all, p.buf...)
		}
		sort.SliceStable(all, func(i, j int) bool { return all[i].TS.Before(all[j].TS) })
		for _, ev := range all {
			ev.ID = prefix + strconv.Itoa(st.Events)
			if err := emit(ev); err != nil {
				if errors.Is(err, errStop) {
					return st, nil
				}
				return st, err
			}
			if st.Events == 0 {
				st.First = ev.TS
			}
			st.Last = ev.TS
			st.Events++
			st.ByPlatform[ev.Platform]++
			st.ByOutcome[ev.Outcome]++
		}
	}
	for _, p := range g.pairs {
		for _, s := range p.seen {
			if s {
				st.Users++
			}
		}
	}
	return st, nil
}

// phase is what the script says about a pair at a minute.
type phase struct {
	failing     bool
	cause       string
	ramp        float64 // latency multiplier before an overload starts
	waitingRoom bool    // waiting room open (early, without failures)
}

func (g *generator) phase(p *pair) phase { return phaseAt(p.incidents, g.t, p.latencyMedian) }

// phaseAt is what the script says about a pair's incidents at minute t.
func phaseAt(incidents []Incident, t time.Time, latencyMedian float64) phase {
	ph := phase{ramp: 1}
	for _, in := range incidents {
		switch {
		case !t.Before(in.Start) && t.Before(in.End):
			ph.failing, ph.cause = true, in.Cause
		case in.Cause == CauseOverload && t.Before(in.Start) && in.Start.Sub(t) <= 15*time.Minute:
			// Latency rises for a quarter of an hour before errors start,
			// to a median of 700 ms (p95 about 1.7 s): slow, not yet failing.
			f := 1 - float64(in.Start.Sub(t))/float64(15*time.Minute)
			ph.ramp = max(ph.ramp, 1+f*(700/latencyMedian-1))
		}
		if !in.WaitingRoomFrom.IsZero() && !t.Before(in.WaitingRoomFrom) && t.Before(in.Start) {
			ph.waitingRoom = true
		}
	}
	return ph
}

// step simulates one minute of one pair into p.buf.
func (g *generator) step(p *pair) {
	p.buf = p.buf[:0]
	ph := g.phase(p)
	overloaded := ph.failing && ph.cause == CauseOverload
	switch {
	case overloaded && p.cap < 0:
		// The operator's quota: sessions capped below what is open now.
		p.cap = max(5, len(p.active)*35/100)
	case !overloaded:
		p.cap = -1
	}
	tasks := p.sched[g.minute]
	delete(p.sched, g.minute)
	for _, tk := range tasks {
		switch tk.kind {
		case taskEnd:
			if p.state[tk.user] == active {
				g.endSession(p, tk.user)
			}
		case taskRetry:
			g.login(p, ph, tk.user, tk.tries)
		case taskQueueExit:
			g.queueExit(p, ph, tk)
		}
	}
	d := g.demand()
	for n := g.poisson(p.rate * d); n > 0; n-- {
		if u, ok := g.idleUser(p); ok {
			g.login(p, ph, u, 0)
		}
	}
	for n := g.poisson(float64(len(p.active)) * requestsPerMinute); n > 0; n-- {
		g.request(p, ph, p.active[g.rng.IntN(len(p.active))])
	}
	if ph.failing && ph.cause == CauseAttack {
		for n := g.poisson(p.attackRate); n > 0; n-- {
			g.attackRequest(p)
		}
	}
	// Top up thin minutes with background polling (messaging, notifications),
	// so every minute from 07:30 has enough events to judge.
	if g.sc.Diurnal {
		// Background polling in proportion to demand, drawn, so that no
		// rounding step drops every small region at the same minute.
		for n := g.poisson(floorEvents * g.scale * d); n > 0; n-- {
			g.request(p, ph, int32(g.rng.IntN(len(p.users))))
		}
	} else if floor := g.floor(); floor > 0 {
		for len(p.buf) < floor {
			var u int32
			if len(p.active) > 0 {
				u = p.active[g.rng.IntN(len(p.active))]
			} else {
				u = int32(g.rng.IntN(len(p.users)))
			}
			g.request(p, ph, u)
		}
	}
	switch {
	case ph.failing && ph.cause == CauseSilent:
		// The platform is down hard: what its users tried never arrives.
		p.buf = p.buf[:0]
	case ph.failing:
		g.failureFloor(p)
	case g.sc.NoiseRate > 0:
		g.noise(p)
	default:
		g.backgroundErrors(p)
	}
}

// floor is the least a (service, region) minute holds from 07:30 on in a
// morning scenario.
func (g *generator) floor() int {
	if g.t.Sub(g.sc.Start) >= 90*time.Minute {
		return int(math.Ceil(floorEvents * g.scale))
	}
	return 0
}

// noise fails each healthy request with probability NoiseRate, one time in
// five as a timeout: independent random errors.
func (g *generator) noise(p *pair) {
	for i := range p.buf {
		ev := &p.buf[i]
		if ev.Outcome != "ok" || (ev.Kind != "page" && ev.Kind != "api") || g.rng.Float64() >= g.sc.NoiseRate {
			continue
		}
		if g.rng.IntN(5) == 0 {
			ev.Outcome, ev.Status = "timeout", 504
			*ev.LatencyMS = 30000
		} else {
			ev.Outcome, ev.Status = "error", 500
		}
	}
}

// demand is the load at the current minute relative to the 08:00–09:00 peak:
// a normal morning's curve times the remote-school factor (PeakFactor at the
// peak, less before and after).
func (g *generator) demand() float64 {
	h := float64(g.t.Hour()) + float64(g.t.Minute())/60
	if g.sc.Diurnal {
		d := interp(h, []float64{0, 5, 6.5, 7.5, 8.5, 11.5, 12.5, 13.5, 16.5, 18, 20, 22, 24},
			[]float64{0.01, 0.01, 0.08, 0.55, 1, 0.9, 0.55, 0.85, 0.8, 0.6, 0.45, 0.1, 0.01})
		if wd := g.t.Weekday(); wd == time.Saturday || wd == time.Sunday {
			d /= 3
		}
		return d
	}
	normal := interp(h, []float64{6, 7, 7.5, 8, 8.5, 9, 10, 11, 12}, []float64{0.05, 0.25, 0.55, 0.9, 1, 0.95, 0.85, 0.75, 0.6})
	pf := g.sc.PeakFactor
	if pf <= 0 {
		pf = 1
	}
	factor := interp(h, []float64{6, 7.5, 8, 9, 10, 11, 12}, []float64{pf * 0.4, pf * 0.65, pf, pf, pf * 0.65, pf * 0.5, pf * 0.4})
	return normal * factor / pf
}

func interp(x float64, xs, ys []float64) float64 {
	if x <= xs[0] {
		return ys[0]
	}
	for i := 1; i < len(xs); i++ {
		if x <= xs[i] {
			f := (x - xs[i-1]) / (xs[i] - xs[i-1])
			return ys[i-1] + f*(ys[i]-ys[i-1])
		}
	}
	return ys[len(ys)-1]
}

func (g *generator) idleUser(p *pair) (int32, bool) {
	for range 8 {
		u := int32(g.rng.IntN(len(p.users)))
		if p.state[u] == idle {
			return u, true
		}
	}
	return 0, false
}

// at is a random instant in the current minute, to the millisecond.
func (g *generator) at() time.Time {
	return g.t.Add(time.Duration(g.rng.IntN(60000)) * time.Millisecond)
}

// later is t+d, kept inside the current minute so events stay in order.
func (g *generator) later(t time.Time, ms float64) time.Time {
	end := g.t.Add(time.Minute - time.Millisecond)
	l := t.Add(time.Duration(ms) * time.Millisecond).Truncate(time.Millisecond)
	if l.After(end) {
		return end
	}
	return l
}

func (g *generator) schedule(p *pair, inMinutes int, tk task) {
	m := g.minute + inMinutes
	p.sched[m] = append(p.sched[m], tk)
}

// login is one login attempt: refused by the quota, sent to the waiting
// room, failed, or a new session.
func (g *generator) login(p *pair, ph phase, u int32, tries uint8) {
	ts := g.at()
	full := p.cap >= 0 && len(p.active) >= p.cap
	switch {
	case full && g.rng.Float64() < 0.45, !full && ph.waitingRoom && g.rng.Float64() < 0.2:
		g.add(p, u, ts, "login", "queued", 200, g.lognormal(90, 0.4), nil, nil)
		p.state[u] = waiting
		g.schedule(p, 1+g.rng.IntN(4), task{kind: taskQueueExit, user: u, since: ts, tries: tries})
	case full:
		g.add(p, u, ts, "login", "rejected", 429, g.lognormal(400, 0.5), nil, map[string]string{"reason": "quota"})
		g.retry(p, u, tries, 0.8)
	default:
		outcome, status, lat := g.outcome(p, ph)
		g.add(p, u, ts, "login", outcome, status, lat, nil, nil)
		if outcome == "ok" {
			g.startSession(p, ph, u, g.later(ts, lat))
		} else {
			g.retry(p, u, tries, 0.7)
		}
	}
}

func (g *generator) retry(p *pair, u int32, tries uint8, prob float64) {
	if tries < 4 && g.rng.Float64() < prob {
		p.state[u] = waiting
		g.schedule(p, 1+g.rng.IntN(3), task{kind: taskRetry, user: u, tries: tries + 1})
		return
	}
	p.state[u] = idle
}

// queueExit: the user leaves the waiting room, admitted when a session slot
// is free, giving up after a while otherwise.
func (g *generator) queueExit(p *pair, ph phase, tk task) {
	full := p.cap >= 0 && len(p.active) >= p.cap
	waited := g.t.Sub(tk.since)
	if full && waited < 10*time.Minute && g.rng.Float64() < 0.75 {
		g.schedule(p, 1+g.rng.IntN(3), tk)
		return
	}
	ts := g.at()
	q := float64(ts.Sub(tk.since).Milliseconds())
	if full {
		g.add(p, tk.user, ts, "queue", "queued", 200, g.lognormal(90, 0.4), &q, map[string]string{"exit": "abandon"})
		g.retry(p, tk.user, tk.tries, 0.5)
		return
	}
	g.add(p, tk.user, ts, "queue", "queued", 200, g.lognormal(90, 0.4), &q, map[string]string{"exit": "admitted"})
	g.startSession(p, ph, tk.user, g.later(ts, 100))
}

func (g *generator) startSession(p *pair, ph phase, u int32, ts time.Time) {
	g.add(p, u, ts, "session_start", "ok", 200, g.lognormal(p.latencyMedian*ph.ramp*0.5, 0.4), nil, nil)
	p.state[u] = active
	p.pos[u] = int32(len(p.active))
	p.active = append(p.active, u)
	d := 10 + g.rng.IntN(31)
	if p.cap >= 0 {
		d = min(d, 15) // "nous avons limité le temps des sessions"
	}
	g.schedule(p, d, task{kind: taskEnd, user: u})
}

func (g *generator) endSession(p *pair, u int32) {
	i := p.pos[u]
	last := p.active[len(p.active)-1]
	p.active[i] = last
	p.pos[last] = i
	p.active = p.active[:len(p.active)-1]
	p.pos[u] = -1
	p.state[u] = idle
	g.add(p, u, g.at(), "session_end", "ok", 200, g.lognormal(40, 0.3), nil, nil)
}

// request is one page or api call from a user.
func (g *generator) request(p *pair, ph phase, u int32) {
	kind := "page"
	if g.rng.Float64() < 0.4 {
		kind = "api"
	}
	outcome, status, lat := g.outcome(p, ph)
	g.add(p, u, g.at(), kind, outcome, status, lat, nil, nil)
}

// outcome draws a request's result in the pair's phase.
func (g *generator) outcome(p *pair, ph phase) (string, int, float64) {
	r := g.rng.Float64()
	switch {
	case ph.failing && ph.cause == CauseOverload:
		switch {
		case r < 0.10:
			return "error", []int{500, 502, 503}[g.rng.IntN(3)], g.lognormal(1200, 0.6)
		case r < 0.20:
			return "timeout", 504, 30000
		}
		return "ok", 200, g.lognormal(2200, 0.7)
	case ph.failing && ph.cause == CauseAttack:
		switch {
		case r < 0.08:
			return "error", 503, g.lognormal(800, 0.5)
		case r < 0.30:
			return "timeout", 504, 30000
		}
		return "ok", 200, g.lognormal(2800, 0.6)
	}
	return "ok", 200, g.lognormal(p.latencyMedian*ph.ramp, 0.55)
}

// attackRequest is one request of the attack-like traffic: no user, an odd
// user agent, one of a few sources.
func (g *generator) attackRequest(p *pair) {
	kind := "api"
	if g.rng.Float64() < 0.3 {
		kind = "page"
	}
	outcome, status, lat := "ok", 200, g.lognormal(2800, 0.6)
	switch r := g.rng.Float64(); {
	case r < 0.15:
		outcome, status, lat = "error", 503, g.lognormal(300, 0.5)
	case r < 0.50:
		outcome, status, lat = "timeout", 504, 30000
	}
	attrs := map[string]string{
		"ua":  attackUAs[g.rng.IntN(len(attackUAs))],
		"src": attackSources[g.rng.IntN(len(attackSources))],
	}
	p.buf = append(p.buf, g.event(p, g.at(), kind, outcome, status, lat, nil, attrs))
}

// failureFloor makes sure every minute of a scripted failure reads as one,
// even a thin minute where chance drew few failures: at least 12% of the
// answered requests fail and at least 7% (plus one) of the events time out
// at 30 s, which puts the minute's p95 latency above any sane threshold.
func (g *generator) failureFloor(p *pair) {
	ok, failed, timeouts := 0, 0, 0
	var cand []int
	for i, ev := range p.buf {
		switch {
		case ev.Outcome == "ok":
			ok++
			if ev.Kind == "page" || ev.Kind == "api" {
				cand = append(cand, i)
			}
		case ev.Failed():
			failed++
		}
		if ev.Outcome == "timeout" {
			timeouts++
		}
	}
	needFailed := int(math.Ceil(0.12 * float64(ok+failed)))
	needTimeouts := int(math.Ceil(0.07*float64(len(p.buf)))) + 1
	for _, j := range g.rng.Perm(len(cand)) {
		if failed >= needFailed && timeouts >= needTimeouts {
			break
		}
		ev := &p.buf[cand[j]]
		ev.Outcome, ev.Status = "timeout", 504
		*ev.LatencyMS = 30000
		failed++
		timeouts++
	}
}

// backgroundErrors turns a whole number of a healthy minute's successful
// requests into server errors: real services are never perfect, but a healthy
// one never falls below 99% in any minute.
func (g *generator) backgroundErrors(p *pair) {
	k := int(float64(len(p.buf)) * healthyErrorRate)
	for i := 0; k > 0 && i < len(p.buf); i++ {
		ev := &p.buf[i]
		if ev.Outcome == "ok" && (ev.Kind == "page" || ev.Kind == "api") && g.rng.Float64() < 0.5 {
			ev.Outcome, ev.Status = "error", 500
			k--
		}
	}
}

func (g *generator) add(p *pair, u int32, ts time.Time, kind, outcome string, status int, lat float64, queueMS *float64, attrs map[string]string) {
	usr := p.users[u]
	p.seen[u] = true
	if attrs == nil {
		attrs = map[string]string{"ua": usr.ua}
	} else {
		attrs["ua"] = usr.ua
	}
	ev := g.event(p, ts, kind, outcome, status, lat, queueMS, attrs)
	ev.User, ev.Role, ev.Academy = usr.id, usr.role, usr.academy
	// Each simulated user stands for the people of the region it was drawn
	// for (PupilsPerUser): the sample rate lets reports estimate them.
	ev.SampleRate = p.sampleRate
	p.buf = append(p.buf, ev)
}

func (g *generator) event(p *pair, ts time.Time, kind, outcome string, status int, lat float64, queueMS *float64, attrs map[string]string) schemas.Event {
	l := math.Round(lat*10) / 10
	return schemas.Event{
		TS: ts.Truncate(time.Millisecond), Platform: p.platform, Service: p.service, Region: p.region,
		Kind: kind, Outcome: outcome, Status: status, LatencyMS: &l, QueueMS: queueMS,
		Source: "sim", Attrs: attrs,
	}
}

func (g *generator) lognormal(median, sigma float64) float64 {
	return median * math.Exp(sigma*g.rng.NormFloat64())
}

// poisson draws a count with mean lambda (normal approximation when large).
func (g *generator) poisson(lambda float64) int {
	if lambda <= 0 {
		return 0
	}
	if lambda > 30 {
		return max(0, int(math.Round(lambda+math.Sqrt(lambda)*g.rng.NormFloat64())))
	}
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= g.rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
