package report

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/vigie-fr/vigie/dashboards/incident"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/store"
)

// LookbackDays is how far before a report's range Build looks for earlier
// incidents: a little over a year, so that the same week last year is in.
const LookbackDays = 400

// MaxEarlierDays bounds the days Build runs incident detection on (two
// queries each): the days with the most hours below the objective.
const MaxEarlierDays = 20

// Grains an earlier day was examined at.
const (
	// ComparedByMinute: incidents detected on minute data, as in the report.
	ComparedByMinute = "minute"
	// ComparedByHour: the minute data had expired (its retention is
	// shorter), so the day is described by its hours below the objective.
	ComparedByHour = "hour"
)

// Comparison is what the warehouse holds about incidents before the
// report's range: the unions' "nothing was learned" in numbers.
type Comparison struct {
	// From and To are the range searched: Paris midnight LookbackDays
	// before the report's start, up to the hour of its start.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// DaysWithData counts the Paris days in [From, To) with any hour of data.
	DaysWithData int `json:"days_with_data"`
	// CandidateDays counts the days where some (service, region) hour broke
	// the objective; ExaminedDays those that detection ran on (at most
	// MaxEarlierDays, those with the most such hours).
	CandidateDays int `json:"candidate_days"`
	ExaminedDays  int `json:"examined_days"`
	// Days are the examined days with incidents, oldest first.
	Days []EarlierDay `json:"days"`
}

// EarlierDay is one Paris day before the report's range that had incidents.
// Its embedded Summary adds up that day's incidents as the report's does.
type EarlierDay struct {
	Date       string `json:"date"` // YYYY-MM-DD, Paris
	DaysBefore int    `json:"days_before"`
	Grain      string `json:"grain"`
	Summary
	WorstAvailability float64 `json:"worst_availability"`
	WorstP95MS        float64 `json:"worst_p95_ms"`
	// Repeated are the (service, region) pairs in incident that day and in
	// the report's range again.
	Repeated []Repeat `json:"repeated"`
}

// Repeat is a (platform, service, region) that failed on an earlier day and
// again in the report's range.
type Repeat struct {
	Platform    string    `json:"platform"`
	Service     string    `json:"service"`
	Region      string    `json:"region"`
	ThenStart   time.Time `json:"then_start"`
	ThenMinutes int       `json:"then_minutes"`
	NowStart    time.Time `json:"now_start"`
	NowMinutes  int       `json:"now_minutes"`
}

// compare looks for incidents in the LookbackDays before from. To keep the
// cost bounded it first reads the hours of that range (one query over at
// most LookbackDays×24 hours per series) and keeps the days with an hour
// that breaks the objective by incident.Bad, then runs the report's own
// detection on those days only. An incident too short to pull its whole
// hour below the objective is not found this way; the earlier failures
// worth comparing with are not that short.
func compare(ctx context.Context, src Source, from time.Time, now []incident.Incident, cfg config.IncidentsConfig) (*Comparison, error) {
	f := from.In(paris)
	c := &Comparison{
		From: time.Date(f.Year(), f.Month(), f.Day()-LookbackDays, 0, 0, 0, 0, paris).UTC(),
		To:   from.UTC().Truncate(time.Hour),
		Days: []EarlierDay{},
	}
	if !c.To.After(c.From) {
		return c, nil
	}
	hours, err := src.Stats(ctx, store.Hour, c.From, c.To)
	if err != nil {
		return nil, fmt.Errorf("find earlier days below the objective: %w", err)
	}
	type candidate struct {
		day time.Time // midnight UTC, standing for the Paris date
		bad uint64
	}
	badHours := map[time.Time]uint64{}
	for _, h := range hours {
		p := h.Bucket.In(paris)
		day := time.Date(p.Year(), p.Month(), p.Day(), 0, 0, 0, 0, time.UTC)
		n, seen := badHours[day]
		if !seen {
			c.DaysWithData++
		}
		if incident.Bad(h, cfg) {
			n++
		}
		badHours[day] = n
	}
	var cands []candidate
	for day, bad := range badHours {
		if bad > 0 {
			cands = append(cands, candidate{day, bad})
		}
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].day.Before(cands[j].day) })
	c.CandidateDays = len(cands)
	// The worst days first (the most recent of equals), then by date.
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].bad != cands[j].bad {
			return cands[i].bad > cands[j].bad
		}
		return cands[i].day.After(cands[j].day)
	})
	cands = cands[:min(len(cands), MaxEarlierDays)]
	sort.Slice(cands, func(i, j int) bool { return cands[i].day.Before(cands[j].day) })
	c.ExaminedDays = len(cands)

	nowByKey := map[incident.Key]*Repeat{}
	for _, in := range now {
		r := nowByKey[in.Key()]
		if r == nil {
			r = &Repeat{Platform: in.Platform, Service: in.Service, Region: in.Region, NowStart: in.Start}
			nowByKey[in.Key()] = r
		}
		r.NowMinutes += in.Minutes
	}
	reportDay := time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, time.UTC)
	for _, cand := range cands {
		y, m, d := cand.day.Date()
		start := time.Date(y, m, d, 0, 0, 0, 0, paris).UTC()
		end := time.Date(y, m, d+1, 0, 0, 0, 0, paris).UTC()
		if end.After(from) {
			end = from.UTC()
		}
		day, err := examine(ctx, src, start, end, cfg)
		if err != nil {
			return nil, err
		}
		if day == nil {
			continue
		}
		day.Date = cand.day.Format(time.DateOnly)
		day.DaysBefore = int(reportDay.Sub(cand.day) / (24 * time.Hour))
		day.Repeated = repeats(day.incidents, nowByKey)
		c.Days = append(c.Days, day.EarlierDay)
	}
	return c, nil
}

// earlier is an EarlierDay with the incidents it was built from.
type earlier struct {
	EarlierDay
	incidents []incident.Incident
}

// examine detects the incidents of [start, end), from minute data, or,
// by the same rule, from hour data when the minutes have expired (their
// retention is shorter). It returns nil for no incident.
func examine(ctx context.Context, src Source, start, end time.Time, cfg config.IncidentsConfig) (*earlier, error) {
	f, minutes, err := incident.Find(ctx, src, start, end, cfg)
	if err != nil {
		return nil, fmt.Errorf("earlier day %s: %w", start.In(paris).Format(time.DateOnly), err)
	}
	grain := ComparedByMinute
	if len(minutes) == 0 {
		grain = ComparedByHour
		if f, _, err = incident.FindAt(ctx, src, store.Hour, start, end, cfg); err != nil {
			return nil, fmt.Errorf("earlier day %s: %w", start.In(paris).Format(time.DateOnly), err)
		}
	}
	if len(f.Incidents) == 0 {
		return nil, nil
	}
	day := &earlier{EarlierDay: EarlierDay{Grain: grain, Summary: summarise(f), WorstAvailability: 1}, incidents: f.Incidents}
	for _, in := range f.Incidents {
		day.WorstAvailability = min(day.WorstAvailability, in.WorstAvailability)
		day.WorstP95MS = max(day.WorstP95MS, in.WorstP95MS)
	}
	return day, nil
}

// repeats lists the keys of then that are also in incident now, in the
// order of now's sort (start, platform, service, region).
func repeats(then []incident.Incident, now map[incident.Key]*Repeat) []Repeat {
	byKey := map[incident.Key]*Repeat{}
	var order []incident.Key
	for _, in := range then {
		n := now[in.Key()]
		if n == nil {
			continue
		}
		r := byKey[in.Key()]
		if r == nil {
			r = &Repeat{Platform: n.Platform, Service: n.Service, Region: n.Region, NowStart: n.NowStart, NowMinutes: n.NowMinutes, ThenStart: in.Start}
			byKey[in.Key()] = r
			order = append(order, in.Key())
		}
		r.ThenMinutes += in.Minutes
	}
	out := make([]Repeat, 0, len(order))
	for _, k := range order {
		out = append(out, *byKey[k])
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.NowStart.Equal(b.NowStart) {
			return a.NowStart.Before(b.NowStart)
		}
		if a.Platform != b.Platform {
			return a.Platform < b.Platform
		}
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		return lessRegion(regionRank(), a.Region, b.Region)
	})
	return out
}
