package config

import (
	"github.com/vigie-fr/vigie/internal/i18n"

	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// AuthConfig is who may use the HTTP server: users with their roles and
// credentials, browser sessions, and an optional OpenID Connect login.
// With no user, no collector and no OIDC issuer the server runs open,
// which Validate allows only on a loopback address.
type AuthConfig struct {
	Users      []UserConfig  `mapstructure:"users"`
	SessionTTL time.Duration `mapstructure:"session_ttl"`
	// TrustForwardedProto believes X-Forwarded-Proto: https from the
	// reverse proxy in front (cookies are then marked Secure).
	TrustForwardedProto bool       `mapstructure:"trust_forwarded_proto"`
	OIDC                OIDCConfig `mapstructure:"oidc"`
}

// UserConfig is one person or script: its roles and hashed credentials.
type UserConfig struct {
	Name  string   `mapstructure:"name"`
	Roles []string `mapstructure:"roles"`
	// PasswordHash is an argon2id ($argon2id$…) or bcrypt ($2a$/$2b$/$2y$…) hash.
	PasswordHash string `mapstructure:"password_hash"`
	// TokenHashes are "sha256:<64 hex>" of the user's API tokens.
	TokenHashes []string `mapstructure:"token_hashes"`
	// Lang is the language the user reads reports in ("fr" or "en");
	// empty: French, or what a request asks for.
	Lang string `mapstructure:"lang"`
}

// OIDCConfig is the optional single sign-on of a ministry's identity provider.
type OIDCConfig struct {
	Issuer   string `mapstructure:"issuer"`
	ClientID string `mapstructure:"client_id"`
	// ClientSecretFile holds the client secret: a file (mode 0600, or a
	// mounted secret), never the configuration nor the environment, which
	// the process's own /proc would show.
	ClientSecretFile string   `mapstructure:"client_secret_file"`
	RedirectURL      string   `mapstructure:"redirect_url"`
	Scopes           []string `mapstructure:"scopes"`
	NameClaim        string   `mapstructure:"name_claim"`
	RolesClaim       string   `mapstructure:"roles_claim"`
	// Roles maps a value of RolesClaim (a group) to Vigie roles.
	Roles []OIDCRoleConfig `mapstructure:"roles"`
}

// OIDCRoleConfig gives Vigie roles to the members of one group of the provider.
type OIDCRoleConfig struct {
	Group string   `mapstructure:"group"`
	Roles []string `mapstructure:"roles"`
}

// Enabled reports whether OIDC login is configured.
func (o OIDCConfig) Enabled() bool { return o.Issuer != "" }

// UserRoles are the roles a user or an OIDC group may hold; collector is
// given to ingest.collectors only, with a scope.
var UserRoles = []string{"analyst", "union", "engineer", "admin"}

// Open reports whether the server runs without authentication: nobody is
// configured at all.
func (c *Config) Open() bool {
	return len(c.Auth.Users) == 0 && len(c.Ingest.Collectors) == 0 && !c.Auth.OIDC.Enabled()
}

// IsLoopback reports whether host:port listens on loopback only.
func IsLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

var (
	nameRE      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$`)
	tokenHashRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	bcryptRE    = regexp.MustCompile(`^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$`)
	argon2RE    = regexp.MustCompile(`^\$argon2id\$v=19\$m=[0-9]+,t=[0-9]+,p=[0-9]+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$`)
)

const (
	nameRule      = "is not a name (1 to 64 of letters, digits and . _ @ + -, starting with a letter or digit)"
	tokenHashRule = `is not "sha256:" and 64 lowercase hex digits (vigie auth token prints one)`
	passwordRule  = "is not an argon2id ($argon2id$v=19$…) or bcrypt ($2b$…) hash (vigie auth hash-password prints one)"
)

// validateAuth checks auth.* and the identities of ingest.collectors: names
// unique over both lists, token hashes unique, and the open mode on
// loopback only.
func (c *Config) validateAuth(bad func(key string, val any, rule string)) {
	a := c.Auth
	names := map[string]string{}  // identity name → key that named it first
	hashes := map[string]string{} // token hash → key
	name := func(key, n string) {
		if !nameRE.MatchString(n) {
			bad(key, quote(n), nameRule)
		} else if prev, dup := names[n]; dup {
			bad(key, quote(n), "is already the name of "+prev+", names must be unique")
		} else {
			names[n] = key
		}
	}
	tokens := func(key string, hs []string) {
		for i, h := range hs {
			k := fmt.Sprintf("%s[%d]", key, i)
			if !tokenHashRE.MatchString(h) {
				bad(k, quote(h), tokenHashRule)
			} else if prev, dup := hashes[h]; dup {
				bad(k, "(hidden)", "is the same token as "+prev+", give each identity its own tokens")
			} else {
				hashes[h] = k
			}
		}
	}
	for i, u := range a.Users {
		key := fmt.Sprintf("auth.users[%d]", i)
		name(key+".name", u.Name)
		roles(bad, key+".roles", u.Roles, "a user with no role can do nothing")
		if u.PasswordHash == "" && len(u.TokenHashes) == 0 {
			bad(key, quote(u.Name), "has neither password_hash nor token_hashes, so can never log in")
		}
		if u.PasswordHash != "" && !bcryptRE.MatchString(u.PasswordHash) && !argon2RE.MatchString(u.PasswordHash) {
			bad(key+".password_hash", "(hidden)", passwordRule)
		}
		tokens(key+".token_hashes", u.TokenHashes)
		if u.Lang != "" {
			if _, err := i18n.Parse(u.Lang); err != nil {
				bad(key+".lang", quote(u.Lang), "is not a language Vigie speaks (fr, en)")
			}
		}
	}
	for i, col := range c.Ingest.Collectors {
		key := fmt.Sprintf("ingest.collectors[%d]", i)
		name(key+".name", col.Name)
		if len(col.TokenHashes) == 0 {
			bad(key+".token_hashes", "[]", "is empty, a collector authenticates with a token only")
		}
		tokens(key+".token_hashes", col.TokenHashes)
	}
	if a.SessionTTL < time.Minute || a.SessionTTL > 30*24*time.Hour {
		bad("auth.session_ttl", a.SessionTTL, "is not allowed, use 1m to 720h")
	}
	o := a.OIDC
	if o.Enabled() {
		if u, err := url.Parse(o.Issuer); err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && IsLoopback(hostWithPort(u)))) {
			bad("auth.oidc.issuer", quote(o.Issuer), "is not an https:// URL (http:// is allowed on loopback only, for tests)")
		}
		if o.ClientID == "" {
			bad("auth.oidc.client_id", `""`, "is empty, give the client id registered at the provider")
		}
		if u, err := url.Parse(o.RedirectURL); err != nil || u.Host == "" || !strings.HasSuffix(u.Path, "/auth/oidc/callback") || (u.Scheme != "https" && u.Scheme != "http") {
			bad("auth.oidc.redirect_url", quote(o.RedirectURL), "is not http(s)://<this server>/auth/oidc/callback")
		}
		if !slices.Contains(o.Scopes, "openid") {
			bad("auth.oidc.scopes", o.Scopes, `must include "openid"`)
		}
		if o.NameClaim == "" {
			bad("auth.oidc.name_claim", `""`, "is empty, name the claim that names the user (email, preferred_username or sub)")
		}
		if o.RolesClaim == "" {
			bad("auth.oidc.roles_claim", `""`, "is empty, name the claim that lists the user's groups")
		}
		if len(o.Roles) == 0 {
			bad("auth.oidc.roles", "[]", "is empty, map at least one group to Vigie roles or nobody can log in")
		}
		for i, r := range o.Roles {
			key := fmt.Sprintf("auth.oidc.roles[%d]", i)
			if r.Group == "" {
				bad(key+".group", `""`, "is empty, give the group's value in "+o.RolesClaim)
			}
			roles(bad, key+".roles", r.Roles, "the group would give nothing")
		}
	}
	if c.Open() && hostPort(c.HTTP.Listen, 0) && !IsLoopback(c.HTTP.Listen) {
		// Nobody configured means nobody is asked who they are: only the
		// machine's own users may reach such a server.
		bad("auth.users", "[]", fmt.Sprintf("is empty (and so are ingest.collectors and auth.oidc.issuer), but http.listen %q is not a loopback address: "+
			"configure users and collectors (docs/access.md), or listen on 127.0.0.1", c.HTTP.Listen))
	}
}

func roles(bad func(string, any, string), key string, rs []string, empty string) {
	if len(rs) == 0 {
		bad(key, "[]", "is empty: "+empty)
	}
	for j, r := range rs {
		if r == "collector" {
			bad(fmt.Sprintf("%s[%d]", key, j), quote(r), "is given to ingest.collectors only (with a scope), not to users")
		} else if !oneOf(r, UserRoles...) {
			bad(fmt.Sprintf("%s[%d]", key, j), quote(r), "is not one of "+strings.Join(UserRoles, ", "))
		}
	}
}

func hostWithPort(u *url.URL) string {
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), "80")
	}
	return u.Host
}
