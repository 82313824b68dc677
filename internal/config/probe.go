package config

import (
	"fmt"
	"net/url"
	"time"

	"github.com/vigie-fr/vigie/schemas"
)

// ProbeConfig is the synthetic prober: vigie probe, or the same probes inside
// vigie serve when InServe is set. docs/collectors.md explains each key.
type ProbeConfig struct {
	// InServe runs the targets inside vigie serve (and demo) as well.
	InServe bool `mapstructure:"in_serve"`
	// Location says where the prober runs (a region code, a data centre);
	// every probe event carries it as attrs.from.
	Location string `mapstructure:"location"`
	// Interval and Timeout apply to targets that do not set their own.
	Interval time.Duration `mapstructure:"interval"`
	Timeout  time.Duration `mapstructure:"timeout"`
	Targets  []ProbeTarget `mapstructure:"targets"`
}

// ProbeTarget is one page to probe.
type ProbeTarget struct {
	Name     string `mapstructure:"name"`
	URL      string `mapstructure:"url"`
	Platform string `mapstructure:"platform"`
	Service  string `mapstructure:"service"`
	Region   string `mapstructure:"region"`
	// Interval and Timeout: 0 takes probe.interval and probe.timeout.
	Interval time.Duration `mapstructure:"interval"`
	Timeout  time.Duration `mapstructure:"timeout"`
	// ExpectStatus lists the statuses that are a success; empty means any 2xx.
	ExpectStatus []int `mapstructure:"expect_status"`
	// ExpectText must be in the body of a success.
	ExpectText string `mapstructure:"expect_text"`
	// DegradedText: a body holding one of these is a quota page (rejected),
	// whatever its status; QueueText: a waiting room (queued).
	DegradedText []string `mapstructure:"degraded_text"`
	QueueText    []string `mapstructure:"queue_text"`
	// CAFile adds the certificates of a PEM file to the system's roots.
	CAFile      string     `mapstructure:"ca_file"`
	TLSInsecure bool       `mapstructure:"tls_insecure_skip_verify"`
	Login       ProbeLogin `mapstructure:"login"`
}

// ProbeLogin is an optional login flow: GET URL (the form), POST the
// credentials of CredentialsFile with the form's other fields, follow the
// redirects, and expect ExpectText on the landing page.
type ProbeLogin struct {
	// CredentialsFile holds one line "username:password"; empty: no login.
	CredentialsFile string `mapstructure:"credentials_file"`
	UsernameField   string `mapstructure:"username_field"`
	PasswordField   string `mapstructure:"password_field"`
	ExpectText      string `mapstructure:"expect_text"`
}

// Enabled reports whether the target logs in.
func (l ProbeLogin) Enabled() bool { return l.CredentialsFile != "" }

// DefaultProbe is the probe section's defaults: no target.
func DefaultProbe() ProbeConfig {
	return ProbeConfig{Interval: time.Minute, Timeout: 10 * time.Second}
}

// Effective returns target i with the section's defaults filled in.
func (p ProbeConfig) Effective(i int) ProbeTarget {
	t := p.Targets[i]
	if t.Interval == 0 {
		t.Interval = p.Interval
	}
	if t.Timeout == 0 {
		t.Timeout = p.Timeout
	}
	if t.Login.UsernameField == "" {
		t.Login.UsernameField = "username"
	}
	if t.Login.PasswordField == "" {
		t.Login.PasswordField = "password"
	}
	return t
}

func (p ProbeConfig) validate(bad func(key string, val any, rule string)) {
	positive := func(key string, d time.Duration) {
		if d <= 0 {
			bad(key, d, "must be above 0")
		}
	}
	positive("probe.interval", p.Interval)
	positive("probe.timeout", p.Timeout)
	if len(p.Location) > 64 {
		bad("probe.location", quote(p.Location[:64]+"…"), "is longer than 64 bytes")
	}
	if p.InServe && len(p.Targets) == 0 {
		bad("probe.in_serve", true, "but probe.targets is empty: name the pages to probe")
	}
	names := map[string]int{}
	for i := range p.Targets {
		t := p.Effective(i)
		key := fmt.Sprintf("probe.targets[%d]", i)
		switch j, dup := names[t.Name]; {
		case t.Name == "":
			bad(key+".name", `""`, "is empty, name the target (it labels its metrics)")
		case dup:
			bad(key+".name", quote(t.Name), fmt.Sprintf("is also the name of probe.targets[%d]", j))
		default:
			names[t.Name] = i
		}
		if u, err := url.Parse(t.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(key+".url", quote(t.URL), "is not an http:// or https:// URL with a host")
		}
		eventFields(bad, key, t.Platform, t.Service, t.Region)
		if t.Interval < 0 {
			bad(key+".interval", t.Interval, "must not be negative (0 takes probe.interval)")
		}
		if t.Timeout < 0 {
			bad(key+".timeout", t.Timeout, "must not be negative (0 takes probe.timeout)")
		} else if t.Interval > 0 && t.Timeout > t.Interval {
			bad(key+".timeout", t.Timeout, fmt.Sprintf("is longer than the interval %s: probes of one target would overlap", t.Interval))
		}
		for j, s := range t.ExpectStatus {
			if s < 100 || s > 599 {
				bad(fmt.Sprintf("%s.expect_status[%d]", key, j), s, "is not an HTTP status (100 to 599)")
			}
		}
		for _, l := range []struct {
			name  string
			texts []string
		}{{"degraded_text", t.DegradedText}, {"queue_text", t.QueueText}} {
			for j, s := range l.texts {
				if s == "" {
					bad(fmt.Sprintf("%s.%s[%d]", key, l.name, j), `""`, "is empty: it would match every page")
				}
			}
		}
		if t.TLSInsecure && t.CAFile != "" {
			bad(key+".tls_insecure_skip_verify", true, "and ca_file are both set: choose one")
		}
		lg := p.Targets[i].Login
		if !lg.Enabled() && (lg.UsernameField != "" || lg.PasswordField != "" || lg.ExpectText != "") {
			bad(key+".login.credentials_file", `""`, "is empty but other login keys are set: give the file holding username:password")
		}
		if lg.Enabled() && t.ExpectText == "" && lg.ExpectText == "" {
			bad(key+".login.expect_text", `""`, "is empty: without a text of the landing page a failed login would pass")
		}
	}
}

// eventFields checks the platform, service and region every collector's
// events carry, by schema v1's rules.
func eventFields(bad func(key string, val any, rule string), key, platform, service, region string) {
	if !oneOf(platform, schemas.Platforms...) {
		bad(key+".platform", quote(platform), fmt.Sprintf("is not one of %v", schemas.Platforms))
	}
	if service == "" || len(service) > schemas.MaxServiceLen {
		bad(key+".service", quote(service), fmt.Sprintf("must be 1 to %d bytes (e.g. ent-11)", schemas.MaxServiceLen))
	}
	if !oneOf(region, schemas.Regions...) {
		bad(key+".region", quote(region), "is not an INSEE region code (a string such as \"11\" or \"01\")")
	}
}
