package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vigie-fr/vigie/internal/warehouse"
)

// Tables of the post-mortem's human part (migration 0006).
const (
	TableAnnotations  = "report_annotations"
	TableActions      = "report_actions"
	TableReportStatus = "report_status"
)

// failedOutcomes is the SQL list of the outcomes that count against
// availability (schemas.Event.Failed).
const failedOutcomes = "('error', 'timeout', 'rejected')"

// People is one role's part of an impact: the distinct people and the
// attempts seen in the raw events, and what they stand for in the whole
// population (each event weighs 1 / sample_rate).
type People struct {
	// Role is the events' role; "" for attempts without a user (their
	// people counts are 0).
	Role string `json:"role"`
	// Users are the distinct pseudonyms seen, Failed those among them who
	// saw at least one error, timeout or quota refusal.
	Users  uint64 `json:"users"`
	Failed uint64 `json:"failed"`
	// EstUsers and EstFailed weigh each person by the 1 / sample_rate of
	// their events (the largest, when a sender changed its rate).
	EstUsers  float64 `json:"estimated_users"`
	EstFailed float64 `json:"estimated_failed"`
	// Attempts and FailedAttempts count events; Est* weigh them.
	Attempts          uint64  `json:"attempts"`
	FailedAttempts    uint64  `json:"failed_attempts"`
	EstAttempts       float64 `json:"estimated_attempts"`
	EstFailedAttempts float64 `json:"estimated_failed_attempts"`
	// Sampled counts the events that carried a sample rate below 1.
	Sampled uint64 `json:"sampled"`
}

// People reads the raw events inside spans (probes left out: they are not
// people) and counts them by role; a person seen in several spans, or with
// several roles, counts once (under one of their roles). Raw events are kept
// warehouse.retention.raw: older spans count nothing. Sorted by role.
func (s *Store) People(ctx context.Context, spans []Span) ([]People, error) {
	if len(spans) == 0 {
		return []People{}, nil
	}
	conds := make([]string, len(spans))
	for i, sp := range spans {
		conds[i] = sp.cond("ts")
	}
	q := fmt.Sprintf(`SELECT role, countIf(user != 0), countIf(user != 0 AND f), sumIf(w, user != 0), sumIf(w, user != 0 AND f),
       sum(n), sum(nf), sum(wn), sum(wnf), sum(sampled)
FROM (
    SELECT user, if(user = 0, '', any(role)) AS role, max(1 / sample_rate) AS w, max(outcome IN %[1]s) AS f,
           count() AS n, countIf(outcome IN %[1]s) AS nf, sum(1 / sample_rate) AS wn, sumIf(1 / sample_rate, outcome IN %[1]s) AS wnf,
           countIf(sample_rate < 1) AS sampled
    FROM %[2]s
    WHERE kind != 'probe' AND (%[3]s)
    GROUP BY user
)
GROUP BY role
ORDER BY role`, failedOutcomes, s.table(TableEvents), strings.Join(conds, " OR "))
	res, err := s.wh.Query(ctx, q, nil)
	if err != nil {
		return nil, fmt.Errorf("people by role over %d spans: %w", len(spans), err)
	}
	out := make([]People, 0, len(res.Rows))
	for i, r := range res.Rows {
		if len(r) != 10 {
			return nil, fmt.Errorf("people by role: row %d has %d columns, want 10", i, len(r))
		}
		out = append(out, People{Role: warehouse.AsString(r[0]), Users: warehouse.AsUint(r[1]), Failed: warehouse.AsUint(r[2]),
			EstUsers: warehouse.AsFloat(r[3]), EstFailed: warehouse.AsFloat(r[4]), Attempts: warehouse.AsUint(r[5]),
			FailedAttempts: warehouse.AsUint(r[6]), EstAttempts: warehouse.AsFloat(r[7]), EstFailedAttempts: warehouse.AsFloat(r[8]),
			Sampled: warehouse.AsUint(r[9])})
	}
	return out, nil
}

// Annotation is a line people add to a report's timeline: a first
// complaint, a statement, a waiting room rolled out. Text and Author come
// from users: whoever shows them escapes them.
type Annotation struct {
	ID string `json:"id"`
	// At is when what it tells happened, UTC to the minute.
	At time.Time `json:"at"`
	// Platform and Region narrow it; "" is every platform or region.
	Platform string `json:"platform,omitempty"`
	Region   string `json:"region,omitempty"`
	// Kind is AnnotationEvent (the timeline) or a lesson: AnnotationWell,
	// AnnotationBadly, AnnotationLucky.
	Kind      string    `json:"kind"`
	Text      string    `json:"text"`
	Author    string    `json:"author"`
	WrittenAt time.Time `json:"written_at"`
	Deleted   bool      `json:"deleted,omitempty"`
}

// Kinds of annotation.
const (
	AnnotationEvent = "event"
	AnnotationWell  = "well"
	AnnotationBadly = "badly"
	AnnotationLucky = "lucky"
)

// AnnotationKinds are the kinds of annotation, in the report's order.
var AnnotationKinds = []string{AnnotationEvent, AnnotationWell, AnnotationBadly, AnnotationLucky}

var annotationColumns = []string{"id", "at", "platform", "region", "kind", "text", "author", "written_at", "deleted"}

func (a *Annotation) values() []any {
	return []any{a.ID, a.At.UTC(), a.Platform, a.Region, a.Kind, a.Text, a.Author, a.WrittenAt.UTC(), boolByte(a.Deleted)}
}

// Action is a post-mortem's action item.
type Action struct {
	ID string `json:"id"`
	// At is the time of the incident it follows up, UTC: the reports whose
	// range holds it list it.
	At       time.Time `json:"at"`
	Title    string    `json:"title"`
	Owner    string    `json:"owner"`
	Priority string    `json:"priority"`
	// Due is a day (UTC midnight); zero when none was set.
	Due       time.Time `json:"due"`
	State     string    `json:"state"`
	Author    string    `json:"author"`
	WrittenAt time.Time `json:"written_at"`
	Deleted   bool      `json:"deleted,omitempty"`
}

var actionColumns = []string{"id", "at", "title", "owner", "priority", "due", "state", "author", "written_at", "deleted"}

func (a *Action) values() []any {
	return []any{a.ID, a.At.UTC(), a.Title, a.Owner, a.Priority, a.Due.UTC(), a.State, a.Author, a.WrittenAt.UTC(), boolByte(a.Deleted)}
}

// ReportStatus is the state of a report's range (draft or final).
type ReportStatus struct {
	From      time.Time `json:"from"`
	To        time.Time `json:"to"`
	Status    string    `json:"status"`
	Author    string    `json:"author"`
	WrittenAt time.Time `json:"written_at"`
}

var reportStatusColumns = []string{"range_from", "range_to", "status", "author", "written_at"}

func (st *ReportStatus) values() []any {
	return []any{st.From.UTC(), st.To.UTC(), st.Status, st.Author, st.WrittenAt.UTC()}
}

func boolByte(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// PutAnnotation writes a version of an annotation: a new id adds it, a
// known id replaces it (the newest WrittenAt wins), Deleted hides it.
func (s *Store) PutAnnotation(ctx context.Context, a Annotation) error {
	return insert(ctx, s, TableAnnotations, annotationColumns, []Annotation{a}, (*Annotation).values, "")
}

// PutAction writes a version of an action item, as PutAnnotation.
func (s *Store) PutAction(ctx context.Context, a Action) error {
	return insert(ctx, s, TableActions, actionColumns, []Action{a}, (*Action).values, "")
}

// SetReportStatus records the status of a report's range.
func (s *Store) SetReportStatus(ctx context.Context, st ReportStatus) error {
	return insert(ctx, s, TableReportStatus, reportStatusColumns, []ReportStatus{st}, (*ReportStatus).values, "")
}

// Annotations reads the newest version of the annotations of [from, to)
// that are not deleted, by time then id.
func (s *Store) Annotations(ctx context.Context, from, to time.Time) ([]Annotation, error) {
	q := fmt.Sprintf(`SELECT id, at, platform, region, kind, text, author, written_at
FROM %s FINAL
WHERE deleted = 0 AND %s
ORDER BY at, id`, s.table(TableAnnotations), span("at", from, to))
	res, err := s.wh.Query(ctx, q, nil)
	if err != nil {
		return nil, fmt.Errorf("annotations %s..%s: %w", from.Format(time.RFC3339), to.Format(time.RFC3339), err)
	}
	out := make([]Annotation, 0, len(res.Rows))
	for i, r := range res.Rows {
		if len(r) != 8 {
			return nil, fmt.Errorf("annotations: row %d has %d columns, want 8", i, len(r))
		}
		out = append(out, Annotation{ID: warehouse.AsString(r[0]), At: asTime(r[1]), Platform: warehouse.AsString(r[2]),
			Region: warehouse.AsString(r[3]), Kind: warehouse.AsString(r[4]), Text: warehouse.AsString(r[5]), Author: warehouse.AsString(r[6]),
			WrittenAt: asTime(r[7])})
	}
	return out, nil
}

// Actions reads the newest version of the action items of [from, to) that
// are not deleted, by time then id.
func (s *Store) Actions(ctx context.Context, from, to time.Time) ([]Action, error) {
	q := fmt.Sprintf(`SELECT id, at, title, owner, priority, toDateTime(due, 'UTC'), state, author, written_at
FROM %s FINAL
WHERE deleted = 0 AND %s
ORDER BY at, id`, s.table(TableActions), span("at", from, to))
	res, err := s.wh.Query(ctx, q, nil)
	if err != nil {
		return nil, fmt.Errorf("action items %s..%s: %w", from.Format(time.RFC3339), to.Format(time.RFC3339), err)
	}
	out := make([]Action, 0, len(res.Rows))
	for i, r := range res.Rows {
		if len(r) != 9 {
			return nil, fmt.Errorf("action items: row %d has %d columns, want 9", i, len(r))
		}
		a := Action{ID: warehouse.AsString(r[0]), At: asTime(r[1]), Title: warehouse.AsString(r[2]), Owner: warehouse.AsString(r[3]),
			Priority: warehouse.AsString(r[4]), Due: asTime(r[5]), State: warehouse.AsString(r[6]), Author: warehouse.AsString(r[7]), WrittenAt: asTime(r[8])}
		if a.Due.Year() <= 1970 {
			a.Due = time.Time{}
		}
		out = append(out, a)
	}
	return out, nil
}

// ReportStatusOf reads the newest status of exactly [from, to); ok is false
// when none was ever set.
func (s *Store) ReportStatusOf(ctx context.Context, from, to time.Time) (st ReportStatus, ok bool, err error) {
	q := fmt.Sprintf(`SELECT status, author, written_at
FROM %s
WHERE range_from = %s AND range_to = %s
ORDER BY written_at DESC
LIMIT 1`, s.table(TableReportStatus), warehouse.TimeLiteral(from), warehouse.TimeLiteral(to))
	res, err := s.wh.Query(ctx, q, nil)
	if err != nil {
		return st, false, fmt.Errorf("report status %s..%s: %w", from.Format(time.RFC3339), to.Format(time.RFC3339), err)
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 3 {
		return st, false, nil
	}
	r := res.Rows[0]
	return ReportStatus{From: from.UTC(), To: to.UTC(), Status: warehouse.AsString(r[0]), Author: warehouse.AsString(r[1]), WrittenAt: asTime(r[2])}, true, nil
}

func asTime(v any) time.Time {
	t, _ := v.(time.Time)
	return t.UTC()
}
