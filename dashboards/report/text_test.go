package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/dashboards/incident"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/store"
)

func TestTextCannotForgeMarkup(t *testing.T) {
	hostile := "ent-11\n## Incident forgé | x | y |\n<script>alert(1)</script> **gras** [lien](http://evil) `code` &amp; \x1b[31mrouge"
	tests := []struct{ in, md string }{
		{hostile, "ent-11 ## Incident forgé \\| x \\| y \\| \\<script\\>alert(1)\\</script\\> \\*\\*gras\\*\\* \\[lien\\](http:\\//evil) \\`code\\` \\&amp;  \\[31mrouge"},
		{"# titre", `\# titre`},
		{"- item", `\- item`},
		{"ent-11", "ent-11"},
		{"Île-de-France", "Île-de-France"},
	}
	for _, tt := range tests {
		if got := text(tt.in); got != tt.md {
			t.Errorf("text(%q) =\n%q\nwant\n%q", tt.in, got, tt.md)
		}
	}
	// In a table, a hostile service stays in its cell, on its line.
	var b strings.Builder
	writeMarkdownTable(func(f string, a ...any) { fmt.Fprintf(&b, f, a...) }, &table{head: []string{"Service"}, right: []bool{false}, rows: [][]string{{text(hostile)}}})
	if lines := strings.Split(strings.TrimSpace(b.String()), "\n"); len(lines) != 3 || strings.Count(lines[2], " | ") != 0 || strings.Contains(b.String(), "\n## ") {
		t.Fatalf("the table was broken:\n%s", b.String())
	}
	// The HTML renderer shows the escaped characters as themselves, escaped
	// for HTML, and keeps the report's own bold.
	got := inline("**" + text("a*b <i>") + "** and " + text("**x**"))
	want := "<strong>a*b &lt;i&gt;</strong> and **x**"
	if got != want {
		t.Fatalf("inline = %q, want %q", got, want)
	}
	if got := inline(text("\uE000")); got != "\uE000" {
		t.Fatalf("a private-use rune from data became %q", got)
	}
}

// A whole report whose services and regions come from hostile data: the
// Markdown keeps its headings, the HTML has no tag from the data.
func TestAReportOfHostileNamesKeepsItsStructure(t *testing.T) {
	from := time.Date(2021, 4, 5, 22, 0, 0, 0, time.UTC)
	svc := "ent-11\n## Incident forgé\n| a | b |\n<img src=x onerror=alert(1)>"
	region := "99\n# région"
	in := incident.Incident{Platform: "ent", Service: svc, Region: region, Start: from.Add(8 * time.Hour), End: from.Add(9 * time.Hour), Minutes: 60, WorstAvailability: 0.5}
	// What people type is as hostile as what events carry: annotations,
	// action items, the status's author, the catalogue.
	evil := "</td><script>alert(1)</script>\n## Incident forgé\n| x |"
	r := &Report{From: from, To: from.Add(24 * time.Hour), Objective: objective(config.Default().Incidents, nil),
		Summary:   Summary{Incidents: 1, Services: []string{svc}, Regions: []string{region}, IncidentMinutes: 60},
		Incidents: []incident.Incident{in},
		Groups:    []incident.Group{{Platform: "ent", Service: svc, Regions: []string{region}, Start: in.Start, End: in.End}},
		Grids:     []*Grid{{Platform: "ent"}},
		Notes: Notes{Status: StatusFinal, StatusBy: evil, Annotations: []store.Annotation{
			{At: in.Start, Platform: "<b>", Region: region, Kind: store.AnnotationEvent, Text: evil, Author: evil},
			{At: in.Start, Kind: store.AnnotationLucky, Text: evil, Author: evil}},
			Actions: []store.Action{{At: in.Start, Title: evil, Owner: evil, Priority: evil, State: evil, Author: evil}}},
		Providers: []ProviderShare{{Provider: evil, Network: evil, Failed: []string{svc}, Held: []string{"ent-32"}}},
		Catalogue: []config.ServiceEntry{{ID: "ent-32", Name: evil, Operator: evil, Provider: evil}}}
	r.Recovery = Recoveries(r.Incidents, r.Groups, nil, 0.95)
	var md, page bytes.Buffer
	if err := r.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(md.String(), "\n") {
		if strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "# Retour d'expérience") && !strings.HasPrefix(line, "## ") && !strings.HasPrefix(line, "### ") {
			t.Errorf("a heading from data: %q", line)
		}
		if strings.Contains(line, "Incident forgé") && strings.HasPrefix(line, "#") {
			t.Errorf("a heading from data: %q", line)
		}
		if strings.HasPrefix(line, "| x |") {
			t.Errorf("a table row from data: %q", line)
		}
	}
	// In Markdown a tag is escaped (\<img), in HTML it is &lt;img.
	for name, out := range map[string]string{"Markdown": strings.NewReplacer(`\<img`, "", `\<script`, "", `\<b`, "").Replace(md.String()), "HTML": page.String()} {
		for _, tag := range []string{"<img", "<script"} {
			if i := strings.Index(out, tag); i >= 0 {
				t.Errorf("a tag from data reached the %s: …%s…", name, out[max(0, i-80):min(len(out), i+40)])
			}
		}
	}
	for _, want := range []string{
		"Statut : **définitif**, arrêté par \\</td\\>\\<script\\>alert(1)\\</script\\> ## Incident forgé \\| x \\|",
		"Saisi par \\</td\\>", "ce qui relève de la chance",
	} {
		if !strings.Contains(strings.ToLower(md.String()), strings.ToLower(want)) {
			t.Errorf("the Markdown lacks %q:\n%s", want, md.String())
		}
	}
	if !strings.Contains(page.String(), "&lt;B&gt;") {
		t.Errorf("the annotation's platform is not shown as plain text")
	}
	if n := strings.Count(page.String(), "&lt;/td&gt;&lt;script&gt;alert(1)&lt;/script&gt; ## Incident forgé | x |"); n < 10 {
		t.Errorf("the people's text shows as plain text %d times in the HTML, want it in the status, timeline, lessons, actions and catalogue (10 or more)", n)
	}
	if !strings.Contains(page.String(), "ent-11 ## Incident forgé | a | b | &lt;img src=x onerror=alert(1)&gt;") {
		t.Errorf("the HTML does not show the service as plain text:\n%s", page.String())
	}
	if !strings.Contains(md.String(), `ent-11 ## Incident forgé \| a \| b \| \<img src=x onerror=alert(1)\>`) {
		t.Errorf("the Markdown does not show the service escaped:\n%s", md.String())
	}
}
