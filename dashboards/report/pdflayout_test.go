package report_test

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/dashboards/incident/incidenttest"
	"github.com/vigie-fr/vigie/dashboards/report"
	"github.com/vigie-fr/vigie/ingest/simulate"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/i18n"
	"github.com/vigie-fr/vigie/internal/store"
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
// same page. Screen-only hints ("survolez une case") are not printed.
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
	if strings.Contains(text, "Survolez une case") {
		t.Error("the screen's hint \"Survolez une case\" is printed")
	}
	// The cover speaks the report's language (French by default) and
	// carries the status recorded for the range: a draft until then.
	cover, _, _ := strings.Cut(text, "\f")
	for _, want := range []string{"Retour d'expérience : du 6 avril 2021 à 06 h 00 au 6 avril 2021 à 12 h 00 (heure de Paris)", "Statut : brouillon",
		"Définitions", "Disponibilité = tentatives réussies"} {
		if !strings.Contains(squeeze(cover), want) {
			t.Errorf("the cover (page 1) lacks %q:\n%s", want, cover)
		}
	}
	if strings.Contains(cover, "Résumé") {
		t.Error("the report starts on the cover's page: the cover must have a page of its own")
	}

	// Recorded as final, in English: the cover says so, in English only.
	if err := st.SetReportStatus(context.Background(), store.ReportStatus{From: sc.Start, To: sc.End, Status: report.StatusFinal,
		Author: "alice", WrittenAt: sc.End.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	r, err = report.Build(context.Background(), st, sc.Start, sc.End, config.Default().Incidents)
	if err != nil {
		t.Fatal(err)
	}
	r.Lang = i18n.English
	var buf bytes.Buffer
	if err := r.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	coverHTML, _, _ := strings.Cut(strings.SplitN(buf.String(), `<div class="cover"`, 2)[1], "<h1>")
	for _, want := range []string{"Post-mortem: 6 April 2021 at 06:00 to 6 April 2021 at 12:00 (Paris time)", "Status: final", "<b>Definitions</b>",
		"<strong>Availability</strong> = successful attempts"} {
		if !strings.Contains(coverHTML, want) {
			t.Errorf("the English cover of a final report lacks %q:\n%s", want, coverHTML)
		}
	}
	for _, french := range []string{"Statut", "brouillon", "Définitions"} {
		if strings.Contains(coverHTML, french) {
			t.Errorf("the English cover says %q:\n%s", french, coverHTML)
		}
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
