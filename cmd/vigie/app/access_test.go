package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/internal/auth"
	"github.com/vigie-fr/vigie/internal/auth/authtest"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/warehouse/chdb"
)

// TestEveryRouteForEveryRole starts vigie serve with one user per role and
// a collector, and asks every route as each of them and as nobody: each
// gets what its role may (the status the route gives) and is refused what
// it may not, 401 without credentials and 403 with the wrong role, with a
// message saying why. The expectations are written here, not read from
// auth.Policy: the test is a second statement of who may do what.
func TestEveryRouteForEveryRole(t *testing.T) {
	if _, err := os.Stat(chdb.LibraryPath()); err != nil {
		t.Skip("libchdb.so is not installed: run scripts/install-chdb.sh")
	}
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.HTTP.Pprof = true
	cfg.Kafka.Partitions = 1
	tokens := authtest.Configure(&cfg)
	// The log goes to a file: the server's goroutines write it, the test reads it.
	logPath := filepath.Join(t.TempDir(), "serve.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	a, err := New(cfg, All, slog.New(slog.NewTextHandler(logFile, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	startApp(t, ctx, a)
	local, err := os.ReadFile(cfg.DataDir + "/sql.token")
	if err != nil {
		t.Fatal(err)
	}
	tokens["local"] = strings.TrimSpace(string(local))

	event := `{"id":"route-test","ts":"` + time.Now().Add(-time.Minute).UTC().Format(time.RFC3339) +
		`","platform":"ent","service":"ent-11","region":"11","kind":"page","outcome":"ok","latency_ms":12}`
	const day = "from=2021-04-06&to=2021-04-06"
	who := []string{"", "analyst", "union", "engineer", "admin", "collector", "local"}
	all := func(code int) map[string]int {
		m := map[string]int{}
		for _, w := range who {
			m[w] = code
		}
		return m
	}
	// only: the roles that get ok; nobody gets 401, the others 403.
	only := func(ok int, allowed ...string) map[string]int {
		m := all(http.StatusForbidden)
		m[""] = http.StatusUnauthorized
		for _, w := range allowed {
			m[w] = ok
		}
		return m
	}
	// local (the data dir's token) is an engineer and a collector.
	viewers := []string{"analyst", "union", "engineer", "local"}
	routes := []struct {
		pattern      string // as in auth.Policy
		method, path string
		body         string
		want         map[string]int
	}{
		{"GET /healthz", "GET", "/healthz", "", all(200)},
		{"GET /readyz", "GET", "/readyz", "", all(200)},
		// Open: it proves the server owns its data dir and reveals nothing.
		{"/api/v1/proof", "GET", "/api/v1/proof?challenge=" + strings.Repeat("ab", 32), "", all(200)},
		{"GET /static/", "GET", "/static/app.js", "", all(200)},
		{"GET /login", "GET", "/login", "", all(200)},
		// Open, but a form posted without the login page's CSRF cookie is refused.
		{"POST /login", "POST", "/login", "user=analyst&password=x", all(403)},
		{"POST /logout", "POST", "/logout", "", all(403)},
		{"GET /api/v1/me", "GET", "/api/v1/me", "", only(200, "analyst", "union", "engineer", "admin", "collector", "local")},
		{"GET /{$}", "GET", "/", "", only(200, viewers...)},
		{"GET /api/v1/availability", "GET", "/api/v1/availability?" + day, "", only(200, viewers...)},
		{"GET /api/v1/incidents", "GET", "/api/v1/incidents?" + day, "", only(200, viewers...)},
		{"GET /api/v1/range", "GET", "/api/v1/range", "", only(200, viewers...)},
		{"GET /api/v1/report", "GET", "/api/v1/report?format=json&" + day, "", only(200, viewers...)},
		{"GET /api/v1/annotations", "GET", "/api/v1/annotations?" + day, "", only(200, viewers...)},
		{"POST /api/v1/annotations", "POST", "/api/v1/annotations", `{"at":"2021-04-06T08:50:00+02:00","text":"route test"}`, only(201, "analyst", "engineer", "local")},
		{"GET /api/v1/actions", "GET", "/api/v1/actions?" + day, "", only(200, viewers...)},
		{"POST /api/v1/actions", "POST", "/api/v1/actions", `{"at":"2021-04-06T08:50:00+02:00","title":"t","owner":"o","priority":"P2"}`, only(201, "analyst", "engineer", "local")},
		{"GET /api/v1/report/status", "GET", "/api/v1/report/status?" + day, "", only(200, viewers...)},
		{"POST /api/v1/report/status", "POST", "/api/v1/report/status", `{"from":"2021-04-06T00:00:00+02:00","to":"2021-04-07T00:00:00+02:00","status":"final"}`, only(201, "analyst", "engineer", "local")},
		{"GET /api/v1/regions", "GET", "/api/v1/regions?" + day, "", only(200, viewers...)},
		{"GET /api/v1/regions/{region}", "GET", "/api/v1/regions/11?" + day, "", only(200, viewers...)},
		{"GET /api/v1/compare", "GET", "/api/v1/compare?a_from=2020-03-16&b_from=2021-04-06", "", only(200, viewers...)},
		{"GET /api/v1/drilldown", "GET", "/api/v1/drilldown?service=ent-11&region=11&" + day, "", only(200, viewers...)},
		{"GET /api/v1/status", "GET", "/api/v1/status", "", all(200)},
		{"GET /api/v1/status/{region}", "GET", "/api/v1/status/11", "", all(200)},
		{"GET /status", "GET", "/status", "", all(200)},
		{"GET /status/{region}", "GET", "/status/11", "", all(200)},
		{"GET /i18n/{lang}", "GET", "/i18n/fr", "", all(200)},
		{"/api/v1/sql", "POST", "/api/v1/sql", "SELECT 1", only(200, "engineer", "local")},
		{"/v1/events", "POST", "/v1/events", event, only(200, "collector", "local")},
		{"GET /api/v1/admin/users", "GET", "/api/v1/admin/users", "", only(200, "admin")},
		{"GET /api/v1/admin/config", "GET", "/api/v1/admin/config", "", only(200, "admin")},
		{"GET /api/v1/admin/subscriptions", "GET", "/api/v1/admin/subscriptions", "", only(200, "admin")},
		{"POST /api/v1/admin/subscriptions", "POST", "/api/v1/admin/subscriptions",
			`{"name":"route-test","recipients":["cse@example.fr"],"schedule":"0 7 * * 1","range":"week"}`, only(200, "admin")},
		{"DELETE /api/v1/admin/subscriptions/{name}", "DELETE", "/api/v1/admin/subscriptions/route-test", "", only(204, "admin")},
		// Allowed roles reach the handler, which knows no such subscription.
		{"POST /api/v1/admin/subscriptions/{name}/send", "POST", "/api/v1/admin/subscriptions/nobody/send", "", only(404, "engineer", "admin", "local")},
		{"GET /metrics", "GET", "/metrics", "", only(200, "engineer", "admin", "local")},
		{"/debug/pprof/", "GET", "/debug/pprof/", "", only(200, "engineer", "admin", "local")},
		{"/debug/pprof/profile", "GET", "/debug/pprof/profile?seconds=1", "", only(200, "engineer", "admin", "local")},
	}
	// The OIDC routes exist only with an issuer: internal/auth's test runs
	// them against a provider.
	tested := []string{"GET /auth/oidc/login", "GET /auth/oidc/callback"}
	for _, r := range routes {
		tested = append(tested, r.pattern)
	}
	if policy := slices.Sorted(maps.Keys(auth.Policy())); !slices.Equal(slices.Sorted(slices.Values(tested)), policy) {
		t.Fatalf("routes tested\n%v\nauth.Policy's routes\n%v", slices.Sorted(slices.Values(tested)), policy)
	}

	refused := map[string]float64{} // what vigie_auth_refused_total must count, by reason
	for _, r := range routes {
		for _, w := range who {
			switch want := r.want[w]; {
			case want == 401:
				refused["anonymous"]++
			case want == 403 && r.pattern == "POST /logout":
				refused["csrf"]++
			case want == 403 && r.pattern != "POST /login": // the login form answers itself
				refused["role"]++
			}
			name := w
			if name == "" {
				name = "nobody"
			}
			req, _ := http.NewRequest(r.method, a.URL()+r.path, strings.NewReader(r.body))
			if r.method == "POST" && r.pattern == "POST /login" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if w != "" {
				req.Header.Set("Authorization", "Bearer "+tokens[w])
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s as %s: %v", r.pattern, name, err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			want := r.want[w]
			if res.StatusCode != want {
				t.Errorf("%s %s as %s: %d, want %d: %.200s", r.method, r.path, name, res.StatusCode, want, body)
				continue
			}
			msg := string(body)
			wantSays := ""
			switch {
			case want == 401:
				wantSays = "authentication required: log in at /login"
			case want == 403 && r.pattern == "POST /login":
				wantSays = "form expired"
			case want == 403 && r.pattern == "POST /logout":
				wantSays = "missing or wrong CSRF token"
			case want == 403:
				wantSays = name + " (role " + strings.Join(roleNames(w), ", ") + ") may not use " + r.pattern + ": it needs the role "
			}
			if !strings.Contains(msg, wantSays) {
				t.Errorf("%s as %s: %d says %q, want it to say %q", r.pattern, name, want, msg, wantSays)
			}
			if r.pattern == "GET /api/v1/admin/config" && want == 200 && (!strings.Contains(msg, `"token_hashes":["(hidden)"]`) || strings.Contains(msg, "sha256:") || strings.Contains(msg, tokens["local"])) {
				t.Errorf("/api/v1/admin/config shows a token or its hash: %.300s", msg)
			}
			if r.pattern == "GET /api/v1/admin/users" && want == 200 && (!strings.Contains(msg, `"name":"collector","kind":"collector"`) || strings.Contains(msg, "sha256:")) {
				t.Errorf("/api/v1/admin/users: %.300s", msg)
			}
			if r.pattern == "GET /api/v1/me" && want == 200 {
				var me auth.Me
				if err := json.Unmarshal(body, &me); err != nil || me.Name != w || me.Open {
					t.Errorf("/api/v1/me as %s = %s, want name %s, not open", name, body, w)
				}
			}
		}
	}

	for reason, want := range refused {
		if got := counterValue(t, a, "vigie_auth_refused_total", reason); got != want {
			t.Errorf("vigie_auth_refused_total{reason=%q} = %v, want %v", reason, got, want)
		}
	}

	// Report downloads and SQL statements are logged with who asked;
	// no token ever is.
	logged, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	out := string(logged)
	for _, w := range viewers[:3] {
		if !strings.Contains(out, `msg=audit user.name=`+w+` user.roles=`+w+` user.via=token method=GET path=/api/v1/report query="format=json&`+day+`" status=200`) {
			t.Errorf("no audit line for %s's report download", w)
		}
	}
	if !strings.Contains(out, `msg="sql: query" user.name=engineer user.roles=engineer user.via=token rows=1`) {
		t.Errorf("the engineer's SQL statement is not logged with its user:\n%s", out)
	}
	for name, tok := range tokens {
		if strings.Contains(out, tok) {
			t.Errorf("the token of %s is in the log", name)
		}
	}
}

// roleNames are the roles of the test's identities (authtest.Configure).
func roleNames(who string) []string {
	switch who {
	case "local":
		return []string{"engineer", "collector"}
	case "":
		return nil
	}
	return []string{who}
}

// counterValue reads one labelled counter of a's registry.
func counterValue(t *testing.T, a *App, name, label string) float64 {
	t.Helper()
	mfs, err := a.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == label {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
