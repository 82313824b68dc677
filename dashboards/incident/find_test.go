package incident_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/dashboards/incident"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/store"
	"github.com/vigie-fr/vigie/internal/store/storetest"
)

var at0 = time.Date(2021, 4, 6, 6, 0, 0, 0, time.UTC)

// failing fills fake with n minutes of one series from minute start, failing
// (50 %) or not, and the users who failed in each failing minute.
func failing(f *storetest.Fake, region string, start, n int, bad bool, users ...uint64) {
	for i := start; i < start+n; i++ {
		b := at0.Add(time.Duration(i) * time.Minute)
		s := store.Stats{Bucket: b, Platform: "ent", Service: "ent-x", Region: region, Events: 100, OK: 100, P95MS: 200}
		if bad {
			s.OK, s.Errors = 50, 50
			f.Failed[store.Minute][storetest.Bucket{Platform: "ent", Service: "ent-x", Region: region, At: b}] = users
		}
		f.Buckets[store.Minute] = append(f.Buckets[store.Minute], s)
	}
}

// A user failing in two regions of one service counts once for the group
// and the total; users of a region after it recovered are not counted, even
// while the group goes on elsewhere.
func TestAGroupCountsTheUsersOfItsIncidentsOnly(t *testing.T) {
	f := &storetest.Fake{Buckets: map[store.Grain][]store.Stats{}, Failed: map[store.Grain]map[storetest.Bucket][]uint64{store.Minute: {}}}
	failing(f, "11", 0, 10, true, 1, 2) // 06:00-06:10
	failing(f, "11", 10, 20, false)     // recovered
	failing(f, "32", 0, 30, true, 2, 3) // 06:00-06:30
	f.Failed[store.Minute][storetest.Bucket{Platform: "ent", Service: "ent-x", Region: "11", At: at0.Add(20 * time.Minute)}] = []uint64{9}
	cfg := config.IncidentsConfig{AvailabilityTarget: 0.95, P95ThresholdMS: 3000, MinMinutes: 5, MinEvents: 20, MergeGapMinutes: 2}

	fd, _, err := incident.Find(context.Background(), f, at0, at0.Add(time.Hour), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(fd.Incidents) != 2 || len(fd.Groups) != 1 {
		t.Fatalf("%d incidents in %d groups, want 2 in 1", len(fd.Incidents), len(fd.Groups))
	}
	if a, b := fd.Incidents[0].UsersAffected, fd.Incidents[1].UsersAffected; a != 2 || b != 2 {
		t.Errorf("users per incident = %d, %d; want 2, 2", a, b)
	}
	if g := fd.Groups[0]; g.UsersAffected != 3 || fd.UsersAffected != 3 {
		t.Errorf("group users %d, total %d; want 3 and 3 (user 2 once, user 9 failed after region 11 recovered)", g.UsersAffected, fd.UsersAffected)
	}
	if f.Calls["UsersFailed"] != 1 {
		t.Errorf("%d UsersFailed calls, want 1 (one query for every incident and group)", f.Calls["UsersFailed"])
	}
}

func TestAStoreErrorIsReturnedNotSwallowed(t *testing.T) {
	boom := errors.New("warehouse unreachable")
	_, _, err := incident.Find(context.Background(), &storetest.Fake{Err: boom}, at0, at0.Add(time.Hour), config.Default().Incidents)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want it to wrap %v", err, boom)
	}
}
