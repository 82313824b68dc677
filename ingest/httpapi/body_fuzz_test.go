package httpapi

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/schemas"
)

// FuzzReadBatch feeds arbitrary bodies, plain or announced as gzip, to the
// body parser. Seeds are the files in testdata/seeds, sent both ways.
// Besides not panicking, it checks that a batch is either refused whole with
// a 4xx status, or split into valid events and per-event errors in order, and
// that every valid event survives the trip through JSON that the aggregator
// makes (it decodes what ingest produces with the same strict decoder).
func FuzzReadBatch(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "seeds", "*"))
	if err != nil || len(seeds) == 0 {
		f.Fatalf("no seeds in testdata/seeds: %v", err)
	}
	for _, path := range seeds {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		f.Add(buf.Bytes(), true)
	}
	now := time.Date(2021, 4, 6, 12, 0, 0, 0, time.UTC)
	opt := schemas.DecodeOptions{MaxEvents: 50, MaxFuture: time.Hour, Now: func() time.Time { return now }}
	const limit = 64 << 10
	f.Fuzz(func(t *testing.T, body []byte, gzipped bool) {
		enc := ""
		if gzipped {
			enc = "gzip"
		}
		b, ref := readBatch(bytes.NewReader(body), enc, int64(len(body)), limit, opt)
		if ref != nil {
			switch ref.status {
			case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
			default:
				t.Fatalf("refused with status %d", ref.status)
			}
			if ref.msg == "" || ref.reason == "" || len(b.events)+len(b.bad) != 0 {
				t.Fatalf("refusal %+v carries events or lacks a message", ref)
			}
			return
		}
		if n := len(b.events) + len(b.bad); n > opt.MaxEvents {
			t.Fatalf("%d events read, above MaxEvents %d", n, opt.MaxEvents)
		}
		last := -1
		for _, fe := range b.bad {
			if fe.Index <= last || fe.Msg == "" {
				t.Fatalf("bad error list %+v", b.bad)
			}
			last = fe.Index
		}
		for _, ev := range b.events {
			raw, err := json.Marshal(ev)
			if err != nil {
				t.Fatalf("event %q does not marshal: %v", ev.ID, err)
			}
			back, fe := schemas.DecodeEvent(raw, 0, now)
			if fe != nil {
				t.Fatalf("event %s re-decodes with error %v", raw, fe)
			}
			if !back.TS.Equal(ev.TS) {
				t.Fatalf("ts %v became %v", ev.TS, back.TS)
			}
			back.TS, ev.TS = time.Time{}, time.Time{}
			if !reflect.DeepEqual(back, ev) {
				t.Fatalf("event changed through JSON:\n%+v\n%+v", ev, back)
			}
		}
	})
}
