package report

import (
	"fmt"
	"strings"
	"testing"
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
