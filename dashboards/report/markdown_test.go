package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/i18n"
)

func TestMarkdownOfAQuietRangeSaysSo(t *testing.T) {
	from := time.Date(2021, 4, 5, 22, 0, 0, 0, time.UTC)
	for lang, wants := range map[i18n.Lang][]string{
		i18n.English: {
			"Post-mortem: 6 April 2021 at 00:00 to 7 April 2021 at 00:00 (Paris time)",
			"No incident: every service met its objective over the range.",
			"No ENT traffic in the range.",
			"No earlier data: the warehouse holds nothing from the 400 days before the range (since 2 March 2020), so there is nothing to compare with.",
		},
		i18n.French: {
			"Retour d'expérience : du 6 avril 2021 à 00\u00a0h\u00a000 au 7 avril 2021 à 00\u00a0h\u00a000 (heure de Paris)",
			"Aucune panne : chaque service a atteint son objectif sur toute la période.",
			"Aucun trafic ENT sur la période.",
			"Pas de données antérieures : l'entrepôt ne contient rien sur les 400 jours avant la période (depuis le 2 mars 2020), il n'y a donc rien à comparer.",
		},
	} {
		r := &Report{Lang: lang, From: from, To: from.Add(24 * time.Hour), Objective: objective(config.Default().Incidents, nil),
			Grids: []*Grid{{Platform: "ent"}}, Comparison: &Comparison{From: time.Date(2020, 3, 1, 23, 0, 0, 0, time.UTC)}}
		var md, page bytes.Buffer
		if err := r.WriteMarkdown(&md); err != nil {
			t.Fatal(err)
		}
		if err := r.WriteHTML(&page); err != nil {
			t.Fatal(err)
		}
		for _, want := range wants {
			if !strings.Contains(md.String(), want) {
				t.Errorf("%s Markdown lacks %q:\n%s", lang, want, md.String())
			}
			if !strings.Contains(page.String(), esc(want)) {
				t.Errorf("%s HTML lacks %q:\n%s", lang, want, page.String())
			}
		}
		for _, absent := range []string{"## Chronolog", "## Timeline", "## Capacit", "<svg", "⟦"} {
			if strings.Contains(md.String()+page.String(), absent) {
				t.Errorf("a quiet %s report has %q", lang, absent)
			}
		}
	}
}

func TestBoldMarkdownBecomesStrongInHTML(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"pairs of stars become strong", "**7 incidents** on **4 services**", "<strong>7 incidents</strong> on <strong>4 services</strong>"},
		{"text is escaped first", "**a<b** & c's", "<strong>a&lt;b</strong> &amp; c&#39;s"},
		{"an unpaired pair of stars stays", "x ** y", "x ** y"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := inline(tc.in); got != tc.want {
				t.Errorf("inline(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestLongRangesGetOneColumnPerDay(t *testing.T) {
	from := time.Date(2021, 4, 5, 22, 0, 0, 0, time.UTC) // midnight in Paris
	g := &Grid{Platform: "cned", Regions: []string{"11"}}
	for h := 0; h < 72; h++ {
		ok, failed := uint64(100), uint64(0)
		if h == 30 { // 7 April 06:00 in Paris
			ok, failed = 0, 200
		}
		g.Cells = append(g.Cells, Cell{Region: "11", Bucket: from.Add(time.Duration(h) * time.Hour), OK: ok, Failed: failed})
	}
	for lang, wants := range map[i18n.Lang][]string{
		i18n.English: {"One column per day (Paris time)", "| Region | 06/04 | 07/04 | 08/04 |", "| Île-de-France (11) | 100.0 | **92.0** | 100.0 |"},
		i18n.French:  {"Une colonne par jour (heure de Paris)", "| Région | 06/04 | 07/04 | 08/04 |", "| Île-de-France (11) | 100,0 | **92,0** | 100,0 |"},
	} {
		r := &Report{Lang: lang, From: from, To: from.Add(72 * time.Hour), Objective: objective(config.Default().Incidents, nil), Grids: []*Grid{g}}
		var buf bytes.Buffer
		r.doc().writeGrid(func(f string, a ...any) { buf.WriteString(fmt.Sprintf(f, a...)) }, g)
		for _, want := range wants {
			if !strings.Contains(buf.String(), want) {
				t.Errorf("%s table lacks %q:\n%s", lang, want, buf.String())
			}
		}
	}
}

func TestNumbersAreNeverRoundedUpToPerfect(t *testing.T) {
	en, fr := (&Report{Lang: i18n.English}).doc(), (&Report{Lang: i18n.French}).doc()
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"99.96 % shows as 99.9", en.pct(0.9996), "99.9%"},
		{"95 % stays 95.0 despite float error", en.pct(0.95), "95.0%"},
		{"in French, with a comma and a no-break space", fr.pct(0.9996), "99,9\u00a0%"},
		{"large counts are grouped by three", en.count(12400000), "12,400,000"},
		{"in French, by narrow no-break spaces", fr.count(12400000), "12\u202f400\u202f000"},
		{"durations over an hour show hours", fr.dur(125), "2 h 5 min"},
		{"estimates keep three significant digits", fr.est(4_123_456.7), "4\u202f120\u202f000"},
		{"small estimates are whole", en.est(412.6), "413"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}
