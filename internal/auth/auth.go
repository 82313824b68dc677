// Package auth is who may do what on Vigie's HTTP server: it authenticates a
// request (a bearer token, a browser session opened by the login form or by
// OpenID Connect, or the open mode of a loopback server nobody configured),
// puts the Identity in the request context, and lets a request reach a route
// only when one of the identity's roles may use it (Policy). It also serves
// the login page, the session endpoints and the OIDC login.
//
// It does not decide what a collector's events may hold beyond handing the
// collector's Scope to the ingest API (ingest/httpapi checks each event
// against it), and it keeps no users of its own: they come from the
// validated configuration (auth.users, ingest.collectors).
package auth

import (
	"context"
	"log/slog"
	"slices"
	"strings"

	"github.com/vigie-fr/vigie/internal/config"
)

// Role is a set of rights (docs/access.md).
type Role string

// The roles. Analysts read dashboards, the JSON API and reports; unions
// read reports and aggregated views only (never raw events, pseudonyms or
// SQL); engineers read everything, run SQL and see the process's metrics;
// admins see users and configuration (and metrics); collectors send events.
const (
	Analyst   Role = "analyst"
	Union     Role = "union"
	Engineer  Role = "engineer"
	Admin     Role = "admin"
	Collector Role = "collector"
)

// AllRoles lists every role, in the order of the docs.
func AllRoles() []Role { return []Role{Analyst, Union, Engineer, Admin, Collector} }

// How an identity was established, as logged.
const (
	ViaToken    = "token"    // a user's or collector's API token
	ViaPassword = "password" // a session opened by the login form
	ViaOIDC     = "oidc"     // a session opened by the identity provider
	ViaLocal    = "local"    // the data dir's token (vigie query, vigie report on the server's machine)
	ViaOpen     = "open"     // nobody is configured: a loopback server without authentication
)

// Identity is who is making a request.
type Identity struct {
	Name  string
	Roles []Role
	Via   string
	// Lang is the user's preferred language (auth.users[].lang), "" when
	// none is set.
	Lang string
	// Scope is what a collector may send; nil for identities without the
	// collector role.
	Scope *Scope
}

// Has reports whether the identity holds role r.
func (id Identity) Has(r Role) bool { return slices.Contains(id.Roles, r) }

// LogAttrs are the identity's attributes for an audit line.
func (id Identity) LogAttrs() slog.Attr {
	rs := make([]string, len(id.Roles))
	for i, r := range id.Roles {
		rs[i] = string(r)
	}
	return slog.Group("user", "name", id.Name, "roles", strings.Join(rs, ","), "via", id.Via)
}

type ctxKey struct{}

// NewContext returns ctx carrying id (the Guard does it; tests of handlers
// behind it too).
func NewContext(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the identity the Guard put in ctx.
func FromContext(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(ctxKey{}).(Identity)
	return id, ok
}

// Scope is what one collector may send.
type Scope struct {
	// Platforms, Services and Regions list the allowed values; nil allows any.
	Platforms, Services, Regions []string
	// Backfill allows events older than ingest.max_past.
	Backfill bool
	// RatePerSecond and Burst bound the collector's requests; 0 is unlimited.
	RatePerSecond float64
	Burst         int
}

// unlimited is the scope of the open mode and of the local token: anything,
// any date, no rate limit.
func unlimited() *Scope { return &Scope{Backfill: true} }

// Refused returns the first event field outside the scope and why, or "" when
// the event is allowed.
func (s *Scope) Refused(platform, service, region string) (field, msg string) {
	for _, f := range []struct {
		name, val string
		allowed   []string
	}{{"platform", platform, s.Platforms}, {"service", service, s.Services}, {"region", region, s.Regions}} {
		if f.allowed != nil && !slices.Contains(f.allowed, f.val) {
			return f.name, "this collector's token may not send " + f.name + " " + quoteShort(f.val) +
				" (it may send " + strings.Join(quoteAll(f.allowed), ", ") + ")"
		}
	}
	return "", ""
}

func scopeOf(c config.CollectorConfig, ic config.IngestConfig) *Scope {
	list := func(vals []string) []string {
		if len(vals) == 1 && vals[0] == config.Any {
			return nil
		}
		return slices.Clone(vals)
	}
	rate, burst := c.Rate(ic)
	return &Scope{Platforms: list(c.Platforms), Services: list(c.Services), Regions: list(c.Regions),
		Backfill: c.Backfill, RatePerSecond: rate, Burst: burst}
}

func quoteShort(s string) string {
	if len(s) > 64 {
		s = strings.ToValidUTF8(s[:64], "") + "…"
	}
	return `"` + s + `"`
}

func quoteAll(vals []string) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = quoteShort(v)
	}
	return out
}
