package report_test

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"testing"

	"github.com/vigie-fr/vigie/dashboards/report"
)

func TestTheReportPrintsToPDFInARealBrowser(t *testing.T) {
	pdf, _ := printed(t, morningReport(t))
	pages := len(regexp.MustCompile(`/Type\s*/Page[^s]`).FindAll(pdf, -1))
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) || pages < 2 || len(pdf) < 20_000 {
		t.Fatalf("PDF of %d bytes with %d pages; want a real multi-page document", len(pdf), pages)
	}
}

// printed is r's HTML page and that page printed by Chromium; it skips
// the test when no Chromium is installed.
func printed(t *testing.T, r *report.Report) (pdf []byte, page string) {
	t.Helper()
	var buf bytes.Buffer
	if err := r.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	pdf, err := report.PDF(context.Background(), buf.Bytes())
	if errors.Is(err, report.ErrNoBrowser) {
		t.Skip("no Chromium: apt-get install -y chromium to test PDF printing")
	}
	if err != nil {
		t.Fatal(err)
	}
	return pdf, buf.String()
}
