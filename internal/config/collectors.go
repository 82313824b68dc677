package config

import (
	"fmt"
	"math"
	"time"

	"github.com/vigie-fr/vigie/schemas"
)

// CollectorConfig is one sender of events (an ENT operator, the CNED, a
// probe): its tokens and what it may send. Each list names the values the
// collector may send, or is ["*"] for any; an empty list is refused so that
// no collector is unscoped by omission.
type CollectorConfig struct {
	Name        string   `mapstructure:"name"`
	TokenHashes []string `mapstructure:"token_hashes"`
	Platforms   []string `mapstructure:"platforms"`
	Services    []string `mapstructure:"services"`
	Regions     []string `mapstructure:"regions"`
	// Backfill lets the collector send events older than ingest.max_past
	// (replays, the simulator).
	Backfill bool `mapstructure:"backfill"`
	// RatePerSecond and RateBurst override ingest.rate_per_second and
	// ingest.rate_burst for this collector; 0 keeps those.
	RatePerSecond float64 `mapstructure:"rate_per_second"`
	RateBurst     int     `mapstructure:"rate_burst"`
}

// Any is the scope value meaning every value of a field.
const Any = "*"

// Rate is the collector's request rate and burst, with the defaults of ic.
func (c CollectorConfig) Rate(ic IngestConfig) (perSecond float64, burst int) {
	perSecond, burst = c.RatePerSecond, c.RateBurst
	if perSecond == 0 {
		perSecond = ic.RatePerSecond
	}
	if burst == 0 {
		burst = ic.RateBurst
	}
	return perSecond, burst
}

// validateCollectors checks the ingest limits and every collector's scope
// (its name and tokens are checked with the users, in validateAuth).
func (c *Config) validateCollectors(bad func(key string, val any, rule string)) {
	in := c.Ingest
	if in.MaxPast < time.Hour {
		bad("ingest.max_past", in.MaxPast, "is too short, use 1h or more (events older than this need a collector with backfill: true)")
	}
	if in.MaxInFlight < 1 {
		bad("ingest.max_in_flight", in.MaxInFlight, "is not allowed, use 1 or more")
	}
	if !(in.RatePerSecond > 0 && !math.IsInf(in.RatePerSecond, 1)) {
		bad("ingest.rate_per_second", in.RatePerSecond, "must be a number above 0 (requests per second per collector)")
	}
	if in.RateBurst < 1 {
		bad("ingest.rate_burst", in.RateBurst, "is not allowed, use 1 or more")
	}
	for i, col := range in.Collectors {
		key := fmt.Sprintf("ingest.collectors[%d]", i)
		scope(bad, key+".platforms", col.Platforms, func(p string) string {
			if p != "ent" && p != "cned" {
				return "is not one of ent, cned"
			}
			return ""
		})
		scope(bad, key+".services", col.Services, func(s string) string {
			if s == "" || len(s) > 64 {
				return "is not a service name (1 to 64 characters)"
			}
			return ""
		})
		scope(bad, key+".regions", col.Regions, func(r string) string {
			if _, ok := schemas.RegionNames[r]; !ok {
				return "is not an INSEE region code (\"11\", \"84\", overseas \"01\"–\"06\")"
			}
			return ""
		})
		if col.RatePerSecond < 0 || math.IsNaN(col.RatePerSecond) || math.IsInf(col.RatePerSecond, 0) {
			bad(key+".rate_per_second", col.RatePerSecond, "must be 0 (ingest.rate_per_second) or above")
		}
		if col.RateBurst < 0 {
			bad(key+".rate_burst", col.RateBurst, "must be 0 (ingest.rate_burst) or above")
		}
	}
}

// scope checks one scope list: ["*"] alone, or values that pass check.
func scope(bad func(string, any, string), key string, vals []string, check func(string) string) {
	if len(vals) == 0 {
		bad(key, "[]", `is empty: list what this collector may send, or ["*"] for anything`)
		return
	}
	for j, v := range vals {
		if v == Any {
			if len(vals) > 1 {
				bad(key, vals, `mixes "*" with values: give "*" alone or the values`)
			}
			continue
		}
		if rule := check(v); rule != "" {
			bad(fmt.Sprintf("%s[%d]", key, j), quote(v), rule)
		}
	}
}
