package incident

import (
	"reflect"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/internal/config"
)

var (
	t0  = time.Date(2021, 4, 6, 6, 0, 0, 0, time.UTC)
	cfg = config.IncidentsConfig{AvailabilityTarget: 0.95, P95ThresholdMS: 3000, MinMinutes: 3, MinEvents: 20, MergeGapMinutes: 2}
)

// series builds one key's minutes from a pattern, one letter per minute from
// t0: 'g' good, 'a' availability broken (50%), 'l' latency broken, 'b' both,
// 'q' quiet and failing (too few events to count), '.' no row.
func series(platform, service, region, pattern string) []Minute {
	var out []Minute
	for i, c := range pattern {
		m := Minute{Bucket: t0.Add(time.Duration(i) * time.Minute), Platform: platform, Service: service, Region: region,
			Events: 100, OK: 100, P95MS: 200, Users: 80}
		switch c {
		case '.':
			continue
		case 'a':
			m.OK, m.Errors, m.Rejected, m.Queued, m.UsersFailed = 50, 30, 20, 10, 40
		case 'l':
			m.P95MS = 4000
		case 'b':
			m.OK, m.Timeouts, m.P95MS, m.UsersFailed = 40, 60, 5000, 50
		case 'q':
			m.Events, m.OK, m.Errors = 5, 0, 5
		}
		out = append(out, m)
	}
	return out
}

type span struct {
	start, end int // minutes from t0
	bad        int
	reason     string
}

func spans(incs []Incident) []span {
	out := []span{}
	for _, in := range incs {
		out = append(out, span{int(in.Start.Sub(t0) / time.Minute), int(in.End.Sub(t0) / time.Minute), in.BadMinutes, in.Reason})
	}
	return out
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		want    []span
	}{
		{"a healthy series has no incident", "gggggggggg", []span{}},
		{"two bad minutes are shorter than the minimum and are no incident", "ggaaggg", []span{}},
		{"three bad minutes in a row make an incident ending one minute after the last", "ggaaagg", []span{{2, 5, 3, ReasonAvailability}}},
		{"slow answers alone make a latency incident", "glllllg", []span{{1, 6, 5, ReasonLatency}}},
		{"broken availability and latency give both reasons", "gaalllg", []span{{1, 6, 5, ReasonBoth}}},
		{"runs split by at most the merge gap are one incident", "aaggaag", []span{{0, 6, 4, ReasonAvailability}}},
		{"flapping minutes add up across short gaps", "agagaggg", []span{{0, 5, 3, ReasonAvailability}}},
		{"runs split by more than the merge gap are two incidents", "aaagggaaa", []span{{0, 3, 3, ReasonAvailability}, {6, 9, 3, ReasonAvailability}}},
		{"quiet failing minutes are no evidence and do not count as bad", "gqqqqqg", []span{}},
		{"quiet minutes count as gap minutes", "aaaqqqaaa", []span{{0, 3, 3, ReasonAvailability}, {6, 9, 3, ReasonAvailability}}},
		{"missing minutes count as gap minutes", "aaa...aaa", []span{{0, 3, 3, ReasonAvailability}, {6, 9, 3, ReasonAvailability}}},
		{"a short silence inside an outage does not split it", "aaa..aaa", []span{{0, 8, 6, ReasonAvailability}}},
		{"an incident still open at the end of the range ends after its last minute", "ggaaaa", []span{{2, 6, 4, ReasonAvailability}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := spans(Detect(series("ent", "ent-11", "11", tc.pattern), cfg))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Detect(%q) = %v, want %v", tc.pattern, got, tc.want)
			}
		})
	}
}

func TestDetectSumsTheIncidentMinutes(t *testing.T) {
	// Bad, bad, good (inside the merged gap), both, bad: the good minute's
	// traffic belongs to the incident too.
	incs := Detect(series("ent", "ent-32", "32", "gaagbag"), cfg)
	if len(incs) != 1 {
		t.Fatalf("got %d incidents, want 1", len(incs))
	}
	got := incs[0]
	got.Duration = 0
	want := Incident{
		Platform: "ent", Service: "ent-32", Region: "32",
		Start: t0.Add(time.Minute), End: t0.Add(6 * time.Minute), Minutes: 5, BadMinutes: 4,
		WorstAvailability: 0.4, Availability: 290.0 / 500, WorstP95MS: 5000,
		Events: 500, OK: 290, Failed: 210, Rejected: 60, Queued: 30, Reason: ReasonBoth,
		// The first window failed at 06:01 (known at 06:02), but the
		// incident needs min_minutes (3): 06:04.
		AlertAt: t0.Add(4 * time.Minute), DetectionSeconds: 180,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("incident =\n%+v\nwant\n%+v", got, want)
	}
	if incs[0].Duration != 5*time.Minute {
		t.Errorf("Duration = %v, want 5m", incs[0].Duration)
	}
}

func TestDetectSortsAcrossKeysAndIgnoresInputOrder(t *testing.T) {
	var in []Minute
	in = append(in, series("ent", "ent-76", "76", "ggaaa")...)
	in = append(in, series("cned", "cned-classe-virtuelle", "84", "ggbbbbg")...)
	in = append(in, series("cned", "cned-classe-virtuelle", "11", "ggbbbbg")...)
	in = append(in, series("ent", "ent-11", "11", "aaagg")...)
	// Reverse so that Detect cannot rely on the order it is given.
	for i, j := 0, len(in)-1; i < j; i, j = i+1, j-1 {
		in[i], in[j] = in[j], in[i]
	}
	var got []Key
	for _, inc := range Detect(in, cfg) {
		got = append(got, inc.Key())
	}
	want := []Key{
		{"ent", "ent-11", "11"},
		{"cned", "cned-classe-virtuelle", "11"},
		{"cned", "cned-classe-virtuelle", "84"},
		{"ent", "ent-76", "76"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
}

func TestGroupOverlapping(t *testing.T) {
	var in []Minute
	in = append(in, series("cned", "cned-classe-virtuelle", "11", "gbbbbbbgggg")...)
	in = append(in, series("cned", "cned-classe-virtuelle", "84", "ggggbbbbggg")...) // touches 11's through overlap
	in = append(in, series("cned", "cned-classe-virtuelle", "93", "gggggggbbbg")...) // starts when 84 is still bad
	in = append(in, series("ent", "ent-11", "11", "gbbbbbbgggg")...)                 // same time, other service
	incs := Detect(in, cfg)
	groups := GroupOverlapping(incs)
	type g struct {
		service       string
		start, end    int
		regions       []string
		incidentCount int
	}
	var got []g
	for _, gr := range groups {
		got = append(got, g{gr.Service, int(gr.Start.Sub(t0) / time.Minute), int(gr.End.Sub(t0) / time.Minute), gr.Regions, len(gr.Incidents)})
	}
	want := []g{
		{"cned-classe-virtuelle", 1, 10, []string{"11", "84", "93"}, 3},
		{"ent-11", 1, 7, []string{"11"}, 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("groups = %+v, want %+v", got, want)
	}
	if groups[0].Minutes != 9 || groups[0].WorstP95MS != 5000 || groups[0].WorstAvailability != 0.4 {
		t.Errorf("group totals = %d min, p95 %v, availability %v; want 9, 5000, 0.4", groups[0].Minutes, groups[0].WorstP95MS, groups[0].WorstAvailability)
	}
}

func TestGroupSeparatesLaterIncidentsOfTheSameService(t *testing.T) {
	incs := Detect(series("cned", "cned-classe-virtuelle", "11", "bbbggggggbbb"), cfg)
	if groups := GroupOverlapping(incs); len(groups) != 2 {
		t.Errorf("got %d groups, want 2 (the incidents do not overlap)", len(groups))
	}
}

// The same rule on hour buckets (the comparison's fallback when minutes
// have expired): a bad hour is 60 bad minutes, consecutive bad hours make
// one incident, an hour between them splits it.
func TestDetectAtTheHourGrain(t *testing.T) {
	var hours []Minute
	for i, c := range "gbbgb" {
		m := Minute{Bucket: t0.Add(time.Duration(i) * time.Hour), Platform: "ent", Service: "ent-11", Region: "11", Events: 1000, OK: 1000, P95MS: 200}
		if c == 'b' {
			m.OK, m.Errors = 500, 500
		}
		hours = append(hours, m)
	}
	got := DetectAt(hours, time.Hour, cfg)
	if len(got) != 2 {
		t.Fatalf("%d incidents, want 2: %+v", len(got), got)
	}
	if got[0].Start != t0.Add(time.Hour) || got[0].Minutes != 120 || got[0].BadMinutes != 120 || got[0].Events != 2000 {
		t.Errorf("first = %+v, want 07:00-09:00, 120 bad minutes, 2000 events", got[0])
	}
	if got[1].Start != t0.Add(4*time.Hour) || got[1].Minutes != 60 || got[1].Reason != ReasonAvailability {
		t.Errorf("second = %+v, want 10:00-11:00 availability", got[1])
	}
}

func TestBadIsTheRuleDetectionApplies(t *testing.T) {
	for _, m := range series("ent", "ent-11", "11", "galbq") {
		want := len(Detect([]Minute{m, m2(m, 1), m2(m, 2)}, cfg)) > 0
		if Bad(m, cfg) != want {
			t.Errorf("minute %+v: Bad = %v, but three such minutes give an incident: %v", m, Bad(m, cfg), want)
		}
	}
}

// m2 is m moved k minutes later.
func m2(m Minute, k int) Minute {
	m.Bucket = m.Bucket.Add(time.Duration(k) * time.Minute)
	return m
}
