// Package brokertest starts the embedded broker for tests and reads topics
// back, so that tests of every stage run against the real broker over TCP.
// It is for tests only.
package brokertest

import (
	"context"
	"io"
	"log/slog"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/vigie-fr/vigie/internal/broker"
	"github.com/vigie-fr/vigie/internal/config"
)

// Start runs an embedded broker on a free port in a temporary data dir,
// creates the topics of cfg (use Config for test defaults) and closes the
// broker when the test ends.
func Start(t testing.TB, cfg config.KafkaConfig) *broker.Embedded {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := broker.StartEmbedded(ctx, t.TempDir(), 0, log)
	if err != nil {
		t.Fatalf("start embedded broker: %v", err)
	}
	t.Cleanup(b.Close)
	if err := broker.EnsureTopics(ctx, b.Access(), cfg, log); err != nil {
		t.Fatalf("ensure topics: %v", err)
	}
	return b
}

// Config is the Kafka configuration of tests: the default topics with
// partitions partitions.
func Config(partitions int) config.KafkaConfig {
	k := config.Default().Kafka
	k.Partitions = partitions
	return k
}

// Messages counts the messages currently in topic, over its partitions.
func Messages(t testing.TB, brokers []string, topic string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	parts, first, last := bounds(ctx, t, brokers, topic)
	var n int64
	for _, p := range parts {
		n += last[p] - first[p]
	}
	return n
}

// bounds returns topic's partitions, sorted, and each one's first and end
// offsets. It fails the test if the broker does not answer.
func bounds(ctx context.Context, t testing.TB, brokers []string, topic string) (parts []int, first, last map[int]int64) {
	t.Helper()
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil || len(md.Topics) != 1 || md.Topics[0].Error != nil {
		t.Fatalf("metadata of %s: %v %+v", topic, err, md)
	}
	for _, p := range md.Topics[0].Partitions {
		parts = append(parts, p.ID)
	}
	sort.Ints(parts)
	req := map[string][]kafka.OffsetRequest{}
	for _, p := range parts {
		req[topic] = append(req[topic], kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p))
	}
	offs, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: req})
	if err != nil {
		t.Fatalf("list offsets of %s: %v", topic, err)
	}
	first, last = map[int]int64{}, map[int]int64{}
	for _, po := range offs.Topics[topic] {
		if po.Error != nil {
			t.Fatalf("list offsets of %s/%d: %v", topic, po.Partition, po.Error)
		}
		first[po.Partition], last[po.Partition] = po.FirstOffset, po.LastOffset
	}
	return parts, first, last
}

// ReadAll returns every message currently in topic, partition by partition
// in offset order. It fails the test if the topic cannot be read in time.
func ReadAll(t testing.TB, brokers []string, topic string) []kafka.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	parts, first, last := bounds(ctx, t, brokers, topic)
	var out []kafka.Message
	for _, p := range parts {
		if last[p] <= first[p] {
			continue
		}
		r := kafka.NewReader(kafka.ReaderConfig{
			Brokers: brokers, Topic: topic, Partition: p,
			MaxWait: 100 * time.Millisecond, ReadLagInterval: -1,
			ErrorLogger: broker.ErrorLogger(slog.New(slog.NewTextHandler(testLog{t}, nil))),
		})
		if err := r.SetOffset(first[p]); err != nil {
			t.Fatalf("seek %s/%d: %v", topic, p, err)
		}
		for {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				r.Close()
				t.Fatalf("read %s/%d up to offset %d: %v", topic, p, last[p], err)
			}
			out = append(out, m)
			if m.Offset+1 >= last[p] {
				break
			}
		}
		r.Close()
	}
	return out
}

// testLog writes a client's log lines into the test's log, shown when the
// test fails. The readers that use it are closed before ReadAll returns.
type testLog struct{ t testing.TB }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
