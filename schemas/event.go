// Package schemas holds Vigie's contracts: event schema v1 (Go types, the
// strict decoder and the JSON Schema file), the warehouse DDL migrations and
// the example queries engineers copy. It does no I/O beyond reading what it is
// handed; it is not where events are sent or stored.
package schemas

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Event is one event of schema v1. See DESIGN.md and schemas/event.v1.schema.json.
type Event struct {
	ID        string            `json:"id"`
	TS        time.Time         `json:"ts"`
	Platform  string            `json:"platform"`
	Service   string            `json:"service"`
	Region    string            `json:"region"`
	Academy   string            `json:"academy,omitempty"`
	Kind      string            `json:"kind"`
	Outcome   string            `json:"outcome"`
	Status    int               `json:"status,omitempty"`
	LatencyMS *float64          `json:"latency_ms,omitempty"`
	QueueMS   *float64          `json:"queue_ms,omitempty"`
	User      string            `json:"user,omitempty"`
	Role      string            `json:"role,omitempty"`
	Source    string            `json:"source,omitempty"`
	Attrs     map[string]string `json:"attrs,omitempty"`
}

// Limits of schema v1.
const (
	MaxIDLen      = 64
	MaxServiceLen = 64
	MaxAcademyLen = 64
	MaxUserLen    = 256
	MaxAttrs      = 32
	MaxAttrKeyLen = 64
	MaxAttrValLen = 512
	// MaxLatencyMS bounds latency_ms and queue_ms: a day. Anything larger is a unit bug.
	MaxLatencyMS = 86_400_000
)

// Enumerations of schema v1, in the order they are documented.
var (
	Platforms = []string{"ent", "cned"}
	Kinds     = []string{"login", "page", "api", "probe", "session_start", "session_end", "queue"}
	Outcomes  = []string{"ok", "error", "timeout", "rejected", "queued"}
	Roles     = []string{"student", "teacher", "parent", "staff", "unknown"}
	Sources   = []string{"beacon", "log", "probe", "sim"}
	// Regions are the INSEE codes of the 13 metropolitan and 5 overseas regions.
	Regions = []string{"11", "24", "27", "28", "32", "44", "52", "53", "75", "76", "84", "93", "94", "01", "02", "03", "04", "06"}
)

// RegionNames maps INSEE region codes to their names.
var RegionNames = map[string]string{
	"11": "Île-de-France", "24": "Centre-Val de Loire", "27": "Bourgogne-Franche-Comté",
	"28": "Normandie", "32": "Hauts-de-France", "44": "Grand Est", "52": "Pays de la Loire",
	"53": "Bretagne", "75": "Nouvelle-Aquitaine", "76": "Occitanie", "84": "Auvergne-Rhône-Alpes",
	"93": "Provence-Alpes-Côte d'Azur", "94": "Corse", "01": "Guadeloupe", "02": "Martinique",
	"03": "Guyane", "04": "La Réunion", "06": "Mayotte",
}

// FieldError says which event and which field is wrong, and why.
type FieldError struct {
	Index int    `json:"index"`           // position in the batch, from 0
	ID    string `json:"id,omitempty"`    // the event's id when it could be read
	Field string `json:"field,omitempty"` // empty when the event as a whole is unreadable
	Msg   string `json:"error"`
}

func (e *FieldError) Error() string {
	who := fmt.Sprintf("event %d", e.Index)
	if e.ID != "" {
		who += fmt.Sprintf(" (id %q)", e.ID)
	}
	if e.Field == "" {
		return who + ": " + e.Msg
	}
	return fmt.Sprintf("%s: field %q: %s", who, e.Field, e.Msg)
}

// ErrBatch is returned when the batch as a whole cannot be read (not one
// event's fault): wrong framing, truncated array, too many events.
var ErrBatch = errors.New("unreadable batch")

// DecodeOptions bound what a batch may hold.
type DecodeOptions struct {
	MaxEvents int           // 0 means no limit
	MaxFuture time.Duration // events further in the future than this are refused; 0 disables
	Now       func() time.Time
}

// DecodeBatch reads NDJSON or a JSON array of events. Each event is checked on
// its own: valid events are returned with their positions, invalid ones as
// FieldErrors, so one bad event never blocks the others. An error is returned
// only when the framing itself is broken (wrapping ErrBatch); events read
// before that point are still returned.
func DecodeBatch(r io.Reader, opt DecodeOptions) (events []Event, positions []int, bad []FieldError, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	first, err := firstNonSpace(br)
	if err == io.EOF {
		return nil, nil, nil, nil
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %v", ErrBatch, err)
	}
	var raws <-chan rawItem
	if first == '[' {
		raws = arrayItems(br)
	} else {
		raws = lineItems(br)
	}
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	n := 0
	for it := range raws {
		if it.err != nil {
			return events, positions, bad, fmt.Errorf("%w: after %d events: %v", ErrBatch, n, it.err)
		}
		if opt.MaxEvents > 0 && n >= opt.MaxEvents {
			// Drain so the goroutine ends, then refuse the batch.
			for range raws {
			}
			return nil, nil, nil, fmt.Errorf("%w: more than %d events in one batch", ErrBatch, opt.MaxEvents)
		}
		ev, ferr := DecodeEvent(it.raw, opt.MaxFuture, now())
		if ferr != nil {
			ferr.Index = n
			bad = append(bad, *ferr)
		} else {
			events = append(events, ev)
			positions = append(positions, n)
		}
		n++
	}
	return events, positions, bad, nil
}

type rawItem struct {
	raw []byte
	err error
}

func firstNonSpace(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		switch b {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return b, br.UnreadByte()
	}
}

func arrayItems(br *bufio.Reader) <-chan rawItem {
	ch := make(chan rawItem)
	go func() {
		defer close(ch)
		dec := json.NewDecoder(br)
		if _, err := dec.Token(); err != nil { // '['
			ch <- rawItem{err: err}
			return
		}
		for dec.More() {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				ch <- rawItem{err: err}
				return
			}
			ch <- rawItem{raw: raw}
		}
		if _, err := dec.Token(); err != nil { // ']'
			ch <- rawItem{err: fmt.Errorf("array not closed: %v", err)}
		}
	}()
	return ch
}

func lineItems(br *bufio.Reader) <-chan rawItem {
	ch := make(chan rawItem)
	go func() {
		defer close(ch)
		for {
			line, err := br.ReadBytes('\n')
			if t := bytes.TrimSpace(line); len(t) > 0 {
				ch <- rawItem{raw: t}
			}
			if err == io.EOF {
				return
			}
			if err != nil {
				ch <- rawItem{err: err}
				return
			}
		}
	}()
	return ch
}

var knownFields = map[string]bool{
	"id": true, "ts": true, "platform": true, "service": true, "region": true, "academy": true,
	"kind": true, "outcome": true, "status": true, "latency_ms": true, "queue_ms": true,
	"user": true, "role": true, "source": true, "attrs": true,
}

// DecodeEvent decodes and validates one event. Unknown fields are refused
// (a typo such as "latency" for "latency_ms" must not be silently dropped);
// free-form data belongs in attrs. The returned error names the field.
func DecodeEvent(raw []byte, maxFuture time.Duration, now time.Time) (Event, *FieldError) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return Event{}, &FieldError{Msg: "not a JSON object: " + shortJSONErr(err)}
	}
	var ev Event
	fe := func(field, format string, a ...any) *FieldError {
		return &FieldError{ID: ev.ID, Field: field, Msg: fmt.Sprintf(format, a...)}
	}
	// id first, so every later error can name the event.
	if err := str(obj, "id", &ev.ID, true, MaxIDLen); err != "" {
		return ev, fe("id", "%s", err)
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !knownFields[k] {
			return ev, fe(k, "unknown field (schema v1 has no such field; put extra data in attrs)")
		}
	}
	var ts string
	if err := str(obj, "ts", &ts, true, 64); err != "" {
		return ev, fe("ts", "%s", err)
	}
	t, perr := time.Parse(time.RFC3339Nano, ts)
	if perr != nil {
		return ev, fe("ts", "%q is not an RFC 3339 timestamp with offset (e.g. 2021-04-06T08:30:00+02:00)", ts)
	}
	if maxFuture > 0 && t.After(now.Add(maxFuture)) {
		return ev, fe("ts", "%s is more than %s in the future", ts, maxFuture)
	}
	if t.UTC().Year() < 2000 {
		return ev, fe("ts", "%s is before the year 2000", ts)
	}
	ev.TS = t.UTC()
	for _, f := range []struct {
		name string
		dst  *string
		req  bool
		max  int
		enum []string
	}{
		{"platform", &ev.Platform, true, 16, Platforms},
		{"service", &ev.Service, true, MaxServiceLen, nil},
		{"region", &ev.Region, true, 2, Regions},
		{"academy", &ev.Academy, false, MaxAcademyLen, nil},
		{"kind", &ev.Kind, true, 16, Kinds},
		{"outcome", &ev.Outcome, true, 16, Outcomes},
		{"user", &ev.User, false, MaxUserLen, nil},
		{"role", &ev.Role, false, 16, Roles},
		{"source", &ev.Source, false, 16, Sources},
	} {
		if f.name == "region" {
			if msg := regionField(obj, &ev.Region); msg != "" {
				return ev, fe("region", "%s", msg)
			}
			continue
		}
		if err := str(obj, f.name, f.dst, f.req, f.max); err != "" {
			return ev, fe(f.name, "%s", err)
		}
		if f.enum != nil && *f.dst != "" && !contains(f.enum, *f.dst) {
			return ev, fe(f.name, "%q is not one of %s", *f.dst, strings.Join(f.enum, ", "))
		}
	}
	if v, ok := obj["status"]; ok && string(v) != "null" {
		var s float64
		if json.Unmarshal(v, &s) != nil || s != math.Trunc(s) || s < 100 || s > 599 {
			return ev, fe("status", "%s is not an HTTP status (an integer from 100 to 599)", v)
		}
		ev.Status = int(s)
	}
	for _, f := range []struct {
		name string
		dst  **float64
	}{{"latency_ms", &ev.LatencyMS}, {"queue_ms", &ev.QueueMS}} {
		v, ok := obj[f.name]
		if !ok || string(v) == "null" {
			continue
		}
		var x float64
		if json.Unmarshal(v, &x) != nil || math.IsNaN(x) || x < 0 || x > MaxLatencyMS {
			return ev, fe(f.name, "%s is not a number of milliseconds from 0 to %d", v, MaxLatencyMS)
		}
		*f.dst = &x
	}
	if ev.Outcome == "ok" && ev.LatencyMS == nil {
		return ev, fe("latency_ms", "required when outcome is \"ok\"")
	}
	if v, ok := obj["attrs"]; ok && string(v) != "null" {
		if err := json.Unmarshal(v, &ev.Attrs); err != nil {
			return ev, fe("attrs", "must be an object of string to string")
		}
		if len(ev.Attrs) > MaxAttrs {
			return ev, fe("attrs", "%d entries, at most %d are allowed", len(ev.Attrs), MaxAttrs)
		}
		for k, val := range ev.Attrs {
			if k == "" || len(k) > MaxAttrKeyLen || len(val) > MaxAttrValLen || !utf8.ValidString(k) || !utf8.ValidString(val) {
				return ev, fe("attrs", "entry %q: keys are 1-%d bytes and values at most %d bytes of UTF-8", truncate(k, 40), MaxAttrKeyLen, MaxAttrValLen)
			}
		}
	}
	return ev, nil
}

// regionField accepts the INSEE code as a string; a number such as 1 for "01"
// is refused with a hint, since leading zeros matter.
func regionField(obj map[string]json.RawMessage, dst *string) string {
	v, ok := obj["region"]
	if !ok || string(v) == "null" {
		return "required"
	}
	if err := json.Unmarshal(v, dst); err != nil {
		return fmt.Sprintf("%s must be a string INSEE region code such as \"11\" or \"01\"", v)
	}
	if !contains(Regions, *dst) {
		return fmt.Sprintf("%q is not an INSEE region code (%s)", truncate(*dst, 16), strings.Join(Regions, ", "))
	}
	return ""
}

func str(obj map[string]json.RawMessage, name string, dst *string, required bool, max int) string {
	v, ok := obj[name]
	if !ok || string(v) == "null" {
		if required {
			return "required"
		}
		return ""
	}
	if err := json.Unmarshal(v, dst); err != nil {
		return fmt.Sprintf("%s must be a string", truncate(string(v), 40))
	}
	if required && *dst == "" {
		return "must not be empty"
	}
	if len(*dst) > max {
		return fmt.Sprintf("%d bytes long, at most %d are allowed", len(*dst), max)
	}
	if !utf8.ValidString(*dst) {
		return "not valid UTF-8"
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func shortJSONErr(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("syntax error at byte %d: %v", se.Offset, err)
	}
	return err.Error()
}

// Failed reports whether the outcome counts against availability.
func (e *Event) Failed() bool {
	return e.Outcome == "error" || e.Outcome == "timeout" || e.Outcome == "rejected"
}

// PartitionKey is the Kafka message key: region/service, so that one
// service's events in one region stay ordered in one partition.
func (e *Event) PartitionKey() string { return e.Region + "/" + e.Service }
