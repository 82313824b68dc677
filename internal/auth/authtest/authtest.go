// Package authtest gives tests a configured server's identities: one user
// per role with an API token, and an unscoped collector with backfill, added
// to a config.Config before the server starts. It is for tests only: the
// tokens are fixed strings.
package authtest

import (
	"github.com/vigie-fr/vigie/internal/auth"
	"github.com/vigie-fr/vigie/internal/config"
)

// Tokens maps each identity Configure adds (its name, which is its role's
// name) to its bearer token.
type Tokens map[string]string

// Configure adds a user named after each of analyst, union, engineer and
// admin, holding that role alone, and a collector named "collector" that
// may send anything, history included, without a practical rate limit.
func Configure(cfg *config.Config) Tokens {
	tokens := Tokens{}
	for _, role := range config.UserRoles {
		tok := "vigie_test-token-of-the-" + role
		tokens[role] = tok
		cfg.Auth.Users = append(cfg.Auth.Users, config.UserConfig{Name: role, Roles: []string{role}, TokenHashes: []string{auth.TokenHash(tok)}})
	}
	tok := "vigie_test-token-of-the-collector"
	tokens[string(auth.Collector)] = tok
	cfg.Ingest.Collectors = append(cfg.Ingest.Collectors, config.CollectorConfig{
		Name: string(auth.Collector), TokenHashes: []string{auth.TokenHash(tok)},
		Platforms: []string{config.Any}, Services: []string{config.Any}, Regions: []string{config.Any},
		Backfill: true, RatePerSecond: 1e6, RateBurst: 1e6,
	})
	return tokens
}
