package config

import (
	"fmt"
	"maps"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/vigie-fr/vigie/internal/i18n"
	"github.com/vigie-fr/vigie/schemas"
)

// DeliveryConfig is the periodic sending of the report by e-mail: the
// SMTP server, the sender and the subscriptions written in the file (an
// administrator adds others through the API; they live in the warehouse).
type DeliveryConfig struct {
	// Enabled runs the deliveries in the process that serves the
	// dashboards. With several replicas, enable it in exactly one, as
	// alerts.enabled.
	Enabled bool `mapstructure:"enabled"`
	// From is the sender, "Vigie <vigie@example.fr>"; its domain also ends
	// every Message-ID.
	From string     `mapstructure:"from"`
	SMTP SMTPConfig `mapstructure:"smtp"`
	// Interval is how often due periods are looked for.
	Interval time.Duration `mapstructure:"interval"`
	// RetryBackoff is the pause after a first failed send, doubled after
	// each further failure up to MaxBackoff.
	RetryBackoff time.Duration `mapstructure:"retry_backoff"`
	MaxBackoff   time.Duration `mapstructure:"max_backoff"`
	// CatchUp is how old a missed period may be and still be sent (after
	// an outage); older ones are marked expired.
	CatchUp time.Duration `mapstructure:"catch_up"`
	// Subscriptions by name.
	Subscriptions map[string]SubscriptionConfig `mapstructure:"subscriptions"`
}

// SMTPConfig is the mail server reports are sent through.
type SMTPConfig struct {
	Host string `mapstructure:"host"`
	Port int    `mapstructure:"port"`
	// Security is "starttls" (required, port 587), "tls" (implicit TLS,
	// port 465) or "none" (plain text, only to a loopback relay).
	Security string `mapstructure:"security"`
	// Username turns authentication on (the strongest mechanism the
	// server offers among SCRAM, CRAM-MD5, PLAIN and LOGIN; never without TLS).
	Username string `mapstructure:"username"`
	// PasswordFile holds the password: a file (mode 0600, or a mounted
	// secret), never the configuration nor the environment, which the
	// process's own /proc would show (as auth.oidc.client_secret_file).
	PasswordFile string        `mapstructure:"password_file"`
	Timeout      time.Duration `mapstructure:"timeout"`
	// TLSInsecure skips the certificate check (a test relay only).
	TLSInsecure bool `mapstructure:"tls_insecure_skip_verify"`
}

// SubscriptionConfig is one periodic report and who receives it.
type SubscriptionConfig struct {
	Recipients []string `mapstructure:"recipients" json:"recipients"`
	// Regions (INSEE codes) and Platforms the report covers; empty: all.
	Regions   []string `mapstructure:"regions" json:"regions"`
	Platforms []string `mapstructure:"platforms" json:"platforms"`
	// Lang is fr or en; empty is French.
	Lang string `mapstructure:"lang" json:"lang"`
	// Schedule is a cron expression in Europe/Paris time (five fields, or
	// @daily, @weekly, @monthly): "0 7 * * 1" is every Monday at 07:00.
	Schedule string `mapstructure:"schedule" json:"schedule"`
	// Range is what each run covers, the period just ended: day (the
	// Paris day before the run), week (Monday to Monday before the run),
	// month (the calendar month before the run) or since_last (from the
	// schedule's previous time to this one).
	Range string `mapstructure:"range" json:"range"`
}

// Ranges a subscription's run can cover.
var Ranges = []string{"day", "week", "month", "since_last"}

// SMTP security modes.
var SMTPSecurity = []string{"starttls", "tls", "none"}

// DefaultDelivery is the delivery part of Default: off, checked every
// minute, retried after 1 min, 2 min, 4 min… up to an hour, missed periods
// of the last 31 days sent.
func DefaultDelivery() DeliveryConfig {
	return DeliveryConfig{Interval: time.Minute, RetryBackoff: time.Minute, MaxBackoff: time.Hour, CatchUp: 31 * 24 * time.Hour,
		SMTP: SMTPConfig{Port: 587, Security: "starttls", Timeout: 30 * time.Second}}
}

// CronParser reads subscriptions' schedules: five fields and the
// @daily/@weekly/@monthly shortcuts, no seconds.
var CronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Validate checks one subscription; key prefixes each problem's key
// (delivery.subscriptions.<name>, or the API's "subscription"). The API
// checks what an administrator posts with it, so both follow one rule.
func (s SubscriptionConfig) Validate(key string, bad func(key string, val any, rule string)) {
	if len(s.Recipients) == 0 {
		bad(key+".recipients", "[]", "is empty, give at least one address")
	}
	if len(s.Recipients) > 100 {
		bad(key+".recipients", len(s.Recipients), "addresses are too many, use at most 100 (a mailing list counts as one)")
	}
	for i, r := range s.Recipients {
		if a, err := mail.ParseAddress(r); err != nil || a.Name != "" || strings.ContainsAny(r, "\r\n") {
			bad(fmt.Sprintf("%s.recipients[%d]", key, i), quote(r), "is not a bare e-mail address (name@example.fr)")
		}
	}
	for i, r := range s.Regions {
		if !slices.Contains(schemas.Regions, r) {
			bad(fmt.Sprintf("%s.regions[%d]", key, i), quote(r), "is not a region's INSEE code ("+strings.Join(schemas.Regions, ", ")+")")
		}
	}
	for i, p := range s.Platforms {
		if !slices.Contains(schemas.Platforms, p) {
			bad(fmt.Sprintf("%s.platforms[%d]", key, i), quote(p), "is not one of "+strings.Join(schemas.Platforms, ", "))
		}
	}
	if _, err := i18n.Parse(s.Lang); err != nil {
		bad(key+".lang", quote(s.Lang), "is not one of fr, en")
	}
	if _, err := CronParser.Parse(s.Schedule); err != nil || strings.HasPrefix(strings.TrimSpace(s.Schedule), "@every") ||
		strings.HasPrefix(s.Schedule, "TZ=") || strings.HasPrefix(s.Schedule, "CRON_TZ=") {
		bad(key+".schedule", quote(s.Schedule), `is not a cron expression of five fields in Paris time ("0 7 * * 1") or @daily, @weekly, @monthly`)
	}
	if !slices.Contains(Ranges, s.Range) {
		bad(key+".range", quote(s.Range), "is not one of "+strings.Join(Ranges, ", "))
	}
}

func (d DeliveryConfig) validate(bad func(key string, val any, rule string)) {
	if d.Interval < time.Second || d.Interval > time.Hour {
		bad("delivery.interval", d.Interval, "must be 1s to 1h")
	}
	if d.RetryBackoff < time.Second {
		bad("delivery.retry_backoff", d.RetryBackoff, "must be at least 1s")
	}
	if d.MaxBackoff < d.RetryBackoff {
		bad("delivery.max_backoff", d.MaxBackoff, fmt.Sprintf("must be at least delivery.retry_backoff (%v)", d.RetryBackoff))
	}
	if d.CatchUp < 24*time.Hour {
		bad("delivery.catch_up", d.CatchUp, "must be at least 24h")
	}
	if d.From != "" {
		if a, err := mail.ParseAddress(d.From); err != nil || !strings.Contains(a.Address, "@") {
			bad("delivery.from", quote(d.From), `is not an e-mail address ("Vigie <vigie@example.fr>")`)
		}
	}
	if d.Enabled && d.From == "" {
		bad("delivery.from", `""`, "is empty but delivery.enabled is true: give the sender's address")
	}
	s := d.SMTP
	if d.Enabled && s.Host == "" {
		bad("delivery.smtp.host", `""`, "is empty but delivery.enabled is true: name the mail server")
	}
	if strings.ContainsAny(s.Host, " /:") {
		bad("delivery.smtp.host", quote(s.Host), "is not a host name or address (the port goes in delivery.smtp.port)")
	}
	if s.Port < 1 || s.Port > 65535 {
		bad("delivery.smtp.port", s.Port, "is not a port number (587 for starttls, 465 for tls)")
	}
	if !slices.Contains(SMTPSecurity, s.Security) {
		bad("delivery.smtp.security", quote(s.Security), "is not one of "+strings.Join(SMTPSecurity, ", "))
	}
	if s.Security == "none" && s.Host != "" && !loopbackHost(s.Host) {
		// Reports and the password would cross the network in clear.
		bad("delivery.smtp.security", quote(s.Security), fmt.Sprintf("is allowed only with a loopback relay, not %q: use starttls or tls", s.Host))
	}
	if s.Security == "none" && s.Username != "" {
		bad("delivery.smtp.username", quote(s.Username), "needs delivery.smtp.security starttls or tls: a password is never sent in clear")
	}
	if s.PasswordFile != "" && s.Username == "" {
		bad("delivery.smtp.username", `""`, "is empty but delivery.smtp.password_file is set")
	}
	if s.Timeout <= 0 {
		bad("delivery.smtp.timeout", s.Timeout, "must be above 0")
	}
	for _, n := range slices.Sorted(maps.Keys(d.Subscriptions)) {
		key := "delivery.subscriptions." + n
		if !SubscriptionName(n) {
			bad(key, quote(n), "is not a name (a letter, then letters, digits, _ and -, at most 64)")
		}
		d.Subscriptions[n].Validate(key, bad)
	}
}

// SubscriptionName reports whether n can name a subscription: it goes
// into Message-IDs and metric labels.
func SubscriptionName(n string) bool {
	if n == "" || len(n) > 64 || !(n[0] >= 'a' && n[0] <= 'z' || n[0] >= 'A' && n[0] <= 'Z') {
		return false
	}
	for _, r := range n {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func loopbackHost(h string) bool {
	return h == "localhost" || strings.HasPrefix(h, "127.") || h == "::1" || h == "[::1]"
}
