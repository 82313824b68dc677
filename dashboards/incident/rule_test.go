package incident

import (
	"fmt"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/store"
)

// flat builds minutes of one series over n minutes from t0: per minute,
// attempts and failures given by f (events = attempts).
func flat(platform, service, region string, n int, f func(i int) (attempts, failed uint64)) []Minute {
	var out []Minute
	for i := range n {
		a, x := f(i)
		if a == 0 {
			continue
		}
		out = append(out, Minute{Bucket: t0.Add(time.Duration(i) * time.Minute), Platform: platform, Service: service, Region: region,
			Events: a, OK: a - x, Errors: x, P95MS: 200})
	}
	return out
}

func spansOf(incs []Incident) string {
	s := ""
	for _, in := range incs {
		s += fmt.Sprintf("[%s/%s %d-%d %s]", in.Service, in.Region, int(in.Start.Sub(t0)/time.Minute), int(in.End.Sub(t0)/time.Minute), in.Reason)
	}
	return s
}

func TestThinSeriesAreJudgedOnEnoughAttempts(t *testing.T) {
	cfg := config.Default().Incidents
	tests := []struct {
		name string
		f    func(i int) (uint64, uint64)
		want string
	}{
		// One error in three is "67 %" for a minute, but 1 in 3 every
		// minute is a real failure: it is an incident, found as one.
		{"three attempts a minute, one error every fifth minute: healthy", func(i int) (uint64, uint64) {
			if i%5 == 0 {
				return 3, 1
			}
			return 3, 0
		}, ""},
		{"three attempts a minute, all failing from minute 30 to 50", func(i int) (uint64, uint64) {
			if i >= 30 && i < 50 {
				return 3, 3
			}
			return 3, 0
		}, "[ent-94/94 30-50 availability]"},
		{"one attempt a minute failing from 30 to 60: judged over 20-minute windows", func(i int) (uint64, uint64) {
			if i >= 30 && i < 60 {
				return 1, 1
			}
			return 1, 0
		}, "[ent-94/94 30-60 availability]"},
		{"a thousand attempts a minute, 10 % failing: below a 95 % target beyond doubt", func(i int) (uint64, uint64) {
			if i >= 30 && i < 40 {
				return 1000, 100
			}
			return 1000, 10
		}, "[ent-94/94 30-40 availability]"},
		{"twenty attempts a minute, 10 % failing: not beyond doubt", func(i int) (uint64, uint64) {
			if i >= 30 && i < 40 {
				return 20, 2
			}
			return 20, 0
		}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := spansOf(Detect(flat("ent", "ent-94", "94", 90, tc.f), cfg))
			if got != tc.want {
				t.Errorf("incidents %s, want %s", got, tc.want)
			}
		})
	}
}

func TestEachServiceHasItsOwnObjective(t *testing.T) {
	cfg := config.Default().Incidents
	cfg.Objectives = map[string]config.ObjectiveConfig{"cned": {LatencyThresholdMS: 5000}, "ent/ent-11": {AvailabilityTarget: 0.8}}
	var in Input
	for _, s := range []struct{ platform, service string }{{"cned", "cned-classe-virtuelle"}, {"ent", "ent-11"}, {"ent", "ent-32"}} {
		region := s.service[len(s.service)-2:]
		if s.platform == "cned" {
			region = "11"
		}
		// 100 attempts a minute; minutes 10–20: 30 % failing (below 95 %
		// beyond doubt, not below 80 %) and 40 % of the answers above 4 s
		// (below 5 s).
		in.Buckets = append(in.Buckets, flat(s.platform, s.service, region, 30, func(i int) (uint64, uint64) {
			if i >= 10 && i < 20 {
				return 100, 30
			}
			return 100, 0
		})...)
		for i := 10; i < 20; i++ {
			in.Slow = append(in.Slow, store.Slow{Bucket: t0.Add(time.Duration(i) * time.Minute), Platform: s.platform, Service: s.service,
				Region: region, Samples: 100, Over: 40})
		}
	}
	// The Slow counts above are what SlowCounts returns for each series'
	// own threshold: for the CNED (5 s) nothing is over it.
	for i := range in.Slow {
		if in.Slow[i].Platform == "cned" {
			in.Slow[i].Over = 0
		}
	}
	got := spansOf(Evaluate(in, time.Minute, cfg))
	want := "[cned-classe-virtuelle/11 10-20 availability][ent-11/11 10-20 latency][ent-32/32 10-20 availability+latency]"
	if got != want {
		t.Errorf("incidents %s, want %s (the CNED's 5 s threshold, ent-11's 80 %% target)", got, want)
	}
	if th := Thresholds(cfg); len(th) != 2 || th[0] != (store.Threshold{Platform: "cned", MS: 5000}) || th[1] != (store.Threshold{Platform: "ent", Service: "ent-11", MS: 3000}) {
		t.Errorf("thresholds for the store = %+v", th)
	}
}

// peers are four regions of a platform, 30 events a minute each; region
// "94" stops from minute `from` to `to`.
func peers(n, from, to int) []Minute {
	var out []Minute
	for _, r := range []string{"11", "32", "53", "94"} {
		out = append(out, flat("ent", "ent-"+r, r, n, func(i int) (uint64, uint64) {
			if r == "94" && i >= from && i < to {
				return 0, 0
			}
			return 30, 0
		})...)
	}
	return out
}

func TestSilenceIsAnIncidentUnlessClosed(t *testing.T) {
	cfg := config.Default().Incidents
	cfg.Calendar.Nights = ""
	// t0 is 08:00 in Paris: minutes 200–240 are 11:20–12:00.
	got := spansOf(Detect(peers(300, 200, 240), cfg))
	if want := "[ent-94/94 200-240 no data]"; got != want {
		t.Errorf("silence against the other regions: %s, want %s", got, want)
	}
	cfg.Calendar.Nights = "11:00-13:00"
	if got := spansOf(Detect(peers(300, 200, 240), cfg)); got != "" {
		t.Errorf("silence while the calendar has the platform closed: %s, want none", got)
	}
	cfg.Calendar = config.CalendarConfig{Holidays: []string{"2021-04-06"}}
	if got := spansOf(Detect(peers(300, 200, 240), cfg)); got != "" {
		t.Errorf("silence on a holiday: %s, want none", got)
	}
}

// With earlier days' hours, a series silent from the start of the range
// (no peer to compare with: every region is silent) is found too.
func TestSilenceAgainstEarlierDays(t *testing.T) {
	cfg := config.Default().Incidents
	cfg.Calendar.Nights = ""
	var history []Minute
	// Three earlier weekdays (t0 is a Tuesday: the Monday before, the
	// Wednesday and Tuesday of the week before).
	for _, d := range []int{1, 6, 7} {
		for h := range 24 {
			history = append(history, Minute{Bucket: t0.Truncate(24*time.Hour).AddDate(0, 0, -d).Add(time.Duration(h) * time.Hour),
				Platform: "ent", Service: "ent-94", Region: "94", Events: 1800, OK: 1800})
		}
	}
	// Nothing at all from minute 0 to 30, then 30 a minute.
	buckets := flat("ent", "ent-94", "94", 60, func(i int) (uint64, uint64) {
		if i < 30 {
			return 0, 0
		}
		return 30, 0
	})
	got := spansOf(Evaluate(Input{Buckets: buckets, History: history, From: t0, To: t0.Add(time.Hour)}, time.Minute, cfg))
	if want := "[ent-94/94 0-30 no data]"; got != want {
		t.Errorf("silence against earlier days: %s, want %s", got, want)
	}
}

func TestCalendarClosed(t *testing.T) {
	c := config.CalendarConfig{Nights: "22:00-06:00", Weekends: true, Holidays: []string{"2021-04-10..2021-04-25", "2021-05-13"}}
	paris := time.FixedZone("CEST", 2*3600)
	for _, tc := range []struct {
		at     time.Time
		closed bool
	}{
		{time.Date(2021, 4, 6, 23, 0, 0, 0, paris), true},  // night, wrapping midnight
		{time.Date(2021, 4, 7, 5, 59, 0, 0, paris), true},  // still night
		{time.Date(2021, 4, 7, 6, 0, 0, 0, paris), false},  // opening time
		{time.Date(2021, 4, 3, 10, 0, 0, 0, paris), true},  // a Saturday
		{time.Date(2021, 4, 12, 10, 0, 0, 0, paris), true}, // inside the holidays
		{time.Date(2021, 4, 26, 10, 0, 0, 0, paris), false},
		{time.Date(2021, 5, 13, 10, 0, 0, 0, paris), true},
	} {
		if got := c.Closed(tc.at, paris); got != tc.closed {
			t.Errorf("Closed(%s) = %v, want %v", tc.at.Format("Mon 2006-01-02 15:04"), got, tc.closed)
		}
	}
}

// A national silence (every region at once) leaves no peer to compare
// with: earlier days see it, the other regions' curve cannot.
func TestANationalSilenceNeedsEarlierDays(t *testing.T) {
	cfg := config.Default().Incidents
	cfg.Calendar.Nights = ""
	var buckets, history []Minute
	for _, r := range []string{"11", "32", "53", "94"} {
		buckets = append(buckets, flat("ent", "ent-"+r, r, 300, func(i int) (uint64, uint64) {
			if i >= 200 && i < 240 {
				return 0, 0
			}
			return 30, 0
		})...)
		for _, d := range []int{1, 6, 7} { // three earlier weekdays
			for h := range 24 {
				history = append(history, Minute{Bucket: t0.Truncate(24*time.Hour).AddDate(0, 0, -d).Add(time.Duration(h) * time.Hour),
					Platform: "ent", Service: "ent-" + r, Region: r, Events: 1800, OK: 1800})
			}
		}
	}
	in := Input{Buckets: buckets, From: t0, To: t0.Add(300 * time.Minute)}
	if got := spansOf(Evaluate(in, time.Minute, cfg)); got != "" {
		t.Errorf("without history: %s, want none (the peers fell silent too)", got)
	}
	in.History = history
	want := "[ent-11/11 200-240 no data][ent-32/32 200-240 no data][ent-53/53 200-240 no data][ent-94/94 200-240 no data]"
	if got := spansOf(Evaluate(in, time.Minute, cfg)); got != want {
		t.Errorf("with three earlier days: %s, want %s", got, want)
	}
}
