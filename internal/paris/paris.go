// Package paris is Vigie's one Europe/Paris: the time zone the pupils,
// the ministry's analysts and the report's readers live in, and the meaning
// of a day such as 2021-04-06 wherever one is typed (vigie report --from,
// the dashboard API's from and to). It is not where the warehouse keeps
// time: buckets are UTC, and SQL names 'Europe/Paris' itself.
package paris

import (
	"fmt"
	"time"
	_ "time/tzdata" // Europe/Paris must resolve on machines without zoneinfo
)

// Location is Europe/Paris, loaded once.
//
// With time/tzdata linked in, LoadLocation cannot fail, so the fallback is
// unreachable; it is there so that Location is never nil. It is CET without
// summer time (UTC+1): wrong by an hour from April to October, but never
// by a day, where UTC would put every night-time boundary on the wrong side
// of midnight for an hour or two all year.
var Location = load()

func load() *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		return time.FixedZone("CET", 3600)
	}
	return loc
}

// The two accepted forms of a time, for error messages.
const (
	rfc3339Form = "an RFC 3339 time (2021-04-06T06:00:00+02:00)"
	dayForm     = "a day (2021-04-06, that whole day in Paris)"
)

// RangeError is a from or a to that ParseRange refused. Param says which,
// so that a command can name its flag and an API its parameter.
type RangeError struct {
	Param string // "from" or "to"
	Value string // as given
	Msg   string // what is wrong and what is accepted
}

func (e *RangeError) Error() string { return e.Param + ": " + e.Msg }

// ParseRange parses the range [from, to). Each is an RFC 3339 time or a
// day (YYYY-MM-DD) in Paris: a day given as from starts at its midnight, a
// day given as to includes that day (the range ends at the next midnight).
// An empty to means one day after from: the next midnight for a day, 24 h
// later for a time. Days follow the clock, so a day is 23 h long on the
// last Sunday of March and 25 h on the last Sunday of October.
func ParseRange(from, to string) (time.Time, time.Time, error) {
	var zero time.Time
	if from == "" {
		return zero, zero, &RangeError{Param: "from", Msg: "missing: give " + rfc3339Form + " or " + dayForm}
	}
	f, fday, ok := parseTime(from)
	if !ok {
		return zero, zero, &RangeError{Param: "from", Value: from, Msg: fmt.Sprintf("%q is neither %s nor %s", from, rfc3339Form, dayForm)}
	}
	if to == "" {
		if fday {
			return f, f.AddDate(0, 0, 1), nil
		}
		return f, f.Add(24 * time.Hour), nil
	}
	t, tday, ok := parseTime(to)
	if !ok {
		return zero, zero, &RangeError{Param: "to", Value: to, Msg: fmt.Sprintf("%q is neither %s nor %s", to, rfc3339Form, dayForm)}
	}
	if tday {
		t = t.AddDate(0, 0, 1)
	}
	if !t.After(f) {
		return zero, zero, &RangeError{Param: "to", Value: to, Msg: fmt.Sprintf("%s is not after from (%s)", to, from)}
	}
	return f, t, nil
}

// parseTime parses s as RFC 3339 or as a Paris day; day reports the latter.
func parseTime(s string) (t time.Time, day, ok bool) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, false, true
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, Location); err == nil {
		return t, true, true
	}
	return time.Time{}, false, false
}
