package web

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigie-fr/vigie/internal/auth"
	"github.com/vigie-fr/vigie/internal/i18n"
	tzparis "github.com/vigie-fr/vigie/internal/paris"
	"github.com/vigie-fr/vigie/internal/store"
	"github.com/vigie-fr/vigie/schemas"
)

// Longest range of each grain: answers stay small enough for a browser
// (a minute heatmap of two days is 18 × 2880 cells; a year by day is 18 ×
// 366) and a request's work bounded.
var grainLimits = map[store.Grain]time.Duration{
	store.Minute: MaxMinuteRange,
	store.Hour:   MaxHourRange,
	store.Day:    400 * 24 * time.Hour,
	store.Week:   800 * 24 * time.Hour,
}

// grainNames are the grains of the API, in order.
var grainNames = []string{"minute", "hour", "day", "week"}

// paramError is a bad query parameter: 400 with the parameter's name and a
// sentence for people in the request's language.
type paramError struct {
	Param string `json:"parameter"`
	Msg   string `json:"error"`
}

func (e *paramError) Error() string { return e.Msg }

// request is one API request's parameters, read and checked once: every
// parameter the handler did not declare is refused, never ignored.
type request struct {
	q url.Values
	p *i18n.Printer
}

// newRequest checks that r carries only the parameters in allowed (lang is
// always allowed) and picks the language: lang, else the user's preference,
// else Accept-Language, else French.
func newRequest(r *http.Request, allowed ...string) (*request, error) {
	q := r.URL.Query()
	lang := i18n.Negotiate(r.Header.Get("Accept-Language"))
	if id, ok := auth.FromContext(r.Context()); ok && id.Lang != "" {
		if l, err := i18n.Parse(id.Lang); err == nil {
			lang = l // the user's preference (auth.users[].lang) before the browser's
		}
	}
	if vals, ok := q["lang"]; ok {
		l, err := i18n.Parse(vals[0])
		if err != nil || len(vals) > 1 {
			p := i18n.For(lang)
			return &request{q: q, p: p}, &paramError{Param: "lang", Msg: p.T("api.param.lang", "Param", "lang", "Value", vals[len(vals)-1])}
		}
		lang = l
	}
	req := &request{q: q, p: i18n.For(lang)}
	allowed = append(allowed, "lang")
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !slices.Contains(allowed, name) {
			return req, req.fail(name, "api.param.unknown", "Allowed", strings.Join(allowed, ", "))
		}
	}
	return req, nil
}

// fail is the 400 of parameter param with message id.
func (rq *request) fail(param, id string, data ...any) error {
	return &paramError{Param: param, Msg: rq.p.T(id, append([]any{"Param", param}, data...)...)}
}

// one returns the single value of name ("" when absent).
func (rq *request) one(name string) (string, error) {
	vals := rq.q[name]
	switch len(vals) {
	case 0:
		return "", nil
	case 1:
		return vals[0], nil
	}
	return "", rq.fail(name, "api.param.repeated", "N", len(vals))
}

// required is one for a parameter that must be given.
func (rq *request) required(name string) (string, error) {
	v, err := rq.one(name)
	if err == nil && v == "" {
		err = rq.fail(name, "api.param.missing")
	}
	return v, err
}

// choice is one value of name among choices, def when absent.
func (rq *request) choice(name, def string, choices ...string) (string, error) {
	v, err := rq.one(name)
	if err != nil || v == "" {
		return def, err
	}
	if !slices.Contains(choices, v) {
		return "", rq.fail(name, "api.param.choice", "Value", v, "Allowed", strings.Join(choices, ", "))
	}
	return v, nil
}

// intIn is one whole number of name in [lo, hi], def when absent.
func (rq *request) intIn(name string, def, lo, hi int) (int, error) {
	v, err := rq.one(name)
	if err != nil || v == "" {
		return def, err
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, rq.fail(name, "api.param.int", "Value", v, "Min", lo, "Max", hi)
	}
	return n, nil
}

var (
	serviceRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	platforms = []string{"ent", "cned"}
)

// list reads a repeatable, comma-separated parameter, each value checked
// by ok (which returns the message id of a bad value, "" for a good one);
// duplicates are dropped, order is kept.
func (rq *request) list(name string, ok func(string) string) ([]string, error) {
	var out []string
	for _, v := range rq.q[name] {
		for _, item := range strings.Split(v, ",") {
			item = strings.TrimSpace(item)
			if id := ok(item); id != "" {
				return nil, rq.fail(name, id, "Value", item, "Allowed", allowedOf(name))
			}
			if !slices.Contains(out, item) {
				out = append(out, item)
			}
		}
	}
	return out, nil
}

func allowedOf(name string) string {
	switch name {
	case "platform":
		return strings.Join(platforms, ", ")
	case "region":
		return strings.Join(schemas.Regions, ", ")
	}
	return ""
}

func checkPlatform(v string) string {
	if slices.Contains(platforms, v) {
		return ""
	}
	return "api.param.choice"
}

func checkRegion(v string) string {
	if _, ok := schemas.RegionNames[v]; ok {
		return ""
	}
	return "api.param.choice"
}

func checkService(v string) string {
	if serviceRE.MatchString(v) {
		return ""
	}
	return "api.param.service"
}

func checkAcademy(v string) string {
	if v != "" && len(v) <= schemas.MaxAcademyLen {
		return ""
	}
	return "api.param.academy"
}

// Filters are the filters a request applied, as the answers echo them.
type Filters struct {
	Platform []string `json:"platform"`
	Service  []string `json:"service"`
	Region   []string `json:"region"`
	Academy  []string `json:"academy"`
}

func (f Filters) store() store.Filter {
	return store.Filter{Platforms: f.Platform, Services: f.Service, Regions: f.Region}
}

// keeps reports whether a series passes the filters.
func (f Filters) keeps(platform, service, region string) bool {
	in := func(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }
	return in(f.Platform, platform) && in(f.Service, service) && in(f.Region, region)
}

// filters reads platform, service and region. academy is refused: the
// aggregates the caller reads do not keep it.
func (rq *request) filters() (Filters, error) {
	var f Filters
	var err error
	if _, ok := rq.q["academy"]; ok {
		return f, rq.fail("academy", "api.param.academy_aggregated")
	}
	if f.Platform, err = rq.list("platform", checkPlatform); err != nil {
		return f, err
	}
	if f.Service, err = rq.list("service", checkService); err != nil {
		return f, err
	}
	if f.Region, err = rq.list("region", checkRegion); err != nil {
		return f, err
	}
	return f, nil
}

// grain reads grain (hour by default) among those in allowed.
func (rq *request) grain(allowed ...string) (store.Grain, error) {
	g, err := rq.choice("grain", "hour", allowed...)
	return store.Grain(g), err
}

// timeRange reads fromName and toName as vigie report does
// (tzparis.ParseRange: RFC 3339, or a Paris day; a day given as to is
// included; no to means one day), at most limit apart, said for grain (""
// for a route's own limit).
func (rq *request) timeRange(fromName, toName string, grain store.Grain, limit time.Duration) (time.Time, time.Time, error) {
	var zero time.Time
	fromS, err := rq.one(fromName)
	if err != nil {
		return zero, zero, err
	}
	toS, err := rq.one(toName)
	if err != nil {
		return zero, zero, err
	}
	if fromS == "" {
		return zero, zero, rq.fail(fromName, "api.range.missing_from")
	}
	from, to, err := tzparis.ParseRange(fromS, toS)
	if re := (*tzparis.RangeError)(nil); errAs(err, &re) {
		name := fromName
		if re.Param == "to" {
			name = toName
		}
		if re.Value != "" && re.Param == "to" && toS != "" {
			if _, _, e := tzparis.ParseRange(toS, ""); e == nil {
				return zero, zero, rq.fail(name, "api.range.not_after", "From", fromS, "To", toS)
			}
		}
		return zero, zero, rq.fail(name, "api.range.bad_time", "Value", re.Value)
	} else if err != nil {
		return zero, zero, err
	}
	if d := to.Sub(from); d > limit {
		if grain == "" {
			return zero, zero, rq.fail(toName, "api.range.too_long_here", "Max", rq.span(limit), "Asked", rq.span(d))
		}
		return zero, zero, rq.fail(toName, "api.range.too_long", "Max", rq.span(limit), "Grain", rq.grainName(grain), "Asked", rq.span(d))
	}
	return from.UTC(), to.UTC(), nil
}

func (rq *request) grainName(g store.Grain) string {
	switch g {
	case store.Minute:
		return rq.p.T("api.grain.minute")
	case store.Hour:
		return rq.p.T("api.grain.hour")
	case store.Day:
		return rq.p.T("api.grain.day")
	}
	return rq.p.T("api.grain.week")
}

// span writes a length of time as people count it: "92 jours",
// "2 jours et 1 heure", "95 days and 23 hours", "90 minutes".
func (rq *request) span(d time.Duration) string {
	days, rest := int64(d/(24*time.Hour)), d%(24*time.Hour)
	hours, mins := int64(rest/time.Hour), int64(rest%time.Hour/time.Minute)
	var parts []string
	if days > 0 {
		parts = append(parts, rq.p.N("api.span.days", days))
	}
	if hours > 0 {
		parts = append(parts, rq.p.N("api.span.hours", hours))
	}
	if mins > 0 || len(parts) == 0 {
		parts = append(parts, rq.p.N("api.span.minutes", mins))
	}
	out := parts[0]
	for _, p := range parts[1:] {
		out = rq.p.T("api.span.and", "A", out, "B", p)
	}
	return out
}

// grainStep is the width of a bucket of grain starting at t (days and
// weeks follow the Paris clock).
func grainStep(g store.Grain, t time.Time) time.Time {
	switch g {
	case store.Minute:
		return t.Add(time.Minute)
	case store.Hour:
		return t.Add(time.Hour)
	case store.Day:
		return t.In(paris).AddDate(0, 0, 1).UTC()
	}
	return t.In(paris).AddDate(0, 0, 7).UTC()
}

// grainStart is the start of the bucket of grain holding t.
func grainStart(g store.Grain, t time.Time) time.Time {
	switch g {
	case store.Minute:
		return t.Truncate(time.Minute)
	case store.Hour:
		return t.Truncate(time.Hour)
	}
	p := t.In(paris)
	day := time.Date(p.Year(), p.Month(), p.Day(), 0, 0, 0, 0, paris)
	if g == store.Week {
		day = day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
	}
	return day.UTC()
}

// buckets lists the starts of the buckets of grain covering [from, to).
func buckets(g store.Grain, from, to time.Time) []time.Time {
	var out []time.Time
	for t := grainStart(g, from); t.Before(to); t = grainStep(g, t) {
		out = append(out, t)
	}
	return out
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// query is what the data routes read from most requests: the filters, a
// grain and a range.
type query struct {
	rq       *request
	f        Filters
	grain    store.Grain
	from, to time.Time
}

// parseQuery reads a request of a route taking allowed: its filters; its
// grain when allowed has "grain"; its from and to when allowed has
// "from", at most limit apart (0: no limit of the route's own) and at most
// the grain's limit.
func parseQuery(r *http.Request, limit time.Duration, allowed ...string) (*query, error) {
	rq, err := newRequest(r, allowed...)
	q := &query{rq: rq}
	if err != nil {
		return q, err
	}
	if q.f, err = rq.filters(); err != nil {
		return q, err
	}
	var grain store.Grain // "": the route's own limit names no grain
	if slices.Contains(allowed, "grain") {
		if q.grain, err = rq.grain(grainNames...); err != nil {
			return q, err
		}
		if gl := grainLimits[q.grain]; limit == 0 || gl <= limit {
			grain, limit = q.grain, gl
		}
	}
	if slices.Contains(allowed, "from") {
		q.from, q.to, err = rq.timeRange("from", "to", grain, limit)
	}
	return q, err
}
