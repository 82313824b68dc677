package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/internal/config"
)

func TestMarkdownOfAQuietRangeSaysSo(t *testing.T) {
	from := time.Date(2021, 4, 5, 22, 0, 0, 0, time.UTC)
	r := &Report{From: from, To: from.Add(24 * time.Hour), Objective: objective(config.Default().Incidents, nil),
		Grids: []*Grid{{Platform: "ent"}}, Comparison: &Comparison{From: time.Date(2020, 3, 1, 23, 0, 0, 0, time.UTC)}}
	var md, page bytes.Buffer
	if err := r.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Lessons learned: 2021-04-06 00:00 to 2021-04-07 00:00 (Paris time)",
		"No incident: every service met its objective over the range.",
		"No ENT traffic in the range.",
		"No earlier data: the warehouse holds nothing from the 400 days before the range (since 2020-03-02), so there is nothing to compare with.",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md.String())
		}
		if !strings.Contains(page.String(), want) {
			t.Errorf("HTML lacks %q:\n%s", want, page.String())
		}
	}
	for _, absent := range []string{"## Timeline", "## Capacity needed", "<svg"} {
		if strings.Contains(md.String()+page.String(), absent) {
			t.Errorf("a quiet report has %q", absent)
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
	r := &Report{From: from, To: from.Add(72 * time.Hour), Objective: objective(config.Default().Incidents, nil), Grids: []*Grid{g}}
	var buf bytes.Buffer
	r.writeGrid(func(f string, a ...any) { buf.WriteString(fmt.Sprintf(f, a...)) }, g)
	for _, want := range []string{
		"One column per day (Paris)",
		"| Region | 06/04 | 07/04 | 08/04 |",
		"| Île-de-France (11) | 100.0 | **92.0** | 100.0 |",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestNumbersAreNeverRoundedUpToPerfect(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"99.96 % shows as 99.9", pct(0.9996), "99.9 %"},
		{"95 % stays 95.0 despite float error", pct(0.95), "95.0 %"},
		{"large counts are grouped by three", count(12400000), "12 400 000"},
		{"durations over an hour show hours", duration(125), "2 h 05 min"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}
