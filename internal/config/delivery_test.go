package config

import (
	"strings"
	"testing"
)

func TestDeliveryRulesNameKeyAndValue(t *testing.T) {
	valid := func() Config {
		c := Default()
		c.Delivery.Enabled, c.Delivery.From = true, "Vigie <vigie@example.fr>"
		c.Delivery.SMTP.Host = "smtp.example.fr"
		c.Delivery.Subscriptions = map[string]SubscriptionConfig{"hebdo": {Recipients: []string{"a@example.fr"}, Schedule: "0 7 * * 1", Range: "week"}}
		return c
	}
	if c := valid(); c.Validate() != nil {
		t.Fatalf("the valid delivery is refused: %v", c.Validate())
	}
	sub := func(f func(*SubscriptionConfig)) func(*Config) {
		return func(c *Config) {
			s := c.Delivery.Subscriptions["hebdo"]
			f(&s)
			c.Delivery.Subscriptions["hebdo"] = s
		}
	}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no sender", func(c *Config) { c.Delivery.From = "" }, `delivery.from: "" is empty but delivery.enabled is true`},
		{"bad sender", func(c *Config) { c.Delivery.From = "vigie" }, `delivery.from: "vigie" is not an e-mail address`},
		{"no host", func(c *Config) { c.Delivery.SMTP.Host = "" }, `delivery.smtp.host: "" is empty but delivery.enabled is true`},
		{"host with port", func(c *Config) { c.Delivery.SMTP.Host = "smtp:25" }, `delivery.smtp.host: "smtp:25" is not a host name`},
		{"plain text off loopback", func(c *Config) { c.Delivery.SMTP.Security = "none" }, `delivery.smtp.security: "none" is allowed only with a loopback relay, not "smtp.example.fr"`},
		{"password in clear", func(c *Config) {
			c.Delivery.SMTP.Host, c.Delivery.SMTP.Security, c.Delivery.SMTP.Username = "127.0.0.1", "none", "vigie"
		}, `delivery.smtp.username: "vigie" needs delivery.smtp.security starttls or tls`},
		{"unknown security", func(c *Config) { c.Delivery.SMTP.Security = "ssl" }, `delivery.smtp.security: "ssl" is not one of starttls, tls, none`},
		{"password file without user", func(c *Config) { c.Delivery.SMTP.PasswordFile = "/run/secrets/smtp" }, `delivery.smtp.username: "" is empty but delivery.smtp.password_file is set`},
		{"backoff above max", func(c *Config) { c.Delivery.MaxBackoff = 1 }, `delivery.max_backoff: 1ns must be at least delivery.retry_backoff (1m0s)`},
		{"bad name", func(c *Config) { c.Delivery.Subscriptions["9 lives"] = c.Delivery.Subscriptions["hebdo"] }, `delivery.subscriptions.9 lives: "9 lives" is not a name`},
		{"no recipient", sub(func(s *SubscriptionConfig) { s.Recipients = nil }), `delivery.subscriptions.hebdo.recipients: [] is empty`},
		{"named recipient", sub(func(s *SubscriptionConfig) { s.Recipients = []string{"A <a@example.fr>"} }), `delivery.subscriptions.hebdo.recipients[0]: "A <a@example.fr>" is not a bare e-mail address`},
		{"header injection", sub(func(s *SubscriptionConfig) { s.Recipients = []string{"a@example.fr\r\nBcc: x@evil.example"} }), `delivery.subscriptions.hebdo.recipients[0]: "a@example.fr\r\nBcc: x@evil.example" is not a bare e-mail address`},
		{"unknown region", sub(func(s *SubscriptionConfig) { s.Regions = []string{"99"} }), `delivery.subscriptions.hebdo.regions[0]: "99" is not a region's INSEE code`},
		{"unknown platform", sub(func(s *SubscriptionConfig) { s.Platforms = []string{"moodle"} }), `delivery.subscriptions.hebdo.platforms[0]: "moodle" is not one of ent, cned`},
		{"unknown language", sub(func(s *SubscriptionConfig) { s.Lang = "de" }), `delivery.subscriptions.hebdo.lang: "de" is not one of fr, en`},
		{"six fields", sub(func(s *SubscriptionConfig) { s.Schedule = "0 0 7 * * 1" }), `delivery.subscriptions.hebdo.schedule: "0 0 7 * * 1" is not a cron expression`},
		{"every", sub(func(s *SubscriptionConfig) { s.Schedule = "@every 1m" }), `delivery.subscriptions.hebdo.schedule: "@every 1m" is not a cron expression`},
		{"own time zone", sub(func(s *SubscriptionConfig) { s.Schedule = "CRON_TZ=UTC 0 7 * * 1" }), `delivery.subscriptions.hebdo.schedule: "CRON_TZ=UTC 0 7 * * 1" is not a cron expression`},
		{"unknown range", sub(func(s *SubscriptionConfig) { s.Range = "year" }), `delivery.subscriptions.hebdo.range: "year" is not one of day, week, month, since_last`},
	} {
		c := valid()
		tc.edit(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
