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
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// Event is one event of schema v1. See schemas/event.v1.schema.json, and
// docs/design.md ("Data flow") for where it goes.
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
	// SampleRate is the share of events the sender kept, in (0, 1]: an
	// event with 0.002 stands for 500 (1 / SampleRate). 0 means absent,
	// which is 1: every event sent. Senders that sample keep or drop all
	// of a user's events together, so that people can be estimated too
	// (docs/reports.md, "Estimations").
	SampleRate float64 `json:"sample_rate,omitempty"`
}

// Weight is how many events of the whole population this one stands for:
// 1 / SampleRate, 1 when the sender did not sample.
func (e *Event) Weight() float64 {
	if e.SampleRate <= 0 {
		return 1
	}
	return 1 / e.SampleRate
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

// CollectorHeader is the Kafka message header naming the collector (the
// authenticated sender) of an event. Ids are unique per collector: the
// aggregator de-duplicates on (collector, id), so one collector cannot
// shadow another's events by sending their ids first.
const CollectorHeader = "vigie-collector"

// KeyHeader is the Kafka message header carrying the fingerprint of the
// pseudonymisation key an event's user went through (see
// pseudonym.Pseudonymiser.Fingerprint): collectors must share one key.
const KeyHeader = "vigie-key"

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

// Reason is a bounded label for metrics: the schema field at fault,
// "unknown_field" for a field schema v1 does not have (its name is the
// sender's, unbounded), or "not_an_object" when the event is unreadable.
func (e *FieldError) Reason() string {
	switch {
	case e.Field == "":
		return "not_an_object"
	case knownFields[e.Field]:
		return e.Field
	default:
		return "unknown_field"
	}
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
	// The items are pulled one at a time on this goroutine: handing each
	// event over a channel from a reader goroutine cost more than decoding it.
	next := lineItems(br)
	if first == '[' {
		next = arrayItems(br)
	}
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	for n := 0; ; n++ {
		raw, err := next()
		if err == errBatchEnd {
			return events, positions, bad, nil
		}
		if err != nil {
			return events, positions, bad, fmt.Errorf("%w: after %d events: %v", ErrBatch, n, err)
		}
		if opt.MaxEvents > 0 && n >= opt.MaxEvents {
			return nil, nil, nil, fmt.Errorf("%w: more than %d events in one batch", ErrBatch, opt.MaxEvents)
		}
		ev, ferr := DecodeEvent(raw, opt.MaxFuture, now())
		if ferr != nil {
			ferr.Index = n
			bad = append(bad, *ferr)
		} else {
			events = append(events, ev)
			positions = append(positions, n)
		}
	}
}

// errBatchEnd is what an item reader returns after the last item.
var errBatchEnd = errors.New("end of batch")

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

// arrayItems returns a reader of the elements of a JSON array, one raw value
// per call, then errBatchEnd once the array is closed.
func arrayItems(br *bufio.Reader) func() ([]byte, error) {
	dec := json.NewDecoder(br)
	started, ended := false, false
	return func() ([]byte, error) {
		if ended {
			return nil, errBatchEnd
		}
		if !started {
			started = true
			if _, err := dec.Token(); err != nil { // '['
				return nil, err
			}
		}
		if dec.More() {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, err
			}
			return raw, nil
		}
		ended = true
		if _, err := dec.Token(); err != nil { // ']'
			return nil, fmt.Errorf("array not closed: %v", err)
		}
		return nil, errBatchEnd
	}
}

// lineItems returns a reader of the non-blank lines of NDJSON, trimmed, then
// errBatchEnd at the end of the input (or the read error that stopped it).
func lineItems(br *bufio.Reader) func() ([]byte, error) {
	var stop error
	return func() ([]byte, error) {
		for stop == nil {
			line, err := br.ReadBytes('\n')
			if err == io.EOF {
				stop = errBatchEnd
			} else if err != nil {
				stop = err
			}
			if t := bytes.TrimSpace(line); len(t) > 0 {
				return t, nil
			}
		}
		return nil, stop
	}
}

var knownFields = map[string]bool{
	"id": true, "ts": true, "platform": true, "service": true, "region": true, "academy": true,
	"kind": true, "outcome": true, "status": true, "latency_ms": true, "queue_ms": true,
	"user": true, "role": true, "source": true, "attrs": true, "sample_rate": true,
}

// DecodeEvent decodes and validates one event. Unknown fields are refused
// (a typo such as "latency" for "latency_ms" must not be silently dropped);
// free-form data belongs in attrs. The returned error names the field.
func DecodeEvent(raw []byte, maxFuture time.Duration, now time.Time) (Event, *FieldError) {
	if ev, ok := decodeEventFast(raw, maxFuture, now); ok {
		return ev, nil
	}
	return decodeEventSlow(raw, maxFuture, now)
}

// decodeEventSlow is the reference decoder: encoding/json into a map of raw
// values, then one Unmarshal per field. It defines the contract (what is
// accepted, the Event built, the exact FieldError) and answers every event
// the fast path gives up on.
func decodeEventSlow(raw []byte, maxFuture time.Duration, now time.Time) (Event, *FieldError) {
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
	if v, ok := obj["sample_rate"]; ok && string(v) != "null" {
		var x float64
		if json.Unmarshal(v, &x) != nil || !validSampleRate(x) {
			return ev, fe("sample_rate", "%s is not a share of events kept, a number greater than 0 and at most 1", truncate(string(v), 40))
		}
		ev.SampleRate = x
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

// The fast path. decodeEventSlow spends its time in encoding/json's
// reflection, and both the collector and the aggregator run DecodeEvent on
// every event. decodeEventFast reads the shape producers send in one pass and
// without reflection: a flat object whose values are strings, numbers or null,
// plus attrs as an object of strings. It answers only when the event is valid,
// and then with the Event decodeEventSlow would build; on anything else (any
// invalid value, an unknown key, a surrogate \u escape, a nested value, a
// boolean) it gives up and decodeEventSlow answers, so errors are the
// reference ones by construction. FuzzFastMatchesSlow checks the two agree.

// Slots of the fast path, one per field of schema v1.
const (
	slotID = iota
	slotTS
	slotPlatform
	slotService
	slotRegion
	slotAcademy
	slotKind
	slotOutcome
	slotStatus
	slotLatency
	slotQueue
	slotUser
	slotRole
	slotSource
	slotAttrs
	slotSampleRate
	numSlots
)

// slotOf matches keys exactly, as the reference decoder's map does ("ID" is
// not "id"); -1 is an unknown field.
func slotOf(key []byte) int {
	switch string(key) {
	case "id":
		return slotID
	case "ts":
		return slotTS
	case "platform":
		return slotPlatform
	case "service":
		return slotService
	case "region":
		return slotRegion
	case "academy":
		return slotAcademy
	case "kind":
		return slotKind
	case "outcome":
		return slotOutcome
	case "status":
		return slotStatus
	case "latency_ms":
		return slotLatency
	case "queue_ms":
		return slotQueue
	case "user":
		return slotUser
	case "role":
		return slotRole
	case "source":
		return slotSource
	case "attrs":
		return slotAttrs
	case "sample_rate":
		return slotSampleRate
	}
	return -1
}

// Kinds of fastValue. Null is stored as absent: the reference decoder treats
// them alike for every field.
const (
	valAbsent byte = iota
	valString
	valNumber
	valObject // attrs, whose entries are in fastScan.attrs
)

type fastValue struct {
	kind byte
	b    []byte // the decoded string, or the number as written
}

// fastScan reads one event. It lives on the stack: the strings it holds are
// slices of the input, except those with escapes, which it decodes.
type fastScan struct {
	b      []byte
	i      int
	vals   [numSlots]fastValue // the last value of each key wins, as in a map
	attrs  [MaxAttrs][2][]byte // key and value of the last attrs object
	nattrs int
}

func (s *fastScan) skipSpace() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// eat skips spaces and then c, reporting whether c was there.
func (s *fastScan) eat(c byte) bool {
	s.skipSpace()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// object reads the whole input as one event object.
func (s *fastScan) object() bool {
	if !s.eat('{') {
		return false
	}
	for {
		s.skipSpace()
		key, ok := s.str()
		if !ok || !s.eat(':') {
			return false
		}
		slot := slotOf(key)
		if slot < 0 {
			return false
		}
		s.skipSpace()
		if !s.value(slot) {
			return false
		}
		if s.eat(',') {
			continue
		}
		if !s.eat('}') {
			return false
		}
		s.skipSpace()
		return s.i == len(s.b)
	}
}

func (s *fastScan) value(slot int) bool {
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		b, ok := s.str()
		s.vals[slot] = fastValue{valString, b}
		return ok
	case c == 'n':
		if !bytes.HasPrefix(s.b[s.i:], []byte("null")) {
			return false
		}
		s.i += 4
		s.vals[slot] = fastValue{}
		return true
	case c == '-' || '0' <= c && c <= '9':
		b, ok := s.number()
		s.vals[slot] = fastValue{valNumber, b}
		return ok
	case c == '{' && slot == slotAttrs:
		s.vals[slot] = fastValue{kind: valObject}
		return s.attrsObject()
	}
	return false
}

// attrsObject reads an object of strings, at most MaxAttrs entries.
func (s *fastScan) attrsObject() bool {
	s.i++ // '{'
	s.nattrs = 0
	if s.eat('}') {
		return true
	}
	for s.nattrs < MaxAttrs {
		s.skipSpace()
		k, ok := s.str()
		if !ok || !s.eat(':') {
			return false
		}
		s.skipSpace()
		v, ok := s.str()
		if !ok {
			return false
		}
		s.attrs[s.nattrs] = [2][]byte{k, v}
		s.nattrs++
		if s.eat('}') {
			return true
		}
		if !s.eat(',') {
			return false
		}
	}
	return false
}

// str reads a string and returns its content as encoding/json decodes it.
// Without escapes that is the bytes between the quotes, provided they are
// valid UTF-8 (encoding/json would replace invalid bytes, so it gives up).
func (s *fastScan) str() ([]byte, bool) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false
	}
	start := s.i + 1
	ascii := true
	for j := start; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			out := s.b[start:j]
			if !ascii && !utf8.Valid(out) {
				return nil, false
			}
			s.i = j + 1
			return out, true
		case c == '\\':
			return s.strEscaped(start)
		case c < ' ':
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}

// strEscaped decodes a string that has escapes into a new slice. A \u escape
// of a surrogate is left to the slow path (pairs and lone halves are where
// decoders differ most).
func (s *fastScan) strEscaped(start int) ([]byte, bool) {
	out := make([]byte, 0, 64)
	b := s.b
	for j := start; j < len(b); {
		c := b[j]
		switch {
		case c == '"':
			s.i = j + 1
			return out, true
		case c < ' ':
			return nil, false
		case c == '\\':
			if j+1 >= len(b) {
				return nil, false
			}
			e := b[j+1]
			j += 2
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, ok := hex4(b[j:])
				if !ok || utf16.IsSurrogate(r) {
					return nil, false
				}
				out = utf8.AppendRune(out, r)
				j += 4
			default:
				return nil, false
			}
		case c < utf8.RuneSelf:
			out = append(out, c)
			j++
		default:
			r, size := utf8.DecodeRune(b[j:])
			if r == utf8.RuneError && size == 1 {
				return nil, false
			}
			out = append(out, b[j:j+size]...)
			j += size
		}
	}
	return nil, false
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number reads a number of the JSON grammar and returns it as written.
func (s *fastScan) number() ([]byte, bool) {
	b, j := s.b, s.i
	digits := func() int {
		n := 0
		for j < len(b) && '0' <= b[j] && b[j] <= '9' {
			j++
			n++
		}
		return n
	}
	if b[j] == '-' {
		j++
	}
	switch {
	case j < len(b) && b[j] == '0':
		j++
	case digits() == 0:
		return nil, false
	}
	if j < len(b) && b[j] == '.' {
		j++
		if digits() == 0 {
			return nil, false
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		if digits() == 0 {
			return nil, false
		}
	}
	out := b[s.i:j]
	s.i = j
	return out, true
}

// decodeEventFast returns the event and true when raw is a valid event of the
// shape it reads; false means "ask decodeEventSlow", never "invalid".
func decodeEventFast(raw []byte, maxFuture time.Duration, now time.Time) (Event, bool) {
	s := fastScan{b: raw}
	if !s.object() {
		return Event{}, false
	}
	v := &s.vals
	var ev Event
	var ok [15]bool
	ev.ID, ok[0] = fastString(v[slotID], true, MaxIDLen)
	ev.Platform, ok[1] = fastEnum(v[slotPlatform], Platforms, true)
	ev.Service, ok[2] = fastString(v[slotService], true, MaxServiceLen)
	ev.Region, ok[3] = fastEnum(v[slotRegion], Regions, true)
	ev.Academy, ok[4] = fastString(v[slotAcademy], false, MaxAcademyLen)
	ev.Kind, ok[5] = fastEnum(v[slotKind], Kinds, true)
	ev.Outcome, ok[6] = fastEnum(v[slotOutcome], Outcomes, true)
	ev.User, ok[7] = fastString(v[slotUser], false, MaxUserLen)
	ev.Role, ok[8] = fastEnum(v[slotRole], Roles, false)
	ev.Source, ok[9] = fastEnum(v[slotSource], Sources, false)
	ev.TS, ok[10] = fastTS(v[slotTS], maxFuture, now)
	ev.Status, ok[11] = fastStatus(v[slotStatus])
	ev.LatencyMS, ok[12] = fastMillis(v[slotLatency])
	ev.QueueMS, ok[13] = fastMillis(v[slotQueue])
	ev.SampleRate, ok[14] = fastSampleRate(v[slotSampleRate])
	for _, o := range ok {
		if !o {
			return Event{}, false
		}
	}
	if ev.Outcome == "ok" && ev.LatencyMS == nil {
		return Event{}, false
	}
	if v[slotAttrs].kind == valObject {
		ev.Attrs = make(map[string]string, s.nattrs)
		for _, kv := range s.attrs[:s.nattrs] {
			// Checked per entry, before duplicates collapse: stricter than
			// the reference, which is safe since giving up is always right.
			if len(kv[0]) == 0 || len(kv[0]) > MaxAttrKeyLen || len(kv[1]) > MaxAttrValLen {
				return Event{}, false
			}
			ev.Attrs[string(kv[0])] = string(kv[1])
		}
	} else if v[slotAttrs].kind != valAbsent {
		return Event{}, false
	}
	return ev, true
}

// fastString follows str: absent is "" unless required, which also refuses "".
func fastString(v fastValue, required bool, max int) (string, bool) {
	switch {
	case v.kind == valAbsent:
		return "", !required
	case v.kind != valString || required && len(v.b) == 0 || len(v.b) > max:
		return "", false
	}
	return string(v.b), true
}

// fastEnum returns the enumeration's own string, so valid events allocate
// nothing for these fields. An optional field may be "".
func fastEnum(v fastValue, enum []string, required bool) (string, bool) {
	switch {
	case v.kind == valAbsent:
		return "", !required
	case v.kind != valString:
		return "", false
	case len(v.b) == 0:
		return "", !required
	}
	for _, e := range enum {
		if string(v.b) == e {
			return e, true
		}
	}
	return "", false
}

func fastTS(v fastValue, maxFuture time.Duration, now time.Time) (time.Time, bool) {
	if v.kind != valString || len(v.b) == 0 || len(v.b) > 64 {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(v.b))
	if err != nil || maxFuture > 0 && t.After(now.Add(maxFuture)) || t.UTC().Year() < 2000 {
		return time.Time{}, false
	}
	return t.UTC(), true
}

func fastStatus(v fastValue) (int, bool) {
	switch v.kind {
	case valAbsent:
		return 0, true
	case valNumber:
		s, err := strconv.ParseFloat(string(v.b), 64)
		if err != nil || s != math.Trunc(s) || s < 100 || s > 599 {
			return 0, false
		}
		return int(s), true
	}
	return 0, false
}

func fastMillis(v fastValue) (*float64, bool) {
	switch v.kind {
	case valAbsent:
		return nil, true
	case valNumber:
		x, err := strconv.ParseFloat(string(v.b), 64)
		if err != nil || math.IsNaN(x) || x < 0 || x > MaxLatencyMS {
			return nil, false
		}
		return &x, true
	}
	return nil, false
}

// validSampleRate: a share of events kept, in (0, 1].
func validSampleRate(x float64) bool { return x > 0 && x <= 1 }

func fastSampleRate(v fastValue) (float64, bool) {
	switch v.kind {
	case valAbsent:
		return 0, true
	case valNumber:
		x, err := strconv.ParseFloat(string(v.b), 64)
		if err != nil || !validSampleRate(x) {
			return 0, false
		}
		return x, true
	}
	return 0, false
}
