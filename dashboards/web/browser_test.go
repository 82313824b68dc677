package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/vigie-fr/vigie/dashboards/incident/incidenttest"
	"github.com/vigie-fr/vigie/dashboards/web"
	"github.com/vigie-fr/vigie/internal/auth"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/schemas"
)

// chromium finds a headless-capable Chromium, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("VIGIE_TEST_CHROMIUM"), "/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
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

// artefacts is where the browser tests leave their screenshots:
// $VIGIE_ARTEFACTS/dashboard when set (CI keeps it), else a temporary
// directory named in the log.
func artefacts(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if root := os.Getenv("VIGIE_ARTEFACTS"); root != "" {
		dir = filepath.Join(root, "dashboard")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// browser is one headless Chromium tab driven over the DevTools protocol,
// recording every console error, uncaught exception and failed load.
type browser struct {
	t    *testing.T
	ctx  context.Context
	dir  string
	mu   sync.Mutex
	errs []string
}

func newBrowser(t *testing.T, dir string) *browser {
	t.Helper()
	// Chromium may still write its profile as it exits: the directory is
	// removed after the browser, not by t.TempDir's own cleanup.
	profile, err := os.MkdirTemp("", "vigie-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]), chromedp.ExecPath(chromium(t)), chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(profile), chromedp.WindowSize(1400, 1000),
		// A French analyst's browser: the page follows the browser's language.
		chromedp.Flag("lang", "fr-FR"), chromedp.Flag("accept-lang", "fr-FR,fr"))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() {
		cancelT()
		cancelC()
		cancelA()
		_ = os.RemoveAll(profile)
	})
	b := &browser{t: t, ctx: ctx, dir: dir}
	chromedp.ListenTarget(ctx, func(ev any) {
		var msg string
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError || ev.Type == runtime.APITypeAssert {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				msg = "console." + string(ev.Type) + ": " + strings.Join(parts, " ")
			}
		case *runtime.EventExceptionThrown:
			msg = "exception: " + ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				msg += " " + ev.ExceptionDetails.Exception.Description
			}
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.LevelError {
				msg = "log: " + ev.Entry.Text + " " + ev.Entry.URL
			}
		}
		if msg != "" {
			b.mu.Lock()
			b.errs = append(b.errs, msg)
			b.mu.Unlock()
		}
	})
	b.run(cdplog.Enable())
	return b
}

func (b *browser) run(actions ...chromedp.Action) {
	b.t.Helper()
	if err := chromedp.Run(b.ctx, actions...); err != nil {
		b.t.Fatalf("chromium: %v", err)
	}
}

// open loads url and waits until the page says it is done (data-state
// other than loading), which it returns.
func (b *browser) open(url string) string {
	b.t.Helper()
	b.run(chromedp.Navigate(url))
	state := b.settled()
	var ms float64
	var calls []string
	b.eval(`performance.now()`, &ms)
	b.eval(`performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/')).map((e) => new URL(e.name).pathname + ' ' + Math.round(e.duration) + ' ms')`, &calls)
	// A measure, not a limit: the machine is shared.
	b.t.Logf("%s: %s in %.0f ms (%s)", strings.TrimPrefix(url, "http://"), state, ms, strings.Join(calls, ", "))
	return state
}

func (b *browser) settled() string {
	b.t.Helper()
	var state string
	b.run(chromedp.Poll(`(document.body && document.body.dataset.state !== 'loading') ? document.body.dataset.state : null`, &state,
		chromedp.WithPollingTimeout(60*time.Second)))
	return state
}

// waitURL waits until the tab's address contains part, through the
// navigation (the page's context is replaced while it loads).
func (b *browser) waitURL(part string) {
	b.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var u string
		if err := chromedp.Run(b.ctx, chromedp.Location(&u)); err == nil && strings.Contains(u, part) {
			var state string
			if err := chromedp.Run(b.ctx, chromedp.Evaluate(`document.readyState`, &state)); err == nil && state == "complete" {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.t.Fatalf("the tab never reached an address with %q", part)
}

func (b *browser) eval(js string, into any) {
	b.t.Helper()
	b.run(chromedp.Evaluate(js, into))
}

func (b *browser) count(selector string) int {
	b.t.Helper()
	var n int
	b.eval(fmt.Sprintf(`document.querySelectorAll(%q).length`, selector), &n)
	return n
}

// wantCount checks how many elements match selector; what names them.
func (b *browser) wantCount(selector string, want int, what string) {
	b.t.Helper()
	if n := b.count(selector); n != want {
		b.t.Errorf("%d %s", n, what)
	}
}

func (b *browser) text(selector string) string {
	b.t.Helper()
	var s string
	b.eval(fmt.Sprintf(`(document.querySelector(%q) || {textContent: ''}).textContent`, selector), &s)
	return s
}

// screenshot saves the whole page as name.png.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	var png []byte
	b.run(chromedp.FullScreenshot(&png, 100))
	if err := os.WriteFile(filepath.Join(b.dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// noErrors fails the test with every console error seen since the last call.
func (b *browser) noErrors(page string) {
	b.t.Helper()
	b.mu.Lock()
	errs := b.errs
	b.errs = nil
	b.mu.Unlock()
	for _, e := range errs {
		b.t.Errorf("%s: %s", page, e)
	}
}

// demoServer serves the demo-like warehouse as vigie serve does: behind the
// guard in its open mode (a loopback server nobody was configured on).
func demoServer(t *testing.T) *httptest.Server {
	t.Helper()
	db := demoDB(t)
	g, err := auth.New(auth.Options{Auth: config.Default().Auth, Ingest: config.Default().Ingest, Open: true})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	g.Routes(mux)
	web.New(incidenttest.Store(t, db), config.Default().Incidents, nil).Register(mux)
	srv := httptest.NewServer(g.Wrap(mux))
	t.Cleanup(srv.Close)
	return srv
}

// frPct writes a ratio as the page does in French: truncated to a tenth
// of a percent, decimal comma, a space before the sign.
func frPct(a float64) string {
	v := math.Floor(a*1000+1e-9) / 10
	return strings.Replace(fmt.Sprintf("%.1f %%", v), ".", ",", 1)
}

// spaces turns the narrow and ordinary no-break spaces Intl writes into
// plain spaces, for comparing with text written here.
func spaces(s string) string { return strings.NewReplacer("\u202f", " ", "\u00a0", " ").Replace(s) }

func mapSpaces(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = spaces(s)
	}
	return out
}

func TestEveryPageRendersWithDataInARealBrowser(t *testing.T) {
	srv := demoServer(t)
	b := newBrowser(t, artefacts(t))

	// The map of 6 April 2021: every region drawn, with the value the API
	// gives printed on it, in the table too.
	if state := b.open(srv.URL + "/?from=2021-04-06"); state != "ready" {
		t.Fatalf("map: state %q, status %q", state, b.text("#status"))
	}
	var regions struct {
		Regions []struct {
			Region struct{ Code string }
			Range  *struct{ Availability *float64 }
			Live   *struct{ Availability *float64 }
		}
	}
	getJSON(t, srv.URL+"/api/v1/regions?from=2021-04-06", &regions)
	if len(regions.Regions) != 18 {
		t.Fatalf("/api/v1/regions lists %d regions, want 18", len(regions.Regions))
	}
	for _, r := range regions.Regions {
		if r.Range == nil || r.Range.Availability == nil {
			t.Errorf("region %s has no availability on the demo's day", r.Region.Code)
			continue
		}
		got := spaces(b.text(`#map a.region[data-region="` + r.Region.Code + `"] text.value`))
		if want := frPct(*r.Range.Availability); got != want {
			t.Errorf("map label of %s = %q, want %q", r.Region.Code, got, want)
		}
	}
	b.wantCount("#map a.region path[fill]", 18, "regions drawn on the map, want 18")
	b.wantCount("#map rect.inset", 5, "overseas insets, want 5")
	b.wantCount("#regions-table tbody tr.region-row", 18, "rows in the regions table, want 18")
	// The legend states the API's bins, worst first, then "no data".
	var legend []string
	b.eval(`[...document.querySelectorAll('.legend .bin')].map((e) => e.textContent)`, &legend)
	if want := []string{"moins de 50 %", "50 % à 80 %", "80 % à 95 %", "95 % à 99 %", "99 % et plus", "pas de données"}; !slices.Equal(mapSpaces(legend), want) {
		t.Errorf("legend %q, want %q", legend, want)
	}
	// Both platforms' heatmaps: 18 regions × 24 hours each.
	b.wantCount(".heatmap", 2, "heatmaps, want ENT and CNED")
	if n := b.count(".heatmap rect.cell"); n == 0 || n > 2*18*24 {
		t.Errorf("%d heatmap cells, want some and at most %d", n, 2*18*24)
	}
	if n := b.count("#episodes tbody tr.episode"); n == 0 {
		t.Errorf("no incident listed for 6 April 2021")
	}
	b.screenshot("map-laptop")
	// Coloured live: the last 15 minutes' values instead.
	b.run(chromedp.Click(`input[name="colour"][value="live"]`, chromedp.ByQuery))
	b.waitURL("colour=live")
	for _, r := range regions.Regions {
		want := "–"
		if r.Live != nil && r.Live.Availability != nil {
			want = frPct(*r.Live.Availability)
		}
		if got := spaces(b.text(`#map a.region[data-region="` + r.Region.Code + `"] text.value`)); got != want {
			t.Errorf("live map label of %s = %q, want %q", r.Region.Code, got, want)
		}
	}
	b.noErrors("map")

	// The same page on a phone and on a projector: nothing wider than the
	// screen but what scrolls in its own box.
	for _, vp := range []struct {
		name          string
		width, height int64
		mobile        bool
	}{{"map-phone", 390, 844, true}, {"map-projector", 1920, 1080, false}} {
		b.run(chromedp.EmulateViewport(vp.width, vp.height, func(p *emulation.SetDeviceMetricsOverrideParams, _ *emulation.SetTouchEmulationEnabledParams) {
			p.Mobile = vp.mobile
		}))
		b.open(srv.URL + "/?from=2021-04-06")
		var overflow bool
		b.eval(`document.documentElement.scrollWidth > window.innerWidth + 1`, &overflow)
		if overflow {
			t.Errorf("%s: the page is wider than the screen", vp.name)
		}
		b.screenshot(vp.name)
		b.noErrors(vp.name)
	}
	b.run(chromedp.EmulateViewport(1400, 1000))

	// A region's page: its services and five charts, each with its values.
	if state := b.open(srv.URL + "/?view=region&region=11&from=2021-04-06"); state != "ready" {
		t.Fatalf("region page: state %q, status %q", state, b.text("#status"))
	}
	if got := b.text("#region-title"); got != "Île-de-France (11)" {
		t.Errorf("region title %q", got)
	}
	if n := b.count("#services-table tbody tr"); n < 2 {
		t.Errorf("%d services for Île-de-France, want the ENT and the CNED", n)
	}
	b.wantCount("#region-charts figure.chart canvas", 5, "charts drawn, want 5 (availability, latency, outcomes, waiting room, sessions)")
	var detail struct {
		Series []struct {
			Service string
			Points  []json.RawMessage
		}
	}
	getJSON(t, srv.URL+"/api/v1/regions/11?from=2021-04-06&grain=hour", &detail)
	if len(detail.Series) == 0 || detail.Series[0].Service != "*" || len(detail.Series[0].Points) < 4 {
		t.Fatalf("/api/v1/regions/11: series %+v, want the region's merged series first, with the morning's hours", detail.Series)
	}
	if n, want := b.count("#region-charts table.values tbody tr"), 5*len(detail.Series[0].Points); n != want {
		t.Errorf("%d rows of values under the charts, want 5 charts × %d hours", n, want)
	}
	b.screenshot("region-11")
	b.noErrors("region page")

	// Two periods side by side.
	if state := b.open(srv.URL + "/?view=compare&from=2020-03-16&b_from=2021-04-06"); state != "ready" {
		t.Fatalf("comparison: state %q, status %q", state, b.text("#status"))
	}
	b.wantCount("#compare-totals .card", 2, "periods, want 2")
	b.wantCount("#compare-table tbody tr", 18, "regions compared, want 18")
	b.wantCount("#compare-charts canvas", 2, "comparison charts, want 2")
	b.screenshot("compare-2020-2021")
	b.noErrors("comparison")

	// Drill-down from the first incident of the morning.
	b.open(srv.URL + "/?from=2021-04-06")
	var href string
	b.eval(`document.querySelector('#episodes a.drill').getAttribute('href')`, &href)
	if state := b.open(srv.URL + "/" + href); state != "ready" {
		t.Fatalf("drill-down %s: state %q, status %q", href, state, b.text("#status"))
	}
	b.wantCount("#drill-charts canvas", 3, "drill-down charts, want 3")
	if n := b.count("#drill-events tbody tr"); n == 0 {
		t.Errorf("no failing event in the drill-down of %s", href)
	}
	if n := b.count("#drill-sql:not([hidden]) pre"); n != 2 {
		t.Errorf("the SQL is not shown to an engineer (the open mode is every role)")
	}
	b.screenshot("drilldown")
	b.noErrors("drill-down")

	// The public status page, every region and one.
	if state := b.open(srv.URL + "/status"); state != "ready" {
		t.Fatalf("status page: state %q", state)
	}
	b.wantCount(".status-list li", 18, "regions on the status page, want 18")
	b.screenshot("status")
	if state := b.open(srv.URL + "/status/04"); state != "ready" {
		t.Fatalf("status of La Réunion: state %q", state)
	}
	if got := b.text("#title"); got != "État des services en La Réunion" {
		t.Errorf("status page title %q", got)
	}
	if n := b.count(".status-region .days-table tbody tr"); n == 0 {
		t.Errorf("no day on La Réunion's status page")
	}
	b.screenshot("status-04")
	b.noErrors("status page")

	// Filters reach the API: the ENT of Île-de-France only.
	if state := b.open(srv.URL + "/?from=2021-04-06&platform=ent&region=11"); state != "ready" {
		t.Fatalf("filtered map: state %q, status %q", state, b.text("#status"))
	}
	if n := b.count(".heatmap"); n != 1 || b.text(".heatmap h3") != "ENT (portails régionaux)" {
		t.Errorf("%d heatmaps (%q), want the ENT's only", n, b.text(".heatmap h3"))
	}
	if n := b.count(".heatmap text.row"); n != 1 || b.text(".heatmap text.row") != "Île-de-France (11)" {
		t.Errorf("%d heatmap rows (%q), want Île-de-France's only", n, b.text(".heatmap text.row"))
	}
	for _, r := range []string{"Île-de-France"} {
		if got := b.text("#episodes tbody"); !strings.Contains(got, r) || strings.Contains(got, "Occitanie") {
			t.Errorf("the ENT episodes of region 11 read %q", got)
		}
	}
	b.noErrors("filtered map")

	// The last hour of data, by minute, from its button.
	b.open(srv.URL + "/?from=2021-04-06")
	b.run(chromedp.Click(`button[data-preset="hour"]`, chromedp.ByQuery))
	b.waitURL("preset=hour")
	if state := b.settled(); state != "ready" {
		t.Fatalf("last hour: state %q, status %q", state, b.text("#status"))
	}
	var cols int
	b.eval(`new Set([...document.querySelectorAll('.heatmap rect.cell')].map((r) => r.dataset.bucket)).size`, &cols)
	if cols != 60 {
		t.Errorf("the last hour shows %d minutes with data, want 60", cols)
	}
	if got := b.text(`button[aria-pressed="true"]`); got != "Dernière heure" {
		t.Errorf("pressed preset %q", got)
	}
	b.screenshot("map-last-hour")
	b.noErrors("last hour")

	// A year and more (the two mornings): the heatmap by week, the map
	// asks for a shorter period instead of failing.
	if state := b.open(srv.URL + "/?from=2020-03-16&to=2021-04-06"); state != "ready" {
		t.Fatalf("long range: state %q, status %q", state, b.text("#status"))
	}
	if got := b.text("#map"); !strings.HasPrefix(got, "La carte et les incidents se lisent sur 31 jours au plus") {
		t.Errorf("long range map %q", got)
	}
	if n := b.count(".heatmap rect.cell"); n == 0 {
		t.Errorf("no heatmap cell over the long range")
	}
	b.screenshot("map-long-range")
	b.noErrors("long range")

	// English on request.
	b.open(srv.URL + "/?lang=en&from=2021-04-06")
	if got := b.text("#map-title"); got != "Availability by region" {
		t.Errorf("English map title %q", got)
	}
	b.screenshot("map-english")
	b.noErrors("English map")
}

// Tab reaches every region of the map, overseas included, and each tells
// its values as it gets the focus; Enter opens its page.
func TestTheKeyboardReachesEveryRegion(t *testing.T) {
	srv := demoServer(t)
	b := newBrowser(t, artefacts(t))
	if state := b.open(srv.URL + "/?from=2021-04-06"); state != "ready" {
		t.Fatalf("map: state %q", state)
	}
	seen := map[string]bool{}
	for i := 0; i < 200 && len(seen) < len(schemas.Regions); i++ {
		b.run(chromedp.KeyEvent(kb.Tab))
		var code string
		b.eval(`(document.activeElement.closest && document.activeElement.closest('a.region')) ? document.activeElement.closest('a.region').dataset.region : ''`, &code)
		if code == "" {
			continue
		}
		entered := seen["04"]
		seen[code] = true
		if code == "04" && !entered {
			if got := b.text("#map-detail h3"); got != "La Réunion (04)" {
				t.Errorf("the focused region's detail shows %q, want La Réunion (04)", got)
			}
			b.screenshot("keyboard-focus-04")
			b.run(chromedp.KeyEvent(kb.Enter))
			b.waitURL("view=region")
			if state := b.settled(); state != "ready" {
				t.Fatalf("Enter on La Réunion: state %q", state)
			}
			if got := b.text("#region-title"); got != "La Réunion (04)" {
				t.Errorf("Enter on La Réunion opened %q", got)
			}
			b.screenshot("keyboard-enter-04")
			// The map again, the focus from the top.
			b.open(srv.URL + "/?from=2021-04-06")
		}
	}
	var missing []string
	for _, c := range schemas.Regions {
		if !seen[c] {
			missing = append(missing, c)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("Tab never reached regions %v", missing)
	}
	b.noErrors("keyboard")
}

// In the open mode the page says that nobody is asked who they are.
func TestThePageSaysWhenNobodyIsAskedInARealBrowser(t *testing.T) {
	srv := demoServer(t)
	b := newBrowser(t, artefacts(t))
	if state := b.open(srv.URL + "/"); state != "ready" {
		t.Fatalf("state %q, status %q", state, b.text("#status"))
	}
	banner := b.text("#who.open-mode")
	if !strings.HasPrefix(banner, "Sans authentification : ce serveur ne demande à personne qui il est") {
		t.Errorf("open-mode banner %q", banner)
	}
	b.noErrors("open mode")
}

func getJSON(t *testing.T, url string, into any) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, res.Status)
	}
	if err := json.NewDecoder(res.Body).Decode(into); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}
