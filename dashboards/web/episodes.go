package web

import (
	"context"
	"slices"
	"time"

	"github.com/vigie-fr/vigie/dashboards/incident"
	"github.com/vigie-fr/vigie/internal/i18n"
	"github.com/vigie-fr/vigie/internal/store"
)

// Duration is a length of time as a number and as people read it, in one
// format everywhere (i18n's Duration: "3 h 15 min").
type Duration struct {
	Minutes int    `json:"minutes"`
	Text    string `json:"text"`
}

func duration(p *i18n.Printer, d time.Duration) Duration {
	return Duration{Minutes: int(d.Round(time.Minute) / time.Minute), Text: p.Duration(d)}
}

// Incident is one series' incident as the API gives it.
type Incident struct {
	incident.Incident
	RegionName string   `json:"region_name"`
	Duration   Duration `json:"duration"`
	// Open: still running at the end of the range (or of the data).
	Open bool `json:"open"`
}

// Episode is one failure of one service with every region it hit: the
// CNED failing nationally is one episode of 18 regions, not 18 rows.
type Episode struct {
	ID                string     `json:"id"`
	Platform          string     `json:"platform"`
	Service           string     `json:"service"`
	Start             time.Time  `json:"start"`
	End               time.Time  `json:"end"`
	Duration          Duration   `json:"duration"`
	National          bool       `json:"national"`
	Regions           []Region   `json:"regions"`
	WorstAvailability float64    `json:"worst_availability"`
	WorstP95MS        float64    `json:"worst_p95_ms"`
	Events            uint64     `json:"events"`
	Failed            uint64     `json:"failed"`
	UsersAffected     uint64     `json:"users_affected"`
	Reasons           []string   `json:"reasons"`
	Open              bool       `json:"open"`
	Summary           string     `json:"summary"`
	Incidents         []Incident `json:"incidents"`
}

// Incidents is the answer of /api/v1/incidents. Incidents and Groups are
// the shape scripts read before episodes existed.
type Incidents struct {
	From          time.Time        `json:"from"`
	To            time.Time        `json:"to"`
	Filters       Filters          `json:"filters"`
	Episodes      []Episode        `json:"episodes"`
	Incidents     []Incident       `json:"incidents"`
	Groups        []incident.Group `json:"groups"`
	UsersAffected uint64           `json:"users_affected"`
}

// findEpisodes detects the incidents of [from, to) on all the data (a
// filter must not change what an incident is), keeps those passing f and
// gathers them into episodes.
func (s *Server) findEpisodes(ctx context.Context, p *i18n.Printer, from, to time.Time, f Filters) (*Incidents, error) {
	det, err := s.detect(ctx, from, to)
	if err != nil {
		return nil, err
	}
	found, dataEnd, regionsOf := det.found, det.dataEnd, det.regionsOf
	incs, groups, users := found.Incidents, found.Groups, found.UsersAffected
	if len(f.Platform)+len(f.Service)+len(f.Region) > 0 {
		incs = slices.DeleteFunc(slices.Clone(incs), func(in incident.Incident) bool { return !f.keeps(in.Platform, in.Service, in.Region) })
		groups = incident.GroupOverlapping(incs)
		if groups == nil {
			groups = []incident.Group{}
		}
		if users, err = incident.CountAffected(ctx, s.src, store.Minute, incs, groups); err != nil {
			return nil, err
		}
	}
	out := &Incidents{From: from, To: to, Filters: f, Episodes: []Episode{}, Incidents: make([]Incident, len(incs)), Groups: groups, UsersAffected: users}
	for i, in := range incs {
		out.Incidents[i] = Incident{Incident: in, RegionName: regionOf(in.Region).Name,
			Duration: duration(p, in.End.Sub(in.Start)), Open: !dataEnd.IsZero() && !in.End.Before(dataEnd)}
	}
	for _, g := range groups {
		e := Episode{ID: g.Platform + "/" + g.Service + "/" + formatTime(g.Start), Platform: g.Platform, Service: g.Service,
			Start: g.Start, End: g.End, Duration: duration(p, g.End.Sub(g.Start)), WorstAvailability: g.WorstAvailability,
			WorstP95MS: g.WorstP95MS, Events: g.Events, Failed: g.Failed, UsersAffected: g.UsersAffected, Reasons: []string{}}
		for _, code := range g.Regions {
			e.Regions = append(e.Regions, regionOf(code))
		}
		for _, i := range g.Incidents {
			in := out.Incidents[i]
			e.Incidents = append(e.Incidents, in)
			e.Open = e.Open || in.Open
			if !slices.Contains(e.Reasons, in.Reason) {
				e.Reasons = append(e.Reasons, in.Reason)
			}
		}
		slices.Sort(e.Reasons)
		e.National = len(g.Regions) > 1 && len(g.Regions) >= len(regionsOf[g.Platform+"/"+g.Service])
		e.Summary = episodeSummary(p, e)
		out.Episodes = append(out.Episodes, e)
	}
	return out, nil
}

// episodeSummary is one sentence about an episode, times in Paris.
func episodeSummary(p *i18n.Printer, e Episode) string {
	start, end := e.Start.In(paris), e.End.In(paris)
	endText := p.Clock(end)
	if start.YearDay() != end.YearDay() || start.Year() != end.Year() {
		endText = p.DateTime(end)
	}
	worst := p.Percent(e.WorstAvailability, 1)
	args := []any{"Service", e.Service, "Start", p.DateTime(start), "End", endText, "Duration", e.Duration.Text, "Worst", worst, "N", len(e.Regions)}
	switch {
	case e.Open:
		return p.T("api.episode.open", args...)
	case e.National:
		return p.T("api.episode.national", args...)
	case len(e.Regions) == 1:
		return p.T("api.episode.one_region", append(args, "Region", e.Regions[0].Name)...)
	}
	return p.T("api.episode.regions", args...)
}

// detection is what incident.Find found over a range, with what episodes
// need from its minutes.
type detection struct {
	found *incident.Findings
	// dataEnd is the end of the last minute with data in the range: an
	// incident reaching it is open.
	dataEnd time.Time
	// regionsOf are the regions with data of each platform/service.
	regionsOf map[string]map[string]bool
}

// detect runs incident detection over [from, to) once per version of the
// aggregates: the map, the incidents, a region's page and the comparison
// of one range share it.
func (s *Server) detect(ctx context.Context, from, to time.Time) (*detection, error) {
	key := formatTime(from) + "/" + formatTime(to)
	version, verr := s.src.Version(ctx)
	if verr == nil {
		if d, ok := s.detections.get(key, version); ok {
			return d, nil
		}
	}
	found, rows, err := incident.Find(ctx, countsOnly{s.src}, from, to, s.cfg)
	if err != nil {
		return nil, err
	}
	d := &detection{found: found, regionsOf: map[string]map[string]bool{}}
	for _, m := range rows {
		if e := m.Bucket.Add(time.Minute); e.After(d.dataEnd) {
			d.dataEnd = e
		}
		k := m.Platform + "/" + m.Service
		if d.regionsOf[k] == nil {
			d.regionsOf[k] = map[string]bool{}
		}
		d.regionsOf[k][m.Region] = true
	}
	if verr == nil {
		s.detections.put(key, version, d)
	}
	return d, nil
}

// countsOnly is the source of the dashboard's detection: buckets without
// their unique users, which the rule does not read (the users an incident
// affected are counted apart, by CountAffected).
type countsOnly struct{ Source }

func (c countsOnly) Stats(ctx context.Context, grain store.Grain, from, to time.Time) ([]store.Stats, error) {
	return c.Source.StatsCounts(ctx, grain, from, to)
}
