package probe

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vigie-fr/vigie/internal/config"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// portal serves the pages a portal shows on a good and a bad morning.
func portal(t *testing.T) *http.ServeMux {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "<h1>Bienvenue sur votre ENT</h1>") })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/fail", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "Internal Server Error", 500) })
	mux.HandleFunc("/quota", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "<p>Trop de connexions : le nombre de sessions est limité, réessayez plus tard.</p>")
	})
	mux.HandleFunc("/429", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(429) })
	mux.HandleFunc("/503-retry", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(503)
	})
	mux.HandleFunc("/503", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) })
	mux.HandleFunc("/attente", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "<p>Vous êtes dans la salle d'attente. Position : 1542</p>")
	})
	mux.HandleFunc("/other", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "maintenance") })
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusFound) })
	return mux
}

// refused is an address where nothing listens.
func refused(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/"
}

func newProber(t *testing.T, targets ...config.ProbeTarget) (*Prober, *prometheus.Registry) {
	t.Helper()
	cfg := config.DefaultProbe()
	cfg.Location = "75"
	cfg.Timeout = time.Second
	cfg.Targets = targets
	c := config.Default()
	c.Probe = cfg
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	p, err := New(Options{Config: cfg, Log: quiet(), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	return p, reg
}

func tgt(name, url string) config.ProbeTarget {
	return config.ProbeTarget{Name: name, URL: url, Platform: "ent", Service: "ent-11", Region: "11",
		ExpectText: "Bienvenue", DegradedText: []string{"sessions est limité"}, QueueText: []string{"salle d'attente"}}
}

func TestEachKindOfTargetGetsItsOutcome(t *testing.T) {
	plain := httptest.NewServer(portal(t))
	defer plain.Close()
	secure := httptest.NewTLSServer(portal(t))
	defer secure.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	writePEM(t, caFile, secure)
	tests := []struct {
		name, url, outcome string
		status             int
		tls                bool
		errSays            string
	}{
		{"healthy", plain.URL + "/ok", "ok", 200, false, ""},
		{"healthy over TLS", secure.URL + "/ok", "ok", 200, true, ""},
		{"redirected to a healthy page", plain.URL + "/redirect", "ok", 200, false, ""},
		{"slow beyond the timeout", plain.URL + "/slow", "timeout", 0, false, "no complete answer within 1s"},
		{"slow over TLS", secure.URL + "/slow", "timeout", 0, true, "no complete answer within 1s"},
		{"failing", plain.URL + "/fail", "error", 500, false, "status 500, want 2xx"},
		{"refusing connections", refused(t), "error", 0, false, "connection refused"},
		{"a quota page with status 200", plain.URL + "/quota", "rejected", 200, false, `the page says "sessions est limité"`},
		{"429", plain.URL + "/429", "rejected", 429, false, "429 Too Many Requests"},
		{"503 with Retry-After", plain.URL + "/503-retry", "rejected", 503, false, "503 with Retry-After 120"},
		{"503 without Retry-After", plain.URL + "/503", "error", 503, false, "status 503"},
		{"a waiting room", secure.URL + "/attente", "queued", 200, true, `the page says "salle d'attente"`},
		{"a page without the expected text", plain.URL + "/other", "error", 200, false, `the page does not say "Bienvenue"`},
		{"an untrusted certificate", secure.URL + "/ok", "error", 0, true, "certificate signed by unknown authority"},
	}
	var targets []config.ProbeTarget
	for i, tt := range tests {
		tg := tgt(fmt.Sprintf("t%d", i), tt.url)
		if tt.tls && !strings.Contains(tt.errSays, "certificate") {
			tg.CAFile = caFile
		}
		targets = append(targets, tg)
	}
	p, reg := newProber(t, targets...)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := p.Probe(context.Background(), p.targets[i])
			p.record(p.targets[i], r)
			if r.Outcome != tt.outcome || r.Status != tt.status || !strings.Contains(r.Err, tt.errSays) {
				t.Errorf("outcome %s, status %d, err %q; want %s, %d, err saying %q", r.Outcome, r.Status, r.Err, tt.outcome, tt.status, tt.errSays)
			}
			ph := r.Phases
			switch {
			case ph.Total <= 0:
				t.Errorf("total %v", ph.Total)
			case tt.outcome == "timeout" && (ph.Total < time.Second || ph.Total > 3*time.Second):
				t.Errorf("a timed-out probe took %v, want about its 1s timeout", ph.Total)
			case tt.status != 0 && (ph.Connect <= 0 || ph.TTFB <= 0 || ph.TTFB > ph.Total):
				t.Errorf("phases %+v: an answered probe has a connect time and a first byte within the total", ph)
			case tt.tls && tt.outcome != "timeout" && ph.TLS <= 0:
				t.Errorf("phases %+v: no TLS time over https", ph)
			case !tt.tls && ph.TLS != 0:
				t.Errorf("phases %+v: a TLS time over plain http", ph)
			case ph.DNS != 0:
				t.Errorf("phases %+v: a DNS time for an IP address", ph)
			}
			ev := p.Event(p.targets[i].ProbeTarget, r)
			if ev.Kind != "probe" || ev.Source != "probe" || ev.Outcome != tt.outcome || ev.Attrs["from"] != "75" || ev.Attrs["target"] != p.targets[i].Name {
				t.Errorf("event %+v", ev)
			}
			if got := testutil.ToFloat64(p.m.results.WithLabelValues(p.targets[i].Name, tt.outcome)); got != 1 {
				t.Errorf("vigie_probe_results_total{outcome=%s} = %v, want 1", tt.outcome, got)
			}
			success := 0.0
			if tt.outcome == "ok" {
				success = 1
			}
			if got := testutil.ToFloat64(p.m.success.WithLabelValues(p.targets[i].Name, "ent-11", "11")); got != success {
				t.Errorf("probe_success = %v, want %v", got, success)
			}
		})
	}
	if n, err := testutil.GatherAndCount(reg, "probe_http_duration_seconds"); err != nil || n != 5*len(tests) {
		t.Errorf("probe_http_duration_seconds has %d series (%v), want 5 phases × %d targets", n, err, len(tests))
	}
}

func writePEM(t *testing.T, path string, srv *httptest.Server) {
	t.Helper()
	var b strings.Builder
	for _, c := range srv.TLS.Certificates {
		for _, der := range c.Certificate {
			b.WriteString("-----BEGIN CERTIFICATE-----\n")
			b.WriteString(base64Lines(der))
			b.WriteString("-----END CERTIFICATE-----\n")
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestTheLoginFlowPostsTheFormAndExpectsTheLandingPage(t *testing.T) {
	var mu sync.Mutex
	var posted []string
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, _ *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "JSESSIONID", Value: "s1"})
		fmt.Fprint(w, `<form id="fm1" action="/login?service=ent" method="post">
<input id="username" name="username" type="text" value=""/><input name='password' type=password>
<input type="hidden" name="execution" value="e1s1&amp;x"/><input type="checkbox" name="warn"/>
<input type="submit" name="submit" value="SE CONNECTER"/></form>`)
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		c, _ := r.Cookie("JSESSIONID")
		mu.Lock()
		posted = append(posted, fmt.Sprintf("%s|%s|%s|%s|%v|%s", r.URL.RawQuery, r.PostForm.Get("username"), r.PostForm.Get("password"),
			r.PostForm.Get("execution"), r.PostForm.Has("warn") || r.PostForm.Has("submit"), c.Value))
		mu.Unlock()
		if r.PostForm.Get("password") != "s3cret:with:colons" {
			fmt.Fprint(w, "Identifiants incorrects")
			return
		}
		http.Redirect(w, r, "/accueil", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /accueil", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "<h1>Mon bureau</h1>") })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good"), filepath.Join(dir, "bad")
	os.WriteFile(good, []byte("eleve.test:s3cret:with:colons\n"), 0o600)
	os.WriteFile(bad, []byte("eleve.test:wrong\n"), 0o600)
	a, b := tgt("good", srv.URL+"/login"), tgt("bad", srv.URL+"/login")
	a.Login = config.ProbeLogin{CredentialsFile: good, ExpectText: "Mon bureau"}
	b.Login = config.ProbeLogin{CredentialsFile: bad, ExpectText: "Mon bureau"}
	p, _ := newProber(t, a, b)
	if r := p.Probe(context.Background(), p.targets[0]); r.Outcome != "ok" || r.Status != 200 {
		t.Errorf("good credentials: %+v, want ok 200", r)
	}
	if r := p.Probe(context.Background(), p.targets[1]); r.Outcome != "error" || r.Err != `the page does not say "Mon bureau"` {
		t.Errorf("wrong credentials: %+v, want an error saying the landing text is missing", r)
	}
	want := "service=ent|eleve.test|s3cret:with:colons|e1s1&x|false|s1"
	if len(posted) != 2 || posted[0] != want {
		t.Errorf("posted %q, want first %q (form action, fields, hidden field unescaped, no button or unchecked box, session cookie)", posted, want)
	}
}

func TestAMissingCredentialsFileIsRefusedWithItsKey(t *testing.T) {
	tg := tgt("x", "http://127.0.0.1:1/")
	tg.Login = config.ProbeLogin{CredentialsFile: filepath.Join(t.TempDir(), "none"), ExpectText: "x"}
	cfg := config.DefaultProbe()
	cfg.Targets = []config.ProbeTarget{tg}
	_, err := New(Options{Config: cfg, Registerer: prometheus.NewRegistry()})
	if err == nil || !strings.HasPrefix(err.Error(), "probe.targets[0].login.credentials_file: ") {
		t.Fatalf("New = %v, want an error naming probe.targets[0].login.credentials_file", err)
	}
	os.WriteFile(tg.Login.CredentialsFile, []byte("no-colon-here\n"), 0o600)
	_, err = New(Options{Config: cfg, Registerer: prometheus.NewRegistry()})
	if err == nil || strings.Contains(err.Error(), "no-colon-here") || !strings.Contains(err.Error(), "does not start with a line username:password") {
		t.Fatalf("New = %v, want the rule without the file's content", err)
	}
}

// A target that hangs until its timeout must not move the others'
// schedule: the fast target's probes keep their interval (within a second).
func TestAHungTargetDoesNotDelayTheOthers(t *testing.T) {
	hung := make(chan struct{})
	var mu sync.Mutex
	var fastAt []time.Time
	mux := http.NewServeMux()
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hung:
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/fast", func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		fastAt = append(fastAt, time.Now())
		mu.Unlock()
		fmt.Fprint(w, "Bienvenue")
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer close(hung)
	slow, fast := tgt("hung", srv.URL+"/hang"), tgt("fast", srv.URL+"/fast")
	slow.Interval, slow.Timeout = 2*time.Second, 2*time.Second
	fast.Interval, fast.Timeout = 300*time.Millisecond, 300*time.Millisecond
	var hungTargets []config.ProbeTarget
	for i := range 5 {
		h := slow
		h.Name = fmt.Sprintf("hung-%d", i)
		hungTargets = append(hungTargets, h)
	}
	p, _ := newProber(t, append(hungTargets, fast)...)
	ctx, cancel := context.WithTimeout(context.Background(), 4500*time.Millisecond)
	defer cancel()
	p.Run(ctx)
	mu.Lock()
	defer mu.Unlock()
	if len(fastAt) < 8 {
		t.Fatalf("the fast target was probed %d times in 4.5s at a 300ms interval", len(fastAt))
	}
	for i := 1; i < len(fastAt); i++ {
		if gap := fastAt[i].Sub(fastAt[i-1]); gap > fast.Interval+time.Second {
			t.Errorf("probes %d and %d of the fast target are %v apart, interval %v", i-1, i, gap, fast.Interval)
		}
	}
	// Each hung target's first probe starts within 2s and times out 2s later.
	for _, h := range hungTargets {
		if got := testutil.ToFloat64(p.m.results.WithLabelValues(h.Name, "timeout")); got < 1 {
			t.Errorf("%s timed out %v times in 4.5s at a 2s interval and timeout, want at least 1", h.Name, got)
		}
	}
}
