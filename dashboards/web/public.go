package web

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/vigie-fr/vigie/dashboards/incident"
	"github.com/vigie-fr/vigie/internal/i18n"
	"github.com/vigie-fr/vigie/internal/store"
	"github.com/vigie-fr/vigie/schemas"
)

// The public status is for parents and teachers, served without login: it
// holds availability ratios and plain sentences only, never a count of
// users, a pseudonym, a raw event or an academy (less than the union role
// may see).

// openLookback is how far back the public status looks for incidents
// still open at the newest minute of data.
const openLookback = 3 * time.Hour

// Thresholds of the public states: at or above the objective is normal,
// below 80 % is severe.
const (
	publicOK       = 0.95
	publicDegraded = 0.80
)

// PublicNow is a region's availability over the live window.
type PublicNow struct {
	Availability *float64   `json:"availability"`
	From         *time.Time `json:"from"`
	To           *time.Time `json:"to"`
}

// PublicPlatform is one platform of a region.
type PublicPlatform struct {
	Platform     string   `json:"platform"`
	Name         string   `json:"name"`
	Availability *float64 `json:"availability"`
	State        string   `json:"state"`
	StateText    string   `json:"state_text"`
}

// PublicDay is one Paris day's availability.
type PublicDay struct {
	Day          string   `json:"day"`
	Availability *float64 `json:"availability"`
}

// PublicIncident is an open incident said in plain words.
type PublicIncident struct {
	Platform string    `json:"platform"`
	Service  string    `json:"service"`
	Since    time.Time `json:"since"`
	Text     string    `json:"text"`
}

// PublicRegion is one region's public status.
type PublicRegion struct {
	Region        Region           `json:"region"`
	State         string           `json:"state"`
	StateText     string           `json:"state_text"`
	Now           PublicNow        `json:"now"`
	Platforms     []PublicPlatform `json:"platforms"`
	Days          []PublicDay      `json:"days"`
	OpenIncidents []PublicIncident `json:"open_incidents"`
}

// PublicStatus is the answer of /api/v1/status.
type PublicStatus struct {
	AsOf    *time.Time     `json:"as_of"`
	Regions []PublicRegion `json:"regions"`
}

func (s *Server) publicStatus(w http.ResponseWriter, r *http.Request) {
	rq, days, err := publicRequest(r, schemas.Regions[0])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.answer(w, r, rq.p, "", func(ctx context.Context) (any, error) {
		return s.status(ctx, rq.p, days, schemas.Regions)
	})
}

func (s *Server) publicRegion(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("region")
	rq, days, err := publicRequest(r, code)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.answer(w, r, rq.p, "", func(ctx context.Context) (any, error) {
		st, err := s.status(ctx, rq.p, days, []string{code})
		if err != nil {
			return nil, err
		}
		return st.Regions[0], nil
	})
}

// publicRequest reads a public status request: its region code and its
// number of days.
func publicRequest(r *http.Request, code string) (*request, int, error) {
	rq, err := newRequest(r, "days")
	if err != nil {
		return rq, 0, err
	}
	if checkRegion(code) != "" {
		return rq, 0, rq.fail("region", "api.param.choice", "Value", code, "Allowed", allowedOf("region"))
	}
	days, err := rq.intIn("days", 7, 1, 31)
	return rq, days, err
}

// state is the public state of an availability, made at least "degraded"
// by an open incident.
func state(p *i18n.Printer, a *float64, incidents bool) (string, string) {
	st := "unknown"
	switch {
	case a == nil:
	case *a >= publicOK:
		st = "ok"
	case *a >= publicDegraded:
		st = "degraded"
	default:
		st = "down"
	}
	if incidents && (st == "ok" || st == "unknown") {
		st = "degraded"
	}
	switch st {
	case "ok":
		return st, p.T("api.status.ok")
	case "degraded":
		return st, p.T("api.status.degraded")
	case "down":
		return st, p.T("api.status.down")
	}
	return st, p.T("api.status.unknown")
}

func platformName(p *i18n.Printer, platform string) string {
	if platform == "cned" {
		return p.T("api.platform.cned")
	}
	return p.T("api.platform.ent")
}

// status is the public status of regions over days Paris days ending with
// the newest data.
func (s *Server) status(ctx context.Context, p *i18n.Printer, days int, regions []string) (*PublicStatus, error) {
	out := &PublicStatus{Regions: []PublicRegion{}}
	lf, lt, ok, err := s.live(ctx)
	if err != nil {
		return nil, err
	}
	var now, byPlatform, daily []store.Point
	var open []incident.Incident
	f := store.Filter{Regions: regions}
	if ok {
		out.AsOf = &lt
		if now, err = s.src.Series(ctx, store.SeriesQuery{Grain: store.All, From: lf, To: lt, Filter: f, By: store.By{Region: true}}); err != nil {
			return nil, err
		}
		if byPlatform, err = s.src.Series(ctx, store.SeriesQuery{Grain: store.All, From: lf, To: lt, Filter: f, By: store.By{Platform: true, Region: true}}); err != nil {
			return nil, err
		}
		first := grainStart(store.Day, lt.Add(-time.Minute)).In(paris).AddDate(0, 0, 1-days).UTC()
		if daily, err = s.src.Series(ctx, store.SeriesQuery{Grain: store.Day, From: first, To: lt, Filter: f, By: store.By{Region: true}}); err != nil {
			return nil, err
		}
		det, err := s.detect(ctx, lt.Add(-openLookback), lt)
		if err != nil {
			return nil, err
		}
		for _, in := range det.found.Incidents {
			if !in.End.Before(lt) && slices.Contains(regions, in.Region) {
				open = append(open, in)
			}
		}
	}
	for _, code := range regions {
		pr := PublicRegion{Region: regionOf(code), Platforms: []PublicPlatform{}, Days: []PublicDay{}, OpenIncidents: []PublicIncident{}}
		if ok {
			pr.Now.From, pr.Now.To = &lf, &lt
		}
		for _, pt := range now {
			if pt.Region == code {
				pr.Now.Availability = avail(pt)
			}
		}
		for _, in := range open {
			if in.Region != code {
				continue
			}
			since := p.Clock(in.Start.In(paris))
			if in.Start.In(paris).YearDay() != lt.In(paris).YearDay() {
				since = p.DateTime(in.Start.In(paris))
			}
			text := p.T("api.status.incident", "Platform", platformName(p, in.Platform), "Since", since)
			if in.Reason == incident.ReasonNoData {
				text = p.T("api.status.incident_nodata", "Platform", platformName(p, in.Platform), "Since", since)
			}
			pr.OpenIncidents = append(pr.OpenIncidents, PublicIncident{Platform: in.Platform, Service: in.Service, Since: in.Start, Text: text})
		}
		for _, pt := range byPlatform {
			if pt.Region != code {
				continue
			}
			hit := slices.ContainsFunc(pr.OpenIncidents, func(in PublicIncident) bool { return in.Platform == pt.Platform })
			pp := PublicPlatform{Platform: pt.Platform, Name: platformName(p, pt.Platform), Availability: avail(pt)}
			pp.State, pp.StateText = state(p, pp.Availability, hit)
			pr.Platforms = append(pr.Platforms, pp)
		}
		for _, pt := range daily {
			if pt.Region == code {
				pr.Days = append(pr.Days, PublicDay{Day: pt.Bucket.In(paris).Format(time.DateOnly), Availability: avail(pt)})
			}
		}
		pr.State, pr.StateText = state(p, pr.Now.Availability, len(pr.OpenIncidents) > 0)
		out.Regions = append(out.Regions, pr)
	}
	return out, nil
}

func avail(p store.Point) *float64 {
	if a, ok := p.Availability(); ok {
		return &a
	}
	return nil
}
