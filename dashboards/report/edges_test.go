package report_test

import (
	"maps"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/dashboards/incident"
	"github.com/vigie-fr/vigie/dashboards/report"
)

// The cause signals' thresholds are met when reached, as the report words
// them ("attempts per active user reach 3×", "10 % or more … refused"): a
// value exactly on the threshold raises the signal, just under it does not.
func TestSignalsAreRaisedExactlyAtTheirThresholds(t *testing.T) {
	t0 := time.Date(2021, 4, 6, 6, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	// A service normal for 10 minutes (100 attempts by 50 users: 2 a user
	// a minute), then in incident for 10 minutes of 120 attempts, perUser
	// a user, refused of them refused by a quota.
	build := func(perUser, refused uint64) ([]incident.Incident, []incident.Group, []incident.Minute) {
		var minutes []incident.Minute
		for m := range 20 {
			mn := incident.Minute{Bucket: at(m), Platform: "ent", Service: "ent-11", Region: "11", Events: 100, OK: 100, Users: 50}
			if m >= 10 {
				mn.Events, mn.Users = 120, 120/perUser
				mn.OK, mn.Rejected = 120-refused, refused
			}
			minutes = append(minutes, mn)
		}
		in := incident.Incident{Platform: "ent", Service: "ent-11", Region: "11", Start: at(10), End: at(20),
			Events: 1200, OK: 1200 - 10*refused, Failed: 10 * refused, Rejected: 10 * refused}
		incs := []incident.Incident{in}
		return incs, incident.GroupOverlapping(incs), minutes
	}
	kinds := func(s []report.Signal) map[string]bool {
		out := map[string]bool{}
		for _, sg := range s {
			out[sg.Kind] = true
		}
		return out
	}
	for _, tc := range []struct {
		name            string
		perUser, refuse uint64
		want            map[string]bool
	}{
		{"3× the normal rate and 10 % refused", 6, 12, map[string]bool{report.SignalAttack: true, report.SignalSaturation: true}},
		{"2.5× the normal rate and 9.2 % refused", 5, 11, map[string]bool{}},
	} {
		incs, groups, minutes := build(tc.perUser, tc.refuse)
		if got := kinds(report.Signals(incs, groups, minutes)); !maps.Equal(got, tc.want) {
			t.Errorf("%s: signals %v, want %v", tc.name, got, tc.want)
		}
	}
}
