package config

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// ObjectiveConfig is what one platform or service promises: the share of
// attempts that succeed and how slow its latency quantile may be. A zero
// field in incidents.objectives inherits the incidents.* default.
type ObjectiveConfig struct {
	AvailabilityTarget float64 `mapstructure:"availability_target"`
	LatencyThresholdMS float64 `mapstructure:"latency_threshold_ms"`
	LatencyQuantile    float64 `mapstructure:"latency_quantile"`
}

// SilenceConfig says when too little traffic is itself an incident ("no
// data"): a window expected to hold at least MinExpected events that holds at
// most Fraction of them, improbably few by Poisson at the incidents'
// confidence.
type SilenceConfig struct {
	MinExpected float64 `mapstructure:"min_expected"`
	Fraction    float64 `mapstructure:"fraction"`
	// HistoryDays is how many earlier open days give the usual traffic at a
	// time of day; without any, the other regions' curve of the platform does.
	HistoryDays int `mapstructure:"history_days"`
}

// CalendarConfig says when the platforms are closed, in Paris time: no
// traffic then is not an incident. Closed time never hides failures of the
// traffic that does arrive.
type CalendarConfig struct {
	// Nights is a daily closed span "HH:MM-HH:MM" (it may wrap midnight);
	// empty means never.
	Nights string `mapstructure:"nights"`
	// Weekends closes Saturdays and Sundays.
	Weekends bool `mapstructure:"weekends"`
	// Holidays are closed days, each "YYYY-MM-DD" or "YYYY-MM-DD..YYYY-MM-DD"
	// (both ends included), e.g. the French school holidays.
	Holidays []string `mapstructure:"holidays"`
}

// Objective returns the objective of platform's service: the entry
// "platform/service" of incidents.objectives, else "platform", else the
// defaults, a zero field of an entry taking the default's value.
func (c IncidentsConfig) Objective(platform, service string) ObjectiveConfig {
	o := ObjectiveConfig{AvailabilityTarget: c.AvailabilityTarget, LatencyThresholdMS: c.P95ThresholdMS, LatencyQuantile: c.LatencyQuantile}
	if o.LatencyQuantile == 0 {
		o.LatencyQuantile = 0.95
	}
	e, ok := c.Objectives[platform+"/"+service]
	if !ok {
		e = c.Objectives[platform]
	}
	if e.AvailabilityTarget != 0 {
		o.AvailabilityTarget = e.AvailabilityTarget
	}
	if e.LatencyThresholdMS != 0 {
		o.LatencyThresholdMS = e.LatencyThresholdMS
	}
	if e.LatencyQuantile != 0 {
		o.LatencyQuantile = e.LatencyQuantile
	}
	return o
}

// Closed reports whether the calendar has the platforms closed at t. The
// calendar must have passed validation (an unparsable entry is ignored).
func (c CalendarConfig) Closed(t time.Time, loc *time.Location) bool {
	p := t.In(loc)
	if c.Weekends && (p.Weekday() == time.Saturday || p.Weekday() == time.Sunday) {
		return true
	}
	if from, to, ok := parseClock(c.Nights); ok {
		m := p.Hour()*60 + p.Minute()
		if from <= to && m >= from && m < to || from > to && (m >= from || m < to) {
			return true
		}
	}
	day := p.Format(time.DateOnly)
	for _, h := range c.Holidays {
		if first, last, ok := parseDays(h); ok && day >= first && day <= last {
			return true
		}
	}
	return false
}

// parseClock parses "HH:MM-HH:MM" into minutes of the day.
func parseClock(s string) (from, to int, ok bool) {
	a, b, found := strings.Cut(s, "-")
	if !found {
		return 0, 0, false
	}
	ta, errA := time.Parse("15:04", strings.TrimSpace(a))
	tb, errB := time.Parse("15:04", strings.TrimSpace(b))
	if errA != nil || errB != nil || ta.Equal(tb) {
		return 0, 0, false
	}
	return ta.Hour()*60 + ta.Minute(), tb.Hour()*60 + tb.Minute(), true
}

// parseDays parses "YYYY-MM-DD" or "YYYY-MM-DD..YYYY-MM-DD" into its first
// and last day, as comparable strings.
func parseDays(s string) (first, last string, ok bool) {
	a, b, found := strings.Cut(s, "..")
	if !found {
		b = a
	}
	da, errA := time.Parse(time.DateOnly, strings.TrimSpace(a))
	db, errB := time.Parse(time.DateOnly, strings.TrimSpace(b))
	if errA != nil || errB != nil || db.Before(da) {
		return "", "", false
	}
	return da.Format(time.DateOnly), db.Format(time.DateOnly), true
}

// validateDetection checks the statistical and per-service settings of
// incidents (the rest of incidents is checked in Validate).
func (c IncidentsConfig) validateDetection(bad func(key string, val any, rule string)) {
	if !(c.LatencyQuantile > 0 && c.LatencyQuantile < 1) {
		bad("incidents.latency_quantile", c.LatencyQuantile, "must be above 0 and below 1 (e.g. 0.95 for p95)")
	}
	if !(c.Confidence >= 0.5 && c.Confidence < 1) {
		bad("incidents.confidence", c.Confidence, "must be at least 0.5 and below 1 (e.g. 0.999)")
	}
	if c.MaxWindowMinutes < 1 || c.MaxWindowMinutes > 60 {
		bad("incidents.max_window_minutes", c.MaxWindowMinutes, "must be 1 to 60")
	}
	for _, name := range slices.Sorted(maps.Keys(c.Objectives)) {
		o := c.Objectives[name]
		key := "incidents.objectives." + name
		if platform, service, _ := strings.Cut(name, "/"); platform == "" || strings.Contains(service, "/") || strings.HasSuffix(name, "/") {
			bad(key, quote(name), `is not "platform" or "platform/service"`)
		}
		if !(o.AvailabilityTarget >= 0 && o.AvailabilityTarget <= 1) {
			bad(key+".availability_target", o.AvailabilityTarget, "must be above 0 and at most 1, or 0 for the default")
		}
		if !(o.LatencyThresholdMS >= 0 && !math.IsInf(o.LatencyThresholdMS, 1)) {
			bad(key+".latency_threshold_ms", o.LatencyThresholdMS, "must be a number above 0, or 0 for the default")
		}
		if !(o.LatencyQuantile >= 0 && o.LatencyQuantile < 1) {
			bad(key+".latency_quantile", o.LatencyQuantile, "must be above 0 and below 1, or 0 for the default")
		}
	}
	s := c.Silence
	if !(s.MinExpected >= 1 && !math.IsInf(s.MinExpected, 1)) {
		bad("incidents.silence.min_expected", s.MinExpected, "must be a number, at least 1")
	}
	if !(s.Fraction >= 0 && s.Fraction < 1) {
		bad("incidents.silence.fraction", s.Fraction, "must be at least 0 and below 1 (e.g. 0.2)")
	}
	if s.HistoryDays < 0 || s.HistoryDays > 28 {
		bad("incidents.silence.history_days", s.HistoryDays, "must be 0 to 28")
	}
	if c.Calendar.Nights != "" {
		if _, _, ok := parseClock(c.Calendar.Nights); !ok {
			bad("incidents.calendar.nights", quote(c.Calendar.Nights), `is not "HH:MM-HH:MM" with two different times (e.g. "22:00-06:00")`)
		}
	}
	for i, h := range c.Calendar.Holidays {
		if _, _, ok := parseDays(h); !ok {
			bad(fmt.Sprintf("incidents.calendar.holidays[%d]", i), quote(h), `is not "YYYY-MM-DD" or "YYYY-MM-DD..YYYY-MM-DD" (first day not after the last)`)
		}
	}
}
