package delivery_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/dashboards/delivery"
	"github.com/vigie-fr/vigie/dashboards/incident/incidenttest"
	"github.com/vigie-fr/vigie/internal/auth"
	"github.com/vigie-fr/vigie/internal/config"
)

// Administrators add, list and remove subscriptions; the configuration's
// are listed but read-only; a bad subscription is refused with every
// problem named; the author is recorded.
func TestSubscriptionsThroughTheAPI(t *testing.T) {
	st := incidenttest.Store(t, incidenttest.DB(t))
	d := config.DefaultDelivery()
	d.From = "vigie@example.fr"
	d.Subscriptions = map[string]config.SubscriptionConfig{"hebdo": {Recipients: []string{"cse@example.fr"}, Schedule: "0 7 * * 1", Range: "week"}}
	now := func() time.Time { return at("2021-04-07 10:00:00") }
	s, err := delivery.New(st, delivery.Options{Delivery: d, Incidents: config.Default().Incidents, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	delivery.NewAPI(s).Register(mux)
	as := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(w, r.WithContext(auth.NewContext(r.Context(), auth.Identity{Name: "alice", Roles: []auth.Role{auth.Admin}})))
		})
	}
	srv := httptest.NewServer(as(mux))
	defer srv.Close()
	call := func(method, path, body string, into any) int {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if into != nil {
			if err := json.NewDecoder(res.Body).Decode(into); err != nil {
				t.Fatal(err)
			}
		}
		return res.StatusCode
	}

	var bad struct {
		Problems []string `json:"problems"`
	}
	if code := call("POST", "/api/v1/admin/subscriptions", `{"name":"x y","recipients":["not an address"],"schedule":"every monday","range":"week","lang":"de"}`, &bad); code != 400 ||
		len(bad.Problems) != 4 || !strings.Contains(strings.Join(bad.Problems, "\n"), `subscription.schedule: "every monday" is not a cron expression`) {
		t.Errorf("a bad subscription: %d %v, want 400 naming name, recipient, schedule and language", code, bad.Problems)
	}
	var conflict map[string]string
	if code := call("POST", "/api/v1/admin/subscriptions", `{"name":"hebdo","recipients":["a@example.fr"],"schedule":"@daily","range":"day"}`, &conflict); code != 409 {
		t.Errorf("replacing a subscription of the file: %d %v, want 409", code, conflict)
	}
	if code := call("POST", "/api/v1/admin/subscriptions", `{"name":"mensuel","recipients":["dane@example.fr"],"regions":["93"],"schedule":"@monthly","range":"month","lang":"en"}`, nil); code != 200 {
		t.Fatalf("adding a subscription: %d", code)
	}
	var list struct {
		Subscriptions []delivery.Status `json:"subscriptions"`
	}
	if code := call("GET", "/api/v1/admin/subscriptions", "", &list); code != 200 || len(list.Subscriptions) != 2 {
		t.Fatalf("list: %d, %d subscriptions, want 2", code, len(list.Subscriptions))
	}
	h, m := list.Subscriptions[0], list.Subscriptions[1]
	if h.Name != "hebdo" || h.Origin != "config" || !h.NextDue.Equal(at("2021-04-12 07:00:00").UTC()) || h.Enabled {
		t.Errorf("hebdo: %+v", h)
	}
	if m.Name != "mensuel" || m.Origin != "api" || m.Author != "alice" || m.Regions[0] != "93" || m.Lang() != "en" ||
		!m.NextDue.Equal(at("2021-05-01 00:00:00").UTC()) || m.Last != nil {
		t.Errorf("mensuel: %+v", m)
	}
	if pass, err := s.Run(context.Background()); err != nil || pass.Recorded != 2 {
		t.Errorf("a pass plans %+v (%v), want the next run of both", pass, err)
	}
	if code := call("DELETE", "/api/v1/admin/subscriptions/hebdo", "", nil); code != 409 {
		t.Errorf("removing a subscription of the file: %d, want 409", code)
	}
	if code := call("DELETE", "/api/v1/admin/subscriptions/mensuel", "", nil); code != 204 {
		t.Errorf("removing mensuel: %d, want 204", code)
	}
	if code := call("DELETE", "/api/v1/admin/subscriptions/mensuel", "", nil); code != 404 {
		t.Errorf("removing mensuel twice: %d, want 404", code)
	}
	if code := call("GET", "/api/v1/admin/subscriptions", "", &list); code != 200 || len(list.Subscriptions) != 1 {
		t.Errorf("after the removal: %d, %d subscriptions, want 1", code, len(list.Subscriptions))
	}
}
