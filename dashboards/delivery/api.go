package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/vigie-fr/vigie/internal/auth"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/paris"
	"github.com/vigie-fr/vigie/internal/store"
)

// The routes of the administrators' API (their rules are in auth.Policy).
const (
	RouteList   = "GET /api/v1/admin/subscriptions"
	RoutePut    = "POST /api/v1/admin/subscriptions"
	RouteDelete = "DELETE /api/v1/admin/subscriptions/{name}"
	RouteSend   = "POST /api/v1/admin/subscriptions/{name}/send"
)

// Status is a subscription with where its deliveries are: what the
// dashboard shows administrators.
type Status struct {
	Subscription
	// Enabled is delivery.enabled: false means nothing is sent on schedule.
	Enabled bool `json:"enabled"`
	// NextDue is the schedule's next run.
	NextDue time.Time `json:"next_due,omitzero"`
	// Last is the latest period that was due, whatever its state.
	Last *store.ReportDelivery `json:"last"`
	// LastSent is the latest period accepted by the mail server.
	LastSent *store.ReportDelivery `json:"last_sent"`
	// Pending counts the periods due and not sent yet.
	Pending int `json:"pending"`
}

// Statuses lists every subscription with its deliveries' state.
func (s *Service) Statuses(ctx context.Context) ([]Status, error) {
	now := s.opt.Now().UTC()
	subs, err := s.Subscriptions(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.st.ReportDeliveries(ctx, now.Add(-s.opt.Delivery.CatchUp))
	if err != nil {
		return nil, err
	}
	out := make([]Status, 0, len(subs))
	for _, sub := range subs {
		st := Status{Subscription: sub, Enabled: s.opt.Delivery.Enabled}
		if sc, err := parseSchedule(sub.Schedule, sub.Range); err == nil {
			st.NextDue = sc.next(now)
		}
		for i := range rows {
			d := &rows[i]
			if d.Subscription != sub.Name || d.Due.After(now) {
				continue
			}
			st.Last = d // rows are sorted by due
			if d.State == store.DeliverySent {
				st.LastSent = d
			}
			if d.State == store.DeliveryPending {
				st.Pending++
			}
		}
		out = append(out, st)
	}
	return out, nil
}

// API serves the administrators' routes over a Service.
type API struct {
	s   *Service
	log *slog.Logger
}

// NewAPI returns the API of s.
func NewAPI(s *Service) *API { return &API{s: s, log: s.log} }

// Register adds the routes to mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.HandleFunc(RouteList, a.list)
	mux.HandleFunc(RoutePut, a.put)
	mux.HandleFunc(RouteDelete, a.remove)
	mux.HandleFunc(RouteSend, a.send)
}

func (a *API) list(w http.ResponseWriter, r *http.Request) {
	st, err := a.s.Statuses(r.Context())
	if err != nil {
		a.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	reply(w, http.StatusOK, map[string]any{"subscriptions": st})
}

// SubscriptionRequest is the body of POST /api/v1/admin/subscriptions:
// a name and the fields of a subscription in the file.
type SubscriptionRequest struct {
	Name string `json:"name"`
	config.SubscriptionConfig
}

// put adds or replaces a subscription of the API; the configuration's
// are read-only here (409).
func (a *API) put(w http.ResponseWriter, r *http.Request) {
	var req SubscriptionRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		reply(w, http.StatusBadRequest, map[string]any{"error": "the body is not a subscription in JSON: " + err.Error()})
		return
	}
	var problems []string
	bad := func(key string, val any, rule string) {
		problems = append(problems, fmt.Sprintf("%s: %v %s", key, val, rule))
	}
	if !config.SubscriptionName(req.Name) {
		bad("name", fmt.Sprintf("%q", req.Name), "is not a name (a letter, then letters, digits, _ and -, at most 64)")
	}
	req.Validate("subscription", bad)
	if len(problems) > 0 {
		reply(w, http.StatusBadRequest, map[string]any{"error": "invalid subscription", "problems": problems})
		return
	}
	if _, ok := a.s.opt.Delivery.Subscriptions[req.Name]; ok {
		reply(w, http.StatusConflict, map[string]any{"error": fmt.Sprintf("subscription %q is written in the configuration file: change it there", req.Name)})
		return
	}
	id, _ := auth.FromContext(r.Context())
	row := store.ReportSubscription{Name: req.Name, Recipients: req.Recipients, Regions: req.Regions, Platforms: req.Platforms,
		Lang: req.Lang, Schedule: req.Schedule, Range: req.Range, Author: id.Name, UpdatedAt: a.s.opt.Now().UTC()}
	if err := a.s.st.SaveSubscription(r.Context(), row); err != nil {
		a.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	a.log.Info("subscription saved", "subscription", req.Name, "recipients", len(req.Recipients), id.LogAttrs())
	reply(w, http.StatusOK, row)
}

func (a *API) remove(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	sub, ok := a.find(w, r, name)
	if !ok {
		return
	}
	if sub.Origin == "config" {
		reply(w, http.StatusConflict, map[string]any{"error": fmt.Sprintf("subscription %q is written in the configuration file: remove it there", name)})
		return
	}
	id, _ := auth.FromContext(r.Context())
	if err := a.s.st.SaveSubscription(r.Context(), store.ReportSubscription{Name: name, Recipients: sub.Recipients, Regions: sub.Regions,
		Platforms: sub.Platforms, Lang: sub.SubscriptionConfig.Lang, Schedule: sub.Schedule, Range: sub.Range,
		Deleted: true, Author: id.Name, UpdatedAt: a.s.opt.Now().UTC()}); err != nil {
		a.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	if err := a.s.forget(r.Context(), name); err != nil {
		a.log.Warn("expire a removed subscription's pending periods", "subscription", name, "err", err)
	}
	a.log.Info("subscription removed", "subscription", name, id.LogAttrs())
	w.WriteHeader(http.StatusNoContent)
}

// send sends a subscription's report now: ?from&to as the dashboard API
// takes them, or by default the period its last run covered.
func (a *API) send(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	sub, ok := a.find(w, r, name)
	if !ok {
		return
	}
	q := r.URL.Query()
	var from, to time.Time
	var err error
	if q.Get("from") == "" && q.Get("to") == "" {
		from, to, err = LastPeriod(sub, a.s.opt.Now())
	} else {
		from, to, err = paris.ParseRange(q.Get("from"), q.Get("to"))
		if err == nil && to.Sub(from) > maxRange {
			err = fmt.Errorf("to: a range longer than %v is not sent", maxRange)
		}
	}
	if err != nil {
		reply(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
		return
	}
	id, _ := auth.FromContext(r.Context())
	if err := a.s.SendNow(r.Context(), name, from, to); err != nil {
		a.fail(w, r, http.StatusBadGateway, err)
		return
	}
	a.log.Info("report e-mail sent on request", "subscription", name, "from", from, "to", to, id.LogAttrs())
	reply(w, http.StatusOK, map[string]any{"subscription": name, "from": from.UTC(), "to": to.UTC(), "recipients": len(sub.Recipients)})
}

func (a *API) find(w http.ResponseWriter, r *http.Request, name string) (Subscription, bool) {
	subs, err := a.s.Subscriptions(r.Context())
	if err != nil {
		a.fail(w, r, http.StatusInternalServerError, err)
		return Subscription{}, false
	}
	for _, s := range subs {
		if s.Name == name {
			return s, true
		}
	}
	reply(w, http.StatusNotFound, map[string]any{"error": (&NotFoundError{Name: name}).Error()})
	return Subscription{}, false
}

// fail answers status; the details go to the log, and for a failed send
// (502) to the administrator too: it names the mail server's answer.
func (a *API) fail(w http.ResponseWriter, r *http.Request, status int, err error) {
	a.log.Error("subscriptions api", "path", r.URL.Path, "status", status, "err", err)
	msg := http.StatusText(status)
	if status == http.StatusBadGateway {
		msg = "the report could not be sent: " + err.Error()
	}
	var nf *NotFoundError
	if errors.As(err, &nf) {
		status, msg = http.StatusNotFound, nf.Error()
	}
	reply(w, status, map[string]any{"error": msg})
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
