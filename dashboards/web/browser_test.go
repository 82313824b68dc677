package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/dashboards/incident/incidenttest"
	"github.com/vigie-fr/vigie/dashboards/web"
	"github.com/vigie-fr/vigie/internal/auth"
	"github.com/vigie-fr/vigie/internal/config"
)

// chromium finds a headless-capable Chromium, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("VIGIE_TEST_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium found: apt-get install -y chromium (or set VIGIE_TEST_CHROMIUM) to test the page in a real browser")
	return ""
}

// runChromium runs headless Chromium on url with extra flags and returns
// its standard output. Virtual time lets the page's fetches finish before
// the DOM is dumped or the screenshot taken.
func runChromium(t *testing.T, bin, url string, extra ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-dev-shm-usage", "--no-first-run", "--user-data-dir=" + t.TempDir(),
		"--virtual-time-budget=15000", "--window-size=1400,900"}, extra...)
	cmd := exec.CommandContext(ctx, bin, append(args, url)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	return string(out)
}

func TestThePageDrawsTheHeatmapInARealBrowser(t *testing.T) {
	bin := chromium(t)
	srv := server(t)
	tests := []struct {
		name, query string
		status      string
		cells       int
		rows        []string
		incidents   int
	}{
		{"the default view opens on the ENT by hour of the most recent day", "", "4 regions × 24 hours, 16 cells with data", 16,
			[]string{"Île-de-France (11)", "Hauts-de-France (32)", "Bretagne (53)", "Occitanie (76)"}, 3},
		{"the CNED by minute shows every minute of every region", "?platform=cned&grain=minute&from=2021-04-06", "4 regions × 1440 minutes", 4 * 240,
			[]string{"Occitanie (76)"}, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dom := runChromium(t, bin, srv.URL+"/"+tc.query, "--dump-dom")
			if !strings.Contains(dom, `data-state="ready"`) || !strings.Contains(dom, tc.status) {
				t.Fatalf("the page did not reach the ready state with %q; DOM:\n%s", tc.status, tail(dom, 2000))
			}
			if got := len(regexp.MustCompile(`<rect [^>]*class="cell"`).FindAllString(dom, -1)); got != tc.cells {
				t.Errorf("%d heatmap cells drawn, want %d", got, tc.cells)
			}
			for _, r := range tc.rows {
				if !strings.Contains(dom, ">"+r+"</text>") {
					t.Errorf("no row labelled %q", r)
				}
			}
			if got := strings.Count(dom, `<tr class="incident">`); got != tc.incidents {
				t.Errorf("%d incidents listed, want %d", got, tc.incidents)
			}
			// The report links follow the range shown.
			if !regexp.MustCompile(`id="report-html" href="api/v1/report\?from=2021-04-0[56]T2[23]%3A00%3A00Z&amp;to=2021-04-0[67]T2[23]%3A00%3A00Z&amp;format=html"`).MatchString(dom) {
				t.Errorf("the HTML report link does not carry the day shown: %s", regexp.MustCompile(`<a id="report-html"[^>]*>`).FindString(dom))
			}
		})
	}
	if dir := os.Getenv("VIGIE_TEST_SCREENSHOT_DIR"); dir != "" {
		for name, q := range map[string]string{"dashboard-ent-hour.png": "", "dashboard-cned-minute.png": "?platform=cned&grain=minute&from=2021-04-06"} {
			shot := filepath.Join(dir, name)
			runChromium(t, bin, srv.URL+"/"+q, "--screenshot="+shot, "--hide-scrollbars")
			t.Logf("screenshot in %s", shot)
		}
	}
}

// In the open mode (the demo, a loopback server nobody was configured on)
// the page says that nobody is asked who they are.
func TestThePageSaysWhenNobodyIsAskedInARealBrowser(t *testing.T) {
	bin := chromium(t)
	server(t) // the morning's data
	g, err := auth.New(auth.Options{Auth: config.Default().Auth, Ingest: config.Default().Ingest, Open: true})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	g.Routes(mux)
	web.New(incidenttest.Store(t, morningDB), config.Default().Incidents, nil).Register(mux)
	srv := httptest.NewServer(g.Wrap(mux))
	defer srv.Close()
	dom := runChromium(t, bin, srv.URL+"/", "--dump-dom")
	banner := regexp.MustCompile(`<p id="who" class="open-mode">([^<]*)</p>`).FindStringSubmatch(dom)
	if banner == nil || !strings.HasPrefix(banner[1], "Sans authentification : ce serveur ne demande à personne qui il est") ||
		!strings.Contains(banner[1], "No authentication: this server asks nobody who they are") {
		t.Fatalf("no open-mode banner; DOM:\n%s", tail(dom, 3000))
	}
	if !strings.Contains(dom, `data-state="ready"`) {
		t.Errorf("the page did not reach the ready state behind the guard")
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
