package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/vigie-fr/vigie/internal/config"
)

// Options configure a Guard. Auth and Ingest come from a configuration that
// passed config.Validate.
type Options struct {
	Auth   config.AuthConfig
	Ingest config.IngestConfig
	// Open serves everyone as an unauthenticated identity with every role:
	// the demo, and a loopback server with nobody configured. The caller
	// has checked the address is loopback.
	Open bool
	// LocalToken is the data dir's token (<data_dir>/sql.token or
	// http.sql_token): whoever can read it can read the warehouse's files
	// anyway, so it is an engineer and an unscoped collector ("local").
	LocalToken string
	Log        *slog.Logger
	Now        func() time.Time // nil: time.Now
	// Registerer receives the Guard's metrics; nil registers them nowhere.
	Registerer prometheus.Registerer
}

// Guard authenticates requests and applies Policy in front of a ServeMux.
type Guard struct {
	open       bool
	trustProto bool
	tokens     map[[sha256.Size]byte]Identity
	users      map[string]user
	sessions   *sessions
	oidc       *oidcLogin
	policy     map[string]Rule
	// logins bounds password checks (each costs ~20 MiB and tens of ms):
	// guessing is slowed, and a flood cannot take the machine's memory.
	logins  *rate.Limiter
	log     *slog.Logger
	now     func() time.Time
	listing []Listed
	m       *metrics
}

type user struct {
	hash string
	id   Identity
}

// Listed is one configured identity as GET /api/v1/admin/users shows it:
// never a hash.
type Listed struct {
	Name       string   `json:"name"`
	Kind       string   `json:"kind"` // user or collector
	Roles      []Role   `json:"roles"`
	Password   bool     `json:"password"`
	Tokens     int      `json:"tokens"`
	Scope      *Scope   `json:"scope,omitempty"`
	OIDCGroups []string `json:"oidc_groups,omitempty"`
}

// New builds the Guard; it does no I/O (the OIDC provider is discovered at
// the first login).
func New(o Options) (*Guard, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	g := &Guard{m: m,
		open: o.Open, trustProto: o.Auth.TrustForwardedProto,
		tokens: map[[sha256.Size]byte]Identity{}, users: map[string]user{},
		sessions: newSessions(o.Auth.SessionTTL, o.Now), policy: Policy(),
		logins: rate.NewLimiter(5, 10), log: o.Log, now: o.Now,
	}
	addToken := func(hash string, id Identity) {
		var sum [sha256.Size]byte
		if n, err := hex.Decode(sum[:], []byte(strings.TrimPrefix(hash, "sha256:"))); err == nil && n == len(sum) {
			g.tokens[sum] = id
		}
	}
	for _, u := range o.Auth.Users {
		roles := make([]Role, len(u.Roles))
		for i, r := range u.Roles {
			roles[i] = Role(r)
		}
		id := Identity{Name: u.Name, Roles: roles, Via: ViaToken, Lang: u.Lang}
		for _, h := range u.TokenHashes {
			addToken(h, id)
		}
		if u.PasswordHash != "" {
			id.Via = ViaPassword
			g.users[u.Name] = user{hash: u.PasswordHash, id: id}
		}
		g.listing = append(g.listing, Listed{Name: u.Name, Kind: "user", Roles: roles, Password: u.PasswordHash != "", Tokens: len(u.TokenHashes)})
	}
	for _, c := range o.Ingest.Collectors {
		id := Identity{Name: c.Name, Roles: []Role{Collector}, Via: ViaToken, Scope: scopeOf(c, o.Ingest)}
		for _, h := range c.TokenHashes {
			addToken(h, id)
		}
		g.listing = append(g.listing, Listed{Name: c.Name, Kind: "collector", Roles: id.Roles, Tokens: len(c.TokenHashes), Scope: id.Scope})
	}
	if o.LocalToken != "" {
		g.tokens[sha256.Sum256([]byte(o.LocalToken))] = Identity{Name: "local", Roles: []Role{Engineer, Collector}, Via: ViaLocal, Scope: unlimited()}
	}
	if o.Auth.OIDC.Enabled() {
		oc, err := newOIDCLogin(o.Auth.OIDC, g)
		if err != nil {
			return nil, err
		}
		g.oidc = oc
		for _, r := range o.Auth.OIDC.Roles {
			g.listing = append(g.listing, Listed{Name: "oidc:" + r.Group, Kind: "oidc group", Roles: toRoles(r.Roles), OIDCGroups: []string{r.Group}})
		}
	}
	return g, nil
}

func toRoles(rs []string) []Role {
	out := make([]Role, len(rs))
	for i, r := range rs {
		out[i] = Role(r)
	}
	return out
}

// openIdentity is everyone in the open mode.
func openIdentity() Identity {
	return Identity{Name: "anonymous", Roles: AllRoles(), Via: ViaOpen, Scope: unlimited()}
}

// Open reports whether the Guard lets everyone in.
func (g *Guard) Open() bool { return g.open }

// Wrap returns mux behind the Guard: every request is authenticated, then
// allowed only by the rule of the route mux would serve it with, and
// protected against cross-origin form posts. The identity is in the
// request's context.
func (g *Guard) Wrap(mux *http.ServeMux) http.Handler {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pattern := mux.Handler(r)
		if pattern == "" {
			mux.ServeHTTP(w, r) // 404, 405 or a redirect to the canonical path
			return
		}
		rule, known := g.policy[pattern]
		id, authed, err := g.authenticate(r)
		switch {
		case err == nil, known && rule.Open: // probes and the login page ignore stale credentials
		case errors.Is(err, errForeignHost):
			g.refuse(w, r, http.StatusForbidden, "host", err.Error(), nil)
			return
		default:
			g.refuse(w, r, http.StatusUnauthorized, "bad_credentials", err.Error(), nil)
			return
		}
		if authed {
			r = r.WithContext(NewContext(r.Context(), id))
		}
		switch {
		case !known:
			g.log.Error("auth: route without an access rule, refused", "pattern", pattern)
			g.refuse(w, r, http.StatusForbidden, "no_rule", "this route has no access rule: nobody may use it", &id)
			return
		case rule.Open:
			mux.ServeHTTP(w, r)
			return
		case !authed:
			if r.Method == http.MethodGet && !apiPath(r.URL.Path) && strings.Contains(r.Header.Get("Accept"), "text/html") {
				http.Redirect(w, r, "/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			g.refuse(w, r, http.StatusUnauthorized, "anonymous", "authentication required: log in at /login, or send \"Authorization: Bearer <token>\"", nil)
			return
		case len(rule.Roles) > 0 && !slices.ContainsFunc(rule.Roles, id.Has):
			g.refuse(w, r, http.StatusForbidden, "role", fmt.Sprintf("%s may not use %s: it needs the role %s", describe(id), pattern, joinRoles(rule.Roles, " or ")), &id)
			return
		}
		if id.Via == ViaPassword || id.Via == ViaOIDC {
			if !safeMethod(r.Method) && !g.sessions.csrfOK(r) {
				g.refuse(w, r, http.StatusForbidden, "csrf", "missing or wrong CSRF token (X-CSRF-Token header or csrf form field, from GET /api/v1/me)", &id)
				return
			}
		}
		if rule.Audit {
			rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
			mux.ServeHTTP(rec, r)
			g.log.Info("audit", id.LogAttrs(), "method", r.Method, "path", r.URL.Path, "query", r.URL.RawQuery, "status", rec.status, "remote", r.RemoteAddr)
			return
		}
		mux.ServeHTTP(w, r)
	})
	// Refuses non-safe cross-origin browser requests (Sec-Fetch-Site,
	// Origin), whatever the route: the first line against CSRF, the
	// session's token the second.
	return http.NewCrossOriginProtection().Handler(h)
}

// authenticate finds who sends r: a bearer token (a wrong one is an error,
// never a fall back to the session), else a session cookie, else the open
// identity, else nobody.
func (g *Guard) authenticate(r *http.Request) (Identity, bool, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		tok = strings.TrimSpace(tok)
		if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
			return Identity{}, false, errors.New(`the Authorization header is not "Bearer <token>"`)
		}
		id, found := g.tokens[sha256.Sum256([]byte(tok))]
		if !found {
			return Identity{}, false, errors.New("unknown or revoked token")
		}
		return id, true, nil
	}
	if s := g.sessions.get(r); s != nil {
		return s.id, true, nil
	}
	if g.open {
		// A page of another site can make a browser reach a loopback server
		// under its own name (DNS rebinding): the open mode answers only
		// requests addressed to a loopback name.
		if !loopbackHost(r.Host) {
			return Identity{}, false, fmt.Errorf("%w; Host %s is not one", errForeignHost, quoteShort(r.Host))
		}
		return openIdentity(), true, nil
	}
	return Identity{}, false, nil
}

var errForeignHost = errors.New("this server runs without authentication and answers only to localhost, 127.0.0.1 or [::1]")

// loopbackHost reports whether a Host header names this machine's loopback.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// refuse answers 401 or 403 with a plain message (JSON under /api/ and
// /v1/, where clients read JSON), counts it by reason (a metric label) and
// logs it without any credential.
func (g *Guard) refuse(w http.ResponseWriter, r *http.Request, status int, reason, msg string, id *Identity) {
	g.m.refused.WithLabelValues(reason).Inc()
	attrs := []any{"status", status, "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "reason", msg}
	if id != nil && id.Name != "" {
		attrs = append(attrs, id.LogAttrs())
	}
	g.log.Warn("auth: request refused", attrs...)
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="vigie"`)
	}
	w.Header().Set("Cache-Control", "no-store")
	if apiPath(r.URL.Path) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
		return
	}
	http.Error(w, msg, status)
}

func apiPath(p string) bool { return strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/v1/") }

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func describe(id Identity) string {
	return fmt.Sprintf("%s (role %s)", id.Name, joinRoles(id.Roles, ", "))
}

func joinRoles(rs []Role, sep string) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, sep)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection (deadlines, flush).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
