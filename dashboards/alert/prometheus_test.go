package alert_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vigie-fr/vigie/dashboards/alert"
	"github.com/vigie-fr/vigie/dashboards/incident/incidenttest"
	"github.com/vigie-fr/vigie/internal/config"
)

const rulesDir = "../../deploy/prometheus"

func need(t *testing.T, program string) string {
	t.Helper()
	p, err := exec.LookPath(program)
	if err != nil {
		t.Skipf("%s not installed (scripts/install-test-deps.sh installs it): %v", program, err)
	}
	return p
}

// The shipped rules pass promtool's checks and their own unit tests.
func TestPrometheusRulesPassPromtool(t *testing.T) {
	promtool := need(t, "promtool")
	for _, args := range [][]string{{"check", "rules", "vigie-rules.yml"}, {"test", "rules", "vigie-rules.test.yml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = rulesDir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// Every metric the rules use is one live detection exports.
func TestPrometheusRulesUseMetricsVigieExports(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(rulesDir, "vigie-rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	if _, err := alert.New(incidenttest.Store(t, incidenttest.DB(t)), alert.Options{Alerts: config.Default().Alerts, Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	// Describe lists every metric, even those with no sample yet.
	names := map[string]bool{}
	ch := make(chan *prometheus.Desc, 64)
	go func() { reg.Describe(ch); close(ch) }()
	nameRE := regexp.MustCompile(`fqName: "([a-z_]+)"`)
	for d := range ch {
		if m := nameRE.FindStringSubmatch(d.String()); m != nil {
			names[m[1]] = true
		}
	}
	used := regexp.MustCompile(`vigie_[a-z_]+`).FindAllString(string(raw), -1)
	if len(used) == 0 {
		t.Fatal("the rules use no vigie_ metric")
	}
	for _, u := range used {
		if !names[u] {
			t.Errorf("vigie-rules.yml uses %s, which live detection does not export", u)
		}
	}
}

// freePort is a loopback port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// start runs a program until the test ends, waiting for url to answer 200.
func start(t *testing.T, url string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	logf, err := os.Create(filepath.Join(t.TempDir(), filepath.Base(name)+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("%s log:\n%s", filepath.Base(name), tail(string(b), 3000))
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer %s in 60 s: %v", name, url, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// amHook is the receiver Alertmanager notifies: it keeps each alert's
// status by alertname, with when it first saw it (wall clock).
type amHook struct {
	mu   sync.Mutex
	seen map[string]time.Time // "alertname/status"
}

func (h *amHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var msg struct {
		Alerts []struct {
			Status string            `json:"status"`
			Labels map[string]string `json:"labels"`
		} `json:"alerts"`
	}
	if err := json.NewDecoder(r.Body).Decode(&msg); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, a := range msg.Alerts {
		k := a.Labels["alertname"] + "/" + a.Status
		if _, ok := h.seen[k]; !ok {
			h.seen[k] = time.Now()
		}
	}
}

func (h *amHook) wait(t *testing.T, key string, within time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		h.mu.Lock()
		at, ok := h.seen[key]
		h.mu.Unlock()
		if ok {
			return at
		}
		time.Sleep(100 * time.Millisecond)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var got []string
	for k := range h.seen {
		got = append(got, k)
	}
	slices.Sort(got)
	t.Fatalf("Alertmanager did not notify %s within %s (got %v)", key, within, got)
	return time.Time{}
}

// A real Prometheus scrapes live detection's metrics and evaluates the
// shipped rules; a real Alertmanager receives both its alerts and Vigie's
// own notifications. A replayed outage makes both fire, its end resolves
// both.
func TestARealPrometheusAndAlertmanagerFireAndResolve(t *testing.T) {
	prom := need(t, "prometheus")
	am := need(t, "prometheus-alertmanager")
	st := incidenttest.Store(t, incidenttest.DB(t))
	var rows []incidenttest.Row
	for m := t0; m.Before(t0.Add(15 * time.Minute)); m = m.Add(time.Minute) {
		rows = append(rows, minuteRows(m)...)
	}
	incidenttest.Insert(t, st, rows)

	hook := &amHook{seen: map[string]time.Time{}}
	hookSrv := httptest.NewServer(hook)
	defer hookSrv.Close()
	dir := t.TempDir()
	amPort, promPort := freePort(t), freePort(t)
	amConf := filepath.Join(dir, "alertmanager.yml")
	writeFile(t, amConf, fmt.Sprintf(`route:
  receiver: hook
  group_by: [alertname, incident_id, service, region]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: %s/am
        send_resolved: true
`, hookSrv.URL))
	start(t, fmt.Sprintf("http://127.0.0.1:%d/-/ready", amPort), am, "--config.file="+amConf, "--storage.path="+filepath.Join(dir, "am"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", amPort), "--cluster.listen-address=")

	reg := prometheus.NewRegistry()
	metricsSrv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer metricsSrv.Close()
	rules, err := filepath.Abs(filepath.Join(rulesDir, "vigie-rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	promConf := filepath.Join(dir, "prometheus.yml")
	writeFile(t, promConf, fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:%d"]
scrape_configs:
  - job_name: vigie
    static_configs:
      - targets: [%q]
`, rules, amPort, strings.TrimPrefix(metricsSrv.URL, "http://")))
	start(t, fmt.Sprintf("http://127.0.0.1:%d/-/ready", promPort), prom, "--config.file="+promConf, "--storage.tsdb.path="+filepath.Join(dir, "prom"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", promPort))

	c := &clock{}
	hooks := map[string]config.WebhookConfig{"alertmanager": {URL: fmt.Sprintf("http://127.0.0.1:%d", amPort), Format: "alertmanager", Timeout: 5 * time.Second}}
	e, err := alert.New(st, options(c, hooks, reg))
	if err != nil {
		t.Fatal(err)
	}
	// Up to 06:21:15, when the first failing minute (06:20) is evaluated.
	var opened time.Time
	replay(t, st, c, e, t0.Add(15*time.Minute+15*time.Second), t0.Add(21*time.Minute+15*time.Second), func(res alert.Result) {
		if len(res.Open) > 0 && opened.IsZero() {
			opened = time.Now()
		}
	})
	if opened.IsZero() {
		t.Fatal("no incident open at 06:21:15, one minute after the first failing minute ended")
	}
	// The one-minute bound is generous (1 s scrapes and evaluations take
	// seconds) so that a loaded machine does not fail the test.
	rule := hook.wait(t, "VigieIncidentOpen/firing", time.Minute)
	direct := hook.wait(t, "VigieIncident/firing", time.Minute)
	// Wall-clock time from the end of the evaluation that opened it (which
	// sent Vigie's own alert) to Alertmanager's webhook.
	t.Logf("Alertmanager notified Prometheus' rule %s and Vigie's own alert %s after the evaluation that opened the incident",
		rule.Sub(opened).Round(time.Millisecond), direct.Sub(opened).Round(time.Millisecond))
	// Past the end and the merge gap: resolved.
	replay(t, st, c, e, t0.Add(21*time.Minute+30*time.Second), t0.Add(34*time.Minute+15*time.Second), nil)
	hook.wait(t, "VigieIncidentOpen/resolved", time.Minute)
	hook.wait(t, "VigieIncident/resolved", time.Minute)
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}
