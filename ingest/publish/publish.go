// Package publish is the one way an event enters Kafka: each collector (the
// HTTP API, the prober, the access-log tailer) hands it checked schema v1
// events, and it pseudonymises user ids with the keyed HMAC, truncates IP
// addresses in attrs, sets the default source, encodes the events and
// produces them keyed region/service, returning only once every in-sync
// replica has them. It does not decode or batch what collectors receive, and
// it keeps no state: a failed Publish is retried by its caller, whole.
package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/vigie-fr/vigie/ingest/pseudonym"
	"github.com/vigie-fr/vigie/schemas"
)

// Publisher produces events to one topic. It is safe for concurrent use.
type Publisher struct {
	w      *kafka.Writer
	pseudo *pseudonym.Pseudonymiser
	source string
	key    string // the pseudonymiser's fingerprint, in every message's schemas.KeyHeader
}

// New checks what no configuration can fix: the writer must be synchronous
// and wait for all in-sync replicas (broker.NewWriter's writers do), since a
// collector reports an event sent, or checkpoints past it, only when it
// cannot be lost. defaultSource is set on events that name none.
func New(w *kafka.Writer, p *pseudonym.Pseudonymiser, defaultSource string) (*Publisher, error) {
	var errs []error
	switch {
	case w == nil:
		errs = append(errs, errors.New("no Kafka writer"))
	case w.RequiredAcks != kafka.RequireAll || w.Async:
		errs = append(errs, fmt.Errorf("the Kafka writer must be synchronous with RequiredAcks=RequireAll (has %v, async %v): acknowledged events must not be lost", w.RequiredAcks, w.Async))
	case w.Topic == "":
		errs = append(errs, errors.New("the Kafka writer has no topic"))
	}
	if p == nil {
		errs = append(errs, errors.New("no pseudonymiser"))
	}
	if defaultSource != "" && !contains(schemas.Sources, defaultSource) {
		errs = append(errs, fmt.Errorf("default source %q is not one of %v", defaultSource, schemas.Sources))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Publisher{w: w, pseudo: p, source: defaultSource, key: p.Fingerprint()}, nil
}

// CheckKey refuses a pseudonymisation key other than the one the newest
// events of the topic were produced with (their schemas.KeyHeader):
// collectors running apart must share ingest.hmac_key, or one user gets
// two pseudonyms. newest are the headers of each partition's newest
// message (nil for an empty partition).
func (p *Publisher) CheckKey(newest [][]kafka.Header) error {
	for _, hs := range newest {
		for _, h := range hs {
			if h.Key == schemas.KeyHeader && string(h.Value) != p.key {
				return fmt.Errorf("ingest.hmac_key: this collector's key (fingerprint %s) is not the one the events already in %s were pseudonymised with (fingerprint %s): "+
					"every collector must share one key, or one user gets two pseudonyms and is counted twice; set the same VIGIE_INGEST_HMAC_KEY everywhere "+
					"(a new key means a new topic, kafka.topic)", p.key, p.w.Topic, h.Value)
			}
		}
	}
	return nil
}

// Topic is where the events go.
func (p *Publisher) Topic() string { return p.w.Topic }

// Prepare does to ev, in place, what happens before an event leaves the
// process: the user id becomes its pseudonym, full IP addresses in attrs
// become their network, and an empty source gets the default.
func (p *Publisher) Prepare(ev *schemas.Event) {
	ev.User = p.pseudo.Of(ev.User)  // the raw id never leaves this process
	pseudonym.TruncateIPs(ev.Attrs) // nor a full IP address
	if ev.Source == "" {
		ev.Source = p.source
	}
}

// Publish prepares the events (in place) and produces them synchronously;
// nil means every replica has all of them. The events must be valid schema
// v1 (see Check). Each message names collector (schemas.CollectorHeader):
// ids are unique per collector, and the aggregator de-duplicates them so.
func (p *Publisher) Publish(ctx context.Context, events []schemas.Event, collector string) error {
	headers := []kafka.Header{
		{Key: schemas.CollectorHeader, Value: []byte(collector)},
		{Key: schemas.KeyHeader, Value: []byte(p.key)},
	}
	// One buffer holds every value, cut into messages once it is complete.
	msgs := make([]kafka.Message, len(events))
	ends := make([]int, len(events))
	buf := make([]byte, 0, 256*len(events))
	for i := range events {
		ev := &events[i]
		p.Prepare(ev)
		var err error
		if buf, err = schemas.AppendJSON(buf, ev); err != nil {
			return fmt.Errorf("encode event %q: %w", ev.ID, err)
		}
		ends[i] = len(buf)
	}
	start := 0
	for i := range events {
		msgs[i] = kafka.Message{Key: []byte(events[i].PartitionKey()), Value: buf[start:ends[i]:ends[i]], Headers: headers}
		start = ends[i]
	}
	return p.w.WriteMessages(ctx, msgs...)
}

// Check validates an event a collector built, by the rules of schema v1's
// decoder (the one POST /v1/events applies), so that a collector never
// produces what the API would refuse. It returns the decoder's error, which
// names the field. maxFuture is ingest.max_future (0: no limit).
func Check(ev schemas.Event, maxFuture time.Duration, now time.Time) error {
	raw, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode event %q: %w", ev.ID, err)
	}
	if _, ferr := schemas.DecodeEvent(raw, maxFuture, now); ferr != nil {
		return ferr
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
