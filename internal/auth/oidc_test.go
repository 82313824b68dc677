package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/vigie-fr/vigie/internal/config"
)

// provider is a small OpenID Connect provider on loopback: discovery, JWKS,
// an authorization endpoint that logs in whoever the test says is at the
// keyboard, and a token endpoint that checks the code, the client secret
// and the PKCE verifier before it signs a real RS256 ID token. misbehave
// lets a test make it lie the way an attacker in its place would.
type provider struct {
	*httptest.Server
	key, otherKey *rsa.PrivateKey

	mu        sync.Mutex
	user      map[string]any               // claims of who logs in next
	codes     map[string]map[string]string // code → nonce, challenge, redirect_uri
	misbehave string                       // "", "other-key", "other-nonce", "other-audience", "expired"
}

const (
	clientID     = "vigie-test"
	clientSecret = "client-secret-of-the-test-provider"
)

func newProvider(t *testing.T) *provider {
	t.Helper()
	p := &provider{codes: map[string]map[string]string{}}
	var err error
	if p.key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if p.otherKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	p.Server = httptest.NewServer(mux)
	t.Cleanup(p.Close)
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": p.URL, "authorization_endpoint": p.URL + "/authorize", "token_endpoint": p.URL + "/token",
			"jwks_uri": p.URL + "/jwks", "response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"}, "code_challenge_methods_supported": []string{"S256"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &p.key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("client_id") != clientID || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" {
			http.Error(w, "bad authorization request: "+r.URL.RawQuery, http.StatusBadRequest)
			return
		}
		code := randomString(16)
		p.mu.Lock()
		p.codes[code] = map[string]string{"nonce": q.Get("nonce"), "challenge": q.Get("code_challenge"), "redirect_uri": q.Get("redirect_uri")}
		p.mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?"+url.Values{"code": {code}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		id, secret, ok := r.BasicAuth()
		if !ok {
			id, secret = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
		}
		p.mu.Lock()
		c, found := p.codes[r.PostFormValue("code")]
		delete(p.codes, r.PostFormValue("code"))
		claims, misbehave := p.user, p.misbehave
		p.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
		switch {
		case id != clientID || secret != clientSecret:
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		case !found || c["redirect_uri"] != r.PostFormValue("redirect_uri") || base64.RawURLEncoding.EncodeToString(sum[:]) != c["challenge"]:
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		key, aud, nonce, exp := p.key, clientID, c["nonce"], time.Now().Add(time.Hour)
		switch misbehave {
		case "other-key":
			key = p.otherKey
		case "other-audience":
			aud = "another-client"
		case "other-nonce":
			nonce = "a-nonce-of-another-login"
		case "expired":
			exp = time.Now().Add(-time.Hour)
		}
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", "k1"))
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		all := map[string]any{"iss": p.URL, "aud": aud, "exp": exp.Unix(), "iat": time.Now().Unix(), "nonce": nonce}
		for k, v := range claims {
			all[k] = v
		}
		idToken, err := jwt.Signed(signer).Claims(all).Serialize()
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": randomString(16), "token_type": "Bearer", "expires_in": 3600, "id_token": idToken})
	})
	return p
}

func (p *provider) set(claims map[string]any, misbehave string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.user, p.misbehave = claims, misbehave
}

func TestOIDCLoginAgainstARealProvider(t *testing.T) {
	p := newProvider(t)
	// The redirect URL must name the server, known once it listens: build
	// the Guard behind a handler that is set afterwards.
	var h http.Handler
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	defer app.Close()
	log, logs := newLogFile(t)
	secretFile := filepath.Join(t.TempDir(), "oidc-secret")
	os.WriteFile(secretFile, []byte(clientSecret+"\n"), 0o600)
	cfg := config.Default()
	cfg.Auth.OIDC = config.OIDCConfig{Issuer: p.URL, ClientID: clientID, ClientSecretFile: secretFile,
		RedirectURL: app.URL + "/auth/oidc/callback", Scopes: []string{"openid", "email"}, NameClaim: "email", RolesClaim: "groups",
		Roles: []config.OIDCRoleConfig{{Group: "vigie-analystes", Roles: []string{"analyst"}}, {Group: "vigie-exploitation", Roles: []string{"engineer", "admin"}}}}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the test's configuration: %v", err)
	}
	g, err := New(Options{Auth: cfg.Auth, Ingest: cfg.Ingest, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	g.Routes(mux)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "dashboard") })
	h = g.Wrap(mux)

	// loginAs runs the whole dance in a browser with cookies: /auth/oidc/login →
	// the provider → the callback → the page asked for.
	loginAs := func(claims map[string]any, misbehave string) (*http.Client, int, string) {
		p.set(claims, misbehave)
		c := browser(t)
		c.CheckRedirect = nil // follow, as a browser does
		res, err := c.Get(app.URL + "/auth/oidc/login?next=/api/v1/me")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return c, res.StatusCode, string(b)
	}

	c, code, body := loginAs(map[string]any{"sub": "u-1", "email": "camille@ac-lille.fr", "groups": []string{"vigie-exploitation", "other"}}, "")
	var m Me
	if code != 200 || json.Unmarshal([]byte(body), &m) != nil || m.Name != "oidc:camille@ac-lille.fr" || m.Via != ViaOIDC ||
		len(m.Roles) != 2 || m.Roles[0] != Engineer || m.Roles[1] != Admin || m.CSRF == "" {
		t.Fatalf("after the OIDC login: %d %s, want /api/v1/me of oidc:camille@ac-lille.fr, engineer and admin", code, body)
	}
	if code, body := get(t, c, app.URL+"/", nil); code != 200 || body != "dashboard" {
		t.Fatalf("dashboard as the OIDC engineer: %d %s", code, body)
	}

	for _, tc := range []struct {
		name      string
		claims    map[string]any
		misbehave string
		code      int
		says      string
	}{
		{"a user in no mapped group", map[string]any{"sub": "u-2", "email": "dominique@ac-lille.fr", "groups": []string{"teachers"}}, "", 403, "none of your groups gives a Vigie role"},
		{"a token signed by another key", map[string]any{"sub": "u-1", "email": "camille@ac-lille.fr", "groups": "vigie-analystes"}, "other-key", 401, "the ID token is not valid"},
		{"a token for another client", map[string]any{"sub": "u-1", "email": "camille@ac-lille.fr", "groups": "vigie-analystes"}, "other-audience", 401, "the ID token is not valid"},
		{"an expired token", map[string]any{"sub": "u-1", "email": "camille@ac-lille.fr", "groups": "vigie-analystes"}, "expired", 401, "the ID token is not valid"},
		{"a token of another login (nonce)", map[string]any{"sub": "u-1", "email": "camille@ac-lille.fr", "groups": "vigie-analystes"}, "other-nonce", 401, "does not belong to this login"},
		{"a token without the name claim", map[string]any{"sub": "u-3", "groups": "vigie-analystes"}, "", 403, "the ID token has no email claim"},
	} {
		c, code, body := loginAs(tc.claims, tc.misbehave)
		if code != tc.code || !strings.Contains(body, tc.says) {
			t.Errorf("%s: %d %q, want %d saying %q", tc.name, code, body, tc.code, tc.says)
		}
		if code, _ := get(t, c, app.URL+"/api/v1/me", nil); code != 401 {
			t.Errorf("%s: a session was opened (/api/v1/me %d)", tc.name, code)
		}
	}

	// A callback this browser did not start (login CSRF, a link sent by an
	// attacker with their own code) is refused, and so is a replay.
	c = browser(t)
	if code, body := get(t, c, app.URL+"/auth/oidc/callback?code=x&state=y", nil); code != 403 || !strings.Contains(body, "not started in this browser") {
		t.Fatalf("a foreign callback: %d %s", code, body)
	}
	res, err := c.Get(app.URL + "/auth/oidc/login")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	p.set(map[string]any{"sub": "u-1", "email": "camille@ac-lille.fr", "groups": "vigie-analystes"}, "")
	res, err = http.Get(res.Header.Get("Location")) // the provider's answer, without following it
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	callback := res.Request.URL.String() // the client followed to the callback without cookies: refused
	if res.StatusCode != 403 {
		t.Fatalf("the callback in a browser without the state cookie: %d, want 403", res.StatusCode)
	}
	if code, _ := get(t, c, callback, nil); code != http.StatusSeeOther {
		t.Fatalf("the callback in the browser that started it: %d, want 303", code)
	}
	if code, body := get(t, c, callback, nil); code != 403 {
		t.Fatalf("the same callback again: %d %s, want 403", code, body)
	}
	// Even with the state cookie put back, a state serves once.
	cu, _ := url.Parse(callback)
	c.Jar.SetCookies(cu, []*http.Cookie{{Name: oidcStateCookie, Value: cu.Query().Get("state"), Path: "/auth/oidc/"}})
	if code, body := get(t, c, callback, nil); code != 403 || !strings.Contains(body, "this login has expired") {
		t.Fatalf("the same callback with its cookie: %d %s, want 403", code, body)
	}
	if logs := logs.String(); strings.Contains(logs, clientSecret) || !strings.Contains(logs, `msg="auth: session opened" user.name=oidc:camille@ac-lille.fr user.roles=engineer,admin user.via=oidc`) {
		t.Fatalf("logs: the client secret is there, or the session is not:\n%s", logs)
	}
}
