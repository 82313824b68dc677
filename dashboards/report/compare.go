package report

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/vigie-fr/vigie/dashboards/incident"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/warehouse"
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
// cost bounded it first asks hour_stats which days had an hour below the
// objective (one query over at most LookbackDays×24 hours per series), then
// runs the report's own detection on those days only. An incident too short
// to pull its whole hour below the objective is not found this way; the
// earlier failures worth comparing with are not that short.
func compare(ctx context.Context, wh warehouse.Warehouse, db string, from time.Time, now []incident.Incident, cfg config.IncidentsConfig) (*Comparison, error) {
	f := from.In(paris)
	c := &Comparison{
		From: time.Date(f.Year(), f.Month(), f.Day()-LookbackDays, 0, 0, 0, 0, paris).UTC(),
		To:   from.UTC().Truncate(time.Hour),
		Days: []EarlierDay{},
	}
	if !c.To.After(c.From) {
		return c, nil
	}
	q := fmt.Sprintf(`SELECT toDate(bucket, 'Europe/Paris') AS day,
       countIf(events >= %d AND (ifNull(availability, 1) < %v OR p95_ms > %v)) AS bad_hours
FROM %s.hour_stats
WHERE bucket >= %s AND bucket < %s
GROUP BY day
ORDER BY day`, max(cfg.MinEvents, 0), cfg.AvailabilityTarget, cfg.P95ThresholdMS, db,
		warehouse.TimeLiteral(c.From), warehouse.TimeLiteral(c.To))
	res, err := wh.Query(ctx, q, nil)
	if err != nil {
		return nil, fmt.Errorf("find earlier days below the objective: %w", err)
	}
	type candidate struct {
		day time.Time // midnight UTC, standing for the Paris date
		bad uint64
	}
	var cands []candidate
	for i, row := range res.Rows {
		day, ok := row[0].(time.Time)
		if !ok {
			return nil, fmt.Errorf("earlier days: row %d: day is %T, want time.Time", i, row[0])
		}
		c.DaysWithData++
		if bad := warehouse.AsUint(row[1]); bad > 0 {
			cands = append(cands, candidate{day, bad})
		}
	}
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
		day, err := examine(ctx, wh, db, start, end, cfg)
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

// examine detects the incidents of [start, end), from minute data, or from
// hour data when the minutes have expired. It returns nil for no incident.
func examine(ctx context.Context, wh warehouse.Warehouse, db string, start, end time.Time, cfg config.IncidentsConfig) (*earlier, error) {
	f, minutes, err := incident.Find(ctx, wh, db, start, end, cfg)
	if err != nil {
		return nil, fmt.Errorf("earlier day %s: %w", start.In(paris).Format(time.DateOnly), err)
	}
	grain := ComparedByMinute
	if len(minutes) == 0 {
		grain = ComparedByHour
		if f, err = findHours(ctx, wh, db, start, end, cfg); err != nil {
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

// findHours describes [start, end) from hour_stats when its minutes have
// expired: consecutive hours of a series below the objective (with
// MinEvents or more attempts) make one incident, and users affected merge
// the hours' sketches. Coarser than minute detection, and said so.
func findHours(ctx context.Context, wh warehouse.Warehouse, db string, start, end time.Time, cfg config.IncidentsConfig) (*incident.Findings, error) {
	bad := fmt.Sprintf("events >= %d AND (ifNull(availability, 1) < %v OR p95_ms > %v)", max(cfg.MinEvents, 0), cfg.AvailabilityTarget, cfg.P95ThresholdMS)
	span := fmt.Sprintf("bucket >= %s AND bucket < %s", warehouse.TimeLiteral(start), warehouse.TimeLiteral(end))
	q := fmt.Sprintf(`SELECT bucket, platform, service, region, events, ok, errors + timeouts + rejected, rejected, queued,
       ifNull(availability, 1) < %v, p95_ms > %v, p95_ms
FROM %s.hour_stats
WHERE %s AND %s
ORDER BY platform, service, region, bucket`, cfg.AvailabilityTarget, cfg.P95ThresholdMS, db, span, bad)
	res, err := wh.Query(ctx, q, nil)
	if err != nil {
		return nil, fmt.Errorf("hours below the objective: %w", err)
	}
	f := &incident.Findings{From: start, To: end, Incidents: []incident.Incident{}}
	var cur *incident.Incident
	for i, row := range res.Rows {
		bucket, ok := row[0].(time.Time)
		if !ok {
			return nil, fmt.Errorf("hours below the objective: row %d: bucket is %T, want time.Time", i, row[0])
		}
		in := incident.Incident{Platform: warehouse.AsString(row[1]), Service: warehouse.AsString(row[2]), Region: warehouse.AsString(row[3]),
			Start: bucket.UTC(), End: bucket.UTC().Add(time.Hour), Events: warehouse.AsUint(row[4]), OK: warehouse.AsUint(row[5]),
			Failed: warehouse.AsUint(row[6]), Rejected: warehouse.AsUint(row[7]), Queued: warehouse.AsUint(row[8]), WorstP95MS: warehouse.AsFloat(row[11])}
		in.WorstAvailability = 1
		if den := in.OK + in.Failed; den > 0 {
			in.WorstAvailability = float64(in.OK) / float64(den)
		}
		in.Reason = reason(warehouse.AsUint(row[9]) == 1, warehouse.AsUint(row[10]) == 1)
		if cur != nil && cur.Key() == in.Key() && cur.End.Equal(in.Start) {
			cur.End = in.End
			cur.Events += in.Events
			cur.OK += in.OK
			cur.Failed += in.Failed
			cur.Rejected += in.Rejected
			cur.Queued += in.Queued
			cur.WorstAvailability = min(cur.WorstAvailability, in.WorstAvailability)
			cur.WorstP95MS = max(cur.WorstP95MS, in.WorstP95MS)
			if cur.Reason != in.Reason {
				cur.Reason = incident.ReasonBoth
			}
		} else {
			f.Incidents = append(f.Incidents, in)
			cur = &f.Incidents[len(f.Incidents)-1]
		}
	}
	for i := range f.Incidents {
		in := &f.Incidents[i]
		in.Duration = in.End.Sub(in.Start)
		in.Minutes = int(in.Duration / time.Minute)
		in.BadMinutes = in.Minutes
		in.Availability = 1
		if den := in.OK + in.Failed; den > 0 {
			in.Availability = float64(in.OK) / float64(den)
		}
	}
	incident.SortIncidents(f.Incidents)
	f.Groups = incident.GroupOverlapping(f.Incidents)
	if len(f.Incidents) == 0 {
		return f, nil
	}
	// Users who failed in those hours, from the hour table's sketches.
	q = fmt.Sprintf(`SELECT uniqCombined64Merge(users_failed)
FROM %s.agg_hour
WHERE %s AND (platform, service, region, bucket) IN (
    SELECT platform, service, region, bucket FROM %s.hour_stats WHERE %s AND %s)`, db, span, db, span, bad)
	res, err = wh.Query(ctx, q, nil)
	if err != nil {
		return nil, fmt.Errorf("users affected in hours below the objective: %w", err)
	}
	if len(res.Rows) == 1 && len(res.Rows[0]) == 1 {
		f.UsersAffected = warehouse.AsUint(res.Rows[0][0])
	}
	return f, nil
}

func reason(avail, latency bool) string {
	switch {
	case avail && latency:
		return incident.ReasonBoth
	case avail:
		return incident.ReasonAvailability
	}
	return incident.ReasonLatency
}
