package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"strings"
	"time"

	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/store"
)

// receiver is one configured webhook.
type receiver struct {
	name   string
	cfg    config.WebhookConfig
	client *http.Client
}

// Notification is the body the "json" format posts: one incident's state.
type Notification struct {
	// Status is "firing" while the incident is open, then "resolved".
	Status   string              `json:"status"`
	Incident store.IncidentState `json:"incident"`
	SentAt   time.Time           `json:"sent_at"`
	Labels   map[string]string   `json:"labels"`
}

func status(open bool) string {
	if open {
		return "firing"
	}
	return "resolved"
}

// deliver sends what each receiver has not acknowledged yet: the "firing"
// notification of every incident and the "resolved" one of every resolved
// incident, once each (acknowledgements are kept in the warehouse, so a
// restart does not send them again). An Alertmanager also gets every open
// incident at each evaluation, as its API expects of a client (it ends an
// alert that is not re-sent within its resolve_timeout); it merges them by
// labels, so the page it sends is not repeated.
func (e *Evaluator) deliver(ctx context.Context, states []store.IncidentState, now time.Time) ([]string, error) {
	if len(e.notify) == 0 || len(states) == 0 {
		return nil, nil
	}
	ids := make([]string, len(states))
	for i, st := range states {
		ids[i] = st.ID
	}
	done, err := e.st.Delivered(ctx, ids)
	if err != nil {
		return nil, err
	}
	var sent []string
	var errs []error
	for _, r := range e.notify {
		var due []store.IncidentState
		var keys []string
		for _, st := range states {
			firing := store.DeliveryKey(st.ID, r.name, true)
			resolved := store.DeliveryKey(st.ID, r.name, false)
			switch {
			case st.Open && !done[firing]:
				due, keys = append(due, st), append(keys, firing)
			case !st.Open && !done[resolved]:
				due, keys = append(due, st), append(keys, resolved)
			case st.Open && r.cfg.Format == "alertmanager":
				due, keys = append(due, st), append(keys, "")
			}
		}
		for i, st := range due {
			err := e.sendWithRetries(ctx, r, st, now)
			e.m.sent.WithLabelValues(r.name, status(st.Open), result(err)).Inc()
			if err != nil {
				errs = append(errs, fmt.Errorf("notify %s of %s (%s): %w", r.name, st.ID, status(st.Open), err))
				continue
			}
			if keys[i] == "" {
				continue
			}
			d := store.Delivery{IncidentID: st.ID, Receiver: r.name, Open: st.Open, At: now}
			if err := e.st.RecordDeliveries(ctx, []store.Delivery{d}); err != nil {
				// Sent but not recorded: it will be sent again, which a
				// receiver tells apart by its Idempotency-Key.
				errs = append(errs, err)
				continue
			}
			sent = append(sent, keys[i])
			e.log.Info("notification sent", "receiver", r.name, "id", st.ID, "status", status(st.Open))
		}
	}
	return sent, errors.Join(errs...)
}

func result(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}

// sendWithRetries tries alerts.retries more times after a failure, pausing
// retry_backoff, then twice as long each time.
func (e *Evaluator) sendWithRetries(ctx context.Context, r *receiver, st store.IncidentState, now time.Time) error {
	pause := e.opt.Alerts.RetryBackoff
	var err error
	for attempt := 0; attempt <= e.opt.Alerts.Retries; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return errors.Join(err, ctx.Err())
			case <-time.After(pause):
			}
			pause *= 2
		}
		if err = r.send(ctx, st, now); err == nil {
			return nil
		}
	}
	return err
}

func labelsOf(st store.IncidentState) map[string]string {
	return map[string]string{"alertname": "VigieIncident", "platform": st.Platform, "service": st.Service,
		"region": st.Region, "reason": st.Reason, "incident_id": st.ID, "severity": "page"}
}

func summary(st store.IncidentState) string {
	return fmt.Sprintf("%s in region %s: %s since %s", st.Service, st.Region, st.Reason, st.Start.Format(time.RFC3339))
}

// send posts one notification in the receiver's format.
func (r *receiver) send(ctx context.Context, st store.IncidentState, now time.Time) error {
	var body []byte
	var err error
	url := r.cfg.URL
	switch r.cfg.Format {
	case "alertmanager":
		url = strings.TrimRight(url, "/") + "/api/v2/alerts"
		a := map[string]any{
			"labels": labelsOf(st),
			"annotations": map[string]string{"summary": summary(st),
				"description": fmt.Sprintf("worst availability %.1f %%, worst p95 %.0f ms, %d failed of %d events",
					100*st.WorstAvailability, st.WorstP95MS, st.Failed, st.Events)},
			"startsAt": st.Start.UTC().Format(time.RFC3339),
		}
		if !st.Open {
			a["endsAt"] = st.End.UTC().Format(time.RFC3339)
		}
		body, err = json.Marshal([]any{a})
	default:
		body, err = json.Marshal(Notification{Status: status(st.Open), SentAt: now.UTC(), Labels: labelsOf(st), Incident: st})
	}
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", st.ID+"/"+status(st.Open))
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered %s: %s", redact(url), resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}

// redact is a URL fit for logs: no user information, query or fragment,
// where webhook tokens usually hide.
func redact(raw string) string {
	u, err := neturl.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Scheme + "://" + u.Host + u.Path
}
