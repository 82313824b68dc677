// Package storetest is an in-memory stand-in for the store's reads, for the
// tests of readers (detection, the report, the dashboard) where the engine
// is not the point: what a reader does with the rows, its errors, its
// parameters. It answers from rows the test gives, filtered and sorted as
// the store sorts them; it does not aggregate, so a test states each
// bucket's numbers itself. The real methods run on chDB in the warehouse's
// contract suite. It is test code only.
package storetest

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/vigie-fr/vigie/internal/store"
)

// Fake answers the store's reads from its fields.
type Fake struct {
	// Buckets are the *_stats rows of each grain.
	Buckets map[store.Grain][]store.Stats
	// Failed are the users who failed in a bucket of a series, by grain.
	Failed map[store.Grain]map[Bucket][]uint64
	// Cells are the grid cells of each platform and grain.
	Cells map[string]map[store.Grain][]store.GridCell
	// Slow are the latency counts of each grain, returned as they are
	// (the test states each bucket's count above its threshold itself).
	Slow map[store.Grain][]store.Slow
	// Anon is the answer of every Anonymous call.
	Anon store.Anonymous
	// Roles is the answer of every People call; Notes, Items and Status
	// those of the report's notes (Status nil: none set).
	Roles  []store.People
	Notes  []store.Annotation
	Items  []store.Action
	Status *store.ReportStatus
	// Err, when set, is the answer of every call.
	Err error
	// Calls counts the calls by method name.
	Calls map[string]int
}

// Bucket is one bucket of a series.
type Bucket struct {
	Platform, Service, Region string
	At                        time.Time
}

func (f *Fake) call(name string) error {
	if f.Calls == nil {
		f.Calls = map[string]int{}
	}
	f.Calls[name]++
	return f.Err
}

// Stats returns the buckets of grain in [from, to), sorted as the store does.
func (f *Fake) Stats(_ context.Context, grain store.Grain, from, to time.Time) ([]store.Stats, error) {
	if err := f.call("Stats"); err != nil {
		return nil, err
	}
	return inRange(f.Buckets[grain], from, to, func(s store.Stats) series {
		return series{s.Platform, s.Service, s.Region, s.Bucket}
	}), nil
}

// series is where a row sorts in the store's answers.
type series struct {
	platform, service, region string
	bucket                    time.Time
}

// inRange returns the rows whose bucket is in [from, to), sorted by
// platform, service, region and bucket, as the store sorts them.
func inRange[T any](rows []T, from, to time.Time, at func(T) series) []T {
	var out []T
	for _, r := range rows {
		if b := at(r).bucket; !b.Before(from) && b.Before(to) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(x, y T) int {
		a, b := at(x), at(y)
		return cmp.Or(cmp.Compare(a.platform, b.platform), cmp.Compare(a.service, b.service),
			cmp.Compare(a.region, b.region), a.bucket.Compare(b.bucket))
	})
	return out
}

// UsersFailed counts the distinct users of Failed inside each set's spans.
func (f *Fake) UsersFailed(_ context.Context, grain store.Grain, sets [][]store.Span) ([]uint64, error) {
	if err := f.call("UsersFailed"); err != nil {
		return nil, err
	}
	out := make([]uint64, len(sets))
	for i, set := range sets {
		users := map[uint64]bool{}
		for b, us := range f.Failed[grain] {
			for _, sp := range set {
				if b.Platform == sp.Platform && b.Service == sp.Service && b.Region == sp.Region && !b.At.Before(sp.Start) && b.At.Before(sp.End) {
					for _, u := range us {
						users[u] = true
					}
				}
			}
		}
		out[i] = uint64(len(users))
	}
	return out, nil
}

// Grid returns the cells of platform at grain in [from, to).
func (f *Fake) Grid(_ context.Context, platform string, grain store.Grain, from, to time.Time) ([]store.GridCell, error) {
	if err := f.call("Grid"); err != nil {
		return nil, err
	}
	var out []store.GridCell
	for _, c := range f.Cells[platform][grain] {
		if !c.Bucket.Before(from) && c.Bucket.Before(to) {
			out = append(out, c)
		}
	}
	return out, nil
}

// Anonymous returns Anon.
func (f *Fake) Anonymous(context.Context, string, []string, time.Time, time.Time, time.Time, time.Time) (store.Anonymous, error) {
	if err := f.call("Anonymous"); err != nil {
		return store.Anonymous{}, err
	}
	return f.Anon, nil
}

// HourRange returns the first and last hour buckets of Buckets.
func (f *Fake) HourRange(context.Context) (first, last time.Time, ok bool, err error) {
	if err := f.call("HourRange"); err != nil {
		return first, last, false, err
	}
	for i, s := range f.Buckets[store.Hour] {
		if i == 0 || s.Bucket.Before(first) {
			first = s.Bucket
		}
		if i == 0 || s.Bucket.After(last) {
			last = s.Bucket
		}
	}
	return first, last, len(f.Buckets[store.Hour]) > 0, nil
}

// SlowCounts returns the Slow rows of grain in [from, to), sorted as the
// store does; the thresholds are the test's business.
func (f *Fake) SlowCounts(_ context.Context, grain store.Grain, from, to time.Time, _ []store.Threshold, _ float64) ([]store.Slow, error) {
	if err := f.call("SlowCounts"); err != nil {
		return nil, err
	}
	return inRange(f.Slow[grain], from, to, func(s store.Slow) series {
		return series{s.Platform, s.Service, s.Region, s.Bucket}
	}), nil
}

// People returns Roles.
func (f *Fake) People(context.Context, []store.Span) ([]store.People, error) {
	if err := f.call("People"); err != nil {
		return nil, err
	}
	return f.Roles, nil
}

// Annotations returns Notes.
func (f *Fake) Annotations(context.Context, time.Time, time.Time) ([]store.Annotation, error) {
	if err := f.call("Annotations"); err != nil {
		return nil, err
	}
	return f.Notes, nil
}

// Actions returns Items.
func (f *Fake) Actions(context.Context, time.Time, time.Time) ([]store.Action, error) {
	if err := f.call("Actions"); err != nil {
		return nil, err
	}
	return f.Items, nil
}

// ReportStatusOf returns Status.
func (f *Fake) ReportStatusOf(context.Context, time.Time, time.Time) (store.ReportStatus, bool, error) {
	if err := f.call("ReportStatusOf"); err != nil || f.Status == nil {
		return store.ReportStatus{}, false, err
	}
	return *f.Status, true, nil
}
