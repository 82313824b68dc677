package schemas

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// AppendJSON writes what json.Marshal writes, byte for byte, for events of
// every shape: omitted fields, escaped and invalid strings, floats of every
// magnitude, attrs in any order, times in other zones.
func TestAppendJSONIsJSONMarshal(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 15))
	strs := []string{"", "plain", `quote"back\slash`, "<script>&amp;", "é accentué", "\x00ctl\n\t", "bad\xffutf8",
		"line\u2028sep", "🙂", "ent-11"}
	floats := []float64{0, 1, -1, 0.1, 123.456, 1e-7, 1.5e-6, 1e-6, 999999999999999999999, 1e21, 1e300, -2.5e-10,
		86_400_000, 5e-324, math.MaxFloat64}
	zones := []*time.Location{time.UTC, time.FixedZone("CEST", 2*3600), time.FixedZone("x", -(9*3600 + 30*60))}
	pick := func() string { return strs[r.IntN(len(strs))] }
	for i := range 5000 {
		ev := Event{ID: pick(), TS: time.Date(2021, 4, 6, 8, r.IntN(60), r.IntN(60), r.IntN(3)*r.IntN(1e9), zones[r.IntN(3)]),
			Platform: pick(), Service: pick(), Region: pick(), Academy: pick(), Kind: pick(), Outcome: pick(),
			Status: r.IntN(3) * (r.IntN(600) - 100), User: pick(), Role: pick(), Source: pick()}
		if r.IntN(2) == 0 {
			f := floats[r.IntN(len(floats))]
			ev.LatencyMS = &f
		}
		if r.IntN(2) == 0 {
			f := floats[r.IntN(len(floats))] * float64(r.IntN(3)-1)
			ev.QueueMS = &f
		}
		if n := r.IntN(4); n > 0 {
			ev.Attrs = map[string]string{}
			for range n {
				ev.Attrs[pick()] = pick()
			}
		}
		if r.IntN(2) == 0 {
			ev.SampleRate = floats[r.IntN(len(floats))]
		}
		want, err := json.Marshal(&ev)
		if err != nil {
			t.Fatal(err)
		}
		got, err := AppendJSON([]byte("prefix"), &ev)
		if err != nil || !bytes.Equal(got, append([]byte("prefix"), want...)) {
			t.Fatalf("event %d:\n got %s (%v)\nwant prefix%s", i, got, err, want)
		}
	}
}

// What json.Marshal refuses, AppendJSON refuses with its error.
func TestAppendJSONRefusesWhatJSONRefuses(t *testing.T) {
	nan := math.NaN()
	for _, ev := range []Event{
		{ID: "a", TS: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{ID: "b", TS: time.Now(), LatencyMS: &nan},
	} {
		_, want := json.Marshal(&ev)
		_, got := AppendJSON(nil, &ev)
		if want == nil || got == nil || got.Error() != want.Error() {
			t.Errorf("event %s: AppendJSON error %v, json.Marshal error %v", ev.ID, got, want)
		}
	}
}

// Every field of Event, set alone, comes out of AppendJSON as json.Marshal
// writes it: a field added to the schema and forgotten here (sample_rate
// once was) fails this test, whatever the random test above draws.
func TestAppendJSONWritesEveryField(t *testing.T) {
	typ := reflect.TypeFor[Event]()
	for i := range typ.NumField() {
		var ev Event
		ev.TS = time.Date(2021, 4, 6, 8, 0, 0, 0, time.UTC)
		f := reflect.ValueOf(&ev).Elem().Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString("x")
		case reflect.Int:
			f.SetInt(200)
		case reflect.Float64:
			f.SetFloat(0.25)
		case reflect.Pointer:
			v := 12.5
			f.Set(reflect.ValueOf(&v))
		case reflect.Map:
			f.Set(reflect.ValueOf(map[string]string{"k": "v"}))
		case reflect.Struct: // the time, set above
		default:
			t.Fatalf("field %s: kind %s has no test value: add one", typ.Field(i).Name, f.Kind())
		}
		want, _ := json.Marshal(&ev)
		got, err := AppendJSON(nil, &ev)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("with only %s set:\n got %s (%v)\nwant %s", typ.Field(i).Name, got, err, want)
		}
	}
}
