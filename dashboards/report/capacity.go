package report

import (
	"sort"
	"time"

	"github.com/vigie-fr/vigie/dashboards/incident"
)

// Capacity is what one failing service (an incident group) was asked for
// at its peak against what it served: the capacity it would have needed.
// Minutes add up the group's regions; attempts include retries and
// waiting-room entries, so the demand is an upper bound.
type Capacity struct {
	Platform string    `json:"platform"`
	Service  string    `json:"service"`
	Regions  []string  `json:"regions"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	// PeakAt is the minute with the most attempts (the first of equals).
	PeakAt       time.Time `json:"peak_at"`
	PeakAttempts uint64    `json:"peak_attempts_per_minute"`
	ServedAtPeak uint64    `json:"served_at_peak_per_minute"`
	// UsersAtPeak are the users active in the peak minute (summed over
	// the regions, which hold distinct users).
	UsersAtPeak uint64 `json:"users_at_peak"`
	// MedianServed is the median of successful attempts a minute over the
	// group's minutes: the capacity the service showed it had.
	MedianServed float64 `json:"median_served_per_minute"`
	// Factor is PeakAttempts / MedianServed, how many times the capacity it
	// served the service would have needed; 0 when it served nothing.
	Factor float64 `json:"factor"`
}

// Capacities computes the capacity needed by every group, in the groups'
// order, from the minutes the incidents were detected in.
func Capacities(incs []incident.Incident, groups []incident.Group, minutes []incident.Minute) []Capacity {
	out := []Capacity{}
	for _, g := range groups {
		byMinute := groupMinutes(incs, g, minutes)
		c := Capacity{Platform: g.Platform, Service: g.Service, Regions: g.Regions, Start: g.Start, End: g.End}
		buckets := make([]time.Time, 0, len(byMinute))
		for b := range byMinute {
			buckets = append(buckets, b)
		}
		sort.Slice(buckets, func(i, j int) bool { return buckets[i].Before(buckets[j]) })
		served := make([]uint64, 0, len(buckets))
		for _, b := range buckets {
			s := byMinute[b]
			if s.events > c.PeakAttempts {
				c.PeakAt, c.PeakAttempts, c.ServedAtPeak, c.UsersAtPeak = b, s.events, s.ok, s.users
			}
			served = append(served, s.ok)
		}
		c.MedianServed = median(served)
		if c.MedianServed > 0 {
			c.Factor = float64(c.PeakAttempts) / c.MedianServed
		}
		out = append(out, c)
	}
	return out
}

func median(v []uint64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]uint64(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	n := len(s)
	if n%2 == 1 {
		return float64(s[n/2])
	}
	return (float64(s[n/2-1]) + float64(s[n/2])) / 2
}

// minuteSums add up a group's regions in one minute.
type minuteSums struct{ events, ok, failed, users uint64 }

// groupMinutes sums, minute by minute, the series of a group's incidents
// within the group's period.
func groupMinutes(incs []incident.Incident, g incident.Group, minutes []incident.Minute) map[time.Time]*minuteSums {
	members := map[incident.Key]bool{}
	for _, i := range g.Incidents {
		members[incs[i].Key()] = true
	}
	by := map[time.Time]*minuteSums{}
	for _, m := range minutes {
		if !members[incident.Key{Platform: m.Platform, Service: m.Service, Region: m.Region}] ||
			m.Bucket.Before(g.Start) || !m.Bucket.Before(g.End) {
			continue
		}
		s := by[m.Bucket]
		if s == nil {
			s = &minuteSums{}
			by[m.Bucket] = s
		}
		s.events += m.Events
		s.ok += m.OK
		s.failed += m.Failed()
		s.users += m.Users
	}
	return by
}
