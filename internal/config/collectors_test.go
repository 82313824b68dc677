package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// What testdata/config.yaml sets in the collectors' sections.
var (
	probeOfTheTestFile = ProbeConfig{
		InServe: true, Location: "75", Interval: 30 * time.Second, Timeout: 5 * time.Second,
		Targets: []ProbeTarget{{
			Name: "monlycee", URL: "https://ent.example.fr/", Platform: "ent", Service: "ent-11", Region: "11",
			Interval: 20 * time.Second, Timeout: 4 * time.Second, ExpectStatus: []int{200, 302}, ExpectText: "Bienvenue",
			DegradedText: []string{"sessions limitées"}, QueueText: []string{"salle d'attente"}, CAFile: "/etc/vigie/ca.pem",
			Login: ProbeLogin{CredentialsFile: "/run/secrets/probe-11", UsernameField: "login", PasswordField: "mdp", ExpectText: "Mon bureau"},
		}},
	}
	tailOfTheTestFile = TailConfig{
		Files: []TailFile{{
			Path: "/var/log/nginx/access.log", Format: "combined", User: "remote_user",
			Routes:  []TailRoute{{Host: "*.monlycee.net", Path: "^/api/", Platform: "ent", Service: "ent-11", Region: "11", Kind: "api"}},
			Markers: []TailMarker{{Field: "path", Match: "^/quota", Outcome: "rejected"}},
		}},
		Checkpoint: "/var/lib/vigie/tail.checkpoint", PollInterval: time.Second, BatchEvents: 200, RotateWait: 10 * time.Second,
		RejectedStatus: []int{429}, QueuedStatus: []int{202}, TimeoutStatus: []int{504},
	}
)

func TestProbeTargetTakesTheSectionDefaults(t *testing.T) {
	p := DefaultProbe()
	p.Targets = []ProbeTarget{{Name: "a"}, {Name: "b", Interval: 5 * time.Second, Timeout: time.Second}}
	a, b := p.Effective(0), p.Effective(1)
	if a.Interval != time.Minute || a.Timeout != 10*time.Second || a.Login.UsernameField != "username" || a.Login.PasswordField != "password" {
		t.Errorf("Effective(0) = %+v, want the section's interval and timeout and the default form fields", a)
	}
	if b.Interval != 5*time.Second || b.Timeout != time.Second {
		t.Errorf("Effective(1) = %+v, want its own interval and timeout", b)
	}
}

// Each bad value of the collectors' sections is refused with its key,
// including keys inside list items, which the file-per-rule test cannot
// reach one key at a time.
func TestCollectorRulesNameTheirKey(t *testing.T) {
	target := func() ProbeTarget {
		return ProbeTarget{Name: "t", URL: "https://ent.example.fr/", Platform: "ent", Service: "ent-11", Region: "11"}
	}
	file := func() TailFile {
		return TailFile{Path: "/var/log/nginx/access.log", Format: "combined",
			Routes: []TailRoute{{Platform: "ent", Service: "ent-11", Region: "11"}}}
	}
	tests := []struct {
		name   string
		change func(c *Config)
		want   string
	}{
		{"a zero probe interval", func(c *Config) { c.Probe.Interval = 0 }, "probe.interval: 0s must be above 0"},
		{"probes in serve without targets", func(c *Config) { c.Probe.InServe = true }, "probe.in_serve: true but probe.targets is empty"},
		{"a target without a name", func(c *Config) { tg := target(); tg.Name = ""; c.Probe.Targets = []ProbeTarget{tg} }, `probe.targets[0].name: "" is empty`},
		{"two targets with one name", func(c *Config) { c.Probe.Targets = []ProbeTarget{target(), target()} }, `probe.targets[1].name: "t" is also the name of probe.targets[0]`},
		{"a URL without a scheme", func(c *Config) { tg := target(); tg.URL = "ent.example.fr"; c.Probe.Targets = []ProbeTarget{tg} }, `probe.targets[0].url: "ent.example.fr" is not an http:// or https:// URL`},
		{"an unknown platform", func(c *Config) { tg := target(); tg.Platform = "pronote"; c.Probe.Targets = []ProbeTarget{tg} }, `probe.targets[0].platform: "pronote" is not one of [ent cned]`},
		{"a region written as a number", func(c *Config) { tg := target(); tg.Region = "1"; c.Probe.Targets = []ProbeTarget{tg} }, `probe.targets[0].region: "1" is not an INSEE region code`},
		{"a timeout longer than the interval", func(c *Config) { tg := target(); tg.Timeout = 2 * time.Minute; c.Probe.Targets = []ProbeTarget{tg} }, "probe.targets[0].timeout: 2m0s is longer than the interval 1m0s"},
		{"an expected status out of range", func(c *Config) {
			tg := target()
			tg.ExpectStatus = []int{200, 2000}
			c.Probe.Targets = []ProbeTarget{tg}
		}, "probe.targets[0].expect_status[1]: 2000 is not an HTTP status"},
		{"an empty degraded text", func(c *Config) { tg := target(); tg.DegradedText = []string{""}; c.Probe.Targets = []ProbeTarget{tg} }, `probe.targets[0].degraded_text[0]: "" is empty`},
		{"login keys without credentials", func(c *Config) { tg := target(); tg.Login.ExpectText = "x"; c.Probe.Targets = []ProbeTarget{tg} }, `probe.targets[0].login.credentials_file: "" is empty but other login keys are set`},
		{"a login without a landing text", func(c *Config) {
			tg := target()
			tg.Login.CredentialsFile = "/run/secrets/p"
			c.Probe.Targets = []ProbeTarget{tg}
		}, `probe.targets[0].login.expect_text: "" is empty`},
		{"a zero batch", func(c *Config) { c.Tail.BatchEvents = 0 }, "tail.batch_events: 0 is not allowed"},
		{"a status in two outcome lists", func(c *Config) { c.Tail.TimeoutStatus = []int{503} }, "tail.timeout_status[0]: 503 is also in tail.rejected_status"},
		{"a log without a path", func(c *Config) { f := file(); f.Path = ""; c.Tail.Files = []TailFile{f} }, `tail.files[0].path: "" is empty`},
		{"a format without request time", func(c *Config) {
			f := file()
			f.Format = `$remote_addr [$time_local] "$request" $status`
			c.Tail.Files = []TailFile{f}
		}, `tail.files[0].format: "$remote_addr [$time_local] \"$request\" $status" cannot be read: the format has no request time field`},
		{"a user field the format lacks", func(c *Config) { f := file(); f.User = "cookie:sid"; c.Tail.Files = []TailFile{f} }, `tail.files[0].user: "cookie:sid" is not a field of the format`},
		{"a log without routes", func(c *Config) { f := file(); f.Routes = nil; c.Tail.Files = []TailFile{f} }, "tail.files[0].routes: [] is empty"},
		{"a route path that is no regexp", func(c *Config) { f := file(); f.Routes[0].Path = "(api"; c.Tail.Files = []TailFile{f} }, `tail.files[0].routes[0].path: "(api" is not a regular expression`},
		{"a route with an unknown kind", func(c *Config) { f := file(); f.Routes[0].Kind = "download"; c.Tail.Files = []TailFile{f} }, `tail.files[0].routes[0].kind: "download" is not one of`},
		{"a marker with an unknown outcome", func(c *Config) {
			f := file()
			f.Markers = []TailMarker{{Field: "path", Match: "^/quota", Outcome: "degraded"}}
			c.Tail.Files = []TailFile{f}
		}, `tail.files[0].markers[0].outcome: "degraded" is not one of`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.change(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("validated")
			}
			if ps := problems(t, err); len(ps) != 1 || ps[0].Error() != tt.want && !strings.HasPrefix(ps[0].Error(), tt.want) {
				t.Errorf("problems %q, want exactly one starting with %q", ps, tt.want)
			}
		})
	}
}

func TestAMisspeltKeyInsideATargetIsAnError(t *testing.T) {
	cleanEnv(t)
	_, err := Load("testdata/misspelt-probe-key.yaml", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "expect_stauts") {
		t.Fatalf("Load = %v, want an error naming expect_stauts", err)
	}
}

// The examples of docs/collectors.md are complete configurations: each
// YAML block loads and validates.
func TestCollectorDocExamplesLoad(t *testing.T) {
	cleanEnv(t)
	doc, err := os.ReadFile("../../docs/collectors.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	if len(blocks) < 3 {
		t.Fatalf("docs/collectors.md has %d YAML examples, want the probes, nginx and Apache ones", len(blocks))
	}
	for i, b := range blocks {
		path := filepath.Join(t.TempDir(), fmt.Sprintf("example-%d.yaml", i))
		if err := os.WriteFile(path, []byte(b[1]), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load(path, nil, nil)
		if err != nil {
			t.Errorf("example %d of docs/collectors.md: %v", i+1, err)
			continue
		}
		if len(c.Probe.Targets) == 0 && len(c.Tail.Files) == 0 {
			t.Errorf("example %d of docs/collectors.md configures no probe and no log", i+1)
		}
	}
}

func TestStatusListsComeFromTheEnvironment(t *testing.T) {
	cleanEnv(t)
	t.Setenv("VIGIE_TAIL_REJECTED_STATUS", "429, 503,509")
	t.Setenv("VIGIE_TAIL_QUEUED_STATUS", "202")
	c, err := Load("", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := [][]int{c.Tail.RejectedStatus, c.Tail.QueuedStatus}; !reflect.DeepEqual(got, [][]int{{429, 503, 509}, {202}}) {
		t.Errorf("statuses %v, want [429 503 509] and [202]", got)
	}
	t.Setenv("VIGIE_TAIL_TIMEOUT_STATUS", "504,gateway")
	if _, err := Load("", nil, nil); err == nil || !strings.Contains(err.Error(), `"504,gateway" is not a list of whole numbers`) {
		t.Errorf("Load = %v, want the bad list named", err)
	}
}
