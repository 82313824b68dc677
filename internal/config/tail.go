package config

import (
	"fmt"
	"path"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/vigie-fr/vigie/ingest/tail/logline"
	"github.com/vigie-fr/vigie/schemas"
)

// TailConfig is the access-log tailer, vigie tail. docs/collectors.md
// explains each key.
type TailConfig struct {
	Files []TailFile `mapstructure:"files"`
	// Checkpoint is the file keeping each log's position; empty means
	// <data_dir>/tail.checkpoint.
	Checkpoint string `mapstructure:"checkpoint"`
	// PollInterval is how often a log that reached its end is looked at again.
	PollInterval time.Duration `mapstructure:"poll_interval"`
	// BatchEvents is the most events produced (and checkpointed) at once.
	BatchEvents int `mapstructure:"batch_events"`
	// RotateWait is how long a renamed log is still read after its
	// successor appeared (the server writes to it until it reopens its logs).
	RotateWait time.Duration `mapstructure:"rotate_wait"`
	// Statuses mapped to outcomes; other statuses from 500 are errors, and
	// below 500 are ok (the server answered).
	RejectedStatus []int `mapstructure:"rejected_status"`
	QueuedStatus   []int `mapstructure:"queued_status"`
	TimeoutStatus  []int `mapstructure:"timeout_status"`
}

// TailFile is one access log.
type TailFile struct {
	Path string `mapstructure:"path"`
	// Format is combined (nginx combined + $request_time), apache_combined
	// (+ %D), json, or a pattern of nginx $variables or Apache %directives.
	Format string `mapstructure:"format"`
	// User names the field holding the user: remote_user, cookie:NAME, a
	// field of the format; empty: none. It is pseudonymised before it
	// leaves the process.
	User    string       `mapstructure:"user"`
	Routes  []TailRoute  `mapstructure:"routes"`
	Markers []TailMarker `mapstructure:"markers"`
}

// TailRoute maps requests to a service: the first route whose host and path
// match gives the line's platform, service, region and kind. A line no
// route takes is counted and skipped.
type TailRoute struct {
	// Host is a host name or a pattern such as *.monlycee.net; empty: any.
	Host string `mapstructure:"host"`
	// Path is a regular expression on the path (without the query); empty: any.
	Path     string `mapstructure:"path"`
	Platform string `mapstructure:"platform"`
	Service  string `mapstructure:"service"`
	Region   string `mapstructure:"region"`
	// Kind is the event kind (login, page, api, queue, …); empty: page.
	Kind string `mapstructure:"kind"`
}

// TailMarker sets a line's outcome from a field: when the field (path, or
// any field of the format) matches the regular expression, the outcome is
// Outcome whatever the status (the quota page of 2021 was a 200).
type TailMarker struct {
	Field   string `mapstructure:"field"`
	Match   string `mapstructure:"match"`
	Outcome string `mapstructure:"outcome"`
}

// DefaultTail is the tail section's defaults: no file.
func DefaultTail() TailConfig {
	return TailConfig{
		PollInterval: 250 * time.Millisecond, BatchEvents: 1000, RotateWait: 5 * time.Second,
		RejectedStatus: []int{429, 503}, QueuedStatus: []int{}, TimeoutStatus: []int{408, 499, 504},
	}
}

func (c TailConfig) validate(bad func(key string, val any, rule string)) {
	if c.PollInterval <= 0 || c.PollInterval > 10*time.Second {
		bad("tail.poll_interval", c.PollInterval, "must be above 0 and at most 10s")
	}
	if c.BatchEvents < 1 || c.BatchEvents > 10000 {
		bad("tail.batch_events", c.BatchEvents, "is not allowed, use 1 to 10000")
	}
	if c.RotateWait < 0 {
		bad("tail.rotate_wait", c.RotateWait, "must not be negative")
	}
	seen := map[int]string{}
	for _, l := range []struct {
		key      string
		statuses []int
	}{{"tail.rejected_status", c.RejectedStatus}, {"tail.queued_status", c.QueuedStatus}, {"tail.timeout_status", c.TimeoutStatus}} {
		for j, s := range l.statuses {
			key := fmt.Sprintf("%s[%d]", l.key, j)
			switch other, dup := seen[s]; {
			case s < 100 || s > 599:
				bad(key, s, "is not an HTTP status (100 to 599)")
			case dup:
				bad(key, s, "is also in "+other)
			default:
				seen[s] = l.key
			}
		}
	}
	paths := map[string]int{}
	for i, f := range c.Files {
		key := fmt.Sprintf("tail.files[%d]", i)
		if j, dup := paths[f.Path]; dup {
			bad(key+".path", quote(f.Path), fmt.Sprintf("is also tail.files[%d].path", j))
		} else if f.Path == "" {
			bad(key+".path", `""`, "is empty, give the access log's path")
		}
		paths[f.Path] = i
		format, err := logline.Compile(f.Format)
		if err != nil {
			bad(key+".format", quote(f.Format), "cannot be read: "+err.Error())
		}
		if f.User != "" && format != nil && !format.Has(f.User) {
			bad(key+".user", quote(f.User), "is not a field of the format (remote_user, cookie:NAME with $http_cookie or $cookie_NAME, …)")
		}
		if len(f.Routes) == 0 {
			bad(key+".routes", "[]", "is empty: map the log's hosts or paths to a platform, service and region")
		}
		for j, r := range f.Routes {
			rk := fmt.Sprintf("%s.routes[%d]", key, j)
			if _, err := path.Match(r.Host, "x"); err != nil {
				bad(rk+".host", quote(r.Host), "is not a host pattern: "+err.Error())
			}
			if _, err := regexp.Compile(r.Path); err != nil {
				bad(rk+".path", quote(r.Path), "is not a regular expression: "+err.Error())
			}
			eventFields(bad, rk, r.Platform, r.Service, r.Region)
			if r.Kind != "" && !oneOf(r.Kind, schemas.Kinds...) {
				bad(rk+".kind", quote(r.Kind), fmt.Sprintf("is not one of %v", schemas.Kinds))
			}
		}
		for j, m := range f.Markers {
			mk := fmt.Sprintf("%s.markers[%d]", key, j)
			if m.Field == "" {
				bad(mk+".field", `""`, "is empty: name the field to match (path, or a field of the format)")
			} else if format != nil && m.Field != "path" && !format.Has(m.Field) {
				bad(mk+".field", quote(m.Field), "is not a field of the format")
			}
			if m.Match == "" {
				bad(mk+".match", `""`, "is empty: it would match every line")
			} else if _, err := regexp.Compile(m.Match); err != nil {
				bad(mk+".match", quote(m.Match), "is not a regular expression: "+err.Error())
			}
			if !oneOf(m.Outcome, schemas.Outcomes...) {
				bad(mk+".outcome", quote(m.Outcome), fmt.Sprintf("is not one of %v", schemas.Outcomes))
			}
		}
	}
}

// stringToIntSlice reads a list of statuses from an environment variable:
// VIGIE_TAIL_REJECTED_STATUS=429,503 (a YAML list needs no hook).
func stringToIntSlice(from, to reflect.Type, data any) (any, error) {
	if from.Kind() != reflect.String || to != reflect.TypeOf([]int(nil)) {
		return data, nil
	}
	s := strings.TrimSpace(data.(string))
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	out := []int{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		n, err := strconv.Atoi(part)
		if err != nil {
			return nil, fmt.Errorf("%q is not a list of whole numbers such as 429,503", s)
		}
		out = append(out, n)
	}
	return out, nil
}
