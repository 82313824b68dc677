package web_test

import (
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/vigie-fr/vigie/dashboards/web"
	"github.com/vigie-fr/vigie/internal/auth"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/i18n"
	"github.com/vigie-fr/vigie/internal/store/storetest"
)

type openAPI struct {
	OpenAPI string `yaml:"openapi"`
	Paths   map[string]map[string]struct {
		Roles      []string `yaml:"x-vigie-roles"`
		Parameters []struct {
			Ref      string `yaml:"$ref"`
			Name     string `yaml:"name"`
			In       string `yaml:"in"`
			Required bool   `yaml:"required"`
		} `yaml:"parameters"`
	} `yaml:"paths"`
	Components struct {
		Parameters map[string]struct {
			Name     string `yaml:"name"`
			In       string `yaml:"in"`
			Required bool   `yaml:"required"`
		} `yaml:"parameters"`
	} `yaml:"components"`
}

func loadOpenAPI(t *testing.T) openAPI {
	t.Helper()
	b, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc openAPI
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" || len(doc.Paths) == 0 {
		t.Fatalf("openapi %q with %d paths", doc.OpenAPI, len(doc.Paths))
	}
	return doc
}

// Every /api/v1/ route of the server (auth.Policy lists them all, and the
// app's route test holds the policy to what is mounted) is documented with
// its method and roles, and every documented route is one.
func TestEveryRouteIsDocumentedAndEveryDocumentedRouteServed(t *testing.T) {
	doc := loadOpenAPI(t)
	var documented []string
	for path, ops := range doc.Paths {
		for method, op := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
			if len(op.Roles) == 0 {
				t.Errorf("%s %s: no x-vigie-roles", method, path)
			}
		}
	}
	var policy []string
	for pattern, rule := range auth.Policy() {
		method, path, ok := strings.Cut(pattern, " ")
		if !ok {
			method, path = "", pattern
		}
		if !strings.HasPrefix(path, "/api/v1/") {
			continue
		}
		i := slices.IndexFunc(documented, func(d string) bool {
			m, p, _ := strings.Cut(d, " ")
			return p == path && (method == "" || m == method)
		})
		if i < 0 {
			t.Errorf("route %q is served but not in openapi.yaml", pattern)
			continue
		}
		policy = append(policy, documented[i])
		op := doc.Paths[path][strings.ToLower(strings.SplitN(documented[i], " ", 2)[0])]
		if rule.Open != slices.Contains(op.Roles, "open") {
			t.Errorf("%s: openapi.yaml says roles %v, the policy open=%v", pattern, op.Roles, rule.Open)
		}
		for _, r := range rule.Roles {
			if !slices.Contains(op.Roles, string(r)) {
				t.Errorf("%s: openapi.yaml's roles %v lack %s", pattern, op.Roles, r)
			}
		}
	}
	for _, d := range documented {
		if !slices.Contains(policy, d) {
			t.Errorf("openapi.yaml documents %q, which no route serves", d)
		}
	}
	for _, p := range web.New(&storetest.Fake{}, config.Default().Incidents, nil).Patterns() {
		if !slices.Contains(documented, p) {
			t.Errorf("the dashboard mounts %q, which openapi.yaml does not document", p)
		}
	}
}

// Each dashboard route answers 200 with its documented parameters, takes
// every one of them (none is refused as unknown) and refuses one it does
// not document.
func TestDocumentedParametersAreTaken(t *testing.T) {
	srv := server(t)
	doc := loadOpenAPI(t)
	values := map[string]string{
		"from": "2021-04-06T06:00:00Z", "to": "2021-04-06T10:00:00Z", "a_from": "2021-04-06T06:00:00Z", "a_to": "2021-04-06T08:00:00Z",
		"b_from": "2021-04-06T08:00:00Z", "b_to": "2021-04-06T10:00:00Z", "grain": "hour", "platform": "ent", "service": "ent-11",
		"region": "11", "academy": "Paris", "days": "2", "lang": "fr", "limit": "5", "format": "json",
	}
	unknown := i18n.For(i18n.French).T("api.param.unknown", "Param", "zzz", "Allowed", "")
	unknown = strings.TrimPrefix(unknown[:strings.Index(unknown, ",")], "zzz")
	for _, pattern := range web.New(&storetest.Fake{}, config.Default().Incidents, nil).Patterns() {
		method, path, _ := strings.Cut(pattern, " ")
		op := doc.Paths[path][strings.ToLower(method)]
		url := strings.ReplaceAll(path, "{region}", "11")
		var required, optional []string
		for _, p := range op.Parameters {
			if p.Ref != "" {
				c := doc.Components.Parameters[strings.TrimPrefix(p.Ref, "#/components/parameters/")]
				p.Name, p.In, p.Required = c.Name, c.In, c.Required
			}
			if p.In != "query" {
				continue
			}
			if _, ok := values[p.Name]; !ok {
				t.Fatalf("%s: no test value for parameter %q", pattern, p.Name)
			}
			if p.Required {
				required = append(required, p.Name+"="+values[p.Name])
			} else {
				optional = append(optional, p.Name)
			}
		}
		base := url + "?" + strings.Join(required, "&")
		if code := get(t, srv, base, nil); code != http.StatusOK {
			t.Errorf("GET %s: %d, want 200", base, code)
		}
		for _, name := range append(optional, "zzz") {
			var got struct{ Parameter, Error string }
			res, err := http.Get(srv.URL + base + "&" + name + "=" + values[name])
			if err != nil {
				t.Fatal(err)
			}
			code := res.StatusCode
			_ = json.NewDecoder(res.Body).Decode(&got) // a report in Markdown is no JSON: got stays empty
			res.Body.Close()
			refused := code == http.StatusBadRequest && got.Parameter == name && strings.Contains(got.Error, unknown)
			if refused != (name == "zzz") {
				t.Errorf("GET %s with %s: %d %+v", base, name, code, got)
			}
		}
	}
}
