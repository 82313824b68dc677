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
	var page bytes.Buffer
	if err := morningReport(t).WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	pdf, err := report.PDF(context.Background(), page.Bytes())
	if errors.Is(err, report.ErrNoBrowser) {
		t.Skip("no Chromium: apt-get install -y chromium to test PDF printing")
	}
	if err != nil {
		t.Fatal(err)
	}
	pages := len(regexp.MustCompile(`/Type\s*/Page[^s]`).FindAll(pdf, -1))
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) || pages < 2 || len(pdf) < 20_000 {
		t.Fatalf("PDF of %d bytes with %d pages; want a real multi-page document", len(pdf), pages)
	}
}
