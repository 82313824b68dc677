package delivery

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/paris"
)

// maxRange bounds what one report covers: the dashboard API's longest
// report range. A since_last schedule with longer gaps starts its report
// maxRange before the run.
const maxRange = 31 * 24 * time.Hour

// schedule is a subscription's cron expression in Europe/Paris.
type schedule struct {
	cron.Schedule
	covers string // config.Ranges
}

func parseSchedule(expr, covers string) (schedule, error) {
	s, err := config.CronParser.Parse("CRON_TZ=Europe/Paris " + expr)
	if err != nil {
		return schedule{}, fmt.Errorf("schedule %q: %w", expr, err)
	}
	return schedule{Schedule: s, covers: covers}, nil
}

// next is the first run strictly after t, in UTC.
func (s schedule) next(t time.Time) time.Time { return s.Next(t).UTC() }

// prev is the last run strictly before t (zero when there is none in the
// ten years before t: a schedule such as "0 0 30 2 *" never runs).
func (s schedule) prev(t time.Time) time.Time {
	for back := 24 * time.Hour; back <= 10*366*24*time.Hour; back *= 2 {
		first := s.next(t.Add(-back))
		if first.IsZero() || !first.Before(t) {
			continue
		}
		for n := s.next(first); !n.IsZero() && n.Before(t); n = s.next(n) {
			first = n
		}
		return first
	}
	return time.Time{}
}

// period is the report range of the run at due: the period just ended.
func (s schedule) period(due time.Time) (from, to time.Time) {
	d := due.In(paris.Location)
	midnight := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, paris.Location)
	switch s.covers {
	case "day":
		return midnight.AddDate(0, 0, -1).UTC(), midnight.UTC()
	case "week":
		monday := midnight.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
		return monday.AddDate(0, 0, -7).UTC(), monday.UTC()
	case "month":
		first := time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, paris.Location)
		return first.AddDate(0, -1, 0).UTC(), first.UTC()
	}
	from = s.prev(due)
	if from.IsZero() || due.Sub(from) > maxRange {
		from = due.Add(-maxRange)
	}
	return from.UTC(), due.UTC()
}
