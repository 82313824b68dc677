package publish

import (
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/vigie-fr/vigie/ingest/pseudonym"
	"github.com/vigie-fr/vigie/schemas"
)

func TestNewRefusesAWriterThatCanLoseEvents(t *testing.T) {
	ps, _ := pseudonym.New([]byte(strings.Repeat("k", 32)))
	tests := []struct {
		name string
		w    *kafka.Writer
		says string
	}{
		{"no writer", nil, "no Kafka writer"},
		{"one ack", &kafka.Writer{Topic: "t", RequiredAcks: kafka.RequireOne}, "RequiredAcks=RequireAll"},
		{"asynchronous", &kafka.Writer{Topic: "t", RequiredAcks: kafka.RequireAll, Async: true}, "must be synchronous"},
		{"no topic", &kafka.Writer{RequiredAcks: kafka.RequireAll}, "no topic"},
	}
	for _, tt := range tests {
		if _, err := New(tt.w, ps, "log"); err == nil || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("%s: New = %v, want an error saying %q", tt.name, err, tt.says)
		}
	}
	if _, err := New(&kafka.Writer{Topic: "t", RequiredAcks: kafka.RequireAll}, ps, "syslog"); err == nil || !strings.Contains(err.Error(), `default source "syslog"`) {
		t.Errorf("an unknown source: %v", err)
	}
}

func TestPrepareDoesWhatTheAPIDoes(t *testing.T) {
	ps, _ := pseudonym.New([]byte(strings.Repeat("k", 32)))
	p, err := New(&kafka.Writer{Topic: "t", RequiredAcks: kafka.RequireAll}, ps, "probe")
	if err != nil {
		t.Fatal(err)
	}
	ev := schemas.Event{User: "eleve42", Attrs: map[string]string{"src": "192.0.2.77", "ua": "curl"}}
	p.Prepare(&ev)
	if ev.User != ps.Of("eleve42") || ev.Attrs["src"] != "192.0.2.0/24" || ev.Attrs["ua"] != "curl" || ev.Source != "probe" {
		t.Errorf("prepared %+v: want the HMAC pseudonym, the /24, the default source", ev)
	}
	ev = schemas.Event{Source: "log"}
	p.Prepare(&ev)
	if ev.Source != "log" || ev.User != "" {
		t.Errorf("prepared %+v: a given source stays, no user stays none", ev)
	}
}

func TestCheckAppliesTheDecodersRules(t *testing.T) {
	now := time.Date(2021, 4, 6, 8, 0, 0, 0, time.UTC)
	lat := 12.0
	ok := schemas.Event{ID: "x", TS: now, Platform: "ent", Service: "ent-11", Region: "11", Kind: "probe", Outcome: "ok", LatencyMS: &lat}
	if err := Check(ok, time.Hour, now); err != nil {
		t.Fatalf("a valid event: %v", err)
	}
	bad := ok
	bad.Region = "99"
	if err := Check(bad, time.Hour, now); err == nil || !strings.Contains(err.Error(), `field "region": "99" is not an INSEE region code`) {
		t.Errorf("Check = %v, want the region named", err)
	}
	late := ok
	late.TS = now.Add(2 * time.Hour)
	if err := Check(late, time.Hour, now); err == nil || !strings.Contains(err.Error(), `field "ts"`) {
		t.Errorf("Check = %v, want ts named", err)
	}
}
