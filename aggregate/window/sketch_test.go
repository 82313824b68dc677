package window

import (
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSketchQuantilesAreWithinTheStatedRelativeError(t *testing.T) {
	for _, tc := range []struct {
		name string
		gen  func(r *rand.Rand) float64
	}{
		{"log-normal latencies around 200 ms", func(r *rand.Rand) float64 { return math.Exp(5.3 + r.NormFloat64()) }},
		{"uniform latencies from 1 ms to 30 s", func(r *rand.Rand) float64 { return 1 + r.Float64()*30000 }},
		{"a bimodal service: fast pages and timeouts", func(r *rand.Rand) float64 {
			if r.IntN(10) == 0 {
				return 30000 + r.Float64()*100
			}
			return 50 + r.Float64()*20
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			s := Sketch{}
			var xs []float64
			for range 20000 {
				x := tc.gen(r)
				xs = append(xs, x)
				s.Add(x)
			}
			slices.Sort(xs)
			for _, q := range []float64{0.5, 0.9, 0.95, 0.99} {
				rank := int(math.Ceil(q*float64(len(xs)))) - 1
				want := xs[rank]
				got := s.Quantile(q)
				if rel := math.Abs(got-want) / want; rel > RelativeError {
					t.Errorf("q%.2f = %.3f, exact %.3f: relative error %.4f > %.2f", q, got, want, rel, RelativeError)
				}
			}
		})
	}
}

func TestSketchMergeEqualsOneSketchOfEverything(t *testing.T) {
	a, b, all := Sketch{}, Sketch{}, Sketch{}
	for i := 1; i <= 1000; i++ {
		x := float64(i) * 1.7
		if i%3 == 0 {
			a.Add(x)
		} else {
			b.Add(x)
		}
		all.Add(x)
	}
	a.Merge(b)
	if !maps.Equal(a, all) {
		t.Fatalf("merged sketch differs from the sketch of all values")
	}
	if got, want := a.Quantile(0.5), all.Quantile(0.5); got != want {
		t.Fatalf("median after merge %v, want %v", got, want)
	}
}

func TestZeroLatencyIsItsOwnBucket(t *testing.T) {
	s := Sketch{}
	s.Add(0)
	s.Add(0.001)
	s.Add(100)
	vals, counts := s.Arrays()
	if vals[0] != 0 || counts[0] != 2 {
		t.Fatalf("zero bucket = %v × %v, want 0 × 2", vals[0], counts[0])
	}
	if math.Abs(vals[1]-100)/100 > RelativeError {
		t.Fatalf("100 ms represented as %v", vals[1])
	}
}
