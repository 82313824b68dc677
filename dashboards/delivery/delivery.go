// Package delivery sends the report by e-mail on a schedule: subscriptions
// (from the configuration, and added by administrators through the API),
// the periods each schedule makes due, the report of each period rendered
// in the subscription's language and scope (HTML body, Markdown
// alternative, PDF attached when Chromium is there), sent by SMTP with
// retries and back-off, and the state of every period kept in the
// warehouse so that a restart neither skips nor repeats a send. It does
// not write the report (package report does) nor decide who may call its
// API (package auth's Policy).
package delivery

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie-fr/vigie/dashboards/report"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/i18n"
	"github.com/vigie-fr/vigie/internal/store"
)

// Store is what deliveries read and write (*store.Store).
type Store interface {
	report.Source
	Subscriptions(ctx context.Context) ([]store.ReportSubscription, error)
	SaveSubscription(ctx context.Context, sub store.ReportSubscription) error
	SaveReportDeliveries(ctx context.Context, rows []store.ReportDelivery) error
	ReportDeliveries(ctx context.Context, since time.Time) ([]store.ReportDelivery, error)
	LatestReportDues(ctx context.Context) (map[string]time.Time, error)
}

// Sender hands a message to a mail server (*Mailer).
type Sender interface {
	Send(ctx context.Context, m *gomail.Msg) error
}

// Subscription is a subscription wherever it was written.
type Subscription struct {
	Name string `json:"name"`
	config.SubscriptionConfig
	// Origin is "config" (the file; read-only through the API) or "api".
	Origin    string    `json:"origin"`
	Author    string    `json:"author,omitempty"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Lang is the subscription's language (French when none is set).
func (s Subscription) Lang() i18n.Lang {
	l, err := i18n.Parse(s.SubscriptionConfig.Lang)
	if err != nil {
		return i18n.Default
	}
	return l
}

// Options configure a Service.
type Options struct {
	Delivery  config.DeliveryConfig
	Incidents config.IncidentsConfig
	// Catalogue names the services in the reports (catalogue.*).
	Catalogue config.CatalogueConfig
	// Now is the clock; nil means time.Now. Tests move their own.
	Now func() time.Time
	// Render writes a period's report; nil is ReportRenderer with
	// report.PDF.
	Render Renderer
	// Sender sends the messages; nil is NewMailer(Delivery).
	Sender     Sender
	Log        *slog.Logger
	Registerer prometheus.Registerer
}

// Service plans and sends the subscriptions' periods.
type Service struct {
	st   Store
	opt  Options
	log  *slog.Logger
	m    *metrics
	mu   sync.Mutex // one pass at a time
	stop context.CancelFunc
	done chan struct{}
}

// New returns a Service; it does no I/O. The configuration must have
// passed config.Validate.
func New(st Store, opt Options) (*Service, error) {
	if st == nil {
		return nil, errors.New("delivery: no store")
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Render == nil {
		opt.Render = ReportRenderer(report.Options{Incidents: opt.Incidents, Catalogue: opt.Catalogue}, report.PDF)
	}
	if opt.Sender == nil {
		opt.Sender = NewMailer(opt.Delivery)
	}
	if opt.Registerer == nil {
		opt.Registerer = prometheus.NewRegistry()
	}
	m, err := newMetrics(opt.Registerer)
	if err != nil {
		return nil, err
	}
	return &Service{st: st, opt: opt, log: opt.Log.With("component", "delivery"), m: m}, nil
}

// Start runs a pass now and then every delivery.interval until Shutdown.
func (s *Service) Start(ctx context.Context) error {
	if s.stop != nil {
		return errors.New("delivery: already started")
	}
	ctx, s.stop = context.WithCancel(context.WithoutCancel(ctx))
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		t := time.NewTicker(s.opt.Delivery.Interval)
		defer t.Stop()
		for {
			if _, err := s.Run(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("delivery pass failed", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	s.log.Info("report delivery started", "interval", s.opt.Delivery.Interval, "smtp_host", s.opt.Delivery.SMTP.Host)
	return nil
}

// Shutdown stops the passes, waiting for the one running (bounded by ctx):
// a send in flight finishes and is recorded.
func (s *Service) Shutdown(ctx context.Context) error {
	if s.stop == nil {
		return nil
	}
	s.stop()
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("delivery: pass did not stop in time: %w", ctx.Err())
	}
}

// Subscriptions lists the configuration's subscriptions and the API's,
// sorted by name. A name in both is the configuration's.
func (s *Service) Subscriptions(ctx context.Context) ([]Subscription, error) {
	out := make([]Subscription, 0, len(s.opt.Delivery.Subscriptions))
	for _, n := range slices.Sorted(maps.Keys(s.opt.Delivery.Subscriptions)) {
		out = append(out, Subscription{Name: n, SubscriptionConfig: s.opt.Delivery.Subscriptions[n], Origin: "config"})
	}
	api, err := s.st.Subscriptions(ctx)
	if err != nil {
		return nil, err
	}
	for _, a := range api {
		if _, dup := s.opt.Delivery.Subscriptions[a.Name]; dup {
			continue
		}
		out = append(out, Subscription{Name: a.Name, Origin: "api", Author: a.Author, UpdatedAt: a.UpdatedAt,
			SubscriptionConfig: config.SubscriptionConfig{Recipients: a.Recipients, Regions: a.Regions, Platforms: a.Platforms,
				Lang: a.Lang, Schedule: a.Schedule, Range: a.Range}})
	}
	slices.SortFunc(out, func(a, b Subscription) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

// Pass says what one Run did.
type Pass struct {
	Recorded, Sent, Failed, Expired int
}

// Run is one pass: it records the periods each schedule made due since the
// last one recorded (pending, before anything is sent), then sends every
// pending period whose time has come, recording each as sent once the mail
// server accepted it, or its failure and next try.
func (s *Service) Run(ctx context.Context) (Pass, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var pass Pass
	now := s.opt.Now().UTC()
	subs, err := s.Subscriptions(ctx)
	if err != nil {
		return pass, err
	}
	latest, err := s.st.LatestReportDues(ctx)
	if err != nil {
		return pass, err
	}
	var planned []store.ReportDelivery
	scheds := map[string]schedule{}
	for _, sub := range subs {
		sc, err := parseSchedule(sub.Schedule, sub.Range)
		if err != nil { // an API subscription written before a rule changed
			s.log.Warn("subscription skipped", "subscription", sub.Name, "err", err)
			continue
		}
		scheds[sub.Name] = sc
		anchor := latest[sub.Name]
		if sub.UpdatedAt.After(anchor) && !sub.UpdatedAt.After(now) {
			// Added (or added again after a removal) through the API: the
			// runs before that are none of its business.
			anchor = sub.UpdatedAt
		}
		planned = append(planned, s.plan(sub, sc, anchor, now)...)
	}
	if len(planned) > 0 {
		if err := s.st.SaveReportDeliveries(ctx, planned); err != nil {
			return pass, err
		}
		pass.Recorded = len(planned)
	}
	rows, err := s.st.ReportDeliveries(ctx, now.Add(-s.opt.Delivery.CatchUp))
	if err != nil {
		return pass, err
	}
	byName := map[string]Subscription{}
	for _, sub := range subs {
		byName[sub.Name] = sub
	}
	pending := map[string]int{}
	for _, d := range rows {
		sub, ok := byName[d.Subscription]
		sc, known := scheds[d.Subscription]
		if !ok || !known || d.State != store.DeliveryPending {
			continue // removed subscriptions keep their history and send nothing
		}
		if d.Due.After(now) {
			if !sc.next(d.Due.Add(-time.Second)).Equal(d.Due) { // the schedule changed since it was planned
				pass.Expired++
				s.expire(ctx, d, now, "the subscription's schedule changed")
			}
			continue
		}
		if now.Sub(d.Due) > s.opt.Delivery.CatchUp {
			pass.Expired++
			s.expire(ctx, d, now, fmt.Sprintf("missed for longer than delivery.catch_up (%v)", s.opt.Delivery.CatchUp))
			continue
		}
		pending[d.Subscription]++
		if d.NextTry.After(now) || ctx.Err() != nil {
			continue
		}
		if err := s.deliver(ctx, sub, d, now); err != nil {
			pass.Failed++
			continue
		}
		pass.Sent++
		pending[d.Subscription]--
	}
	s.m.pending.Reset()
	for _, sub := range subs {
		s.m.pending.WithLabelValues(sub.Name).Set(float64(pending[sub.Name]))
	}
	return pass, ctx.Err()
}

// plan returns the periods of sub to record: every run of its schedule
// after latest (the latest recorded, or when the API last changed the
// subscription) up to now, expired when older than delivery.catch_up;
// for a subscription never seen, its next run. A new subscription starts
// with the first run after it was added, rather than sending a report of
// the past at once.
func (s *Service) plan(sub Subscription, sc schedule, latest, now time.Time) []store.ReportDelivery {
	row := func(due time.Time) store.ReportDelivery {
		from, to := sc.period(due)
		d := store.ReportDelivery{Subscription: sub.Name, Due: due, From: from, To: to, State: store.DeliveryPending,
			NextTry: due, MessageID: MessageID(sub.Name, due, s.opt.Delivery.From), UpdatedAt: now}
		if now.Sub(due) > s.opt.Delivery.CatchUp {
			d.State, d.LastError = store.DeliveryExpired, "missed for longer than delivery.catch_up"
		}
		return d
	}
	if latest.IsZero() {
		if next := sc.next(now); !next.IsZero() {
			return []store.ReportDelivery{row(next)}
		}
		return nil
	}
	var out []store.ReportDelivery
	// The oldest runs first; far in the past they are expired in bulk, so
	// skip to catch_up before now (bounded: a schedule runs at most every
	// minute, and catch_up is at most what an operator set).
	from := latest
	if edge := now.Add(-s.opt.Delivery.CatchUp); from.Before(edge) {
		if skipped := sc.prev(edge); skipped.After(from) {
			out = append(out, row(skipped)) // one expired row says periods were missed
			from = skipped
		}
	}
	for t := sc.next(from); !t.IsZero() && !t.After(now); t = sc.next(t) {
		out = append(out, row(t))
	}
	return out
}

// forget expires the pending periods of a removed subscription, so that
// adding one of the same name later does not send them.
func (s *Service) forget(ctx context.Context, name string) error {
	now := s.opt.Now().UTC()
	rows, err := s.st.ReportDeliveries(ctx, now)
	if err != nil {
		return err
	}
	for _, d := range rows {
		if d.Subscription == name && d.State == store.DeliveryPending {
			s.expire(ctx, d, now, "the subscription was removed")
		}
	}
	return nil
}

func (s *Service) expire(ctx context.Context, d store.ReportDelivery, now time.Time, why string) {
	d.State, d.LastError, d.UpdatedAt = store.DeliveryExpired, why, now
	if err := s.st.SaveReportDeliveries(ctx, []store.ReportDelivery{d}); err != nil {
		s.log.Warn("record an expired report period", "subscription", d.Subscription, "due", d.Due, "err", err)
	}
	s.m.expired.WithLabelValues(d.Subscription).Inc()
}

// deliver renders and sends one pending period and records the outcome.
func (s *Service) deliver(ctx context.Context, sub Subscription, d store.ReportDelivery, now time.Time) error {
	start := time.Now()
	err := s.send(ctx, sub, d.From, d.To, d.MessageID, now)
	s.m.duration.Observe(time.Since(start).Seconds())
	d.Attempts++
	d.UpdatedAt = now
	log := s.log.With("subscription", sub.Name, "due", d.Due, "attempt", d.Attempts, "message_id", d.MessageID)
	if err != nil && ctx.Err() != nil {
		return err // stopping: not the server's failure, tried again at the next start
	}
	if err != nil {
		d.LastError = clip(err.Error(), 500)
		d.NextTry = now.Add(s.backoff(d.Attempts))
		s.m.attempts.WithLabelValues(sub.Name, "error").Inc()
		log.Warn("report e-mail not sent, will retry", "next_try", d.NextTry, "err", err)
		if rerr := s.st.SaveReportDeliveries(context.WithoutCancel(ctx), []store.ReportDelivery{d}); rerr != nil {
			log.Warn("record the failed report e-mail", "err", rerr)
		}
		return err
	}
	d.State, d.SentAt, d.LastError = store.DeliverySent, now, ""
	s.m.attempts.WithLabelValues(sub.Name, "ok").Inc()
	s.m.lastSent.WithLabelValues(sub.Name).Set(float64(now.Unix()))
	// Recorded even when ctx is done: the server has the message.
	if err := s.st.SaveReportDeliveries(context.WithoutCancel(ctx), []store.ReportDelivery{d}); err != nil {
		// The next pass sends it again, with the same Message-ID.
		log.Error("report e-mail sent but not recorded: it will be sent again", "err", err)
		return nil
	}
	log.Info("report e-mail sent", "recipients", len(sub.Recipients))
	return nil
}

// backoff is the pause after the n-th failed attempt: retry_backoff,
// doubled each time, at most max_backoff.
func (s *Service) backoff(n uint32) time.Duration {
	d := s.opt.Delivery.RetryBackoff
	for i := uint32(1); i < n && d < s.opt.Delivery.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, s.opt.Delivery.MaxBackoff)
}

// send renders the report of [from, to) for sub and sends it.
func (s *Service) send(ctx context.Context, sub Subscription, from, to time.Time, messageID string, now time.Time) error {
	r, err := s.opt.Render(ctx, scope(s.st, sub.Regions, sub.Platforms), from, to, sub.Lang())
	if err != nil {
		return fmt.Errorf("render the report: %w", err)
	}
	if r.PDF == nil {
		s.m.noPDF.WithLabelValues(sub.Name).Inc()
		s.log.Warn("report e-mail without its PDF", "subscription", sub.Name, "err", r.PDFErr)
	}
	m, err := compose(s.opt.Delivery.From, Letter{Subscription: sub, From: from, To: to, MessageID: messageID, Date: now}, r)
	if err != nil {
		return err
	}
	return s.opt.Sender.Send(ctx, m)
}

// SendNow sends the report of [from, to) of the named subscription at
// once, outside its schedule (`vigie report send`): nothing is recorded,
// and the message gets a Message-ID of its own.
func (s *Service) SendNow(ctx context.Context, name string, from, to time.Time) error {
	subs, err := s.Subscriptions(ctx)
	if err != nil {
		return err
	}
	for _, sub := range subs {
		if sub.Name == name {
			err := s.send(ctx, sub, from, to, "", s.opt.Now())
			result := "ok"
			if err != nil {
				result = "error"
			}
			s.m.attempts.WithLabelValues(sub.Name, result).Inc()
			return err
		}
	}
	return &NotFoundError{Name: name}
}

// LastPeriod is the range the subscription's last run before now covered:
// what `vigie report send` sends when no range is given.
func LastPeriod(sub Subscription, now time.Time) (from, to time.Time, err error) {
	sc, err := parseSchedule(sub.Schedule, sub.Range)
	if err != nil {
		return from, to, err
	}
	due := sc.prev(now.Add(time.Second))
	if due.IsZero() {
		return from, to, fmt.Errorf("subscription %s: its schedule %q never ran in the last ten years", sub.Name, sub.Schedule)
	}
	from, to = sc.period(due)
	return from, to, nil
}

// NotFoundError is a subscription name nobody wrote.
type NotFoundError struct{ Name string }

func (e *NotFoundError) Error() string { return fmt.Sprintf("no subscription is named %q", e.Name) }

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
