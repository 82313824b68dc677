package report

import (
	"context"
	"sort"
	"time"

	"github.com/vigie-fr/vigie/dashboards/incident"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/store"
)

// This file computes the post-mortem's parts that the data can tell:
// headline numbers that do not double count, who was affected and how many
// people that stands for, when each failure was mitigated and resolved,
// what triggered the first one, and which hosting providers' services
// failed together.

// Headline are the report's first numbers. Times are wall-clock: the union
// of incident intervals, never a sum of region-incidents.
type Headline struct {
	// Platforms are those with at least one incident, in Platforms' order.
	Platforms []PlatformHeadline `json:"platforms"`
	// WallMinutes is how long at least one service was in incident.
	WallMinutes int `json:"wall_minutes"`
	// Start and End bound every incident.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// PlatformHeadline is one platform's part of the headline.
type PlatformHeadline struct {
	Platform string `json:"platform"`
	// Services and Regions are those in incident, sorted.
	Services []string `json:"services"`
	Regions  []string `json:"regions"`
	// WallMinutes is how long at least one of its services was in
	// incident somewhere.
	WallMinutes int       `json:"wall_minutes"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	Incidents   int       `json:"incidents"`
}

func headline(incs []incident.Incident) Headline {
	h := Headline{Platforms: []PlatformHeadline{}}
	var all [][2]time.Time
	for _, p := range Platforms {
		ph := PlatformHeadline{Platform: p}
		var ivs [][2]time.Time
		services, regions := map[string]bool{}, map[string]bool{}
		for _, in := range incs {
			if in.Platform != p {
				continue
			}
			ph.Incidents++
			ivs = append(ivs, [2]time.Time{in.Start, in.End})
			services[in.Service], regions[in.Region] = true, true
			if ph.Start.IsZero() || in.Start.Before(ph.Start) {
				ph.Start = in.Start
			}
			if in.End.After(ph.End) {
				ph.End = in.End
			}
		}
		if ph.Incidents == 0 {
			continue
		}
		ph.WallMinutes = unionMinutes(ivs)
		ph.Services, ph.Regions = keys(services), keys(regions)
		SortRegions(ph.Regions)
		all = append(all, ivs...)
		if h.Start.IsZero() || ph.Start.Before(h.Start) {
			h.Start = ph.Start
		}
		if ph.End.After(h.End) {
			h.End = ph.End
		}
		h.Platforms = append(h.Platforms, ph)
	}
	h.WallMinutes = unionMinutes(all)
	return h
}

// Estimate is the impact counted in the raw events and estimated for the
// whole population (see docs/reports.md, "Estimations").
type Estimate struct {
	// Available is false when the raw events of the incidents are no
	// longer kept (warehouse.retention.raw): then only the users counted
	// by the aggregates are known.
	Available bool `json:"available"`
	// Sampled is true when some events carried a sample rate below 1:
	// the estimates then weigh each event and person by 1 / sample_rate.
	Sampled bool `json:"sampled"`
	// ByRole are the people and attempts of each role.
	ByRole []store.People `json:"by_role"`
	// Totals add up ByRole: a person counts under one role only.
	Total store.People `json:"total"`
}

// Roles of people, in the report's order (schemas.Roles).
var Roles = []string{"student", "teacher", "parent", "staff", "unknown"}

func estimate(people []store.People) Estimate {
	e := Estimate{ByRole: []store.People{}}
	byRole := map[string]store.People{}
	for _, p := range people {
		role := p.Role
		if role != "" && !contains(Roles, role) {
			role = "unknown"
		}
		cur := byRole[role]
		cur.Role = role
		cur.Users += p.Users
		cur.Failed += p.Failed
		cur.EstUsers += p.EstUsers
		cur.EstFailed += p.EstFailed
		cur.Attempts += p.Attempts
		cur.FailedAttempts += p.FailedAttempts
		cur.EstAttempts += p.EstAttempts
		cur.EstFailedAttempts += p.EstFailedAttempts
		cur.Sampled += p.Sampled
		byRole[role] = cur
	}
	for _, role := range append(append([]string{}, Roles...), "") {
		p, ok := byRole[role]
		if !ok {
			continue
		}
		e.Available = true
		e.Sampled = e.Sampled || p.Sampled > 0
		if role != "" {
			e.ByRole = append(e.ByRole, p)
		}
		t := &e.Total
		t.Users += p.Users
		t.Failed += p.Failed
		t.EstUsers += p.EstUsers
		t.EstFailed += p.EstFailed
		t.Attempts += p.Attempts
		t.FailedAttempts += p.FailedAttempts
		t.EstAttempts += p.EstAttempts
		t.EstFailedAttempts += p.EstFailedAttempts
		t.Sampled += p.Sampled
	}
	return e
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Recovery is the response and resolution of one failing service (an
// incident group): when it started, when Vigie would have alerted, when
// the failure was mitigated (the share of successful attempts back at least
// halfway from its worst minute to the objective) and when it was
// resolved (the incident's end).
type Recovery struct {
	Platform    string    `json:"platform"`
	Service     string    `json:"service"`
	Regions     []string  `json:"regions"`
	Start       time.Time `json:"start"`
	AlertAt     time.Time `json:"alert_at"`
	WorstAt     time.Time `json:"worst_at"`
	MitigatedAt time.Time `json:"mitigated_at"`
	End         time.Time `json:"end"`
}

// Recoveries computes the recovery of every group from its minutes.
func Recoveries(incs []incident.Incident, groups []incident.Group, minutes []incident.Minute, target float64) []Recovery {
	out := []Recovery{}
	for _, g := range groups {
		rc := Recovery{Platform: g.Platform, Service: g.Service, Regions: g.Regions, Start: g.Start, End: g.End}
		for _, i := range g.Incidents {
			if rc.AlertAt.IsZero() || incs[i].AlertAt.Before(rc.AlertAt) {
				rc.AlertAt = incs[i].AlertAt
			}
		}
		by := groupMinutes(incs, g, minutes)
		buckets := make([]time.Time, 0, len(by))
		for b, s := range by {
			if s.ok+s.failed > 0 {
				buckets = append(buckets, b)
			}
		}
		sort.Slice(buckets, func(i, j int) bool { return buckets[i].Before(buckets[j]) })
		avail := func(b time.Time) float64 { s := by[b]; return ratio(s.ok, s.ok+s.failed) }
		worst := 2.0
		for _, b := range buckets {
			if a := avail(b); a < worst {
				worst, rc.WorstAt = a, b
			}
		}
		rc.MitigatedAt = g.End
		if len(buckets) > 0 {
			half := worst + (target-worst)/2
			for _, b := range buckets {
				if b.After(rc.WorstAt) && avail(b) >= half {
					rc.MitigatedAt = b
					break
				}
			}
		} else {
			rc.WorstAt = g.Start // a silent failure: nothing answered
		}
		out = append(out, rc)
	}
	return out
}

// Trigger is what the data says about how the first failure began.
type Trigger struct {
	Platform string    `json:"platform"`
	Service  string    `json:"service"`
	Region   string    `json:"region"`
	Start    time.Time `json:"start"`
	Reason   string    `json:"reason"`
	// StartAttempts is the attempts a minute in the first minute of the
	// incident, and Before the median attempts a minute of the same series
	// in the range before it (0 when the range starts with the incident).
	StartAttempts uint64  `json:"start_attempts_per_minute"`
	Before        float64 `json:"before_attempts_per_minute"`
	// Signals are the kinds of cause signal of the first failing service.
	Signals []string `json:"signals"`
}

func trigger(incs []incident.Incident, minutes []incident.Minute, signals []Signal) *Trigger {
	if len(incs) == 0 {
		return nil
	}
	// The earliest; of incidents starting together, the busiest (a
	// national service is told where most of its users are).
	first := incs[0]
	for _, in := range incs[1:] {
		if in.Start.Before(first.Start) || in.Start.Equal(first.Start) && in.Events > first.Events {
			first = in
		}
	}
	t := &Trigger{Platform: first.Platform, Service: first.Service, Region: first.Region, Start: first.Start, Reason: first.Reason, Signals: []string{}}
	var before []uint64
	for _, m := range minutes {
		if m.Platform != first.Platform || m.Service != first.Service || m.Region != first.Region {
			continue
		}
		switch {
		case m.Bucket.Equal(first.Start):
			t.StartAttempts = m.Events
		case m.Bucket.Before(first.Start):
			before = append(before, m.Events)
		}
	}
	t.Before = median(before)
	seen := map[string]bool{}
	for _, s := range signals {
		if (s.Service == first.Service || contains(s.Services, first.Service)) && !seen[s.Kind] {
			seen[s.Kind] = true
			t.Signals = append(t.Signals, s.Kind)
		}
	}
	return t
}

// ProviderShare is one hosting provider's services seen from an incident:
// those that failed and those that held.
type ProviderShare struct {
	Provider string `json:"provider"`
	Network  string `json:"network,omitempty"`
	// Failed are its services in incident in the report's range, Held
	// those of the catalogue that had none (both sorted ids).
	Failed []string `json:"failed"`
	Held   []string `json:"held"`
}

// providerShares compares the failing services with the catalogue's
// providers: one entry per provider of a failing service, and one for
// failing services the catalogue does not host ("" provider).
func providerShares(cat config.CatalogueConfig, failing []string) []ProviderShare {
	isFailing := map[string]bool{}
	for _, s := range failing {
		isFailing[s] = true
	}
	type acc struct {
		network      string
		failed, held map[string]bool
	}
	by := map[string]*acc{}
	get := func(p, network string) *acc {
		a := by[p]
		if a == nil {
			a = &acc{network: network, failed: map[string]bool{}, held: map[string]bool{}}
			by[p] = a
		}
		return a
	}
	for _, s := range failing {
		e, ok := cat.Service(s)
		if !ok || e.Provider == "" {
			get("", "").failed[s] = true
			continue
		}
		get(e.Provider, e.Network).failed[s] = true
	}
	for _, e := range cat.Services {
		if a := by[e.Provider]; a != nil && e.Provider != "" && !isFailing[e.ID] {
			a.held[e.ID] = true
		}
	}
	out := []ProviderShare{}
	for p, a := range by {
		out = append(out, ProviderShare{Provider: p, Network: a.network, Failed: keys(a.failed), Held: keys(a.held)})
	}
	sort.Slice(out, func(i, j int) bool {
		if (out[i].Provider == "") != (out[j].Provider == "") {
			return out[j].Provider == ""
		}
		if len(out[i].Failed) != len(out[j].Failed) {
			return len(out[i].Failed) > len(out[j].Failed)
		}
		return out[i].Provider < out[j].Provider
	})
	return out
}

// Notes are what people added to the report's range.
type Notes struct {
	Status      string             `json:"status"`
	StatusBy    string             `json:"status_by,omitempty"`
	StatusAt    *time.Time         `json:"status_at,omitempty"`
	Annotations []store.Annotation `json:"annotations"`
	Actions     []store.Action     `json:"actions"`
}

// Report statuses.
const (
	StatusDraft = "draft"
	StatusFinal = "final"
)

// NoteSource reads what people added to a range (*store.Store).
type NoteSource interface {
	Annotations(ctx context.Context, from, to time.Time) ([]store.Annotation, error)
	Actions(ctx context.Context, from, to time.Time) ([]store.Action, error)
	ReportStatusOf(ctx context.Context, from, to time.Time) (store.ReportStatus, bool, error)
}

func loadNotes(ctx context.Context, src NoteSource, from, to time.Time) (Notes, error) {
	n := Notes{Status: StatusDraft}
	var err error
	if n.Annotations, err = src.Annotations(ctx, from, to); err != nil {
		return n, err
	}
	if n.Actions, err = src.Actions(ctx, from, to); err != nil {
		return n, err
	}
	st, ok, err := src.ReportStatusOf(ctx, from, to)
	if err != nil {
		return n, err
	}
	if ok {
		n.Status, n.StatusBy = st.Status, st.Author
		at := st.WrittenAt
		n.StatusAt = &at
	}
	return n, nil
}
