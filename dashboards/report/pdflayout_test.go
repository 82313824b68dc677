package report_test

import (
	"context"
	"fmt"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vigie-fr/vigie/dashboards/incident/incidenttest"
	"github.com/vigie-fr/vigie/dashboards/report"
	"github.com/vigie-fr/vigie/ingest/simulate"
	"github.com/vigie-fr/vigie/internal/config"
)

// sections are the page's headings, each with the caption paragraph that
// directly follows it ("" when something else follows).
func sections(page string) (heads, captions []string) {
	re := regexp.MustCompile(`(?s)<h[12][^>]*>(.*?)</h[12]>\s*(<p[^>]*>(.*?)</p>)?`)
	tag := regexp.MustCompile(`<[^>]+>`)
	for _, m := range re.FindAllStringSubmatch(page, -1) {
		heads = append(heads, squeeze(html.UnescapeString(tag.ReplaceAllString(m[1], ""))))
		captions = append(captions, squeeze(html.UnescapeString(tag.ReplaceAllString(m[3], ""))))
	}
	return heads, captions
}

func squeeze(s string) string { return strings.Join(strings.Fields(s), " ") }

// strandedHeadings prints pdf, page by page, to text and lists the
// headings that end a page, alone or with only their caption after them:
// their table or heatmap went to the next page.
func strandedHeadings(t *testing.T, pdf []byte, heads, captions []string) (stranded []string, pages int) {
	t.Helper()
	for i, text := range strings.Split(pdfText(t, pdf), "\f") {
		if strings.TrimSpace(text) == "" {
			continue
		}
		pages++
		var lines []string
		for _, l := range strings.Split(text, "\n") {
			if l = squeeze(l); l != "" {
				lines = append(lines, l)
			}
		}
		for j, l := range lines {
			for k, h := range heads {
				if l != h {
					continue
				}
				rest := strings.Join(lines[j+1:], " ")
				if rest == "" || (captions[k] != "" && strings.HasPrefix(captions[k], rest)) {
					stranded = append(stranded, fmt.Sprintf("page %d ends with %q", i+1, h))
				}
			}
		}
	}
	return stranded, pages
}

// The complaint, checked on paper: printed by Chromium and read
// back page by page with pdftotext, no page ends with a heading alone (or
// with only its caption): the table or heatmap it introduces starts on the
// same page. Screen-only hints ("point at a cell") are not printed.
func TestPrintedHeadingsStayWithTheirContent(t *testing.T) {
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("no pdftotext: apt-get install poppler-utils (scripts/install-test-deps.sh)")
	}
	// The demo's morning (6 April 2021, every region, at a twentieth of
	// its volume): incidents in seven regions and the CNED, long tables,
	// two heatmaps of eighteen regions.
	sc, err := simulate.Lookup("2021-04-06")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := incidenttest.SimulatedRows(sc, 1, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	st := incidenttest.Store(t, incidenttest.DB(t))
	incidenttest.Insert(t, st, rows)
	r, err := report.Build(context.Background(), st, sc.Start, sc.End, config.Default().Incidents)
	if err != nil {
		t.Fatal(err)
	}
	pdf, page := printed(t, r)
	heads, captions := sections(page)
	if len(heads) < 10 {
		t.Fatalf("%d headings found in the page; the parser is broken", len(heads))
	}
	stranded, pages := strandedHeadings(t, pdf, heads, captions)
	t.Logf("%d pages, %d headings", pages, len(heads))
	for _, s := range stranded {
		t.Error(s)
	}
	text := pdfText(t, pdf)
	if strings.Contains(text, "Point at a cell") {
		t.Error("the screen's hint \"Point at a cell\" is printed")
	}
	cover, _, _ := strings.Cut(text, "\f")
	for _, want := range []string{"Lessons learned: 2021-04-06 06:00 to 2021-04-06 12:00 (Paris time)", "Status: draft", "Definitions",
		"Availability = successful attempts"} {
		if !strings.Contains(squeeze(cover), want) {
			t.Errorf("the cover (page 1) lacks %q:\n%s", want, cover)
		}
	}
	if strings.Contains(cover, "Summary") {
		t.Error("the report starts on the cover's page: the cover must have a page of its own")
	}
}

func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "report.pdf")
	if err := os.WriteFile(file, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", file, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}
