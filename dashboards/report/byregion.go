package report

import (
	"sort"
	"time"

	"github.com/vigie-fr/vigie/dashboards/incident"
)

// RegionTime is how long a region's pupils had a platform in incident: the
// unions' question, "how many hours of remote school were lost, and where".
// Overlapping incidents count once (intervals are merged).
type RegionTime struct {
	Region string `json:"region"`
	// ENTMinutes and CNEDMinutes are the minutes in incident of each
	// platform for users of the region; EitherMinutes those when at least
	// one of them was.
	ENTMinutes    int `json:"ent_minutes"`
	CNEDMinutes   int `json:"cned_minutes"`
	EitherMinutes int `json:"either_minutes"`
	Incidents     int `json:"incidents"`
}

// ByRegion sums incident time per region, most affected first.
func ByRegion(incs []incident.Incident) []RegionTime {
	type spans struct{ ent, cned, all [][2]time.Time }
	by := map[string]*spans{}
	count := map[string]int{}
	for _, in := range incs {
		s := by[in.Region]
		if s == nil {
			s = &spans{}
			by[in.Region] = s
		}
		iv := [2]time.Time{in.Start, in.End}
		if in.Platform == "ent" {
			s.ent = append(s.ent, iv)
		} else {
			s.cned = append(s.cned, iv)
		}
		s.all = append(s.all, iv)
		count[in.Region]++
	}
	out := make([]RegionTime, 0, len(by))
	for reg, s := range by {
		out = append(out, RegionTime{Region: reg, ENTMinutes: unionMinutes(s.ent), CNEDMinutes: unionMinutes(s.cned),
			EitherMinutes: unionMinutes(s.all), Incidents: count[reg]})
	}
	rank := regionRank()
	sort.Slice(out, func(i, j int) bool {
		if out[i].EitherMinutes != out[j].EitherMinutes {
			return out[i].EitherMinutes > out[j].EitherMinutes
		}
		return lessRegion(rank, out[i].Region, out[j].Region)
	})
	return out
}

// unionMinutes is the length of the union of intervals, in minutes.
func unionMinutes(ivs [][2]time.Time) int {
	sort.Slice(ivs, func(i, j int) bool { return ivs[i][0].Before(ivs[j][0]) })
	var total time.Duration
	var cur [2]time.Time
	for i, iv := range ivs {
		switch {
		case i == 0:
			cur = iv
		case !iv[0].After(cur[1]):
			if iv[1].After(cur[1]) {
				cur[1] = iv[1]
			}
		default:
			total += cur[1].Sub(cur[0])
			cur = iv
		}
	}
	if len(ivs) > 0 {
		total += cur[1].Sub(cur[0])
	}
	return int(total / time.Minute)
}
