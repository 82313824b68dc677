package report

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// ErrNoBrowser is returned by PDF when no Chromium is installed.
var ErrNoBrowser = errors.New("no Chromium to print the PDF with (apt-get install chromium, or use --format html)")

// Browsers are the executables PDF looks for, in order.
var Browsers = []string{"chromium", "chromium-browser", "google-chrome"}

// PDF prints a report's HTML page (WriteHTML) to PDF with headless
// Chromium, for readers who file or mail reports. The page is
// self-contained, so the browser needs no network.
func PDF(ctx context.Context, html []byte) ([]byte, error) {
	var bin string
	for _, name := range Browsers {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		return nil, ErrNoBrowser
	}
	dir, err := os.MkdirTemp("", "vigie-pdf-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	page, out := filepath.Join(dir, "report.html"), filepath.Join(dir, "report.pdf")
	if err := os.WriteFile(page, html, 0o600); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-dev-shm-usage", "--no-first-run", "--user-data-dir="+filepath.Join(dir, "profile"),
		"--no-pdf-header-footer", "--print-to-pdf="+out, "file://"+page)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("print the report to PDF with %s: %w\n%s", bin, err, bytes.TrimSpace(stderr.Bytes()))
	}
	pdf, err := os.ReadFile(out)
	if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		return nil, fmt.Errorf("print the report to PDF with %s: no PDF written (%v)", bin, err)
	}
	return pdf, nil
}
