package incident

import (
	"sort"
	"time"
)

// Group gathers the incidents of one service that overlap in time, such as
// a national service failing in many regions at once: one failure seen from
// many places, which a reader wants as one line.
type Group struct {
	Platform string    `json:"platform"`
	Service  string    `json:"service"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Minutes  int       `json:"minutes"`
	// Regions are the regions in incident, sorted by code.
	Regions []string `json:"regions"`
	// Incidents are indexes into the incident slice the group was built from.
	Incidents         []int   `json:"incidents"`
	WorstAvailability float64 `json:"worst_availability"`
	WorstP95MS        float64 `json:"worst_p95_ms"`
	Events            uint64  `json:"events"`
	Failed            uint64  `json:"failed"`
	// UsersAffected counts unique users over all the group's regions and
	// time; filled by CountAffected.
	UsersAffected uint64 `json:"users_affected"`
}

// GroupOverlapping groups incidents of the same platform and service whose
// periods overlap or touch (transitively). Groups are sorted by start, then
// platform and service; every incident is in exactly one group.
func GroupOverlapping(incs []Incident) []Group {
	order := make([]int, len(incs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		x, y := incs[order[a]], incs[order[b]]
		if x.Platform != y.Platform {
			return x.Platform < y.Platform
		}
		if x.Service != y.Service {
			return x.Service < y.Service
		}
		return x.Start.Before(y.Start)
	})
	var out []Group
	var cur *Group
	for _, i := range order {
		in := incs[i]
		if cur == nil || cur.Platform != in.Platform || cur.Service != in.Service || in.Start.After(cur.End) {
			out = append(out, Group{Platform: in.Platform, Service: in.Service, Start: in.Start, End: in.End, WorstAvailability: 1})
			cur = &out[len(out)-1]
		}
		if in.End.After(cur.End) {
			cur.End = in.End
		}
		cur.Incidents = append(cur.Incidents, i)
		cur.WorstAvailability = min(cur.WorstAvailability, in.WorstAvailability)
		cur.WorstP95MS = max(cur.WorstP95MS, in.WorstP95MS)
		cur.Events += in.Events
		cur.Failed += in.Failed
	}
	for g := range out {
		seen := map[string]bool{}
		for _, i := range out[g].Incidents {
			if r := incs[i].Region; !seen[r] {
				seen[r] = true
				out[g].Regions = append(out[g].Regions, r)
			}
		}
		sort.Strings(out[g].Regions)
		sort.Ints(out[g].Incidents)
		out[g].Minutes = int(out[g].End.Sub(out[g].Start) / time.Minute)
	}
	sort.SliceStable(out, func(a, b int) bool {
		x, y := out[a], out[b]
		if !x.Start.Equal(y.Start) {
			return x.Start.Before(y.Start)
		}
		if x.Platform != y.Platform {
			return x.Platform < y.Platform
		}
		return x.Service < y.Service
	})
	return out
}
