package auth

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/vigie-fr/vigie/internal/config"
)

// logFile is a log the server's goroutines write and the test reads.
type logFile struct{ path string }

func newLogFile(t *testing.T) (*slog.Logger, *logFile) {
	t.Helper()
	l := &logFile{path: filepath.Join(t.TempDir(), "log")}
	f, err := os.Create(l.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return slog.New(slog.NewTextHandler(f, nil)), l
}

func (l *logFile) String() string {
	b, _ := os.ReadFile(l.path)
	return string(b)
}

// server is a Guard in front of stand-ins for the product's routes: each
// answers its own name, and /api/v1/sql (a state-changing POST) echoes
// who asked.
type server struct {
	*httptest.Server
	logs *logFile
}

func newServer(t *testing.T, edit func(*Options)) *server {
	t.Helper()
	log, logs := newLogFile(t)
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	o := Options{Auth: config.Default().Auth, Ingest: config.Default().Ingest, Log: log}
	if edit != nil {
		edit(&o)
	}
	g, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	g.Routes(mux)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "dashboard") })
	mux.HandleFunc("/api/v1/sql", func(w http.ResponseWriter, r *http.Request) {
		id, _ := FromContext(r.Context())
		io.WriteString(w, "sql by "+id.Name)
	})
	mux.HandleFunc("GET /not-in-the-policy", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "secret") })
	h = g.Wrap(mux)
	return &server{Server: srv, logs: logs}
}

const (
	argonPassword  = "correct horse battery staple"
	bcryptPassword = "tr0ub4dor&3-but-longer"
)

func withUsers(t *testing.T) func(*Options) {
	argon, err := HashPassword(argonPassword)
	if err != nil {
		t.Fatal(err)
	}
	bc, err := bcrypt.GenerateFromPassword([]byte(bcryptPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return func(o *Options) {
		o.Auth.Users = []config.UserConfig{
			{Name: "eve", Roles: []string{"engineer"}, PasswordHash: argon},
			{Name: "ana", Roles: []string{"analyst"}, PasswordHash: string(bc), TokenHashes: []string{TokenHash("vigie_ana-token")}},
		}
	}
}

// browser is a client with cookies that does not follow redirects.
func browser(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// login fills the login form as a browser would; it returns the answer to the POST.
func login(t *testing.T, c *http.Client, base, user, password string, header http.Header) *http.Response {
	t.Helper()
	res, err := c.Get(base + "/login?next=/api/v1/me")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := csrfField.FindSubmatch(page)
	if res.StatusCode != 200 || m == nil {
		t.Fatalf("GET /login: %d, csrf field found %v", res.StatusCode, m != nil)
	}
	form := url.Values{"user": {user}, "password": {password}, "csrf": {string(m[1])}, "next": {"/api/v1/me"}}
	req, _ := http.NewRequest("POST", base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	res, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

func get(t *testing.T, c *http.Client, u string, header http.Header) (int, string) {
	t.Helper()
	return do(t, c, "GET", u, "", header)
}

// do sends one request with header and returns the status and the body.
func do(t *testing.T, c *http.Client, method, u, body string, header http.Header) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func me(t *testing.T, c *http.Client, base string) Me {
	t.Helper()
	code, body := get(t, c, base+"/api/v1/me", nil)
	var m Me
	if code != 200 || json.Unmarshal([]byte(body), &m) != nil {
		t.Fatalf("GET /api/v1/me: %d %s", code, body)
	}
	return m
}

func TestLoginFormOpensASessionWithSafeCookies(t *testing.T) {
	srv := newServer(t, withUsers(t))
	for _, tc := range []struct{ user, password string }{{"eve", argonPassword}, {"ana", bcryptPassword}} {
		c := browser(t)
		res := login(t, c, srv.URL, tc.user, tc.password, nil)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/api/v1/me" {
			t.Fatalf("%s: login answered %d to %q, want 303 to /api/v1/me", tc.user, res.StatusCode, res.Header.Get("Location"))
		}
		var session *http.Cookie
		for _, ck := range res.Cookies() {
			if ck.Name == SessionCookie {
				session = ck
			}
		}
		if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Secure || session.Path != "/" || len(session.Value) < 40 {
			t.Fatalf("%s: session cookie %+v, want HttpOnly, SameSite=Lax, not Secure over plain HTTP, Path=/, a long random value", tc.user, session)
		}
		if m := me(t, c, srv.URL); m.Name != tc.user || m.Via != ViaPassword || m.Open || m.CSRF == "" {
			t.Fatalf("%s: /api/v1/me = %+v", tc.user, m)
		}
	}
	// Behind a TLS proxy the operator trusts, the cookie is Secure; an
	// untrusted header changes nothing.
	for _, trust := range []bool{true, false} {
		srv := newServer(t, func(o *Options) { withUsers(t)(o); o.Auth.TrustForwardedProto = trust })
		res := login(t, browser(t), srv.URL, "eve", argonPassword, http.Header{"X-Forwarded-Proto": {"https"}})
		var secure bool
		for _, ck := range res.Cookies() {
			if ck.Name == SessionCookie {
				secure = ck.Secure
			}
		}
		if secure != trust {
			t.Errorf("trust_forwarded_proto %v: session cookie Secure = %v", trust, secure)
		}
	}
	if strings.Contains(srv.logs.String(), argonPassword) || !strings.Contains(srv.logs.String(), `msg="auth: session opened" user.name=eve user.roles=engineer user.via=password`) {
		t.Errorf("logs: a password is there, or the session is not:\n%s", srv.logs)
	}
}

func TestWrongPasswordsAndForgedFormsAreRefused(t *testing.T) {
	srv := newServer(t, withUsers(t))
	for _, tc := range []struct{ user, password string }{{"eve", "wrong password!"}, {"nobody", argonPassword}, {"eve", ""}} {
		res := login(t, browser(t), srv.URL, tc.user, tc.password, nil)
		if res.StatusCode != http.StatusUnauthorized || len(res.Cookies()) != 1 || res.Cookies()[0].Name != loginCSRF {
			t.Errorf("%s/%q: %d with cookies %v, want 401 and only a new login form's cookie", tc.user, tc.password, res.StatusCode, res.Cookies())
		}
	}
	// A form posted without the page's cookie (from another site, or a
	// replayed one) opens nothing, even with the right password.
	form := url.Values{"user": {"eve"}, "password": {argonPassword}, "csrf": {"guessed"}}
	res, err := browser(t).PostForm(srv.URL+"/login", form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "form expired") {
		t.Fatalf("login without the form's cookie: %d %s", res.StatusCode, body)
	}
	if logs := srv.logs.String(); strings.Contains(logs, argonPassword) || strings.Contains(logs, "wrong password!") {
		t.Fatalf("a password is in the log:\n%s", logs)
	}
}

func TestSessionRequestsThatChangeStateNeedTheCSRFToken(t *testing.T) {
	srv := newServer(t, withUsers(t))
	c := browser(t)
	login(t, c, srv.URL, "eve", argonPassword, nil)
	csrf := me(t, c, srv.URL).CSRF
	post := func(header http.Header) (int, string) {
		return do(t, c, "POST", srv.URL+"/api/v1/sql", "SELECT 1", header)
	}
	for _, tc := range []struct {
		name   string
		header http.Header
		code   int
		says   string
	}{
		{"no token", nil, 403, "missing or wrong CSRF token"},
		{"a wrong token", http.Header{"X-Csrf-Token": {csrf + "x"}}, 403, "missing or wrong CSRF token"},
		{"the right token from another site", http.Header{"X-Csrf-Token": {csrf}, "Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}}, 403, "cross-origin"},
		{"the right token", http.Header{"X-Csrf-Token": {csrf}}, 200, "sql by eve"},
	} {
		if code, body := post(tc.header); code != tc.code || !strings.Contains(strings.ToLower(body), strings.ToLower(tc.says)) {
			t.Errorf("%s: %d %q, want %d saying %q", tc.name, code, body, tc.code, tc.says)
		}
	}
	// A bearer token needs none: browsers never send it on their own.
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/sql", nil)
	req.Header.Set("Authorization", "Bearer vigie_ana-token")
	if res, _ := http.DefaultClient.Do(req); res.StatusCode != 403 {
		t.Errorf("analyst's token on /api/v1/sql: %d, want 403 (role)", res.StatusCode)
	}

	// Logging out needs the token too, then the session is gone.
	res, _ := c.PostForm(srv.URL+"/logout", url.Values{"csrf": {"nope"}})
	if res.StatusCode != 403 {
		t.Fatalf("logout without the CSRF token: %d, want 403", res.StatusCode)
	}
	res, _ = c.PostForm(srv.URL+"/logout", url.Values{"csrf": {csrf}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d, want 303", res.StatusCode)
	}
	if code, _ := get(t, c, srv.URL+"/", nil); code != 401 {
		t.Fatalf("after logout: %d, want 401", code)
	}
}

func TestAnonymousBrowsersAreSentToTheLoginPage(t *testing.T) {
	srv := newServer(t, withUsers(t))
	c := browser(t)
	res, err := c.Do(func() *http.Request {
		r, _ := http.NewRequest("GET", srv.URL+"/?from=2021-04-06", nil)
		r.Header.Set("Accept", "text/html,application/xhtml+xml")
		return r
	}())
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?next=%2F%3Ffrom%3D2021-04-06" {
		t.Fatalf("GET / from a browser: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if code, body := get(t, c, srv.URL+"/api/v1/sql", nil); code != 401 || !strings.Contains(body, `{"error":"authentication required`) {
		t.Fatalf("API without credentials: %d %s, want 401 in JSON", code, body)
	}
	if code, body := get(t, c, srv.URL+"/", http.Header{"Authorization": {"Basic ZXZlOng="}}); code != 401 || !strings.Contains(body, `not "Bearer <token>"`) {
		t.Fatalf("basic auth: %d %s", code, body)
	}
	// Open routes ignore stale credentials: the login page still shows.
	if code, body := get(t, c, srv.URL+"/login", http.Header{"Authorization": {"Bearer revoked"}}); code != 200 || !strings.Contains(body, `name="password"`) {
		t.Fatalf("login page with a revoked token: %d", code)
	}
}

func TestARouteWithoutARuleIsClosedEvenInTheOpenMode(t *testing.T) {
	for _, open := range []bool{false, true} {
		srv := newServer(t, func(o *Options) { withUsers(t)(o); o.Open = open })
		code, body := get(t, browser(t), srv.URL+"/not-in-the-policy", http.Header{"Authorization": {"Bearer vigie_ana-token"}})
		if code != 403 || strings.Contains(body, "secret") {
			t.Errorf("open %v: %d %q, want 403", open, code, body)
		}
		if !strings.Contains(srv.logs.String(), `msg="auth: route without an access rule, refused" pattern="GET /not-in-the-policy"`) {
			t.Errorf("open %v: the wiring error is not logged", open)
		}
	}
}

func TestTheOpenModeServesEveryoneAndSaysSo(t *testing.T) {
	srv := newServer(t, func(o *Options) { o.Open = true })
	c := browser(t)
	if code, body := get(t, c, srv.URL+"/", nil); code != 200 || body != "dashboard" {
		t.Fatalf("GET /: %d %q", code, body)
	}
	if m := me(t, c, srv.URL); !m.Open || m.Name != "anonymous" || m.Via != ViaOpen || len(m.Roles) != len(AllRoles()) {
		t.Fatalf("/api/v1/me = %+v, want the open identity", m)
	}
	// A page of another site that rebinds its name to 127.0.0.1 reaches
	// the server under that name: refused, probes and login page aside.
	for _, host := range []string{"evil.example", "evil.example:8080", "127.0.0.1.nip.io"} {
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/me", nil)
		req.Host = host
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 403 || !strings.Contains(string(body), "answers only to localhost, 127.0.0.1 or [::1]") {
			t.Errorf("Host %s: %d %s, want 403", host, res.StatusCode, body)
		}
	}
	for _, host := range []string{"localhost", "LOCALHOST:8080", "127.0.0.2:1", "[::1]:8080"} {
		req, _ := http.NewRequest("GET", srv.URL+"/", nil)
		req.Host = host
		if res, err := c.Do(req); err != nil || res.StatusCode != 200 {
			t.Errorf("Host %s: %v %v, want 200", host, res.StatusCode, err)
		}
	}
	// Another site's page cannot post to it either (forged events, SQL).
	if code, body := do(t, c, "POST", srv.URL+"/api/v1/sql", "SELECT 1", http.Header{"Origin": {"https://evil.example"}}); code != 403 || !strings.Contains(strings.ToLower(body), "cross-origin") {
		t.Errorf("a cross-origin POST in the open mode: %d %s, want 403", code, body)
	}
	// A wrong token is still refused: the open mode is for nobody's
	// credentials, not for bad ones.
	if code, _ := get(t, c, srv.URL+"/", http.Header{"Authorization": {"Bearer wrong"}}); code != 401 {
		t.Fatalf("a wrong token in the open mode: %d, want 401", code)
	}
}

func TestRedirectsStayOnThisServer(t *testing.T) {
	for in, want := range map[string]string{
		"/api/v1/me": "/api/v1/me", "/?from=2021-04-06": "/?from=2021-04-06", "": "/",
		"//evil.example/": "/", `/\evil.example`: "/", "https://evil.example/": "/", "javascript:alert(1)": "/",
	} {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestScopeNamesTheFieldOutsideIt(t *testing.T) {
	s := scopeOf(config.CollectorConfig{Platforms: []string{"ent"}, Services: []string{"*"}, Regions: []string{"11", "32"}}, config.Default().Ingest)
	for _, tc := range []struct{ platform, service, region, field string }{
		{"ent", "anything", "11", ""}, {"ent", "x", "32", ""}, {"cned", "x", "11", "platform"}, {"ent", "x", "84", "region"},
	} {
		if field, _ := s.Refused(tc.platform, tc.service, tc.region); field != tc.field {
			t.Errorf("Refused(%s, %s, %s) = %q, want %q", tc.platform, tc.service, tc.region, field, tc.field)
		}
	}
	if s.RatePerSecond != 20 || s.Burst != 40 || s.Backfill {
		t.Errorf("scope %+v: want the ingest defaults 20/s, burst 40, no backfill", s)
	}
}

func TestPasswordHashesCheck(t *testing.T) {
	h, err := HashPassword(argonPassword)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") || !checkPassword(h, argonPassword) || checkPassword(h, argonPassword+" ") {
		t.Fatalf("argon2id hash %s does not check", h)
	}
	if _, err := HashPassword("short"); err == nil {
		t.Fatal("a 5-character password was hashed")
	}
	if checkPassword(dummyHash, "") || checkPassword("$argon2id$v=19$m=99999999,t=1,p=1$c2FsdA$aGFzaA", "x") {
		t.Fatal("the dummy hash or a 95 GiB one matched")
	}
	// The config's format check and the checker agree on what a hash is.
	c := config.Default()
	c.Auth.Users = []config.UserConfig{{Name: "x", Roles: []string{"analyst"}, PasswordHash: h}}
	if err := c.Validate(); err != nil {
		t.Fatalf("HashPassword's output does not validate: %v", err)
	}
}
