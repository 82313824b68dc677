package alert

import (
	"time"

	"github.com/vigie-fr/vigie/dashboards/incident"
	"github.com/vigie-fr/vigie/internal/store"
)

// ID names an incident for its whole life: its series and its start.
func ID(k incident.Key, start time.Time) string {
	return k.Platform + "/" + k.Service + "/" + k.Region + "/" + start.UTC().Format(time.RFC3339)
}

// reconcile compares the incidents an evaluation found over a range ending
// at to with the states the warehouse knows, and returns the new states to
// write, stamped now:
//
//   - a found incident that may still go on (its last failing minute is
//     at most gap before to: another failing minute would merge with it)
//     opens, or updates the open state it overlaps;
//   - an open state whose incident is over resolves, with the found end;
//     one the data no longer shows (late events healed it, or it scrolled
//     out of the lookback) resolves at its last known end;
//   - a finished incident nobody knew (the process was down while it
//     happened) is recorded resolved;
//   - a resolved state is final: the same incident found again changes
//     nothing, so a restart does not reopen it.
func reconcile(found []incident.Incident, known []store.IncidentState, to time.Time, gap time.Duration, now time.Time) []store.IncidentState {
	var out []store.IncidentState
	seen := map[string]bool{} // known ids some found incident matched
	for _, f := range found {
		ongoing := to.Sub(f.End) <= gap
		k := f.Key()
		match := -1
		for i, s := range known {
			if s.Platform != k.Platform || s.Service != k.Service || s.Region != k.Region {
				continue
			}
			// An open state takes any incident within the merge gap of it
			// (its start may move as the lookback slides); a resolved one
			// only what overlaps it.
			if s.Open && !f.Start.After(s.End.Add(gap)) && !s.Start.After(f.End.Add(gap)) ||
				!s.Open && f.Start.Before(s.End) && s.Start.Before(f.End) {
				match = i
				break
			}
		}
		if match < 0 {
			st := stateOf(f, ID(k, f.Start), ongoing, now)
			out = append(out, st)
			continue
		}
		s := known[match]
		seen[s.ID] = true
		if !s.Open {
			continue
		}
		st := stateOf(f, s.ID, ongoing, now)
		if s.Start.Before(st.Start) {
			st.Start = s.Start
		}
		if s.AlertAt.Before(st.AlertAt) && !s.AlertAt.IsZero() {
			st.AlertAt = s.AlertAt
		}
		st.WorstAvailability = min(st.WorstAvailability, s.WorstAvailability)
		st.WorstP95MS = max(st.WorstP95MS, s.WorstP95MS)
		if changed(s, st) {
			out = append(out, st)
		}
	}
	for _, s := range known {
		if s.Open && !seen[s.ID] {
			s.Open, s.UpdatedAt = false, now
			out = append(out, s)
		}
	}
	return out
}

func stateOf(f incident.Incident, id string, open bool, now time.Time) store.IncidentState {
	return store.IncidentState{ID: id, Platform: f.Platform, Service: f.Service, Region: f.Region, Reason: f.Reason, Open: open,
		Start: f.Start, End: f.End, AlertAt: f.AlertAt, WorstAvailability: f.WorstAvailability, WorstP95MS: f.WorstP95MS,
		Events: f.Events, Failed: f.Failed, UpdatedAt: now}
}

// changed reports whether b says something a does not (UpdatedAt aside).
func changed(a, b store.IncidentState) bool {
	a.UpdatedAt, b.UpdatedAt = time.Time{}, time.Time{}
	return a != b
}
