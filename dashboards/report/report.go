// Package report writes the lessons-learned report of a time range: what
// failed, where, when, for how many users, and which cause the data points
// to, how it compares with earlier incidents and what capacity was missing,
// in the shape of a good post-mortem. It is written for ministry analysts
// and unions (no SQL; French region names), as Markdown, a self-contained
// HTML page with charts, and JSON. Detection itself is package incident's
// job; this package presents it and adds the region × hour view, the cause
// signals, the comparison and the capacity needed.
package report

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Paris must resolve on machines without zoneinfo

	"github.com/vigie-fr/vigie/dashboards/incident"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/i18n"
	"github.com/vigie-fr/vigie/internal/store"
)

// Source is what the report reads from the warehouse (*store.Store).
type Source interface {
	incident.Source
	// Grid reads the region × bucket cells of a platform.
	Grid(ctx context.Context, platform string, grain store.Grain, from, to time.Time) ([]store.GridCell, error)
	// Anonymous counts a service's raw attempts without a user, inside a
	// period and around it.
	Anonymous(ctx context.Context, service string, regions []string, inFrom, inTo, from, to time.Time) (store.Anonymous, error)
	// People counts the people and attempts of the raw events in spans,
	// by role, weighed by their sample rate.
	People(ctx context.Context, spans []store.Span) ([]store.People, error)
	NoteSource
}

// Options are what a report is built with besides its range.
type Options struct {
	// Incidents is the incident definition (incidents.*).
	Incidents config.IncidentsConfig
	// Catalogue names services and their hosts (catalogue.*).
	Catalogue config.CatalogueConfig
}

// Platforms the report has a region × hour table for, in this order.
var Platforms = []string{"ent", "cned"}

// Report is a lessons-learned report. Times are UTC; the Markdown shows
// them in Europe/Paris.
type Report struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Lang is the language the report is written in (set it before
	// writing; "" is French).
	Lang      i18n.Lang           `json:"lang"`
	Objective Objective           `json:"objective"`
	Summary   Summary             `json:"summary"`
	Incidents []incident.Incident `json:"incidents"`
	Groups    []incident.Group    `json:"groups"`
	Signals   []Signal            `json:"signals"`
	Grids     []*Grid             `json:"grids"`
	// Comparison holds the incidents of the LookbackDays before From.
	Comparison *Comparison `json:"comparison"`
	// Capacity has one entry per group, in the groups' order.
	Capacity []Capacity `json:"capacity"`
	// ByRegion is the time each region's pupils had a platform in incident.
	ByRegion []RegionTime `json:"by_region"`
	// Headline are the first numbers, wall-clock and without double counts.
	Headline Headline `json:"headline"`
	// Estimate is who was affected, by role, and what it stands for.
	Estimate Estimate `json:"estimate"`
	// Recovery has one entry per group, in the groups' order.
	Recovery []Recovery `json:"recovery"`
	// Trigger is how the first failure began; nil without incident.
	Trigger *Trigger `json:"trigger"`
	// Providers compare the failing services' hosting providers.
	Providers []ProviderShare `json:"providers"`
	// Catalogue holds the catalogue's entries of the services the report
	// names: in incident now or on an earlier day, and those sharing a
	// failing service's provider.
	Catalogue []config.ServiceEntry `json:"catalogue"`
	// Notes are the status, annotations and action items people entered.
	Notes Notes `json:"notes"`
}

// Objective is the incident definition the report applied
// (config.IncidentsConfig with JSON names).
type Objective struct {
	AvailabilityTarget float64 `json:"availability_target"`
	P95ThresholdMS     float64 `json:"p95_threshold_ms"`
	LatencyQuantile    float64 `json:"latency_quantile"`
	MinMinutes         int     `json:"min_minutes"`
	MinEvents          int     `json:"min_events"`
	MergeGapMinutes    int     `json:"merge_gap_minutes"`
	Confidence         float64 `json:"confidence"`
	MaxWindowMinutes   int     `json:"max_window_minutes"`
	SilenceMinExpected float64 `json:"silence_min_expected"`
	SilenceFraction    float64 `json:"silence_fraction"`
	HistoryDays        int     `json:"history_days"`
	// Closed says when the platforms are closed (calendar), in words.
	Closed []string `json:"closed"`
	// Services are the objectives of the services in incident and of those
	// configured apart, sorted by name.
	Services []ServiceObjective `json:"services"`
}

// ServiceObjective is the objective one platform or service is held to.
type ServiceObjective struct {
	// Name is "platform" or "platform/service"; "" is the default.
	Name               string  `json:"name"`
	AvailabilityTarget float64 `json:"availability_target"`
	LatencyThresholdMS float64 `json:"latency_threshold_ms"`
	LatencyQuantile    float64 `json:"latency_quantile"`
}

func objective(c config.IncidentsConfig, incs []incident.Incident) Objective {
	q := c.Objective("", "").LatencyQuantile
	o := Objective{AvailabilityTarget: c.AvailabilityTarget, P95ThresholdMS: c.P95ThresholdMS, LatencyQuantile: q,
		MinMinutes: c.MinMinutes, MinEvents: c.MinEvents, MergeGapMinutes: c.MergeGapMinutes, Confidence: c.Confidence,
		MaxWindowMinutes: c.MaxWindowMinutes, SilenceMinExpected: c.Silence.MinExpected, SilenceFraction: c.Silence.Fraction,
		HistoryDays: c.Silence.HistoryDays, Closed: []string{}, Services: []ServiceObjective{}}
	if c.Calendar.Nights != "" {
		o.Closed = append(o.Closed, "nights "+c.Calendar.Nights)
	}
	if c.Calendar.Weekends {
		o.Closed = append(o.Closed, "weekends")
	}
	o.Closed = append(o.Closed, c.Calendar.Holidays...)
	names := map[string]bool{}
	for name := range c.Objectives {
		names[name] = true
	}
	for _, in := range incs {
		names[in.Platform+"/"+in.Service] = true
	}
	for name := range names {
		p, svc, _ := strings.Cut(name, "/")
		so := c.Objective(p, svc)
		o.Services = append(o.Services, ServiceObjective{Name: name, AvailabilityTarget: so.AvailabilityTarget,
			LatencyThresholdMS: so.LatencyThresholdMS, LatencyQuantile: so.LatencyQuantile})
	}
	sort.Slice(o.Services, func(i, j int) bool { return o.Services[i].Name < o.Services[j].Name })
	return o
}

// Summary is the report's first paragraph in numbers.
type Summary struct {
	Incidents int `json:"incidents"`
	// Services and Regions are those with at least one incident, sorted.
	Services []string `json:"services"`
	Regions  []string `json:"regions"`
	// IncidentMinutes adds up every incident's duration: region-incidents
	// that overlap count several times, so the report never shows it as
	// a duration (Headline has the wall-clock ones).
	IncidentMinutes int `json:"incident_minutes"`
	// WallMinutes is how long at least one service was in incident.
	WallMinutes int `json:"wall_minutes"`
	// UsersAffected counts unique users who saw a failure in any incident.
	UsersAffected uint64 `json:"users_affected"`
	// Failed and Events add up the incidents' attempts.
	Failed uint64 `json:"failed"`
	Events uint64 `json:"events"`
}

// Build reads [from, to) from src and assembles the report. It also
// reads the LookbackDays before from, for the comparison with earlier
// incidents (see compare for how the cost stays bounded).
func Build(ctx context.Context, src Source, from, to time.Time, cfg config.IncidentsConfig) (*Report, error) {
	return BuildWith(ctx, src, from, to, Options{Incidents: cfg})
}

// BuildWith is Build with a catalogue.
func BuildWith(ctx context.Context, src Source, from, to time.Time, opt Options) (*Report, error) {
	cfg := opt.Incidents
	if !to.After(from) {
		return nil, fmt.Errorf("report: range %s..%s is empty", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	f, minutes, err := incident.Find(ctx, src, from, to, cfg)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	r := &Report{From: from.UTC(), To: to.UTC(), Objective: objective(cfg, f.Incidents), Incidents: f.Incidents, Groups: f.Groups}
	for _, p := range Platforms {
		g, err := LoadGrid(ctx, src, p, GrainHour, from, to)
		if err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		r.Grids = append(r.Grids, g)
	}
	r.Summary = summarise(f)
	r.Signals = Signals(f.Incidents, f.Groups, minutes)
	anon, err := anonymousSignals(ctx, src, f.Groups, r)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	r.Signals = sortSignals(append(r.Signals, anon...))
	r.Capacity = Capacities(f.Incidents, f.Groups, minutes)
	r.ByRegion = ByRegion(f.Incidents)
	if r.Comparison, err = compare(ctx, src, from, f.Incidents, cfg); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	r.Headline = headline(f.Incidents)
	spans := make([]store.Span, len(f.Incidents))
	for i, in := range f.Incidents {
		spans[i] = store.Span{Platform: in.Platform, Service: in.Service, Region: in.Region, Start: in.Start, End: in.End}
	}
	people, err := src.People(ctx, spans)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	r.Estimate = estimate(people)
	r.Recovery = Recoveries(f.Incidents, f.Groups, minutes, cfg.AvailabilityTarget)
	r.Trigger = trigger(f.Incidents, minutes, r.Signals)
	if len(f.Incidents) > 0 {
		r.Providers = providerShares(opt.Catalogue, r.Summary.Services)
	}
	for i := range r.Signals {
		if r.Signals[i].Kind == SignalSharedProvider {
			r.Signals[i].Providers = providerShares(opt.Catalogue, r.Signals[i].Services)
		}
	}
	r.Catalogue = r.catalogueOf(opt.Catalogue)
	if r.Notes, err = loadNotes(ctx, src, from, to); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return r, nil
}

// catalogueOf returns the entries of the services the report names.
func (r *Report) catalogueOf(cat config.CatalogueConfig) []config.ServiceEntry {
	ids := map[string]bool{}
	for _, s := range r.Summary.Services {
		ids[s] = true
	}
	for _, ps := range r.Providers {
		for _, s := range ps.Held {
			ids[s] = true
		}
	}
	if r.Comparison != nil {
		for _, d := range r.Comparison.Days {
			for _, s := range d.Services {
				ids[s] = true
			}
		}
	}
	out := []config.ServiceEntry{}
	for _, id := range keys(ids) {
		if e, ok := cat.Service(id); ok {
			out = append(out, e)
		}
	}
	return out
}

func summarise(f *incident.Findings) Summary {
	s := Summary{Incidents: len(f.Incidents), UsersAffected: f.UsersAffected, Services: []string{}, Regions: []string{}}
	services, regions := map[string]bool{}, map[string]bool{}
	var ivs [][2]time.Time
	for _, in := range f.Incidents {
		ivs = append(ivs, [2]time.Time{in.Start, in.End})
		s.IncidentMinutes += in.Minutes
		s.Failed += in.Failed
		s.Events += in.Events
		if !services[in.Service] {
			services[in.Service] = true
			s.Services = append(s.Services, in.Service)
		}
		if !regions[in.Region] {
			regions[in.Region] = true
			s.Regions = append(s.Regions, in.Region)
		}
	}
	s.WallMinutes = unionMinutes(ivs)
	sortStrings(s.Services)
	SortRegions(s.Regions)
	return s
}
