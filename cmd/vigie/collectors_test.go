package main

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// hmacKey is the key every collector of these tests shares.
const hmacKey = "VIGIE_INGEST_HMAC_KEY=collectors-test-key-0123456789abcdef"

// nginxBinary finds Debian's nginx (scripts/install-test-deps.sh installs it).
func nginxBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if fileExists("/usr/sbin/nginx") {
		return "/usr/sbin/nginx"
	}
	t.Skip("nginx is not installed (scripts/install-test-deps.sh installs Debian's nginx; it needs root and apt-get): the log-tailing test needs a real nginx")
	return ""
}

// nginxServer is an nginx run by the test: its own prefix, configuration,
// logs and pid file, on a loopback port, in the foreground.
type nginxServer struct {
	cmd    *exec.Cmd
	dir    string
	addr   string
	access string
	done   chan struct{}
}

func startNginx(t *testing.T, upstream string) *nginxServer {
	t.Helper()
	bin := nginxBinary(t)
	dir := t.TempDir()
	for _, d := range []string{"logs", "tmp"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	n := &nginxServer{dir: dir, addr: freeListen(t), access: filepath.Join(dir, "logs", "access.log"), done: make(chan struct{})}
	user := ""
	if os.Getuid() == 0 {
		user = "user root root;" // workers write the logs the master reopens
	}
	// limit_req and limit_conn reject part of the traffic, as the 2021
	// quotas did: 429 beyond 150 requests a second (burst 30), 503 beyond
	// 4 requests at once.
	conf := fmt.Sprintf(`%s
daemon off;
master_process on;
worker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/logs/error.log warn;
events { worker_connections 256; }
http {
  client_body_temp_path %[2]s/tmp/body;
  proxy_temp_path %[2]s/tmp/proxy;
  fastcgi_temp_path %[2]s/tmp/fastcgi;
  uwsgi_temp_path %[2]s/tmp/uwsgi;
  scgi_temp_path %[2]s/tmp/scgi;
  log_format vigie '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time';
  access_log %[2]s/logs/access.log vigie;
  limit_req_zone $binary_remote_addr zone=quota:1m rate=150r/s;
  limit_conn_zone $binary_remote_addr zone=conns:1m;
  server {
    listen %[3]s;
    location / {
      limit_req zone=quota burst=30 nodelay;
      limit_req_status 429;
      limit_conn conns 4;
      limit_conn_status 503;
      proxy_pass http://%[4]s;
    }
  }
}
`, user, dir, n.addr, upstream)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	n.cmd = exec.Command(bin, "-p", dir, "-c", confPath, "-e", filepath.Join(dir, "logs", "error.log"))
	out, _ := os.Create(filepath.Join(dir, "nginx.out"))
	n.cmd.Stdout, n.cmd.Stderr = out, out
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	go func() { n.cmd.Wait(); close(n.done) }()
	t.Cleanup(func() {
		n.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-n.done:
		case <-time.After(10 * time.Second):
			n.cmd.Process.Kill()
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err := net.Dial("tcp", n.addr); err == nil {
			c.Close()
			return n
		}
		select {
		case <-n.done:
			b, _ := os.ReadFile(filepath.Join(dir, "nginx.out"))
			e, _ := os.ReadFile(filepath.Join(dir, "logs", "error.log"))
			t.Fatalf("nginx exited at start:\n%s\n%s", b, e)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("nginx does not listen after 20s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// reopen makes nginx reopen its logs, as logrotate's postrotate does.
func (n *nginxServer) reopen(t *testing.T) {
	if err := n.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the master reopens, then tells its workers
}

// drive sends n requests through nginx from several clients at once.
func drive(t *testing.T, addr string, n int) {
	t.Helper()
	paths := []string{"/", "/api/notes", "/cdt", "/fail", "/quota.html", "/login"}
	var wg sync.WaitGroup
	jobs := make(chan int)
	tr := &http.Transport{MaxIdleConnsPerHost: 8}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				req, _ := http.NewRequest(http.MethodGet, "http://"+addr+paths[i%len(paths)]+"?n="+strconv.Itoa(i), nil)
				if i%3 == 0 {
					req.SetBasicAuth(fmt.Sprintf("eleve%d", i%17), "x")
				}
				if resp, err := client.Do(req); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
}

// tailProc is a `vigie tail` running in the background.
type tailProc struct {
	cmd  *exec.Cmd
	done chan struct{}
	out  string
}

func startTail(t *testing.T, conf, dataDir string, env []string) *tailProc {
	t.Helper()
	out := filepath.Join(t.TempDir(), "tail.out")
	f, _ := os.Create(out)
	p := &tailProc{cmd: exec.Command(vigieBin, "tail", "--config", conf, "--data-dir", dataDir, "--listen", freeListen(t)), done: make(chan struct{}), out: out}
	p.cmd.Env = baseEnv(env...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

func (p *tailProc) log() string { b, _ := os.ReadFile(p.out); return string(b) }

// logCounts counts nginx's own lines by Paris minute and outcome, read
// independently of Vigie's parser: status 429 and 503 are quota
// refusals, 499/504/408 timeouts, other 5xx errors, the quota page is a
// refusal whatever its status, the rest ok.
var logLineRE = regexp.MustCompile(`^\S+ - (\S+) \[([^\]]+)\] "(\S+) (\S+) [^"]*" (\d{3}) `)

func logCounts(t *testing.T, files ...string) (counts map[string]int, total, withUser int) {
	t.Helper()
	out := map[string]int{}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			m := logLineRE.FindStringSubmatch(sc.Text())
			if m == nil {
				t.Fatalf("%s: a line the test cannot read: %q", name, sc.Text())
			}
			if m[1] != "-" {
				withUser++
			}
			at, err := time.Parse("02/Jan/2006:15:04:05 -0700", m[2])
			if err != nil {
				t.Fatal(err)
			}
			status, _ := strconv.Atoi(m[5])
			outcome := "ok"
			switch {
			case strings.HasPrefix(m[4], "/quota"), status == 429, status == 503:
				outcome = "rejected"
			case status == 499, status == 504, status == 408:
				outcome = "timeout"
			case status >= 500:
				outcome = "error"
			}
			out[at.UTC().Format("2006-01-02 15:04")+"|"+outcome]++
			total++
		}
		f.Close()
	}
	return out, total, withUser
}

// query runs read-only SQL through the running server and returns CSV rows.
func query(t *testing.T, s *server, sql string) [][]string {
	t.Helper()
	r := vigie(t, time.Minute, nil, "query", "--data-dir", s.dataDir, "--listen", s.listen, "--format", "csv", sql)
	if r.code != 0 {
		t.Fatalf("vigie query %q: exit %d\n%s", sql, r.code, r.stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil {
		t.Fatalf("vigie query output is not CSV: %v\n%s", err, r.stdout)
	}
	if len(rows) > 0 {
		rows = rows[1:] // header
	}
	return rows
}

// serveWithBroker starts vigie serve with its embedded broker on a known
// port, for collectors running as processes of their own.
func serveWithBroker(t *testing.T) (*server, string) {
	t.Helper()
	broker := freeListen(t)
	_, port, _ := net.SplitHostPort(broker)
	s := startServe(t, t.TempDir(), "VIGIE_KAFKA_EMBEDDED_PORT="+port, hmacKey, "VIGIE_AGGREGATE_FLUSH_INTERVAL=200ms")
	return s, broker
}

func TestTailCountsEqualNginxsOwnLogAcrossRotationsAndAKill(t *testing.T) {
	needChDB(t)
	nginxBinary(t)
	portal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond) // long enough for requests to overlap (limit_conn)
		if r.URL.Path == "/fail" {
			http.Error(w, "erreur", http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "<h1>Bienvenue</h1>")
	}))
	defer portal.Close()
	ng := startNginx(t, strings.TrimPrefix(portal.URL, "http://"))
	s, broker := serveWithBroker(t)

	conf := filepath.Join(t.TempDir(), "tail.yaml")
	os.WriteFile(conf, []byte(fmt.Sprintf(`
kafka:
  brokers: [%q]
tail:
  poll_interval: 50ms
  rotate_wait: 1s
  batch_events: 50
  files:
    - path: %s
      format: combined
      user: remote_user
      routes:
        - {path: "^/api/", platform: ent, service: ent-28, region: "28", kind: api}
        - {path: "^/login", platform: ent, service: ent-28, region: "28", kind: login}
        - {path: "", platform: ent, service: ent-28, region: "28"}
      markers:
        - {field: path, match: "^/quota", outcome: rejected}
`, broker, ng.access)), 0o644)
	tailData := t.TempDir()
	tp := startTail(t, conf, tailData, []string{hmacKey})

	drive(t, ng.addr, 400)
	// Rotation by rename: move the log, tell nginx to reopen it.
	if err := os.Rename(ng.access, ng.access+".1"); err != nil {
		t.Fatal(err)
	}
	drive(t, ng.addr, 50) // still into the renamed file
	ng.reopen(t)
	drive(t, ng.addr, 300)
	// vigie tail killed mid-stream, traffic goes on, it starts again.
	go func() { time.Sleep(150 * time.Millisecond); tp.cmd.Process.Kill() }()
	drive(t, ng.addr, 300)
	<-tp.done
	drive(t, ng.addr, 200)
	tp = startTail(t, conf, tailData, []string{hmacKey})
	drive(t, ng.addr, 200)
	// copytruncate, with the traffic paused as logrotate's copy and
	// truncation are not atomic (lines in between are lost by logrotate).
	time.Sleep(300 * time.Millisecond)
	data, err := os.ReadFile(ng.access)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(ng.access+".2", data, 0o644)
	if err := os.Truncate(ng.access, 0); err != nil {
		t.Fatal(err)
	}
	drive(t, ng.addr, 350)

	want, total, withUser := logCounts(t, ng.access+".1", ng.access+".2", ng.access)
	rejected := 0
	for k, n := range want {
		if strings.HasSuffix(k, "|rejected") {
			rejected += n
		}
	}
	if total != 1800 || rejected == 0 || rejected == total {
		t.Fatalf("nginx logged %d lines (want 1800), %d rejected: the quotas must reject part of the traffic", total, rejected)
	}
	sql := `SELECT formatDateTime(bucket, '%Y-%m-%d %H:%i'), ok, errors, timeouts, rejected, queued, events
FROM vigie.minute_stats WHERE service = 'ent-28' ORDER BY bucket`
	var got map[string]int
	deadline := time.Now().Add(90 * time.Second)
	for {
		got = map[string]int{}
		sum := 0
		for _, r := range query(t, s, sql) {
			for i, outcome := range []string{"ok", "error", "timeout", "rejected", "queued"} {
				if n, _ := strconv.Atoi(r[1+i]); n > 0 {
					got[r[0]+"|"+outcome] = n
				}
			}
			n, _ := strconv.Atoi(r[6])
			sum += n
		}
		if sum >= total || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	keys := map[string]bool{}
	for k := range want {
		keys[k] = true
	}
	for k := range got {
		keys[k] = true
	}
	var diffs []string
	for k := range keys {
		if got[k] != want[k] {
			diffs = append(diffs, fmt.Sprintf("%s: vigie %d, nginx %d", k, got[k], want[k]))
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Errorf("per-minute counts differ from nginx's log:\n%s\nvigie tail:\n%s", strings.Join(diffs, "\n"), tail(tp.log()))
	}
	users := query(t, s, `SELECT count(), countIf(user != 0), uniqExact(user) - 1 FROM vigie.events WHERE source = 'log' AND service = 'ent-28'`)
	if len(users) != 1 || users[0][0] != strconv.Itoa(total) || users[0][1] != strconv.Itoa(withUser) || users[0][2] != "17" {
		t.Errorf("events of the log, with a user, distinct users = %v; want %d, %d, 17 (each line once, remote_user pseudonymised)", users, total, withUser)
	}
	t.Logf("%d lines in nginx's logs, %d minutes×outcomes, %d rejected by the quotas, %d with a user; %v re-sent lines dropped by the aggregator",
		total, len(want), rejected, withUser, metric(t, s, "vigie_aggregate_duplicates_total"))
}

func TestProbeOutcomesAndPhasesReachTheWarehouse(t *testing.T) {
	needChDB(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "Bienvenue sur l'ENT") })
	mux.HandleFunc("/quota", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "Bienvenue. Le nombre de sessions est limité, réessayez plus tard.")
	})
	mux.HandleFunc("/attente", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "Salle d'attente : vous êtes 1542e") })
	mux.HandleFunc("/fail", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", http.StatusBadGateway) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
		}
	})
	plain := httptest.NewServer(mux)
	defer plain.Close()
	secure := httptest.NewTLSServer(mux)
	defer secure.Close()
	s, broker := serveWithBroker(t)
	targets := []struct{ name, url, outcome string }{
		{"healthy", plain.URL + "/ok", "ok"},
		{"healthy-tls", secure.URL + "/ok", "ok"},
		{"quota", plain.URL + "/quota", "rejected"},
		{"waiting-room", secure.URL + "/attente", "queued"},
		{"failing", plain.URL + "/fail", "error"},
		{"hung", plain.URL + "/slow", "timeout"},
		{"refusing", "http://" + freeListen(t) + "/", "error"},
	}
	var b strings.Builder
	fmt.Fprintf(&b, "kafka:\n  brokers: [%q]\nprobe:\n  location: \"93\"\n  interval: 1s\n  timeout: 700ms\n  targets:\n", broker)
	for i, tg := range targets {
		fmt.Fprintf(&b, "    - {name: %s, url: %q, platform: ent, service: ent-%02d, region: %q, expect_text: Bienvenue, tls_insecure_skip_verify: %v,\n       degraded_text: [sessions est limité], queue_text: [salle d'attente]}\n",
			tg.name, tg.url, 90+i, []string{"11", "24", "27", "28", "32", "44", "52"}[i], strings.HasPrefix(tg.url, "https"))
	}
	conf := filepath.Join(t.TempDir(), "probe.yaml")
	os.WriteFile(conf, []byte(b.String()), 0o644)
	listen := freeListen(t)
	cmd := exec.Command(vigieBin, "probe", "--config", conf, "--data-dir", t.TempDir(), "--listen", listen)
	cmd.Env = baseEnv()
	outPath := filepath.Join(t.TempDir(), "probe.out")
	out, _ := os.Create(outPath)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	// Wait for what the probe shows rather than for a fixed time: on a busy
	// machine its first rounds come late. Its /metrics first, then at least
	// two rounds of every target in the warehouse, before stopping it.
	wantMetrics := []string{`probe_success{region="11",service="ent-90",target="healthy"} 1`, `probe_success{region="24",service="ent-91",target="healthy-tls"} 1`,
		`probe_success{region="32",service="ent-94",target="failing"} 0`, `probe_http_duration_seconds{phase="tls",region="24",service="ent-91",target="healthy-tls"}`}
	var metrics []byte
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		if resp, err := http.Get("http://" + listen + "/metrics"); err == nil {
			metrics, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		missing := slices.IndexFunc(wantMetrics, func(w string) bool { return !strings.Contains(string(metrics), w) })
		if missing < 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics of vigie probe lacks %s:\n%s", wantMetrics[missing], metrics)
		}
	}
	const rounds = `SELECT count() FROM (SELECT attrs['target'] FROM vigie.events WHERE source = 'probe' GROUP BY 1 HAVING count() >= 2)`
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(time.Second) {
		if n, _ := strconv.Atoi(query(t, s, rounds)[0][0]); n >= len(targets) || time.Now().After(deadline) {
			break
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("vigie probe did not stop on SIGTERM")
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		b, _ := os.ReadFile(outPath)
		t.Fatalf("vigie probe exited %d:\n%s", code, b)
	}
	sql := `SELECT attrs['target'], outcome, count(), max(status), min(toFloat64(attrs['connect_ms'])), min(toFloat64(attrs['tls_ms'])),
       min(toFloat64(attrs['ttfb_ms'])), min(latency_ms), max(latency_ms), any(attrs['from']), any(kind), any(source)
FROM vigie.events WHERE source = 'probe' GROUP BY 1, 2 ORDER BY 1, 2`
	var rows [][]string
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(time.Second) {
		rows = query(t, s, sql)
		if len(rows) >= len(targets) || time.Now().After(deadline) {
			break
		}
	}
	byTarget := map[string][]string{}
	for _, r := range rows {
		if _, dup := byTarget[r[0]]; dup {
			t.Errorf("target %s has several outcomes: %v", r[0], rows)
		}
		byTarget[r[0]] = r
	}
	num := func(s string) float64 { f, _ := strconv.ParseFloat(s, 64); return f }
	for _, tg := range targets {
		r := byTarget[tg.name]
		if r == nil {
			t.Errorf("no probe event of %s in the warehouse", tg.name)
			continue
		}
		n, _ := strconv.Atoi(r[2])
		if r[1] != tg.outcome || n < 2 || r[9] != "93" || r[10] != "probe" || r[11] != "probe" {
			t.Errorf("%s: outcome %s ×%d from %q (kind %s, source %s); want %s at least twice from 93, kind and source probe", tg.name, r[1], n, r[9], r[10], r[11], tg.outcome)
		}
		connect, tlsMS, ttfb, latMin, latMax := num(r[4]), num(r[5]), num(r[6]), num(r[7]), num(r[8])
		switch tg.name {
		case "hung":
			if latMin < 700 || latMax > 2000 || r[3] != "0" {
				t.Errorf("hung: latency %v–%v ms, status %s; want the 700ms timeout and no status", latMin, latMax, r[3])
			}
		case "refusing":
			if r[3] != "0" || ttfb != 0 {
				t.Errorf("refusing: status %s, first byte %v ms; want none", r[3], ttfb)
			}
		default:
			if connect <= 0 || ttfb <= connect || latMin < ttfb {
				t.Errorf("%s: connect %v, first byte %v, total %v ms: want 0 < connect < first byte ≤ total", tg.name, connect, ttfb, latMin)
			}
			if isTLS := strings.HasPrefix(tg.url, "https"); isTLS != (tlsMS > 0) {
				t.Errorf("%s: TLS %v ms over %s", tg.name, tlsMS, tg.url)
			}
		}
	}
}

func TestCollectorCommandsRefuseWhatTheyCannotRun(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte(`kafka: {brokers: ["127.0.0.1:1"]}
tail:
  files:
    - path: /var/log/nginx/access.log
      format: '$remote_addr [$time_local] "$request" $status'
      routes: [{platform: ent, service: ent-11, region: "11"}]
`), 0o644)
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte(`kafka: {brokers: ["127.0.0.1:1"]}
tail:
  files: [{path: /var/log/nginx/access.log, format: combined, routes: [{platform: ent, service: ent-11, region: "11"}]}]
`), 0o644)
	tests := []struct {
		name string
		env  []string
		args []string
		says string
	}{
		{"tail without brokers", nil, []string{"tail"}, "kafka.brokers: empty, but vigie tail runs on its own"},
		{"probe without targets", nil, []string{"probe", "--brokers", "127.0.0.1:1"}, "probe.targets: empty"},
		{"tail without the shared key", nil, []string{"tail", "--config", good}, "ingest.hmac_key: empty, but vigie tail pseudonymises users"},
		{"tail of a format without request time", []string{hmacKey}, []string{"tail", "--config", bad},
			`tail.files[0].format: "$remote_addr [$time_local] \"$request\" $status" cannot be read: the format has no request time field`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := vigie(t, 30*time.Second, tt.env, append(tt.args, "--data-dir", t.TempDir(), "--listen", freeListen(t))...)
			if r.code == 0 || !strings.Contains(r.stderr, tt.says) {
				t.Errorf("exit %d, stderr %q; want a failure saying %q", r.code, r.stderr, tt.says)
			}
		})
	}
	r := vigie(t, 30*time.Second, []string{hmacKey}, "tail", "--help")
	for _, want := range []string{"nginx", "Apache", "Rotation", "checkpoint", "docs/collectors.md"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("vigie tail --help does not mention %q", want)
		}
	}
}
