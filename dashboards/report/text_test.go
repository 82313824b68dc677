package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/dashboards/incident"
	"github.com/vigie-fr/vigie/internal/config"
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
	r := &Report{From: from, To: from.Add(24 * time.Hour), Objective: objective(config.Default().Incidents, nil),
		Summary:   Summary{Incidents: 1, Services: []string{svc}, Regions: []string{region}, IncidentMinutes: 60},
		Incidents: []incident.Incident{in},
		Groups:    []incident.Group{{Platform: "ent", Service: svc, Regions: []string{region}, Start: in.Start, End: in.End}},
		Grids:     []*Grid{{Platform: "ent"}}}
	var md, page bytes.Buffer
	if err := r.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(md.String(), "\n") {
		if strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "# Lessons learned") && !strings.HasPrefix(line, "## ") {
			t.Errorf("a heading from data: %q", line)
		}
		if strings.Contains(line, "Incident forgé") && strings.HasPrefix(line, "## ") {
			t.Errorf("a heading from data: %q", line)
		}
	}
	// In Markdown a tag is escaped (\<img), in HTML it is &lt;img.
	for name, out := range map[string]string{"Markdown": strings.ReplaceAll(md.String(), `\<img`, ""), "HTML": page.String()} {
		if i := strings.Index(out, "<img"); i >= 0 {
			t.Errorf("a tag from data reached the %s: …%s…", name, out[max(0, i-80):min(len(out), i+40)])
		}
	}
	if !strings.Contains(page.String(), "ent-11 ## Incident forgé | a | b | &lt;img src=x onerror=alert(1)&gt;") {
		t.Errorf("the HTML does not show the service as plain text:\n%s", page.String())
	}
	if !strings.Contains(md.String(), `ent-11 ## Incident forgé \| a \| b \| \<img src=x onerror=alert(1)\>`) {
		t.Errorf("the Markdown does not show the service escaped:\n%s", md.String())
	}
}
