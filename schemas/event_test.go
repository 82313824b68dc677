package schemas

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"os"
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
