package web

import (
	"context"
	"net/http"
	"time"

	"github.com/vigie-fr/vigie/internal/store"
)

// PeriodPoint is one bucket of a period, placed by its offset from the
// period's start so that two periods line up.
type PeriodPoint struct {
	OffsetMinutes int `json:"offset_minutes"`
	PointOut
}

// RegionTotal is one region's outcomes over a period.
type RegionTotal struct {
	Region Region `json:"region"`
	Summary
}

// Period is one side of a comparison.
type Period struct {
	From    time.Time     `json:"from"`
	To      time.Time     `json:"to"`
	Total   Summary       `json:"total"`
	Regions []RegionTotal `json:"regions"`
	Series  []PeriodPoint `json:"series"`
	// Episodes counts the period's episodes; null for periods longer than
	// incidents are looked for (31 days).
	Episodes *int `json:"episodes"`
}

// Comparison is the answer of /api/v1/compare.
type Comparison struct {
	Grain   string  `json:"grain"`
	Filters Filters `json:"filters"`
	A       Period  `json:"a"`
	B       Period  `json:"b"`
}

func (s *Server) compare(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r, 0, "a_from", "a_to", "b_from", "b_to", "grain", "platform", "service", "region", "academy")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rq, f, grain := q.rq, q.f, q.grain
	var ranges [2][2]time.Time
	for i, side := range []string{"a", "b"} {
		from, to, err := rq.timeRange(side+"_from", side+"_to", grain, grainLimits[grain])
		if err != nil {
			s.fail(w, r, err)
			return
		}
		ranges[i] = [2]time.Time{from, to}
	}
	s.answer(w, r, rq.p, "", func(ctx context.Context) (any, error) {
		out := Comparison{Grain: string(grain), Filters: f}
		for i, dst := range []*Period{&out.A, &out.B} {
			p, err := s.period(ctx, rq, grain, ranges[i][0], ranges[i][1], f)
			if err != nil {
				return nil, err
			}
			*dst = p
		}
		return out, nil
	})
}

func (s *Server) period(ctx context.Context, rq *request, grain store.Grain, from, to time.Time, f Filters) (Period, error) {
	out := Period{From: from, To: to, Regions: []RegionTotal{}, Series: []PeriodPoint{}}
	total, err := s.src.Series(ctx, store.SeriesQuery{Grain: store.All, From: from, To: to, Filter: f.store()})
	if err != nil {
		return out, err
	}
	if len(total) == 1 {
		out.Total = summaryOf(total[0])
	}
	regions, err := s.src.Series(ctx, store.SeriesQuery{Grain: store.All, From: from, To: to, Filter: f.store(), By: store.By{Region: true}})
	if err != nil {
		return out, err
	}
	for _, p := range regions {
		out.Regions = append(out.Regions, RegionTotal{Region: regionOf(p.Region), Summary: summaryOf(p)})
	}
	pts, err := s.src.Series(ctx, store.SeriesQuery{Grain: grain, From: from, To: to, Filter: f.store()})
	if err != nil {
		return out, err
	}
	for _, p := range pointsOut(pts) {
		out.Series = append(out.Series, PeriodPoint{OffsetMinutes: int(p.Bucket.Sub(grainStart(grain, from)) / time.Minute), PointOut: p})
	}
	if to.Sub(from) <= MaxIncidentRange {
		eps, err := s.findEpisodes(ctx, rq.p, from, to, f)
		if err != nil {
			return out, err
		}
		n := len(eps.Episodes)
		out.Episodes = &n
	}
	return out, nil
}
