package window

import (
	"math"
	"slices"
)

// RelativeError is the latency sketch's guarantee: every quantile read from
// the warehouse is within 1% of a latency that was really observed at that
// rank (DDSketch's logarithmic buckets, Masson et al., VLDB 2019).
const RelativeError = 0.01

var (
	gamma    = (1 + RelativeError) / (1 - RelativeError)
	logGamma = math.Log(gamma)
)

// minLatency is the smallest latency kept apart from zero (10 µs); below it
// values fall into the zero bucket, represented as 0 ms.
const minLatency = 0.01

// Sketch is a mergeable latency histogram: bucket index → count. The
// warehouse receives each bucket's representative value and its count and
// builds a quantilesExactWeighted state from them, so SQL reads quantiles
// with the sketch's relative error and merges windows exactly.
type Sketch map[int32]uint64

const zeroBucket = math.MinInt32

// Add records one latency in milliseconds.
func (s Sketch) Add(ms float64) {
	s[bucketOf(ms)]++
}

func bucketOf(ms float64) int32 {
	if ms < minLatency {
		return zeroBucket
	}
	return int32(math.Ceil(math.Log(ms) / logGamma))
}

// Representative is the value that stands for every latency in bucket i:
// within RelativeError of each of them.
func Representative(i int32) float64 {
	if i == zeroBucket {
		return 0
	}
	return 2 * math.Pow(gamma, float64(i)) / (gamma + 1)
}

// Merge adds o's counts to s.
func (s Sketch) Merge(o Sketch) {
	for i, c := range o {
		s[i] += c
	}
}

// Quantile returns the q-quantile (0..1) the way the warehouse computes it
// with quantileExactWeighted over the representatives: the smallest value
// whose cumulative count reaches q of the total. Used by tests and by code
// that must agree with SQL.
func (s Sketch) Quantile(q float64) float64 {
	vals, counts := s.Arrays()
	var total uint64
	for _, c := range counts {
		total += c
	}
	if total == 0 {
		return math.NaN()
	}
	threshold := uint64(math.Ceil(q * float64(total)))
	if threshold == 0 {
		threshold = 1
	}
	var acc uint64
	for i, c := range counts {
		acc += c
		if acc >= threshold {
			return vals[i]
		}
	}
	return vals[len(vals)-1]
}

// Arrays returns the representatives in increasing order and their counts,
// the form the warehouse's agg_in.lat_values / lat_counts columns take.
func (s Sketch) Arrays() ([]float64, []uint64) {
	idx := make([]int32, 0, len(s))
	for i := range s {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	vals := make([]float64, len(idx))
	counts := make([]uint64, len(idx))
	for k, i := range idx {
		vals[k] = Representative(i)
		counts[k] = s[i]
	}
	return vals, counts
}
