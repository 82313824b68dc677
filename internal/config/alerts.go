package config

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"
)

// AlertsConfig is live detection: the incident rule run continuously by
// `vigie serve` and `vigie dashboards`, its metrics and its notifications.
type AlertsConfig struct {
	// Enabled runs live detection in the processes that serve the dashboards.
	Enabled bool `mapstructure:"enabled"`
	// Interval is how often the last minutes are evaluated.
	Interval time.Duration `mapstructure:"interval"`
	// Lookback is how much recent data each evaluation reads: the longest
	// window, the peers' share for silence and the incidents still open.
	Lookback time.Duration `mapstructure:"lookback"`
	// Services are the "platform/service" names that get their own label
	// in the metrics; any other service is counted as "other", so that no
	// label value comes from free text.
	Services []string `mapstructure:"services"`
	// Webhooks are the receivers notified when an incident opens and
	// resolves, by name.
	Webhooks map[string]WebhookConfig `mapstructure:"webhooks"`
	// Retries is how many times a failed notification is tried again (with
	// a doubling pause from RetryBackoff) within one evaluation; the next
	// evaluation tries again anyway until it is acknowledged.
	Retries      int           `mapstructure:"retries"`
	RetryBackoff time.Duration `mapstructure:"retry_backoff"`
}

// WebhookConfig is one receiver.
type WebhookConfig struct {
	// URL receives a POST: for "alertmanager", an Alertmanager's base URL
	// (the alerts go to /api/v2/alerts); for "json", the exact URL.
	URL string `mapstructure:"url"`
	// Format is "alertmanager" (its v2 API's alert list) or "json" (one
	// object per notification, described in docs/detection.md).
	Format  string        `mapstructure:"format"`
	Timeout time.Duration `mapstructure:"timeout"`
}

// defaultAlertServices are the services of the simulated and documented
// platforms: each region's ENT and the CNED virtual classroom.
func defaultAlertServices(regions []string) []string {
	out := []string{"cned/cned-classe-virtuelle"}
	for _, r := range regions {
		out = append(out, "ent/ent-"+r)
	}
	return out
}

func (a AlertsConfig) validate(bad func(key string, val any, rule string)) {
	if a.Interval < time.Second {
		bad("alerts.interval", a.Interval, "must be at least 1s")
	}
	if a.Lookback < time.Hour || a.Lookback > 48*time.Hour {
		bad("alerts.lookback", a.Lookback, "must be 1h to 48h (silence compares with the last 3 hours)")
	}
	for i, s := range a.Services {
		if p, svc, ok := strings.Cut(s, "/"); !ok || p == "" || svc == "" || strings.Contains(svc, "/") {
			bad(fmt.Sprintf("alerts.services[%d]", i), quote(s), `is not "platform/service"`)
		}
	}
	if a.Retries < 0 || a.Retries > 10 {
		bad("alerts.retries", a.Retries, "must be 0 to 10")
	}
	if a.RetryBackoff <= 0 {
		bad("alerts.retry_backoff", a.RetryBackoff, "must be above 0")
	}
	for _, n := range slices.Sorted(maps.Keys(a.Webhooks)) {
		w := a.Webhooks[n]
		key := "alerts.webhooks." + n
		if !identRE(n) {
			bad(key, quote(n), "is not a name (a letter, then letters, digits and _)")
		}
		if u, err := url.Parse(w.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(key+".url", quote(w.URL), "is not an http:// or https:// URL")
		}
		if !oneOf(w.Format, "alertmanager", "json") {
			bad(key+".format", quote(w.Format), "is not one of alertmanager, json")
		}
		if w.Timeout <= 0 {
			bad(key+".timeout", w.Timeout, "must be above 0")
		}
	}
}
