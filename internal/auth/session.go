package auth

import (
	"crypto/subtle"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Cookie names. The session cookie is HttpOnly and SameSite=Lax (Strict
// would drop it on the identity provider's redirect back), Secure when the
// request came over TLS or through a proxy that says so.
const (
	SessionCookie = "vigie_session"
	loginCSRF     = "vigie_login_csrf"
	// maxSessions bounds the store: beyond it the oldest-expiring go first.
	maxSessions = 100000
)

type session struct {
	key     string
	id      Identity
	csrf    string
	expires time.Time
}

// sessions live in the process: a restart logs everyone out, and replicas
// of vigie dashboards need sticky sessions (or scripts use tokens).
type sessions struct {
	mu  sync.Mutex
	m   map[string]*session
	ttl time.Duration
	now func() time.Time
}

func newSessions(ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{m: map[string]*session{}, ttl: ttl, now: now}
}

func (s *sessions) create(id Identity) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if len(s.m) >= maxSessions {
		var oldest *session
		for k, v := range s.m {
			if now.After(v.expires) {
				delete(s.m, k)
			} else if oldest == nil || v.expires.Before(oldest.expires) {
				oldest = v
			}
		}
		if len(s.m) >= maxSessions && oldest != nil {
			delete(s.m, oldest.key)
		}
	}
	ss := &session{key: randomString(32), id: id, csrf: randomString(32), expires: now.Add(s.ttl)}
	s.m[ss.key] = ss
	return ss
}

func (s *sessions) get(r *http.Request) *session {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.m[c.Value]
	if ss == nil {
		return nil
	}
	if s.now().After(ss.expires) {
		delete(s.m, ss.key)
		return nil
	}
	return ss
}

func (s *sessions) drop(r *http.Request) {
	if ss := s.get(r); ss != nil {
		s.mu.Lock()
		delete(s.m, ss.key)
		s.mu.Unlock()
	}
}

// csrfOK checks the session's CSRF token in the X-CSRF-Token header or the
// csrf form field.
func (s *sessions) csrfOK(r *http.Request) bool {
	ss := s.get(r)
	if ss == nil {
		return false
	}
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
		got = r.PostFormValue("csrf")
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(ss.csrf)) == 1
}

func (g *Guard) secure(r *http.Request) bool {
	return r.TLS != nil || (g.trustProto && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https"))
}

func (g *Guard) setCookie(w http.ResponseWriter, r *http.Request, name, value, path string, maxAge time.Duration) {
	c := &http.Cookie{Name: name, Value: value, Path: path, HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: g.secure(r), MaxAge: int(maxAge / time.Second)}
	if maxAge < 0 {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

// startSession opens a session for id and sends its cookie.
func (g *Guard) startSession(w http.ResponseWriter, r *http.Request, id Identity) {
	ss := g.sessions.create(id)
	g.m.logins.WithLabelValues(id.Via, "ok").Inc()
	g.setCookie(w, r, SessionCookie, ss.key, "/", g.sessions.ttl)
	g.log.Info("auth: session opened", id.LogAttrs(), "remote", r.RemoteAddr)
}

// Routes mounts the login page, logout, GET /api/v1/me, the admin listing
// and, when configured, the OIDC login on mux.
func (g *Guard) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /login", g.loginPage)
	mux.HandleFunc("POST /login", g.login)
	mux.HandleFunc("POST /logout", g.logout)
	mux.HandleFunc("GET /api/v1/me", g.me)
	mux.HandleFunc("GET /api/v1/admin/users", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]any{"open": g.open, "identities": g.listing})
	})
	if g.oidc != nil {
		mux.HandleFunc("GET /auth/oidc/login", g.oidc.start)
		mux.HandleFunc("GET /auth/oidc/callback", g.oidc.callback)
	}
}

// Me is the answer of GET /api/v1/me: who the page is showing, and the
// CSRF token its forms send.
type Me struct {
	Name  string `json:"name"`
	Roles []Role `json:"roles"`
	Via   string `json:"via"`
	// Open is true when the server runs without authentication.
	Open bool   `json:"open"`
	CSRF string `json:"csrf,omitempty"`
}

func (g *Guard) me(w http.ResponseWriter, r *http.Request) {
	id, _ := FromContext(r.Context())
	out := Me{Name: id.Name, Roles: id.Roles, Via: id.Via, Open: id.Via == ViaOpen}
	if ss := g.sessions.get(r); ss != nil && r.Header.Get("Authorization") == "" {
		out.CSRF = ss.csrf
	}
	writeJSON(w, out)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}

var loginTmpl = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="fr">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Vigie : connexion / log in</title><link rel="stylesheet" href="/static/style.css"></head>
<body><main class="login">
<h1>Vigie</h1>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="/login">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<input type="hidden" name="next" value="{{.Next}}">
<label>Utilisateur / user <input name="user" autocomplete="username" required></label>
<label>Mot de passe / password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Se connecter / log in</button>
</form>
{{if .OIDC}}<p><a href="/auth/oidc/login?next={{.Next}}">Se connecter avec le compte de l'académie / log in with single sign-on</a></p>{{end}}
</main></body></html>
`))

func (g *Guard) loginPage(w http.ResponseWriter, r *http.Request) {
	g.renderLogin(w, r, http.StatusOK, "")
}

func (g *Guard) renderLogin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	tok := randomString(24)
	g.setCookie(w, r, loginCSRF, tok, "/login", 30*time.Minute)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	_ = loginTmpl.Execute(w, map[string]any{"CSRF": tok, "Next": localPath(r.FormValue("next")), "Error": msg, "OIDC": g.oidc != nil})
}

func (g *Guard) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		g.renderLogin(w, r, http.StatusBadRequest, "Formulaire illisible / unreadable form")
		return
	}
	c, err := r.Cookie(loginCSRF)
	if err != nil || c.Value == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue("csrf"))) != 1 {
		g.log.Warn("auth: login refused", "reason", "csrf", "remote", r.RemoteAddr)
		g.renderLogin(w, r, http.StatusForbidden, "Formulaire expiré, recommencez / form expired, try again")
		return
	}
	if !g.logins.Allow() {
		w.Header().Set("Retry-After", "1")
		g.renderLogin(w, r, http.StatusTooManyRequests, "Trop de tentatives, réessayez dans un instant / too many attempts, retry in a moment")
		return
	}
	name, pw := r.PostFormValue("user"), r.PostFormValue("password")
	u, found := g.users[name]
	hash := u.hash
	if !found {
		hash = dummyHash // as slow as a wrong password: names cannot be probed
	}
	if ok := checkPassword(hash, pw); !ok || !found {
		g.log.Warn("auth: login refused", "reason", "wrong user or password", "user_known", found, "remote", r.RemoteAddr)
		g.m.logins.WithLabelValues(ViaPassword, "refused").Inc()
		g.renderLogin(w, r, http.StatusUnauthorized, "Utilisateur ou mot de passe inconnu / unknown user or password")
		return
	}
	g.setCookie(w, r, loginCSRF, "", "/login", -1)
	g.startSession(w, r, u.id)
	http.Redirect(w, r, localPath(r.PostFormValue("next")), http.StatusSeeOther)
}

func (g *Guard) logout(w http.ResponseWriter, r *http.Request) {
	if !g.sessions.csrfOK(r) {
		g.refuse(w, r, http.StatusForbidden, "csrf", "missing or wrong CSRF token", nil)
		return
	}
	if ss := g.sessions.get(r); ss != nil {
		g.log.Info("auth: session closed", ss.id.LogAttrs(), "remote", r.RemoteAddr)
	}
	g.sessions.drop(r)
	g.setCookie(w, r, SessionCookie, "", "/", -1)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// localPath keeps a redirect target on this server: a path, never
// "//host" or "/\host", which browsers treat as another site.
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	if u, err := url.Parse(next); err != nil || u.Host != "" || u.Scheme != "" {
		return "/"
	}
	return next
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
