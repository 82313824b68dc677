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
		// people by role, detection, response, timeline, incidents, time by
		// region, comparison, capacity, action items, objectives).
		if counts["svg"] != 3 || counts["rect"] != 2*16+4 || counts["table"] != 11 || counts["h1"] != 1 || counts["h3"] != 6 {
			t.Errorf("svg %d, rect %d, table %d, h1 %d, h3 %d; want 3, 36, 11, 1, 6", counts["svg"], counts["rect"], counts["table"], counts["h1"], counts["h3"])
		}
	})

	t.Run("the key numbers are on the page", func(t *testing.T) {
		nb := strings.NewReplacer("_", "\u202f", "~", "\u00a0").Replace
		for _, want := range []string{
			"<html lang=\"fr\">",
			"<title>Retour d&#39;expérience : du 6 avril 2021 à 08~h~00 au 6 avril 2021 à 12~h~00 (heure de Paris)</title>",
			"<div class=\"kpi\"><b>2 h</b>au moins un service en panne</div>",
			"<div class=\"kpi\"><b>1 h</b>de panne ENT</div><div class=\"kpi\"><b>3</b>régions touchées par une panne ENT</div>",
			"<div class=\"kpi\"><b>311</b>personnes touchées (estimation)</div>",
			"Environ <strong>311 personnes</strong> ont subi au moins un échec",
			"ENT monlycee.net (Région Île-de-France) en Île-de-France est tombé le 16 mars 2020 pendant 3 h 10 min et de nouveau le 6 avril 2021 pendant 20 min.",
			"<td class=\"nw\">16 mars 2020</td><td class=\"num nw\">386</td>",
			"<strong>ENT Occitanie (Région Occitanie)</strong> aurait eu besoin d&#39;<strong>environ 1,8 fois la capacité qu&#39;il a servie</strong>",
			"<title>Occitanie, 08 h: 90,5~%</title>",
			"<title>Ma classe à la maison (CNED), toutes les régions avec du trafic (4) : 6 avril 2021, de 08~h~00 à 10~h~00, 2 h, pire disponibilité 83,3~%, 20 usagers touchés</title>",
			"<strong>trafic qui ressemble à une attaque</strong>",
			"<h3>Ce qui a bien fonctionné</h3>",
			"<span class=\"screen\">Survolez une case pour lire sa valeur.</span>",
		} {
			if !strings.Contains(page, nb(want)) {
				t.Errorf("the page lacks %q", nb(want))
			}
		}
	})
}
