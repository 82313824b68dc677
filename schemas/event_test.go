package schemas

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

const good = `{"id":"e1","ts":"2021-04-06T08:30:00+02:00","platform":"ent","service":"ent-11","region":"11","kind":"login","outcome":"ok","latency_ms":120,"user":"u1","role":"student","attrs":{"brand":"monlycee.net"}}`

var now = time.Date(2021, 4, 6, 12, 0, 0, 0, time.UTC)

func with(field, value string) string {
	var m map[string]json.RawMessage
	_ = json.Unmarshal([]byte(good), &m)
	if value == "" {
		delete(m, field)
	} else {
		m[field] = json.RawMessage(value)
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func TestAValidEventDecodesToUTC(t *testing.T) {
	ev, ferr := DecodeEvent([]byte(good), time.Hour, now)
	if ferr != nil {
		t.Fatal(ferr)
	}
	if !ev.TS.Equal(time.Date(2021, 4, 6, 6, 30, 0, 0, time.UTC)) || ev.TS.Location() != time.UTC {
		t.Errorf("ts = %v, want 06:30 UTC", ev.TS)
	}
	if *ev.LatencyMS != 120 || ev.Attrs["brand"] != "monlycee.net" || ev.PartitionKey() != "11/ent-11" {
		t.Errorf("decoded %+v", ev)
	}
}

func TestInvalidEventsNameTheFieldAndTheReason(t *testing.T) {
	for _, tc := range []struct {
		name, raw, field, msg string
	}{
		{"a missing id", with("id", ""), "id", "required"},
		{"an id over 64 bytes", with("id", `"`+strings.Repeat("x", 65)+`"`), "id", "at most 64"},
		{"a timestamp without offset", with("ts", `"2021-04-06T08:30:00"`), "ts", "RFC 3339"},
		{"a timestamp far in the future", with("ts", `"2021-04-06T18:30:00+02:00"`), "ts", "in the future"},
		{"an unknown platform", with("platform", `"pronote"`), "platform", "not one of ent, cned"},
		{"a region given as a number", with("region", `11`), "region", "must be a string"},
		{"an unknown region code", with("region", `"99"`), "region", "not an INSEE region code"},
		{"an unknown outcome", with("outcome", `"fine"`), "outcome", "not one of"},
		{"an ok without latency", with("latency_ms", ""), "latency_ms", "required when outcome"},
		{"a negative latency", with("latency_ms", `-3`), "latency_ms", "from 0 to"},
		{"a status that is not HTTP", with("status", `42`), "status", "HTTP status"},
		{"an unknown field", with("latency", `12`), "latency", "unknown field"},
		{"attrs that are not strings", with("attrs", `{"a":1}`), "attrs", "string to string"},
		{"an unknown role", with("role", `"pupil"`), "role", "not one of"},
		{"a sample rate of zero", with("sample_rate", `0`), "sample_rate", "greater than 0 and at most 1"},
		{"a sample rate above one", with("sample_rate", `1.5`), "sample_rate", "greater than 0 and at most 1"},
		{"a sample rate as a string", with("sample_rate", `"0.5"`), "sample_rate", "greater than 0 and at most 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, ferr := DecodeEvent([]byte(tc.raw), time.Hour, now)
			if ferr == nil {
				t.Fatalf("accepted %s", tc.raw)
			}
			if ferr.Field != tc.field || !strings.Contains(ferr.Msg, tc.msg) {
				t.Fatalf("error %q on field %q, want field %q and %q", ferr.Msg, ferr.Field, tc.field, tc.msg)
			}
			if tc.field != "id" && ferr.ID != "e1" {
				t.Errorf("error does not name the event: %+v", ferr)
			}
		})
	}
}

func TestABatchKeepsValidEventsAndNamesInvalidOnes(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
	}{
		{"NDJSON", good + "\n" + with("region", `"99"`) + "\n\n" + strings.Replace(good, `"e1"`, `"e3"`, 1) + "\n"},
		{"a JSON array", "[" + good + "," + with("region", `"99"`) + "," + strings.Replace(good, `"e1"`, `"e3"`, 1) + "]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, pos, bad, err := DecodeBatch(strings.NewReader(tc.body), DecodeOptions{MaxFuture: time.Hour, Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 2 || evs[0].ID != "e1" || evs[1].ID != "e3" || pos[0] != 0 || pos[1] != 2 {
				t.Fatalf("valid events %v at %v", evs, pos)
			}
			if len(bad) != 1 || bad[0].Index != 1 || bad[0].Field != "region" {
				t.Fatalf("invalid events %+v", bad)
			}
			if got := bad[0].Error(); got != `event 1 (id "e1"): field "region": "99" is not an INSEE region code (11, 24, 27, 28, 32, 44, 52, 53, 75, 76, 84, 93, 94, 01, 02, 03, 04, 06)` {
				t.Errorf("message %q", got)
			}
		})
	}
}

func TestBrokenFramingIsABatchError(t *testing.T) {
	for _, body := range []string{"[" + good + ",", "[" + good + "} "} {
		_, _, _, err := DecodeBatch(strings.NewReader(body), DecodeOptions{Now: func() time.Time { return now }})
		if !errors.Is(err, ErrBatch) {
			t.Errorf("%q: err = %v, want ErrBatch", body, err)
		}
	}
	_, _, _, err := DecodeBatch(strings.NewReader(good+"\n"+good+"\n"+good), DecodeOptions{MaxEvents: 2, Now: func() time.Time { return now }})
	if !errors.Is(err, ErrBatch) || !strings.Contains(err.Error(), "more than 2") {
		t.Errorf("oversize batch: %v", err)
	}
}

// The JSON Schema file and the Go decoder must describe the same contract.
func TestTheJSONSchemaFileListsWhatTheDecoderAccepts(t *testing.T) {
	b, err := os.ReadFile("event.v1.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Required   []string                   `json:"required"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	for f := range knownFields {
		if _, ok := s.Properties[f]; !ok {
			t.Errorf("field %s is missing from the JSON Schema", f)
		}
	}
	if len(s.Properties) != len(knownFields) {
		t.Errorf("JSON Schema has %d properties, the decoder %d", len(s.Properties), len(knownFields))
	}
	for _, f := range s.Required {
		if _, ferr := DecodeEvent([]byte(with(f, "")), time.Hour, now); ferr == nil || ferr.Field != f {
			t.Errorf("required field %s: decoder said %v", f, ferr)
		}
	}
	for name, enum := range map[string][]string{"platform": Platforms, "region": Regions, "kind": Kinds, "outcome": Outcomes, "role": Roles, "source": Sources} {
		var p struct {
			Enum []string `json:"enum"`
		}
		_ = json.Unmarshal(s.Properties[name], &p)
		if strings.Join(p.Enum, ",") != strings.Join(enum, ",") {
			t.Errorf("%s: schema enum %v, decoder %v", name, p.Enum, enum)
		}
	}
}

func FuzzDecodeBatch(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("[" + good + "," + good + "]"))
	f.Add([]byte(good + "\n{\"id\":1}\nnot json\n"))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(good))
	zw.Close()
	f.Add(gz.Bytes())
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, pos, bad, _ := DecodeBatch(bytes.NewReader(body), DecodeOptions{MaxEvents: 100, MaxFuture: time.Hour, Now: func() time.Time { return now }})
		if len(evs) != len(pos) {
			t.Fatalf("%d events, %d positions", len(evs), len(pos))
		}
		for _, ev := range evs {
			// Whatever the decoder accepts must survive a round trip: the
			// aggregator decodes what the collector produced.
			b, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			if _, ferr := DecodeEvent(b, 0, now); ferr != nil {
				t.Fatalf("accepted event fails its own round trip: %v", ferr)
			}
		}
		for _, b := range bad {
			if b.Msg == "" {
				t.Fatal("an error without a message")
			}
		}
	})
}

// sameEvent is reflect.DeepEqual plus the sign of zero, which DeepEqual
// ignores: a latency of -0 must stay -0 whichever path decoded it.
func sameEvent(a, b Event) bool {
	bits := func(p *float64) uint64 {
		if p == nil {
			return 1<<64 - 1 // not a float64 any decoder produces here (a NaN)
		}
		return math.Float64bits(*p)
	}
	return reflect.DeepEqual(a, b) && bits(a.LatencyMS) == bits(b.LatencyMS) && bits(a.QueueMS) == bits(b.QueueMS)
}

// insert adds members just after the opening brace of good, so that they
// come before (and lose to) good's own keys, or appends them at the end.
func insert(members string, atEnd bool) string {
	if atEnd {
		return good[:len(good)-1] + "," + members + "}"
	}
	return "{" + members + "," + good[1:]
}

func TestTheFastPathDecodesWhatTheReferenceDecodes(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  string
		fast bool // the fast path answers by itself
	}{
		{"a valid event", good, true},
		{"a valid event with spaces everywhere", " \t{ \"id\" : \"e1\" ,\n\"ts\":\"2021-04-06T08:30:00Z\",\"platform\":\"cned\",\"service\":\"s\",\"region\":\"01\",\"kind\":\"api\",\"outcome\":\"error\" }\r\n", true},
		{"a duplicate key, where the last one wins", insert(`"region":"99"`, false), true},
		{"a duplicate key that turns a good value bad", insert(`"region":"99"`, true), false},
		{"a key with a different case, which is an unknown field", insert(`"ID":"x"`, true), false},
		{"a key spelt with a unicode escape", strings.Replace(good, `"id"`, `"\u0069d"`, 1), true},
		{"null for an optional field, which means absent", with("user", "null"), true},
		{"null for a required field", with("service", "null"), false},
		{"null for attrs", with("attrs", "null"), true},
		{"empty attrs, which is an empty map and not nil", with("attrs", "{}"), true},
		{"attrs with a duplicate key", with("attrs", `{"a":"1","a":"2"}`), true},
		{"attrs with a null value", with("attrs", `{"a":null}`), false},
		{"attrs with a nested object", with("attrs", `{"a":{}}`), false},
		{"attrs with 33 entries", with("attrs", `{`+strings.Repeat(`"k":"v",`, 32)+`"k":"v"}`), false},
		{"a status written 200.0", with("status", "200.0"), true},
		{"a sample rate of 0.002", with("sample_rate", "0.002"), true},
		{"a sample rate of 1", with("sample_rate", "1"), true},
		{"a negative sample rate", with("sample_rate", "-0.5"), false},
		{"a status written 2e2", with("status", "2e2"), true},
		{"a status written 2.5E+2", with("status", "2.5E+2"), true},
		{"a status with a fraction", with("status", "200.5"), false},
		{"a status as a string", with("status", `"200"`), false},
		{"a status of true", with("status", "true"), false},
		{"a latency of minus zero", with("latency_ms", "-0"), true},
		{"a latency with a huge exponent", with("latency_ms", "1e400"), false},
		{"a latency with a tiny exponent", with("latency_ms", "1e-400"), true},
		{"a latency with a leading zero", strings.Replace(good, `:120`, `:0120`, 1), false},
		{"a latency with a plus sign", strings.Replace(good, `:120`, `:+120`, 1), false},
		{"a string with escapes", with("user", `"a\"b\\c\/d\n\t\u00e9\u20ac"`), true},
		{"a string with a surrogate pair", with("user", `"\ud83d\ude00"`), false},
		{"a string with a lone surrogate", with("user", `"\ud83dx"`), false},
		{"a string with UTF-8", with("service", `"académie-€"`), true},
		{"a string with invalid UTF-8", with("service", "\"a\xffb\""), false},
		{"a string with a raw control character", with("user", "\"a\tb\""), false},
		{"an id of 64 bytes once unescaped", with("id", `"`+strings.Repeat(`\n`, 64)+`"`), true},
		{"an empty optional enum", with("role", `""`), true},
		{"trailing garbage", good + "x", false},
		{"two objects", good + good, false},
		{"a truncated object", good[:len(good)-1], false},
		{"a trailing comma", insert("", true), false},
		{"an array", "[" + good + "]", false},
		{"null", "null", false},
		{"a byte order mark", "\xef\xbb\xbf" + good, false},
		{"an invalid timestamp", with("ts", `"2021-04-06 08:30:00+02:00"`), false},
		{"a timestamp with nanoseconds", with("ts", `"2021-04-06T08:30:00.123456789-03:00"`), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := []byte(tc.raw)
			wantEv, wantErr := decodeEventSlow(raw, time.Hour, now)
			gotEv, gotErr := DecodeEvent(raw, time.Hour, now)
			if !sameEvent(gotEv, wantEv) || !reflect.DeepEqual(gotErr, wantErr) {
				t.Fatalf("DecodeEvent = %+v, %v\nreference  = %+v, %v", gotEv, gotErr, wantEv, wantErr)
			}
			if _, ok := decodeEventFast(raw, time.Hour, now); ok != tc.fast {
				t.Errorf("fast path answered: %v, want %v (reference error: %v)", ok, tc.fast, wantErr)
			}
		})
	}
}

// FuzzFastMatchesSlow feeds the same bytes to both paths: whatever the fast
// path accepts, the reference must accept and decode to the same Event, and
// DecodeEvent must always answer what the reference answers.
func FuzzFastMatchesSlow(f *testing.F) {
	f.Add([]byte(good))
	for _, l := range benchLines()[:8] {
		f.Add(l)
	}
	for _, field := range []string{"id", "ts", "platform", "service", "region", "academy", "kind", "outcome", "status", "latency_ms", "queue_ms", "user", "role", "source", "attrs", "sample_rate"} {
		for _, v := range []string{"", "null", `""`, `"x"`, "0", "-0", "1e2", "200.0", "599", "1e400", "86400000.5", "true", "[]", "{}", `{"a":"b"}`, `"\u00e9\ud83d\ude00\n"`, `"é"`} {
			f.Add([]byte(with(field, v)))
		}
		f.Add([]byte(insert(`"`+field+`":null`, true)))
		f.Add([]byte(insert(`"`+strings.ToUpper(field)+`":"x"`, true)))
	}
	f.Add([]byte(strings.Replace(good, `"id"`, `"\u0069d"`, 1)))
	f.Add([]byte(" \r\n" + good + "\t"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		wantEv, wantErr := decodeEventSlow(raw, time.Hour, now)
		if ev, ok := decodeEventFast(raw, time.Hour, now); ok {
			if wantErr != nil {
				t.Fatalf("fast path accepted %q, the reference refuses it: %v", raw, wantErr)
			}
			if !sameEvent(ev, wantEv) {
				t.Fatalf("%q: fast path decoded %+v, the reference %+v", raw, ev, wantEv)
			}
		}
		gotEv, gotErr := DecodeEvent(raw, time.Hour, now)
		if !sameEvent(gotEv, wantEv) || !reflect.DeepEqual(gotErr, wantErr) {
			t.Fatalf("%q: DecodeEvent = %+v, %v; reference = %+v, %v", raw, gotEv, gotErr, wantEv, wantErr)
		}
	})
}

func TestReasonsAreBoundedLabels(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{with("region", `"99"`), "region"},
		{with("latency", `12`), "unknown_field"},
		{`not json`, "not_an_object"},
	} {
		_, ferr := DecodeEvent([]byte(tc.raw), time.Hour, now)
		if ferr == nil || ferr.Reason() != tc.want {
			t.Errorf("%s: reason %v, want %s", tc.raw, ferr, tc.want)
		}
	}
}

func TestASampleRateWeighsTheEvent(t *testing.T) {
	ev, fe := DecodeEvent([]byte(with("sample_rate", "0.002")), 0, time.Now())
	if fe != nil {
		t.Fatal(fe)
	}
	if ev.SampleRate != 0.002 || ev.Weight() != 500 {
		t.Fatalf("sample_rate %v weight %v, want 0.002 and 500", ev.SampleRate, ev.Weight())
	}
	ev, fe = DecodeEvent([]byte(good), 0, time.Now())
	if fe != nil {
		t.Fatal(fe)
	}
	if ev.SampleRate != 0 || ev.Weight() != 1 {
		t.Fatalf("without sample_rate: %v weight %v, want 0 and 1", ev.SampleRate, ev.Weight())
	}
}
