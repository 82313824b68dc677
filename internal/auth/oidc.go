package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/vigie-fr/vigie/internal/config"
)

// oidcLogin is the authorization-code flow with PKCE against the
// ministry's identity provider: /auth/oidc/login sends the browser there,
// /auth/oidc/callback checks the answer (state, then the ID token's
// signature, issuer, audience, expiry and nonce) and opens a session with
// the roles its groups map to.
type oidcLogin struct {
	cfg config.OIDCConfig
	g   *Guard

	mu       sync.Mutex
	provider *oidc.Provider // discovered at the first login, so that start-up does not depend on the provider
	secret   string
	pending  map[string]pendingLogin // state → what the callback checks
}

type pendingLogin struct {
	nonce, verifier, next string
	expires               time.Time
}

const (
	oidcStateCookie = "vigie_oidc_state"
	oidcMaxPending  = 10000
	oidcLoginTime   = 10 * time.Minute
)

func newOIDCLogin(cfg config.OIDCConfig, g *Guard) (*oidcLogin, error) {
	var secret string // a public client (PKCE only) has none
	if cfg.ClientSecretFile != "" {
		b, err := os.ReadFile(cfg.ClientSecretFile)
		if err != nil {
			return nil, fmt.Errorf("auth.oidc.client_secret_file: %w", err)
		}
		secret = strings.TrimSpace(string(b))
	}
	return &oidcLogin{cfg: cfg, g: g, secret: secret, pending: map[string]pendingLogin{}}, nil
}

func (o *oidcLogin) oauth(ctx context.Context) (*oauth2.Config, *oidc.IDTokenVerifier, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider == nil {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		p, err := oidc.NewProvider(ctx, o.cfg.Issuer)
		if err != nil {
			return nil, nil, fmt.Errorf("discover %s: %w", o.cfg.Issuer, err)
		}
		o.provider = p
	}
	oc := &oauth2.Config{ClientID: o.cfg.ClientID, ClientSecret: o.secret, Endpoint: o.provider.Endpoint(),
		RedirectURL: o.cfg.RedirectURL, Scopes: o.cfg.Scopes}
	return oc, o.provider.Verifier(&oidc.Config{ClientID: o.cfg.ClientID, Now: o.g.now}), nil
}

func (o *oidcLogin) start(w http.ResponseWriter, r *http.Request) {
	oc, _, err := o.oauth(r.Context())
	if err != nil {
		o.g.log.Error("auth: oidc provider unavailable", "issuer", o.cfg.Issuer, "err", err)
		http.Error(w, "the identity provider does not answer, retry later", http.StatusBadGateway)
		return
	}
	state, p := randomString(24), pendingLogin{nonce: randomString(24), verifier: oauth2.GenerateVerifier(),
		next: localPath(r.URL.Query().Get("next")), expires: o.g.now().Add(oidcLoginTime)}
	o.mu.Lock()
	now := o.g.now()
	for k, v := range o.pending {
		if now.After(v.expires) {
			delete(o.pending, k)
		}
	}
	if len(o.pending) >= oidcMaxPending {
		o.mu.Unlock()
		w.Header().Set("Retry-After", "10")
		http.Error(w, "too many logins in progress, retry in a moment", http.StatusServiceUnavailable)
		return
	}
	o.pending[state] = p
	o.mu.Unlock()
	// The state also goes in a cookie: the callback must come back to the
	// browser that started the login (login CSRF).
	o.g.setCookie(w, r, oidcStateCookie, state, "/auth/oidc/", oidcLoginTime)
	http.Redirect(w, r, oc.AuthCodeURL(state, oidc.Nonce(p.nonce), oauth2.S256ChallengeOption(p.verifier)), http.StatusFound)
}

func (o *oidcLogin) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	fail := func(status int, reason, msg string) {
		o.g.log.Warn("auth: oidc login refused", "reason", reason, "remote", r.RemoteAddr)
		o.g.m.logins.WithLabelValues(ViaOIDC, "refused").Inc()
		http.Error(w, msg, status)
	}
	if e := q.Get("error"); e != "" {
		fail(http.StatusUnauthorized, "provider error "+quoteShort(e), "the identity provider refused the login: "+quoteShort(e))
		return
	}
	state := q.Get("state")
	c, err := r.Cookie(oidcStateCookie)
	if state == "" || err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(state)) != 1 {
		fail(http.StatusForbidden, "state", "this login was not started in this browser: start again at /login")
		return
	}
	o.mu.Lock()
	p, found := o.pending[state]
	delete(o.pending, state) // one use
	o.mu.Unlock()
	if !found || o.g.now().After(p.expires) {
		fail(http.StatusForbidden, "state expired", "this login has expired: start again at /login")
		return
	}
	o.g.setCookie(w, r, oidcStateCookie, "", "/auth/oidc/", -1)
	oc, verifier, err := o.oauth(r.Context())
	if err != nil {
		fail(http.StatusBadGateway, "provider unavailable", "the identity provider does not answer, retry later")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	tok, err := oc.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(p.verifier))
	if err != nil {
		o.g.log.Warn("auth: oidc code exchange failed", "err", err)
		fail(http.StatusUnauthorized, "code exchange", "the identity provider did not accept the login code: start again at /login")
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		fail(http.StatusUnauthorized, "no id_token", "the identity provider sent no ID token")
		return
	}
	idt, err := verifier.Verify(ctx, raw)
	if err != nil {
		o.g.log.Warn("auth: oidc id token refused", "err", err)
		fail(http.StatusUnauthorized, "id token", "the ID token is not valid")
		return
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(p.nonce)) != 1 {
		fail(http.StatusUnauthorized, "nonce", "the ID token does not belong to this login")
		return
	}
	id, err := o.identity(idt)
	if err != nil {
		fail(http.StatusForbidden, err.Error(), "you are known to the identity provider but "+err.Error())
		return
	}
	o.g.startSession(w, r, id)
	http.Redirect(w, r, p.next, http.StatusSeeOther)
}

// identity maps the token's claims to a Vigie identity: the name from
// name_claim, the roles of every configured group the roles claim lists.
func (o *oidcLogin) identity(idt *oidc.IDToken) (Identity, error) {
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, errors.New("the ID token's claims are unreadable")
	}
	name, _ := claims[o.cfg.NameClaim].(string)
	if name == "" {
		return Identity{}, fmt.Errorf("the ID token has no %s claim", o.cfg.NameClaim)
	}
	var groups []string
	switch v := claims[o.cfg.RolesClaim].(type) {
	case string:
		groups = []string{v}
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				groups = append(groups, s)
			}
		}
	}
	var roles []Role
	for _, m := range o.cfg.Roles {
		if slices.Contains(groups, m.Group) {
			for _, r := range m.Roles {
				if !slices.Contains(roles, Role(r)) {
					roles = append(roles, Role(r))
				}
			}
		}
	}
	if len(roles) == 0 {
		return Identity{}, errors.New("none of your groups gives a Vigie role (ask an administrator)")
	}
	return Identity{Name: "oidc:" + name, Roles: roles, Via: ViaOIDC}, nil
}
