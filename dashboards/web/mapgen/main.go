// Command mapgen turns IGN's region outlines (GeoJSON, as published by
// gregoiredavid/france-geojson, regions-avec-outre-mer.geojson) into the
// dashboard's small map of France: one simplified SVG path per region, in
// screen coordinates, the 13 metropolitan regions in one frame and the 5
// overseas regions each in an inset on the left. It runs by hand when the
// geometry changes (the output is committed next to the page, see
// static/vendor/NOTICE.md); it is not part of the server.
//
//	go run ./dashboards/web/mapgen -in regions-avec-outre-mer.geojson -out dashboards/web/static/vendor/france-regions.json
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
)

type feature struct {
	Properties struct {
		Code string `json:"code"`
		Nom  string `json:"nom"`
	} `json:"properties"`
	Geometry struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	} `json:"geometry"`
}

type pt struct{ x, y float64 }

// Region is one region of the output: its path and where its label goes.
type Region struct {
	Code  string     `json:"code"`
	Name  string     `json:"name"`
	D     string     `json:"d"`
	Label [2]float64 `json:"label"`
	// Inset is the frame [x, y, w, h] of an overseas region, absent for
	// the metropolitan ones.
	Inset []float64 `json:"inset,omitempty"`
}

// Map is the output file.
type Map struct {
	Source  string   `json:"source"`
	Width   float64  `json:"width"`
	Height  float64  `json:"height"`
	Regions []Region `json:"regions"`
}

// Layout, in output units (the SVG viewBox).
const (
	width, height = 1000.0, 830.0
	insetW        = 170.0
	insetH        = 150.0
	insetGap      = 12.0
	// tolerance is the Douglas-Peucker tolerance and minArea the smallest
	// island kept, in output units: about a pixel on a laptop screen.
	tolerance = 1.0
	minArea   = 6.0
)

// overseas are drawn in insets, in this order from the top.
var overseas = []string{"01", "02", "03", "04", "06"}

func main() {
	in := flag.String("in", "regions-avec-outre-mer.geojson", "GeoJSON of the regions (properties code and nom)")
	out := flag.String("out", "france-regions.json", "file to write")
	source := flag.String("source", "IGN Admin Express COG 2018 via github.com/gregoiredavid/france-geojson", "where the outlines come from (written in the file)")
	flag.Parse()
	if err := run(*in, *out, *source); err != nil {
		fmt.Fprintln(os.Stderr, "mapgen:", err)
		os.Exit(1)
	}
}

func run(in, out, source string) error {
	raw, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var fc struct{ Features []feature }
	if err := json.Unmarshal(raw, &fc); err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	byCode := map[string][][][]pt{}
	names := map[string]string{}
	for _, f := range fc.Features {
		polys, err := polygons(f)
		if err != nil {
			return fmt.Errorf("region %s: %w", f.Properties.Code, err)
		}
		byCode[f.Properties.Code] = polys
		names[f.Properties.Code] = f.Properties.Nom
	}
	m := Map{Source: source, Width: width, Height: height}
	isOverseas := map[string]int{}
	for i, c := range overseas {
		isOverseas[c] = i
	}
	var metro []string
	for c := range byCode {
		if _, ok := isOverseas[c]; !ok {
			metro = append(metro, c)
		}
	}
	sort.Strings(metro)
	if len(metro) != 13 {
		return fmt.Errorf("%d metropolitan regions, want 13", len(metro))
	}
	// The metropole fills the frame right of the insets.
	frame := [4]float64{insetW + 20, 5, width - insetW - 25, height - 10}
	proj := fit(collect(byCode, metro), frame)
	for _, c := range metro {
		m.Regions = append(m.Regions, draw(c, names[c], byCode[c], proj, nil))
	}
	for i, c := range overseas {
		polys, ok := byCode[c]
		if !ok {
			return fmt.Errorf("no overseas region %s in %s", c, in)
		}
		box := []float64{5, 5 + float64(i)*(insetH+insetGap), insetW, insetH}
		// Leave room for the name above the outline.
		p := fit(collect(byCode, []string{c}), [4]float64{box[0] + 8, box[1] + 24, box[2] - 16, box[3] - 30})
		m.Regions = append(m.Regions, draw(c, names[c], polys, p, box))
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return os.WriteFile(out, append(b, '\n'), 0o644)
}

// polygons reads a Polygon or MultiPolygon as lists of rings.
func polygons(f feature) ([][][]pt, error) {
	var rings [][][][2]float64
	switch f.Geometry.Type {
	case "Polygon":
		var p [][][2]float64
		if err := json.Unmarshal(f.Geometry.Coordinates, &p); err != nil {
			return nil, err
		}
		rings = [][][][2]float64{p}
	case "MultiPolygon":
		if err := json.Unmarshal(f.Geometry.Coordinates, &rings); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("geometry %q is not a polygon", f.Geometry.Type)
	}
	out := make([][][]pt, len(rings))
	for i, poly := range rings {
		for _, ring := range poly {
			r := make([]pt, len(ring))
			for k, c := range ring {
				r[k] = pt{c[0], c[1]}
			}
			out[i] = append(out[i], r)
		}
	}
	return out, nil
}

func collect(byCode map[string][][][]pt, codes []string) [][][]pt {
	var all [][][]pt
	for _, c := range codes {
		all = append(all, byCode[c]...)
	}
	return all
}

// fit returns the projection of longitudes and latitudes into frame (x, y,
// w, h): equirectangular scaled by the cosine of the middle latitude,
// which is close enough to a conformal map at the size of a region.
func fit(polys [][][]pt, frame [4]float64) func(pt) pt {
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, poly := range polys {
		for _, p := range poly[0] {
			minX, maxX = math.Min(minX, p.x), math.Max(maxX, p.x)
			minY, maxY = math.Min(minY, p.y), math.Max(maxY, p.y)
		}
	}
	k := math.Cos((minY + maxY) / 2 * math.Pi / 180)
	s := math.Min(frame[2]/((maxX-minX)*k), frame[3]/(maxY-minY))
	ox := frame[0] + (frame[2]-(maxX-minX)*k*s)/2
	oy := frame[1] + (frame[3]-(maxY-minY)*s)/2
	return func(p pt) pt { return pt{ox + (p.x-minX)*k*s, oy + (maxY-p.y)*s} }
}

func draw(code, name string, polys [][][]pt, proj func(pt) pt, inset []float64) Region {
	var d strings.Builder
	best, bestArea := []pt(nil), -1.0
	for _, poly := range polys {
		for ri, ring := range poly {
			r := make([]pt, len(ring))
			for i, p := range ring {
				r[i] = proj(p)
			}
			a := math.Abs(area(r))
			if ri == 0 && a > bestArea {
				best, bestArea = r, a
			}
			if a < minArea {
				continue
			}
			s := simplify(r, tolerance)
			if len(s) < 4 {
				continue
			}
			for i, p := range s[:len(s)-1] {
				if i == 0 {
					d.WriteString("M")
				} else {
					d.WriteString("L")
				}
				d.WriteString(num(p.x) + " " + num(p.y))
			}
			d.WriteString("Z")
		}
	}
	if d.Len() == 0 { // every ring was tiny: keep the largest one
		for i, p := range best {
			if i == 0 {
				d.WriteString("M")
			} else {
				d.WriteString("L")
			}
			d.WriteString(num(p.x) + " " + num(p.y))
		}
		d.WriteString("Z")
	}
	c := centroid(best)
	return Region{Code: code, Name: name, D: d.String(), Label: [2]float64{round(c.x), round(c.y)}, Inset: inset}
}

func num(v float64) string { return strconv.FormatFloat(round(v), 'f', -1, 64) }

func round(v float64) float64 { return math.Round(v*10) / 10 }

func area(r []pt) float64 {
	var a float64
	for i := 0; i+1 < len(r); i++ {
		a += r[i].x*r[i+1].y - r[i+1].x*r[i].y
	}
	return a / 2
}

func centroid(r []pt) pt {
	a := area(r)
	if a == 0 {
		return r[0]
	}
	var cx, cy float64
	for i := 0; i+1 < len(r); i++ {
		f := r[i].x*r[i+1].y - r[i+1].x*r[i].y
		cx += (r[i].x + r[i+1].x) * f
		cy += (r[i].y + r[i+1].y) * f
	}
	return pt{cx / (6 * a), cy / (6 * a)}
}

// simplify is Douglas-Peucker on a closed ring (first point = last).
func simplify(r []pt, tol float64) []pt {
	if len(r) < 4 {
		return r
	}
	keep := make([]bool, len(r))
	keep[0], keep[len(r)-1] = true, true
	// A closed ring's ends coincide: split it at its farthest point first.
	far, fd := 0, -1.0
	for i, p := range r {
		if d := math.Hypot(p.x-r[0].x, p.y-r[0].y); d > fd {
			far, fd = i, d
		}
	}
	keep[far] = true
	dp(r, 0, far, tol, keep)
	dp(r, far, len(r)-1, tol, keep)
	var out []pt
	for i, k := range keep {
		if k {
			out = append(out, r[i])
		}
	}
	return out
}

func dp(r []pt, a, b int, tol float64, keep []bool) {
	if b <= a+1 {
		return
	}
	idx, max := -1, tol
	for i := a + 1; i < b; i++ {
		if d := segDist(r[i], r[a], r[b]); d > max {
			idx, max = i, d
		}
	}
	if idx < 0 {
		return
	}
	keep[idx] = true
	dp(r, a, idx, tol, keep)
	dp(r, idx, b, tol, keep)
}

func segDist(p, a, b pt) float64 {
	dx, dy := b.x-a.x, b.y-a.y
	l := dx*dx + dy*dy
	if l == 0 {
		return math.Hypot(p.x-a.x, p.y-a.y)
	}
	t := math.Max(0, math.Min(1, ((p.x-a.x)*dx+(p.y-a.y)*dy)/l))
	return math.Hypot(p.x-a.x-t*dx, p.y-a.y-t*dy)
}
