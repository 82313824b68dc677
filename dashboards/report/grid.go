package report

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/vigie-fr/vigie/internal/store"
	"github.com/vigie-fr/vigie/schemas"
)

// Grains of a Grid.
const (
	GrainHour   = "hour"
	GrainMinute = "minute"
)

// Grid is the region × time availability of one platform, all its services
// of a region merged: the heatmap of the dashboard and the report's tables.
type Grid struct {
	Platform string    `json:"platform"`
	Grain    string    `json:"grain"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	// Regions with data, in the order of schemas.Regions (unknown codes last).
	Regions []string `json:"regions"`
	// Buckets are every bucket of [From, To) at the grain, with data or not.
	Buckets []time.Time `json:"buckets"`
	// Cells are the (region, bucket) pairs with data, by region then bucket.
	Cells []Cell `json:"cells"`
}

// Cell is one region in one bucket.
type Cell struct {
	Region string    `json:"region"`
	Bucket time.Time `json:"bucket"`
	// Availability is ok / (ok + failed), nil when nothing was attempted
	// that could fail (only queued attempts, say).
	Availability *float64 `json:"availability"`
	Events       uint64   `json:"events"`
	OK           uint64   `json:"ok"`
	Failed       uint64   `json:"failed"`
	// P95MS merges the latency of all the region's services; 0 when none was measured.
	P95MS float64 `json:"p95_ms"`
}

// GrainStep is the bucket width of a grain, 0 for an unknown grain.
func GrainStep(grain string) time.Duration { return store.Grain(grain).Step() }

// GridSource reads the region × bucket cells of a platform (*store.Store).
type GridSource interface {
	Grid(ctx context.Context, platform string, grain store.Grain, from, to time.Time) ([]store.GridCell, error)
}

// LoadGrid reads the region × bucket availability of platform in [from, to).
func LoadGrid(ctx context.Context, src GridSource, platform, grain string, from, to time.Time) (*Grid, error) {
	step := GrainStep(grain)
	if step == 0 {
		return nil, fmt.Errorf("grid: grain %q is not one of hour, minute", grain)
	}
	from, to = from.UTC().Truncate(step), to.UTC()
	cells, err := src.Grid(ctx, platform, store.Grain(grain), from, to)
	if err != nil {
		return nil, err
	}
	g := &Grid{Platform: platform, Grain: grain, From: from, To: to, Regions: []string{}, Buckets: []time.Time{}, Cells: []Cell{}}
	for b := from; b.Before(to); b = b.Add(step) {
		g.Buckets = append(g.Buckets, b)
	}
	seen := map[string]bool{}
	for _, sc := range cells {
		c := Cell{Region: sc.Region, Bucket: sc.Bucket, Events: sc.Events, OK: sc.OK, Failed: sc.Failed, P95MS: sc.P95MS}
		if a, ok := store.Availability(c.OK, c.Failed); ok {
			c.Availability = &a
		}
		if !seen[c.Region] {
			seen[c.Region] = true
			g.Regions = append(g.Regions, c.Region)
		}
		g.Cells = append(g.Cells, c)
	}
	SortRegions(g.Regions)
	rank := regionRank()
	sort.SliceStable(g.Cells, func(i, j int) bool {
		a, b := g.Cells[i], g.Cells[j]
		if a.Region != b.Region {
			return lessRegion(rank, a.Region, b.Region)
		}
		return a.Bucket.Before(b.Bucket)
	})
	return g, nil
}

// SortRegions orders INSEE codes as schemas.Regions lists them (metropolitan
// regions, then overseas), unknown codes last by code.
func SortRegions(codes []string) {
	rank := regionRank()
	sort.SliceStable(codes, func(i, j int) bool { return lessRegion(rank, codes[i], codes[j]) })
}

func regionRank() map[string]int {
	rank := make(map[string]int, len(schemas.Regions))
	for i, r := range schemas.Regions {
		rank[r] = i
	}
	return rank
}

func lessRegion(rank map[string]int, a, b string) bool {
	ra, oka := rank[a]
	rb, okb := rank[b]
	switch {
	case oka && okb:
		return ra < rb
	case oka != okb:
		return oka
	}
	return a < b
}

// RegionName is the region's French name, or its code when unknown.
func RegionName(code string) string {
	if n, ok := schemas.RegionNames[code]; ok {
		return n
	}
	return code
}
