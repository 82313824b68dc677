package web

import (
	"context"
	"net/http"
	"time"

	"github.com/vigie-fr/vigie/internal/auth"
	"github.com/vigie-fr/vigie/internal/store"
)

// MaxDrilldownRange bounds a drill-down: its series is by minute.
const MaxDrilldownRange = MaxMinuteRange

// FailingEvents is the drill-down's failing events: raw rows for readers
// allowed raw data, counts for the others.
type FailingEvents struct {
	Raw    bool                 `json:"raw"`
	Total  uint64               `json:"total"`
	Sample []store.FailingEvent `json:"sample"`
	Groups []store.FailingGroup `json:"groups"`
}

// DrilldownSQL is the SQL that reproduces the drill-down's view.
type DrilldownSQL struct {
	Series string `json:"series"`
	Events string `json:"events"`
}

// Drilldown is the answer of /api/v1/drilldown.
type Drilldown struct {
	Platform string    `json:"platform"`
	Service  string    `json:"service"`
	Region   Region    `json:"region"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Academy  []string  `json:"academy"`
	// AcademyAppliesTo says what the académie filter applies to: the raw
	// events; the minute series is an aggregate without académie.
	AcademyAppliesTo string        `json:"academy_applies_to"`
	Series           []PointOut    `json:"series"`
	Events           FailingEvents `json:"events"`
	SQL              DrilldownSQL  `json:"sql"`
}

// rawAllowed reports whether the request's reader may see raw events and
// pseudonyms: the engineers (docs/access.md), and the open mode of an
// unconfigured loopback server, whose identity holds every role.
func rawAllowed(r *http.Request) bool {
	id, ok := auth.FromContext(r.Context())
	return ok && id.Has(auth.Engineer)
}

func (s *Server) drilldown(w http.ResponseWriter, r *http.Request) {
	rq, err := newRequest(r, "from", "to", "platform", "service", "region", "academy", "limit")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	platform, err := rq.choice("platform", "", platforms...)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	service, err := rq.required("service")
	if err == nil && checkService(service) != "" {
		err = rq.fail("service", "api.param.service", "Value", service)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	region, err := rq.required("region")
	if err == nil && checkRegion(region) != "" {
		err = rq.fail("region", "api.param.choice", "Value", region, "Allowed", allowedOf("region"))
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	academies, err := rq.list("academy", checkAcademy)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	limit, err := rq.intIn("limit", 50, 1, 500)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	from, to, err := rq.timeRange("from", "to", store.Minute, MaxDrilldownRange)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	raw := rawAllowed(r)
	variant := "aggregated"
	if raw {
		variant = "raw"
	}
	s.answer(w, r, rq.p, variant, func(ctx context.Context) (any, error) {
		f := store.Filter{Services: []string{service}, Regions: []string{region}}
		if platform != "" {
			f.Platforms = []string{platform}
		}
		sq := store.SeriesQuery{Grain: store.Minute, From: from, To: to, Filter: f, Users: true}
		out := Drilldown{Platform: platform, Service: service, Region: regionOf(region), From: from, To: to,
			Academy: academies, AcademyAppliesTo: "events", Events: FailingEvents{Raw: raw, Sample: []store.FailingEvent{}}}
		if out.Academy == nil {
			out.Academy = []string{}
		}
		pts, err := s.src.Series(ctx, sq)
		if err != nil {
			return nil, err
		}
		out.Series = pointsOut(pts)
		if out.SQL.Series, err = s.src.SeriesSQL(sq, store.Literal(from, to)); err != nil {
			return nil, err
		}
		fq := store.FailingQuery{Platform: platform, Service: service, Region: region, Academies: academies, From: from, To: to, Limit: limit}
		if out.Events.Groups, out.Events.Total, err = s.src.FailingGroups(ctx, fq); err != nil {
			return nil, err
		}
		out.SQL.Events = s.src.FailingGroupsSQL(fq)
		if raw {
			if out.Events.Sample, err = s.src.FailingEvents(ctx, fq); err != nil {
				return nil, err
			}
			out.SQL.Events = s.src.FailingEventsSQL(fq)
		}
		return out, nil
	})
}
