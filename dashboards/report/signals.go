package report

import (
	"sort"
	"time"

	"github.com/vigie-fr/vigie/dashboards/incident"
)

// Kinds of cause signal.
const (
	SignalSaturation     = "saturation"
	SignalAttack         = "attack"
	SignalSharedProvider = "shared_provider"
	// SignalAnonymous is attack-like traffic seen in the raw events: many
	// attempts without a user session (see anonymous.go).
	SignalAnonymous = "anonymous_flood"
)

// Thresholds of the cause signals. They flag a pattern worth checking, not
// a proven cause, and the report says so.
const (
	// SaturationShare is the share of attempts refused by a quota or sent
	// to a waiting room above which an incident looks load-driven.
	SaturationShare = 0.10
	// AttackRatio is how many times the platform's normal attempts per
	// active user a minute an incident must reach to look like an attack.
	AttackRatio = 3.0
	// SharedProviderServices is how many distinct services in incident at
	// the same minute look like a shared dependency.
	SharedProviderServices = 3
)

// Signal is one cause signal computed from the data.
type Signal struct {
	Kind  string `json:"kind"`
	Label string `json:"label"`
	// Platform and Service are empty for a shared-provider signal, which
	// lists its Services instead.
	Platform string    `json:"platform,omitempty"`
	Service  string    `json:"service,omitempty"`
	Services []string  `json:"services,omitempty"`
	Regions  []string  `json:"regions"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	// Value is the share (saturation), the attempts per active user a
	// minute (attack) or the number of services (shared provider).
	Value float64 `json:"value"`
	// Baseline is the platform's normal attempts per active user a minute
	// (attack), or the service's normal share of attempts without a user
	// (anonymous flood).
	Baseline float64 `json:"baseline,omitempty"`
	// Sources counts the distinct networks (attrs.src, /24 or /48) the
	// anonymous attempts came from (anonymous flood only).
	Sources uint64 `json:"sources,omitempty"`
	// Providers compare the services of a shared-provider signal with the
	// catalogue's hosts: which failed together, which held.
	Providers []ProviderShare `json:"providers,omitempty"`
}

var labels = map[string]string{
	SignalSaturation:     "load-driven saturation (quota, waiting room)",
	SignalAttack:         "attack-like traffic",
	SignalSharedProvider: "shared-provider pattern",
	SignalAnonymous:      "attack-like traffic (requests without users)",
}

// Signals computes the cause signals of incidents (grouped as groups) from
// the minutes they were detected in. Sorted by start, kind, service.
func Signals(incs []incident.Incident, groups []incident.Group, minutes []incident.Minute) []Signal {
	out := []Signal{}
	ranges := map[incident.Key][][2]time.Time{}
	for _, in := range incs {
		ranges[in.Key()] = append(ranges[in.Key()], [2]time.Time{in.Start, in.End})
	}
	inIncident := func(m incident.Minute) bool {
		for _, r := range ranges[incident.Key{Platform: m.Platform, Service: m.Service, Region: m.Region}] {
			if !m.Bucket.Before(r[0]) && m.Bucket.Before(r[1]) {
				return true
			}
		}
		return false
	}
	// The platform's normal rate: attempts per active user a minute, over
	// every minute outside incidents.
	type acc struct{ events, users uint64 }
	normal := map[string]*acc{}
	for _, m := range minutes {
		if inIncident(m) {
			continue
		}
		a := normal[m.Platform]
		if a == nil {
			a = &acc{}
			normal[m.Platform] = a
		}
		a.events += m.Events
		a.users += m.Users
	}
	for _, g := range groups {
		var events, refused uint64
		members := map[incident.Key]bool{}
		for _, i := range g.Incidents {
			events += incs[i].Events
			refused += incs[i].Rejected + incs[i].Queued
			members[incs[i].Key()] = true
		}
		base := Signal{Platform: g.Platform, Service: g.Service, Regions: g.Regions, Start: g.Start, End: g.End}
		if events > 0 && float64(refused)/float64(events) >= SaturationShare {
			s := base
			s.Kind, s.Value = SignalSaturation, float64(refused)/float64(events)
			out = append(out, s)
		}
		var during acc
		for _, m := range minutes {
			if members[incident.Key{Platform: m.Platform, Service: m.Service, Region: m.Region}] && inIncident(m) &&
				!m.Bucket.Before(g.Start) && m.Bucket.Before(g.End) {
				during.events += m.Events
				during.users += m.Users
			}
		}
		if n := normal[g.Platform]; n != nil && n.users > 0 && during.users > 0 {
			rate, baseline := float64(during.events)/float64(during.users), float64(n.events)/float64(n.users)
			if rate >= AttackRatio*baseline {
				s := base
				s.Kind, s.Value, s.Baseline = SignalAttack, rate, baseline
				out = append(out, s)
			}
		}
	}
	if s, ok := sharedProvider(incs); ok {
		out = append(out, s)
	}
	for i := range out {
		out[i].Label = labels[out[i].Kind]
	}
	return sortSignals(out)
}

// sortSignals orders signals by start, kind, service.
func sortSignals(out []Signal) []Signal {
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.Start.Equal(b.Start) {
			return a.Start.Before(b.Start)
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Service < b.Service
	})
	return out
}

// sharedProvider finds the first period when the most distinct services
// were in incident at once, if they were at least SharedProviderServices.
func sharedProvider(incs []incident.Incident) (Signal, bool) {
	var cuts []time.Time
	for _, in := range incs {
		cuts = append(cuts, in.Start, in.End)
	}
	sort.Slice(cuts, func(i, j int) bool { return cuts[i].Before(cuts[j]) })
	best := Signal{Kind: SignalSharedProvider}
	for i := 0; i+1 < len(cuts); i++ {
		from, to := cuts[i], cuts[i+1]
		if !to.After(from) {
			continue
		}
		services, regions := map[string]bool{}, map[string]bool{}
		for _, in := range incs {
			if in.Start.Before(to) && in.End.After(from) {
				services[in.Service] = true
				regions[in.Region] = true
			}
		}
		n := float64(len(services))
		switch {
		case n > best.Value:
			best.Value, best.Start, best.End = n, from, to
			best.Services, best.Regions = keys(services), keys(regions)
			SortRegions(best.Regions)
		case n == best.Value && from.Equal(best.End) && equal(keys(services), best.Services):
			best.End = to // the same set goes on
		}
	}
	return best, best.Value >= SharedProviderServices
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sortStrings(out)
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sortStrings(s []string) { sort.Strings(s) }
