package delivery_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vigie-fr/vigie/dashboards/delivery"
	"github.com/vigie-fr/vigie/dashboards/incident/incidenttest"
	"github.com/vigie-fr/vigie/dashboards/report"
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
	clk := &clock{t: at("2021-04-07 10:00:00")}
	// The PDF is another test's; here every failed send would print one.
	noPDF := delivery.ReportRenderer(report.Options{Incidents: config.Default().Incidents}, nil)
	s, err := delivery.New(st, delivery.Options{Delivery: d, Incidents: config.Default().Incidents, Now: clk.Now, Render: noPDF})
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
	// A subscription of the file is planned at first sight, one of the API
	// from when it was added: both are due on 1 May (no mail server here,
	// so every send fails and stays pending).
	if pass, err := s.Run(context.Background()); err != nil || pass != (delivery.Pass{Recorded: 1}) {
		t.Errorf("a pass plans %+v (%v), want hebdo's next run", pass, err)
	}
	clk.Set(at("2021-05-01 00:00:30"))
	if pass, err := s.Run(context.Background()); err != nil || pass != (delivery.Pass{Recorded: 3, Failed: 4}) {
		t.Errorf("the pass of 1 May: %+v (%v), want hebdo's 19 and 26 April and mensuel's 1 May recorded, 4 sends failed", pass, err)
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

	// Added again weeks later under the same name: it starts with its next
	// run, and its 1 May, pending when it was removed, was expired then.
	clk.Set(at("2021-05-20 09:00:00"))
	if code := call("POST", "/api/v1/admin/subscriptions", `{"name":"mensuel","recipients":["dane@example.fr"],"schedule":"0 7 * * 1","range":"week"}`, nil); code != 200 {
		t.Fatalf("adding mensuel again: %d", code)
	}
	clk.Set(at("2021-05-20 09:01:00"))
	// hebdo records 3, 10 and 17 May, expires 12 and 19 April (beyond the
	// 31 days of catch-up) and fails the four others; mensuel plans
	// nothing before its next run.
	if pass, err := s.Run(context.Background()); err != nil || pass != (delivery.Pass{Recorded: 3, Failed: 4, Expired: 2}) {
		t.Errorf("a pass after the re-addition: %+v (%v)", pass, err)
	}
	if code := call("GET", "/api/v1/admin/subscriptions", "", &list); code != 200 || len(list.Subscriptions) != 2 {
		t.Fatalf("list: %d, %d subscriptions", code, len(list.Subscriptions))
	}
	if m := list.Subscriptions[1]; m.Pending != 0 || m.Last == nil || m.Last.State != "expired" || m.Last.LastError != "the subscription was removed" ||
		!m.Last.Due.Equal(at("2021-05-01 00:00:00").UTC()) || !m.NextDue.Equal(at("2021-05-24 07:00:00").UTC()) {
		t.Errorf("mensuel after the re-addition: pending %d, last %+v, next %v", m.Pending, m.Last, m.NextDue)
	}
	if h := list.Subscriptions[0]; h.Pending != 4 || h.Last == nil || h.Last.Attempts != 1 || !strings.Contains(h.Last.LastError, "smtp") {
		t.Errorf("hebdo: pending %d, last %+v; want 26 April and 3, 10, 17 May pending after failed tries", h.Pending, h.Last)
	}
}
