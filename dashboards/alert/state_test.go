package alert

import (
	"reflect"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/dashboards/incident"
	"github.com/vigie-fr/vigie/internal/store"
)

var t0 = time.Date(2021, 4, 6, 6, 0, 0, 0, time.UTC)

func at(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }

func found(start, end int) incident.Incident {
	return incident.Incident{Platform: "ent", Service: "ent-11", Region: "11", Start: at(start), End: at(end),
		AlertAt: at(start + 1), Reason: incident.ReasonAvailability, WorstAvailability: 0.5, Events: 100, Failed: 50}
}

func TestReconcile(t *testing.T) {
	now := at(60)
	open := stateOf(found(20, 30), ID(incident.Key{Platform: "ent", Service: "ent-11", Region: "11"}, at(20)), true, at(31))
	resolved := open
	resolved.Open = false
	type want struct {
		id         string
		open       bool
		start, end time.Time
	}
	tests := []struct {
		name  string
		found []incident.Incident
		known []store.IncidentState
		to    time.Time
		want  []want
	}{
		{"a new incident still failing at the end of the range opens", []incident.Incident{found(20, 30)}, nil, at(30),
			[]want{{open.ID, true, at(20), at(30)}}},
		{"within the merge gap of the range's end it may still go on", []incident.Incident{found(20, 30)}, nil, at(33),
			[]want{{open.ID, true, at(20), at(30)}}},
		{"a new incident over before the range's end is recorded resolved", []incident.Incident{found(20, 30)}, nil, at(34),
			[]want{{open.ID, false, at(20), at(30)}}},
		{"an open incident that grew is updated, keeping its id", []incident.Incident{found(20, 35)}, []store.IncidentState{open}, at(35),
			[]want{{open.ID, true, at(20), at(35)}}},
		{"an open incident whose start slid with the lookback keeps its id and start", []incident.Incident{found(25, 36)}, []store.IncidentState{open}, at(36),
			[]want{{open.ID, true, at(20), at(36)}}},
		{"an open incident unchanged writes nothing", []incident.Incident{found(20, 30)}, []store.IncidentState{open}, at(30), nil},
		{"an open incident over resolves with its end", []incident.Incident{found(20, 31)}, []store.IncidentState{open}, at(40),
			[]want{{open.ID, false, at(20), at(31)}}},
		{"an open incident the data no longer shows resolves at its last end", nil, []store.IncidentState{open}, at(40),
			[]want{{open.ID, false, at(20), at(30)}}},
		{"a resolved incident found again changes nothing (a restart)", []incident.Incident{found(20, 30)}, []store.IncidentState{resolved}, at(40), nil},
		{"a later incident of the same series is another one", []incident.Incident{found(20, 30), found(45, 50)}, []store.IncidentState{resolved}, at(50),
			[]want{{ID(incident.Key{Platform: "ent", Service: "ent-11", Region: "11"}, at(45)), true, at(45), at(50)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []want
			for _, st := range reconcile(tc.found, tc.known, tc.to, 3*time.Minute, now) {
				if !st.UpdatedAt.Equal(now) {
					t.Errorf("%s updated at %v, want %v", st.ID, st.UpdatedAt, now)
				}
				got = append(got, want{st.ID, st.Open, st.Start, st.End})
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("reconcile = %+v, want %+v", got, tc.want)
			}
		})
	}
}
