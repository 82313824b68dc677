package delivery

import (
	"testing"
	"time"

	"github.com/vigie-fr/vigie/internal/i18n"
	"github.com/vigie-fr/vigie/internal/paris"
)

func paristime(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, paris.Location)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// Each range is the period just ended, in Paris days: 23 h long across
// the spring change of clock, and a month is a calendar month.
func TestPeriodsAreThePeriodJustEnded(t *testing.T) {
	for _, tc := range []struct {
		expr, covers, due, from, to string
	}{
		{"0 7 * * 1", "week", "2021-04-12 07:00", "2021-04-05 00:00", "2021-04-12 00:00"},
		{"0 7 * * 1", "week", "2021-03-29 07:00", "2021-03-22 00:00", "2021-03-29 00:00"}, // 167 h: summer time began on the 28th
		{"30 6 * * *", "day", "2021-03-29 06:30", "2021-03-28 00:00", "2021-03-29 00:00"}, // a 23-hour day
		{"@daily", "day", "2021-04-07 00:00", "2021-04-06 00:00", "2021-04-07 00:00"},
		{"0 8 1 * *", "month", "2021-03-01 08:00", "2021-02-01 00:00", "2021-03-01 00:00"},
		{"@monthly", "month", "2021-01-01 00:00", "2020-12-01 00:00", "2021-01-01 00:00"},
		{"0 7 * * 1", "since_last", "2021-04-12 07:00", "2021-04-05 07:00", "2021-04-12 07:00"},
		{"0 12 * * 1-5", "since_last", "2021-04-12 12:00", "2021-04-09 12:00", "2021-04-12 12:00"}, // Friday to Monday
		{"0 0 1 1 *", "since_last", "2021-01-01 00:00", "2020-12-01 00:00", "2021-01-01 00:00"},    // a year is cut to 31 days
	} {
		sc, err := parseSchedule(tc.expr, tc.covers)
		if err != nil {
			t.Fatal(err)
		}
		due := paristime(tc.due)
		if got := sc.next(due.Add(-time.Minute)); !got.Equal(due) {
			t.Fatalf("%s: next run before %s is %s", tc.expr, tc.due, got.In(paris.Location))
		}
		from, to := sc.period(due)
		if !from.Equal(paristime(tc.from)) || !to.Equal(paristime(tc.to)) {
			t.Errorf("%s %s at %s covers %s to %s, want %s to %s", tc.expr, tc.covers, tc.due,
				from.In(paris.Location).Format("2006-01-02 15:04"), to.In(paris.Location).Format("2006-01-02 15:04"), tc.from, tc.to)
		}
	}
}

func TestBackoffDoublesUpToItsMaximum(t *testing.T) {
	s := &Service{}
	s.opt.Delivery.RetryBackoff, s.opt.Delivery.MaxBackoff = time.Minute, 10*time.Minute
	var got []time.Duration
	for n := uint32(1); n <= 6; n++ {
		got = append(got, s.backoff(n))
	}
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 10 * time.Minute, 10 * time.Minute}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("back-offs %v, want %v", got, want)
		}
	}
}

func TestMessageIDIsStablePerPeriod(t *testing.T) {
	due := paristime("2021-04-12 07:00")
	a, b := MessageID("hebdo", due, "Vigie <vigie@ac-paris.fr>"), MessageID("hebdo", due, "vigie@ac-paris.fr")
	if a != "report.hebdo.20210412T0500Z@ac-paris.fr" || a != b {
		t.Errorf("Message-IDs %q and %q", a, b)
	}
	if c := MessageID("hebdo", due.Add(7*24*time.Hour), "vigie@ac-paris.fr"); c == a {
		t.Errorf("two periods share Message-ID %q", c)
	}
}

// After an outage the missed periods are planned, oldest first; those
// older than catch_up are planned expired (one row standing for them), so a
// restart neither skips a recent period nor floods readers with old ones.
func TestPlanCatchesUpAfterAnOutage(t *testing.T) {
	sub := Subscription{Name: "hebdo"}
	sc, err := parseSchedule("0 7 * * 1", "week")
	if err != nil {
		t.Fatal(err)
	}
	s := &Service{}
	s.opt.Delivery.From = "vigie@example.fr"
	latest, now := paristime("2021-04-12 07:00"), paristime("2021-05-04 10:00")
	type row struct{ due, state string }
	plan := func(catchUp time.Duration) []row {
		s.opt.Delivery.CatchUp = catchUp
		var out []row
		for _, d := range s.plan(sub, sc, latest, now) {
			out = append(out, row{d.Due.In(paris.Location).Format("01-02"), d.State})
		}
		return out
	}
	want := []row{{"04-19", "pending"}, {"04-26", "pending"}, {"05-03", "pending"}}
	if got := plan(744 * time.Hour); len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("catch-up of 31 days plans %v, want %v", got, want)
	}
	want = []row{{"04-26", "expired"}, {"05-03", "pending"}}
	if got := plan(7 * 24 * time.Hour); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("catch-up of 7 days plans %v, want %v", got, want)
	}
	if got := s.plan(sub, sc, time.Time{}, now); len(got) != 1 || !got[0].Due.Equal(paristime("2021-05-10 07:00")) {
		t.Errorf("a new subscription plans %v, want only its next run, 10 May 07:00", got)
	}
}

func TestSubjectsNameThePeriodAsPeopleSayIt(t *testing.T) {
	fr, en := i18n.For(i18n.French), i18n.For(i18n.English)
	for _, tc := range []struct {
		p                *i18n.Printer
		covers, from, to string
		want             string
	}{
		{fr, "day", "2021-04-06 00:00", "2021-04-07 00:00", "Vigie : rapport du 6 avril 2021"},
		{fr, "week", "2021-03-22 00:00", "2021-03-29 00:00", "Vigie : rapport de la semaine du 22 mars 2021 au 28 mars 2021"},
		{fr, "month", "2021-04-01 00:00", "2021-05-01 00:00", "Vigie : rapport mensuel, avril 2021"},
		{en, "month", "2021-04-01 00:00", "2021-05-01 00:00", "Vigie: monthly report, April 2021"},
		{en, "since_last", "2021-04-09 12:00", "2021-04-12 12:00", "Vigie: report from 9 April 2021 at 12:00 to 12 April 2021 at 12:00"},
	} {
		if got := subject(tc.p, tc.covers, paristime(tc.from), paristime(tc.to)); got != tc.want {
			t.Errorf("%s %s: %q, want %q", tc.p.Lang(), tc.covers, got, tc.want)
		}
	}
}
