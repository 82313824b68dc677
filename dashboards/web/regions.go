package web

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/vigie-fr/vigie/internal/store"
	"github.com/vigie-fr/vigie/schemas"
)

// LiveWindow is how far back "live" looks from the newest minute of data.
const LiveWindow = 15 * time.Minute

// Summary is the outcomes and latency of a service, a region or a period.
type Summary struct {
	Platform     string   `json:"platform,omitempty"`
	Service      string   `json:"service,omitempty"`
	Events       uint64   `json:"events"`
	OK           uint64   `json:"ok"`
	Errors       uint64   `json:"errors"`
	Timeouts     uint64   `json:"timeouts"`
	Rejected     uint64   `json:"rejected"`
	Queued       uint64   `json:"queued"`
	Failed       uint64   `json:"failed"`
	Availability *float64 `json:"availability"`
	P50MS        *float64 `json:"p50_ms"`
	P95MS        *float64 `json:"p95_ms"`
	P99MS        *float64 `json:"p99_ms"`
}

func summaryOf(p store.Point) Summary {
	s := Summary{Platform: p.Platform, Service: p.Service, Events: p.Events, OK: p.OK, Errors: p.Errors, Timeouts: p.Timeouts,
		Rejected: p.Rejected, Queued: p.Queued, Failed: p.Failed()}
	if a, ok := p.Availability(); ok {
		s.Availability = &a
	}
	if p.LatencyN > 0 {
		p50, p95, p99 := p.P50MS, p.P95MS, p.P99MS
		s.P50MS, s.P95MS, s.P99MS = &p50, &p95, &p99
	}
	return s
}

// RegionSummary is one region on the map.
type RegionSummary struct {
	Region       Region   `json:"region"`
	Range        Summary  `json:"range"`
	Live         Summary  `json:"live"`
	WorstService *Summary `json:"worst_service"`
	// Bin is the colour class of the range's availability.
	Bin           string     `json:"bin"`
	LiveBin       string     `json:"live_bin"`
	Episodes      int        `json:"episodes"`
	OpenIncidents []Incident `json:"open_incidents"`
}

// RegionMap is the answer of /api/v1/regions.
type RegionMap struct {
	From     time.Time       `json:"from"`
	To       time.Time       `json:"to"`
	LiveFrom *time.Time      `json:"live_from"`
	AsOf     *time.Time      `json:"as_of"`
	Filters  Filters         `json:"filters"`
	Bins     []Bin           `json:"bins"`
	Regions  []RegionSummary `json:"regions"`
}

// live returns the live window: the LiveWindow before the end of the
// newest minute with data; ok is false on an empty warehouse.
func (s *Server) live(ctx context.Context) (from, to time.Time, ok bool, err error) {
	last, ok, err := s.src.LastMinute(ctx)
	if err != nil || !ok {
		return from, to, false, err
	}
	to = last.Add(time.Minute)
	return to.Add(-LiveWindow), to, true, nil
}

// worse orders summaries by availability, then p95: the worst first.
func worse(a, b Summary) bool {
	av := func(s Summary) float64 {
		if s.Availability == nil {
			return 2
		}
		return *s.Availability
	}
	if av(a) != av(b) {
		return av(a) < av(b)
	}
	pa, pb := 0.0, 0.0
	if a.P95MS != nil {
		pa = *a.P95MS
	}
	if b.P95MS != nil {
		pb = *b.P95MS
	}
	return pa > pb
}

func (s *Server) regions(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r, MaxIncidentRange, "from", "to", "platform", "service", "region", "academy")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rq, f, from, to := q.rq, q.f, q.from, q.to
	s.answer(w, r, rq.p, "", func(ctx context.Context) (any, error) {
		out := RegionMap{From: from, To: to, Filters: f, Bins: bins(rq.p), Regions: []RegionSummary{}}
		byRegion, err := s.src.Series(ctx, store.SeriesQuery{Grain: store.All, From: from, To: to, Filter: f.store(), By: store.By{Region: true}})
		if err != nil {
			return nil, err
		}
		byService, err := s.src.Series(ctx, store.SeriesQuery{Grain: store.All, From: from, To: to, Filter: f.store(), By: store.By{Platform: true, Service: true, Region: true}})
		if err != nil {
			return nil, err
		}
		var live []store.Point
		lf, lt, ok, err := s.live(ctx)
		if err != nil {
			return nil, err
		}
		if ok {
			out.LiveFrom, out.AsOf = &lf, &lt
			if live, err = s.src.Series(ctx, store.SeriesQuery{Grain: store.All, From: lf, To: lt, Filter: f.store(), By: store.By{Region: true}}); err != nil {
				return nil, err
			}
		}
		eps, err := s.findEpisodes(ctx, rq.p, from, to, f)
		if err != nil {
			return nil, err
		}
		for _, code := range schemas.Regions {
			if len(f.Region) > 0 && !slices.Contains(f.Region, code) {
				continue
			}
			rs := RegionSummary{Region: regionOf(code), OpenIncidents: []Incident{}}
			for _, p := range byRegion {
				if p.Region == code {
					rs.Range = summaryOf(p)
				}
			}
			for _, p := range live {
				if p.Region == code {
					rs.Live = summaryOf(p)
				}
			}
			for _, p := range byService {
				if p.Region != code {
					continue
				}
				if sum := summaryOf(p); sum.Availability != nil && (rs.WorstService == nil || worse(sum, *rs.WorstService)) {
					rs.WorstService = &sum
				}
			}
			rs.Bin = binOf(deref(rs.Range.Availability))
			rs.LiveBin = binOf(deref(rs.Live.Availability))
			for _, e := range eps.Episodes {
				if slices.ContainsFunc(e.Regions, func(r Region) bool { return r.Code == code }) {
					rs.Episodes++
				}
			}
			for _, in := range eps.Incidents {
				if in.Region == code && in.Open {
					rs.OpenIncidents = append(rs.OpenIncidents, in)
				}
			}
			out.Regions = append(out.Regions, rs)
		}
		return out, nil
	})
}

func deref(a *float64) (float64, bool) {
	if a == nil {
		return 0, false
	}
	return *a, true
}

// PointOut is one bucket of a series as the API gives it.
type PointOut struct {
	Bucket time.Time `json:"bucket"`
	Summary
	SessionsStarted uint64 `json:"sessions_started"`
	SessionsEnded   uint64 `json:"sessions_ended"`
	// OpenSessions is sessions started minus ended since the range's start
	// (sessions open before it are not counted).
	OpenSessions int64    `json:"open_sessions"`
	MeanQueueMS  *float64 `json:"mean_queue_ms"`
	MaxQueueMS   *float64 `json:"max_queue_ms"`
	Users        uint64   `json:"users"`
	UsersFailed  uint64   `json:"users_failed"`
}

// Series is one service's points ("*" for all merged).
type Series struct {
	Platform string     `json:"platform"`
	Service  string     `json:"service"`
	Points   []PointOut `json:"points"`
}

// pointsOut turns store points of one series (by bucket) into the API's,
// cumulating open sessions.
func pointsOut(pts []store.Point) []PointOut {
	out := make([]PointOut, 0, len(pts))
	var open int64
	for _, p := range pts {
		sum := summaryOf(p)
		sum.Platform, sum.Service = "", ""
		open += int64(p.SessionsStarted) - int64(p.SessionsEnded)
		po := PointOut{Bucket: p.Bucket, Summary: sum, SessionsStarted: p.SessionsStarted, SessionsEnded: p.SessionsEnded,
			OpenSessions: open, Users: p.Users, UsersFailed: p.UsersFailed}
		if p.QueueN > 0 {
			mean, mx := p.QueueSumMS/float64(p.QueueN), p.QueueMaxMS
			po.MeanQueueMS, po.MaxQueueMS = &mean, &mx
		}
		out = append(out, po)
	}
	return out
}

// RegionDetail is the answer of /api/v1/regions/{region}.
type RegionDetail struct {
	Region   Region      `json:"region"`
	From     time.Time   `json:"from"`
	To       time.Time   `json:"to"`
	Grain    string      `json:"grain"`
	Filters  Filters     `json:"filters"`
	Services []Summary   `json:"services"`
	Series   []Series    `json:"series"`
	Episodes []Episode   `json:"episodes"`
	Live     *Summary    `json:"live"`
	AsOf     *time.Time  `json:"as_of"`
	Buckets  []time.Time `json:"buckets"`
}

func (s *Server) region(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r, MaxIncidentRange, "from", "to", "grain", "platform", "service", "academy")
	code := r.PathValue("region")
	if err == nil && checkRegion(code) != "" {
		err = q.rq.fail("region", "api.param.choice", "Value", code, "Allowed", allowedOf("region"))
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rq, f, grain, from, to := q.rq, q.f, q.grain, q.from, q.to
	f.Region = []string{code}
	s.answer(w, r, rq.p, "", func(ctx context.Context) (any, error) {
		out := RegionDetail{Region: regionOf(code), From: from, To: to, Grain: string(grain), Filters: f,
			Services: []Summary{}, Series: []Series{}, Episodes: []Episode{}, Buckets: buckets(grain, from, to)}
		totals, err := s.src.Series(ctx, store.SeriesQuery{Grain: store.All, From: from, To: to, Filter: f.store(), By: store.By{Platform: true, Service: true}})
		if err != nil {
			return nil, err
		}
		for _, p := range totals {
			out.Services = append(out.Services, summaryOf(p))
		}
		all, err := s.src.Series(ctx, store.SeriesQuery{Grain: grain, From: from, To: to, Filter: f.store(), Users: true})
		if err != nil {
			return nil, err
		}
		out.Series = append(out.Series, Series{Platform: "*", Service: "*", Points: pointsOut(all)})
		per, err := s.src.Series(ctx, store.SeriesQuery{Grain: grain, From: from, To: to, Filter: f.store(), By: store.By{Platform: true, Service: true}, Users: true})
		if err != nil {
			return nil, err
		}
		for i := 0; i < len(per); {
			j := i
			for j < len(per) && per[j].Platform == per[i].Platform && per[j].Service == per[i].Service {
				j++
			}
			out.Series = append(out.Series, Series{Platform: per[i].Platform, Service: per[i].Service, Points: pointsOut(per[i:j])})
			i = j
		}
		lf, lt, ok, err := s.live(ctx)
		if err != nil {
			return nil, err
		}
		if ok {
			lv, err := s.src.Series(ctx, store.SeriesQuery{Grain: store.All, From: lf, To: lt, Filter: f.store()})
			if err != nil {
				return nil, err
			}
			out.AsOf = &lt
			if len(lv) == 1 {
				sum := summaryOf(lv[0])
				out.Live = &sum
			}
		}
		eps, err := s.findEpisodes(ctx, rq.p, from, to, f)
		if err != nil {
			return nil, err
		}
		out.Episodes = eps.Episodes
		return out, nil
	})
}
