package report_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
)

func TestHTMLMatchesTheGoldenFile(t *testing.T) {
	var buf, again bytes.Buffer
	if err := morningReport(t).WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	if err := morningReport(t).WriteHTML(&again); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("two reports of the same data differ: HTML is not deterministic")
	}
	matchesGolden(t, "morning.html", buf.Bytes())
}

func TestHTMLIsSelfContainedWellFormedAndHasTheNumbers(t *testing.T) {
	var buf bytes.Buffer
	if err := morningReport(t).WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	page := buf.String()

	t.Run("nothing is fetched from the network", func(t *testing.T) {
		// The machine that opens it may be offline: no URL at all, and no
		// attribute or CSS rule that loads a resource.
		if m := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}|\b(src|href)\s*=|url\(|@import|<script|<link`).FindString(page); m != "" {
			t.Errorf("the page references an outside resource: %q", m)
		}
	})

	t.Run("it parses as well-formed XML with matching tags", func(t *testing.T) {
		d := xml.NewDecoder(strings.NewReader(page))
		d.Strict = true // every tag closed and nested; any error fails
		var stack []string
		counts := map[string]int{}
		for {
			tok, err := d.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("not well-formed: %v", err)
			}
			switch e := tok.(type) {
			case xml.StartElement:
				stack = append(stack, e.Name.Local)
				counts[e.Name.Local]++
			case xml.EndElement:
				stack = stack[:len(stack)-1]
			}
		}
		if len(stack) != 0 {
			t.Errorf("unclosed elements: %v", stack)
		}
		// Two heatmaps (ENT, CNED) and the timeline; 16 cells per heatmap;
		// one bar per group (4); the tables of the Markdown version (impact,
		// timeline, detection, time by region, comparison, capacity,
		// objectives).
		if counts["svg"] != 3 || counts["rect"] != 2*16+4 || counts["table"] != 7 || counts["h1"] != 1 {
			t.Errorf("svg %d, rect %d, table %d, h1 %d; want 3, 36, 7, 1", counts["svg"], counts["rect"], counts["table"], counts["h1"])
		}
	})

	t.Run("the key numbers are on the page", func(t *testing.T) {
		for _, want := range []string{
			"<title>Lessons learned: 2021-04-06 08:00 to 2021-04-06 12:00 (Paris time)</title>",
			"<div class=\"kpi\"><b>7</b>incidents</div>",
			"<div class=\"kpi\"><b>9 h 40 min</b>in incident in total</div>",
			"<strong>60 users</strong> saw at least one failure",
			"Île-de-France&#39;s ENT (ent-11) failed on 16 March 2020 for 3 h 10 min and again on 6 April 2021 for 20 min.",
			"<td class=\"nw\">2020-03-16</td><td class=\"num nw\">386</td>",
			"<strong>ent-76</strong> would have needed <strong>≈ 1.8× the capacity it served</strong>",
			"<title>Occitanie, 08h: 90.5 %</title>",
			"<title>cned-classe-virtuelle, all regions with traffic (4): 2021-04-06 08:00–10:00, 2 h 00 min, worst availability 83.3 %, 20 users affected</title>",
			"<strong>attack-like traffic</strong>",
		} {
			if !strings.Contains(page, want) {
				t.Errorf("the page lacks %q", want)
			}
		}
	})
}
