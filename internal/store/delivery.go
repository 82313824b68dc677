package store

import (
	"context"
	"fmt"
	"time"

	"github.com/vigie-fr/vigie/internal/warehouse"
)

// Tables of periodic reports by e-mail (migration 0008).
const (
	TableReportSubscriptions = "report_subscriptions"
	TableReportDeliveries    = "report_deliveries"
)

// ReportSubscription is a subscription an administrator added through the
// API, one version of it.
type ReportSubscription struct {
	Name       string    `json:"name"`
	Recipients []string  `json:"recipients"`
	Regions    []string  `json:"regions"`
	Platforms  []string  `json:"platforms"`
	Lang       string    `json:"lang"`
	Schedule   string    `json:"schedule"`
	Range      string    `json:"range"`
	Deleted    bool      `json:"deleted,omitempty"`
	Author     string    `json:"author"`
	UpdatedAt  time.Time `json:"updated_at"`
}

var subscriptionColumns = []string{"name", "recipients", "regions", "platforms", "lang", "schedule", "covers", "deleted", "author", "updated_at", "version"}

func (s *ReportSubscription) values() []any {
	var del uint8
	if s.Deleted {
		del = 1
	}
	// The version is the change's time in microseconds: changes come from
	// people, one at a time.
	return []any{s.Name, orEmpty(s.Recipients), orEmpty(s.Regions), orEmpty(s.Platforms), s.Lang, s.Schedule, s.Range, del, s.Author,
		s.UpdatedAt.UTC().Truncate(time.Millisecond), uint64(s.UpdatedAt.UnixMicro())}
}

// SaveSubscription writes a new version of a subscription (Deleted set
// removes it).
func (s *Store) SaveSubscription(ctx context.Context, sub ReportSubscription) error {
	return insert(ctx, s, TableReportSubscriptions, subscriptionColumns, []ReportSubscription{sub}, (*ReportSubscription).values, "")
}

// Subscriptions reads the newest version of every subscription added
// through the API and not removed, sorted by name.
func (s *Store) Subscriptions(ctx context.Context) ([]ReportSubscription, error) {
	q := fmt.Sprintf(`SELECT name, recipients, regions, platforms, lang, schedule, covers, author, updated_at
FROM %s FINAL
WHERE deleted = 0
ORDER BY name`, s.table(TableReportSubscriptions))
	res, err := s.wh.Query(ctx, q, nil)
	if err != nil {
		return nil, fmt.Errorf("read report subscriptions: %w", err)
	}
	out := make([]ReportSubscription, 0, len(res.Rows))
	for i, r := range res.Rows {
		if len(r) != 9 {
			return nil, fmt.Errorf("read report subscriptions: row %d has %d columns, want 9", i, len(r))
		}
		out = append(out, ReportSubscription{Name: warehouse.AsString(r[0]), Recipients: stringList(r[1]), Regions: stringList(r[2]),
			Platforms: stringList(r[3]), Lang: warehouse.AsString(r[4]), Schedule: warehouse.AsString(r[5]), Range: warehouse.AsString(r[6]),
			Author: warehouse.AsString(r[7]), UpdatedAt: asTime(r[8])})
	}
	return out, nil
}

// stringList reads an Array(String) value.
func stringList(v any) []string {
	a, _ := v.([]any)
	out := make([]string, 0, len(a))
	for _, x := range a {
		out = append(out, warehouse.AsString(x))
	}
	return out
}

// States of a report delivery.
const (
	// DeliveryPending: the period is due (or will be at Due) and no mail
	// server has accepted its message yet.
	DeliveryPending = "pending"
	// DeliverySent: the mail server answered 250 to the message.
	DeliverySent = "sent"
	// DeliveryExpired: the period was missed for longer than
	// delivery.catch_up and will not be sent.
	DeliveryExpired = "expired"
)

// ReportDelivery is one period of a subscription and where its e-mail is.
type ReportDelivery struct {
	Subscription string `json:"subscription"`
	// Due is the schedule's time of the run; it names the period.
	Due time.Time `json:"due"`
	// From and To are the report's range.
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	State string    `json:"state"`
	// Attempts counts the sends tried (failed ones, and the one accepted).
	Attempts uint32 `json:"attempts"`
	// NextTry is when a pending period is tried (again).
	NextTry   time.Time `json:"next_try"`
	MessageID string    `json:"message_id"`
	LastError string    `json:"last_error,omitempty"`
	SentAt    time.Time `json:"sent_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

var reportDeliveryColumns = []string{"subscription", "due", "range_from", "range_to", "state", "attempts", "next_try",
	"message_id", "last_error", "sent_at", "updated_at", "version"}

// deliveryVersion orders a period's versions by what happened, not by
// clock: every attempt raises it, and within one attempt count the final
// states come after pending. A row written later can then never lose to
// an earlier one, even with a clock that stands still (tests) or steps back.
func (d *ReportDelivery) version() uint64 {
	rank := uint64(0)
	switch d.State {
	case DeliverySent:
		rank = 1
	case DeliveryExpired:
		rank = 2
	}
	return uint64(d.Attempts)*4 + rank
}

func (d *ReportDelivery) values() []any {
	ms := func(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }
	return []any{d.Subscription, d.Due.UTC(), d.From.UTC(), d.To.UTC(), d.State, d.Attempts, ms(d.NextTry),
		d.MessageID, d.LastError, ms(d.SentAt), ms(d.UpdatedAt), d.version()}
}

// SaveReportDeliveries writes new versions of periods.
func (s *Store) SaveReportDeliveries(ctx context.Context, rows []ReportDelivery) error {
	return insert(ctx, s, TableReportDeliveries, reportDeliveryColumns, rows, (*ReportDelivery).values, "")
}

// ReportDeliveries reads the newest version of the periods still pending
// and of those due at or after since, sorted by subscription and due.
func (s *Store) ReportDeliveries(ctx context.Context, since time.Time) ([]ReportDelivery, error) {
	q := fmt.Sprintf(`SELECT subscription, due, range_from, range_to, toString(state), attempts, next_try, message_id, last_error, sent_at, updated_at
FROM %s FINAL
WHERE state = 'pending' OR due >= %s
ORDER BY subscription, due`, s.table(TableReportDeliveries), warehouse.TimeLiteral(since))
	res, err := s.wh.Query(ctx, q, nil)
	if err != nil {
		return nil, fmt.Errorf("read report deliveries since %s: %w", since.Format(time.RFC3339), err)
	}
	out := make([]ReportDelivery, 0, len(res.Rows))
	for i, r := range res.Rows {
		if len(r) != 11 {
			return nil, fmt.Errorf("read report deliveries: row %d has %d columns, want 11", i, len(r))
		}
		out = append(out, ReportDelivery{Subscription: warehouse.AsString(r[0]), Due: asTime(r[1]), From: asTime(r[2]), To: asTime(r[3]),
			State: warehouse.AsString(r[4]), Attempts: uint32(warehouse.AsUint(r[5])), NextTry: asTime(r[6]), MessageID: warehouse.AsString(r[7]),
			LastError: warehouse.AsString(r[8]), SentAt: asTime(r[9]), UpdatedAt: asTime(r[10])})
	}
	return out, nil
}

// LatestReportDues reads, per subscription, the latest period ever
// recorded: where its schedule resumes.
func (s *Store) LatestReportDues(ctx context.Context) (map[string]time.Time, error) {
	q := fmt.Sprintf("SELECT subscription, max(due) FROM %s GROUP BY subscription", s.table(TableReportDeliveries))
	res, err := s.wh.Query(ctx, q, nil)
	if err != nil {
		return nil, fmt.Errorf("read latest report periods: %w", err)
	}
	out := map[string]time.Time{}
	for _, r := range res.Rows {
		out[warehouse.AsString(r[0])] = asTime(r[1])
	}
	return out, nil
}
