package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A square of side 1° at (lon, lat), with a spike of 0.0001° that the
// simplification must drop.
func square(lon, lat float64) string {
	return fmt.Sprintf(`[[[%g,%g],[%g,%g],[%g,%g],[%g,%g],[%g,%g],[%g,%g]]]`,
		lon, lat, lon+0.5, lat+0.0001, lon+1, lat, lon+1, lat+1, lon, lat+1, lon, lat)
}

func TestRunDrawsEveryRegionInItsFrame(t *testing.T) {
	codes := []string{"11", "24", "27", "28", "32", "44", "52", "53", "75", "76", "84", "93", "94", "01", "02", "03", "04", "06"}
	var feats []string
	for i, c := range codes {
		lon, lat := -4+float64(i%5)*2, 42+float64(i/5)*2
		geom := `{"type":"Polygon","coordinates":` + square(lon, lat) + `}`
		if c == "01" { // an archipelago: a MultiPolygon with a speck too small to keep
			geom = `{"type":"MultiPolygon","coordinates":[` + square(-61, 16) + `,[[[-60,15],[-59.999,15],[-59.999,15.001],[-60,15]]]]}`
		}
		feats = append(feats, fmt.Sprintf(`{"type":"Feature","properties":{"code":%q,"nom":"R%s"},"geometry":%s}`, c, c, geom))
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.geojson"), filepath.Join(dir, "out.json")
	if err := os.WriteFile(in, []byte(`{"type":"FeatureCollection","features":[`+strings.Join(feats, ",")+`]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(in, out, "test"); err != nil {
		t.Fatal(err)
	}
	var m Map
	b, _ := os.ReadFile(out)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Regions) != 18 || m.Width != width || m.Height != height {
		t.Fatalf("%d regions in %gx%g", len(m.Regions), m.Width, m.Height)
	}
	insets := 0
	for _, r := range m.Regions {
		if r.Name != "R"+r.Code {
			t.Errorf("region %s named %q", r.Code, r.Name)
		}
		// A square keeps its 4 corners: the spike is within the tolerance,
		// the archipelago's speck under the smallest island.
		if n := strings.Count(r.D, "M"); n != 1 {
			t.Errorf("region %s has %d rings, want 1: %s", r.Code, n, r.D)
		}
		if n := strings.Count(r.D, "L"); n != 3 {
			t.Errorf("region %s has %d points after the first, want 3: %s", r.Code, n, r.D)
		}
		frame := []float64{insetW + 20, 5, width - insetW - 25, height - 10}
		if r.Inset != nil {
			insets++
			frame = r.Inset
		}
		if r.Label[0] < frame[0] || r.Label[0] > frame[0]+frame[2] || r.Label[1] < frame[1] || r.Label[1] > frame[1]+frame[3] {
			t.Errorf("region %s's label %v is outside its frame %v", r.Code, r.Label, frame)
		}
	}
	if insets != 5 {
		t.Errorf("%d insets, want the 5 overseas regions", insets)
	}
}

func TestSimplifyKeepsTheShapeWithinTolerance(t *testing.T) {
	var ring []pt
	for i := 0; i <= 100; i++ { // a half circle of radius 100, closed by its diameter
		a := math.Pi * float64(i) / 100
		ring = append(ring, pt{100 * math.Cos(a), 100 * math.Sin(a)})
	}
	ring = append(ring, ring[0])
	s := simplify(ring, 1)
	if len(s) >= len(ring)/2 || len(s) < 8 {
		t.Fatalf("%d points kept of %d", len(s), len(ring))
	}
	for _, p := range ring { // every original point is within the tolerance of the outline kept
		best := math.Inf(1)
		for i := 0; i+1 < len(s); i++ {
			best = math.Min(best, segDist(p, s[i], s[i+1]))
		}
		if best > 1+1e-9 {
			t.Errorf("point %v is %g from the simplified outline", p, best)
		}
	}
}
