package delivery

import (
	"context"
	"slices"
	"time"

	"github.com/vigie-fr/vigie/dashboards/report"
	"github.com/vigie-fr/vigie/internal/store"
)

// scoped is a report source that sees only some regions and platforms: a
// subscription's report is the report of that part of the warehouse, with
// incidents, cause signals and heatmaps found in it alone. Empty lists
// mean all. Methods it does not override (the comparison's own reads, and
// whatever the report comes to read later) see the whole warehouse; they
// are asked about the incidents already scoped.
type scoped struct {
	report.Source
	regions, platforms []string
}

func scope(src report.Source, regions, platforms []string) report.Source {
	if len(regions) == 0 && len(platforms) == 0 {
		return src
	}
	return &scoped{Source: src, regions: regions, platforms: platforms}
}

func (s *scoped) keep(platform, region string) bool {
	return (len(s.platforms) == 0 || slices.Contains(s.platforms, platform)) &&
		(len(s.regions) == 0 || slices.Contains(s.regions, region))
}

func (s *scoped) Stats(ctx context.Context, grain store.Grain, from, to time.Time) ([]store.Stats, error) {
	rows, err := s.Source.Stats(ctx, grain, from, to)
	return slices.DeleteFunc(rows, func(r store.Stats) bool { return !s.keep(r.Platform, r.Region) }), err
}

func (s *scoped) SlowCounts(ctx context.Context, grain store.Grain, from, to time.Time, thresholds []store.Threshold, def float64) ([]store.Slow, error) {
	rows, err := s.Source.SlowCounts(ctx, grain, from, to, thresholds, def)
	return slices.DeleteFunc(rows, func(r store.Slow) bool { return !s.keep(r.Platform, r.Region) }), err
}

func (s *scoped) Grid(ctx context.Context, platform string, grain store.Grain, from, to time.Time) ([]store.GridCell, error) {
	if len(s.platforms) > 0 && !slices.Contains(s.platforms, platform) {
		return nil, nil
	}
	rows, err := s.Source.Grid(ctx, platform, grain, from, to)
	return slices.DeleteFunc(rows, func(c store.GridCell) bool { return !s.keep(platform, c.Region) }), err
}

// Annotations keeps the notes that concern the scope: those narrowed to
// another platform or region belong to another subscription's report
// (an empty platform or region is everyone's). Action items have no
// place and are all kept.
func (s *scoped) Annotations(ctx context.Context, from, to time.Time) ([]store.Annotation, error) {
	rows, err := s.Source.Annotations(ctx, from, to)
	return slices.DeleteFunc(rows, func(a store.Annotation) bool {
		return (a.Platform != "" && len(s.platforms) > 0 && !slices.Contains(s.platforms, a.Platform)) ||
			(a.Region != "" && len(s.regions) > 0 && !slices.Contains(s.regions, a.Region))
	}), err
}
