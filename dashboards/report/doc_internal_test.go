package report

import (
	"testing"
	"time"

	"github.com/vigie-fr/vigie/dashboards/incident"
	"github.com/vigie-fr/vigie/internal/i18n"
)

func TestANationalServiceFailingAgainEverywhereIsOneSentence(t *testing.T) {
	now := time.Date(2021, 4, 6, 6, 0, 0, 0, time.UTC)
	var rps []Repeat
	for i, reg := range []string{"11", "24", "27", "28", "32"} {
		rps = append(rps, Repeat{Platform: "cned", Service: "cned-classe-virtuelle", Region: reg, ThenMinutes: 100 + i, NowMinutes: 120, NowStart: now})
	}
	rps = append(rps, Repeat{Platform: "ent", Service: "ent-11", Region: "11", ThenMinutes: 125, NowMinutes: 195, NowStart: now})
	d := EarlierDay{Date: "2020-03-16", Repeated: rps}
	groups := repeatsByService(d.Repeated)
	if len(groups) != 2 || len(groups[0]) != 5 || groups[1][0].Service != "ent-11" {
		t.Fatalf("groups = %v", groups)
	}
	for lang, want := range map[i18n.Lang]string{
		i18n.English: "The CNED (cned-classe-virtuelle) failed in 5 regions on 16 March 2020 (up to 1 h 44 min) and again in the same 5 regions on 6 April 2021 (up to 2 h).",
		i18n.French:  "CNED (cned-classe-virtuelle) est tombé dans 5 régions le 16 mars 2020 (jusqu'à 1 h 44 min) et de nouveau dans les mêmes 5 régions le 6 avril 2021 (jusqu'à 2 h).",
	} {
		r := &Report{Lang: lang, Comparison: &Comparison{DaysWithData: 1, CandidateDays: 1, ExaminedDays: 1, Days: []EarlierDay{d}}}
		if got := r.doc().repeatManySentence(d, groups[0]); got != want {
			t.Errorf("%s sentence\n got %s\nwant %s", lang, got, want)
		}
		var lines []string
		for _, b := range r.doc().comparisonBlocks() {
			lines = append(lines, b.items...)
		}
		if len(lines) != 2 || lines[0] != want {
			t.Errorf("%s comparison sentences = %q, want the CNED in one sentence and ent-11 in another", lang, lines)
		}
	}
}

func TestTimeInIncidentByRegionCountsOverlapsOnce(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2021, 4, 6, h, m, 0, 0, time.UTC) }
	incs := []incident.Incident{
		{Platform: "ent", Service: "ent-11", Region: "11", Start: at(6, 5), End: at(9, 20)},
		{Platform: "cned", Service: "cned-classe-virtuelle", Region: "11", Start: at(6, 0), End: at(8, 0)},
		{Platform: "ent", Service: "ent-11", Region: "11", Start: at(9, 50), End: at(10, 0)}, // a second, later ENT incident
		{Platform: "cned", Service: "cned-classe-virtuelle", Region: "53", Start: at(6, 0), End: at(8, 0)},
	}
	got := ByRegion(incs)
	want := []RegionTime{
		{Region: "11", ENTMinutes: 195 + 10, CNEDMinutes: 120, EitherMinutes: 200 + 10, Incidents: 3},
		{Region: "53", CNEDMinutes: 120, EitherMinutes: 120, Incidents: 1},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("ByRegion = %+v, want %+v", got, want)
	}
}
