package broker_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/vigie-fr/vigie/internal/broker"
	"github.com/vigie-fr/vigie/internal/broker/brokertest"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// produce writes n messages with keys cycling over keys and values "v<i>".
func produce(t *testing.T, brokers []string, topic string, n int, keys []string) {
	t.Helper()
	w := broker.NewWriter(broker.Plain(brokers), topic, brokertest.Config(4))
	defer w.Close()
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		msgs[i] = kafka.Message{Key: []byte(keys[i%len(keys)]), Value: []byte(fmt.Sprintf("v%d", i))}
	}
	if err := w.WriteMessages(ctxT(t), msgs...); err != nil {
		t.Fatalf("produce %d messages: %v", n, err)
	}
}

func values(msgs []kafka.Message) map[string]bool {
	out := map[string]bool{}
	for _, m := range msgs {
		out[string(m.Value)] = true
	}
	return out
}

func partitions(t *testing.T, brokers []string, topic string) int {
	t.Helper()
	client := &kafka.Client{Addr: kafka.TCP(brokers...)}
	md, err := client.Metadata(ctxT(t), &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil || len(md.Topics) != 1 || md.Topics[0].Error != nil {
		t.Fatalf("metadata of %s: %v", topic, err)
	}
	return len(md.Topics[0].Partitions)
}

func retentionMS(t *testing.T, brokers []string, topic string) string {
	t.Helper()
	client := &kafka.Client{Addr: kafka.TCP(brokers...)}
	res, err := client.DescribeConfigs(ctxT(t), &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{{
		ResourceType: kafka.ResourceTypeTopic, ResourceName: topic, ConfigNames: []string{"retention.ms"},
	}}})
	if err != nil {
		t.Fatalf("describe %s: %v", topic, err)
	}
	for _, r := range res.Resources {
		for _, e := range r.ConfigEntries {
			if e.ConfigName == "retention.ms" {
				return e.ConfigValue
			}
		}
	}
	return ""
}

func TestTopicsAreCreatedWithConfiguredPartitionsAndRetention(t *testing.T) {
	cfg := brokertest.Config(6)
	cfg.Retention = 48 * time.Hour
	b := brokertest.Start(t, cfg)
	for _, topic := range []string{cfg.Topic, cfg.DLQTopic} {
		if got := partitions(t, b.Addrs(), topic); got != 6 {
			t.Errorf("%s has %d partitions, want 6", topic, got)
		}
		if got := retentionMS(t, b.Addrs(), topic); got != "172800000" {
			t.Errorf("%s retention.ms = %q, want 172800000", topic, got)
		}
	}
}

func TestEnsureTopicsKeepsExistingTopics(t *testing.T) {
	cfg := brokertest.Config(4)
	b := brokertest.Start(t, cfg)
	produce(t, b.Addrs(), cfg.Topic, 10, []string{"11/a"})

	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	changed := cfg
	changed.Partitions = 8
	changed.Retention = 24 * time.Hour
	if err := broker.EnsureTopics(ctxT(t), b.Access(), changed, log); err != nil {
		t.Fatalf("ensure topics again: %v", err)
	}
	if got := partitions(t, b.Addrs(), cfg.Topic); got != 4 {
		t.Errorf("partitions after re-run = %d, want 4 kept", got)
	}
	if got := len(brokertest.ReadAll(t, b.Addrs(), cfg.Topic)); got != 10 {
		t.Errorf("messages after re-run = %d, want 10 (never delete)", got)
	}
	if !strings.Contains(logs.String(), "different partition count") || !strings.Contains(logs.String(), "configured=8") {
		t.Errorf("no partition warning in logs:\n%s", logs.String())
	}
	if got := retentionMS(t, b.Addrs(), cfg.Topic); got != "86400000" {
		t.Errorf("retention.ms after re-run = %q, want the new 86400000", got)
	}
}

func TestProducedMessagesAreReadBackAndKeysStayOnOnePartition(t *testing.T) {
	cfg := brokertest.Config(4)
	b := brokertest.Start(t, cfg)
	keys := []string{"11/monlycee.net", "84/ent.auvergnerhonealpes.fr", "32/enthdf.fr", "44/monbureaunumerique.fr", "75/lyceeconnecte.fr"}
	produce(t, b.Addrs(), cfg.Topic, 500, keys)

	msgs := brokertest.ReadAll(t, b.Addrs(), cfg.Topic)
	if len(msgs) != 500 {
		t.Fatalf("read %d messages, want 500", len(msgs))
	}
	if v := values(msgs); len(v) != 500 {
		t.Errorf("%d distinct values, want 500", len(v))
	}
	partOf := map[string]int{}
	for _, m := range msgs {
		if p, ok := partOf[string(m.Key)]; ok && p != m.Partition {
			t.Fatalf("key %s on partitions %d and %d", m.Key, p, m.Partition)
		}
		partOf[string(m.Key)] = m.Partition
	}
	// murmur2 like the Java client: toPositive(murmur2(key)) % 4.
	for _, k := range keys {
		if want := murmur2Partition([]byte(k), 4); partOf[k] != want {
			t.Errorf("key %s on partition %d, murmur2 says %d", k, partOf[k], want)
		}
	}
}

// murmur2Partition is the Java client's default partitioner, written out
// independently of kafka-go to check the writer uses it.
func murmur2Partition(data []byte, n int) int {
	const seed, m, r = uint32(0x9747b28c), uint32(0x5bd1e995), 24
	length := len(data)
	h := seed ^ uint32(length)
	for i := 0; i+4 <= length; i += 4 {
		k := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	rest := length % 4
	tail := length - rest
	switch rest {
	case 3:
		h ^= uint32(data[tail+2]) << 16
		fallthrough
	case 2:
		h ^= uint32(data[tail+1]) << 8
		fallthrough
	case 1:
		h ^= uint32(data[tail])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return int(h&0x7fffffff) % n
}

func TestMessagesSurviveABrokerRestartOnTheSameDataDir(t *testing.T) {
	cfg := brokertest.Config(3)
	dir := t.TempDir()
	b, err := broker.StartEmbedded(ctxT(t), dir, 0, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if err := broker.EnsureTopics(ctxT(t), b.Access(), cfg, quiet()); err != nil {
		t.Fatal(err)
	}
	produce(t, b.Addrs(), cfg.Topic, 300, []string{"11/a", "28/b", "53/c"})
	b.Close()

	b2, err := broker.StartEmbedded(ctxT(t), dir, 0, quiet())
	if err != nil {
		t.Fatalf("restart on %s: %v", dir, err)
	}
	defer b2.Close()
	msgs := brokertest.ReadAll(t, b2.Addrs(), cfg.Topic)
	if len(msgs) != 300 || len(values(msgs)) != 300 {
		t.Fatalf("after restart read %d messages (%d distinct), want 300", len(msgs), len(values(msgs)))
	}
	if got := partitions(t, b2.Addrs(), cfg.Topic); got != 3 {
		t.Errorf("after restart %d partitions, want 3", got)
	}
	if got := retentionMS(t, b2.Addrs(), cfg.DLQTopic); got != "604800000" {
		t.Errorf("after restart the DLQ's retention.ms = %q, want 604800000 (7 days)", got)
	}
	// Produce after the restart continues the offsets.
	produce(t, b2.Addrs(), cfg.Topic, 30, []string{"11/a"})
	if got := len(brokertest.ReadAll(t, b2.Addrs(), cfg.Topic)); got != 330 {
		t.Errorf("after restart and produce: %d messages, want 330", got)
	}
}

func TestASecondBrokerOnTheSameDataDirIsRefused(t *testing.T) {
	dir := t.TempDir()
	b, err := broker.StartEmbedded(ctxT(t), dir, 0, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b2, err := broker.StartEmbedded(ctxT(t), dir, 0, quiet()); err == nil {
		b2.Close()
		t.Fatal("second broker on the same data dir started, want an error")
	} else if !strings.Contains(err.Error(), "in use by another process") {
		t.Errorf("error = %v, want it to say the dir is in use", err)
	}
}

func TestRetentionDeletesOldMessages(t *testing.T) {
	cfg := brokertest.Config(1)
	cfg.Retention = time.Millisecond
	b := brokertest.Start(t, cfg)
	produce(t, b.Addrs(), cfg.Topic, 20, []string{"11/a"})
	time.Sleep(20 * time.Millisecond)
	b.ApplyRetention()
	if got := len(brokertest.ReadAll(t, b.Addrs(), cfg.Topic)); got != 0 {
		t.Errorf("%d messages left after retention of 1ms, want 0", got)
	}
}

func TestNewWriterIsConfiguredForDurability(t *testing.T) {
	cfg := brokertest.Config(4)
	w := broker.NewWriter(broker.Plain([]string{"127.0.0.1:1"}), "t", cfg)
	if w.RequiredAcks != kafka.RequireAll {
		t.Errorf("RequiredAcks = %v, want RequireAll", w.RequiredAcks)
	}
	if _, ok := w.Balancer.(kafka.Murmur2Balancer); !ok {
		t.Errorf("Balancer = %T, want kafka.Murmur2Balancer", w.Balancer)
	}
	if w.BatchTimeout != cfg.BatchTimeout || w.AllowAutoTopicCreation || w.WriteTimeout <= 0 {
		t.Errorf("BatchTimeout %v AllowAutoTopicCreation %v WriteTimeout %v", w.BatchTimeout, w.AllowAutoTopicCreation, w.WriteTimeout)
	}
}

func TestErrorLoggerWritesKafkaErrorsAsWarnings(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil)).With("topic", "t")
	broker.ErrorLogger(log).Printf("error writing messages to %s (partition %d, attempt %d): %s\n", "t", 3, 1, "broken pipe")
	want := `level=WARN msg="kafka client error" topic=t err="error writing messages to t (partition 3, attempt 1): broken pipe"`
	if got := strings.TrimSpace(buf.String()); !strings.HasSuffix(got, want) {
		t.Errorf("logged %q, want it to end with %q", got, want)
	}
}

func TestReaderErrorsReachTheLog(t *testing.T) {
	// Nothing listens on port 1: kafka-go retries the connection and, with
	// the ErrorLogger, says so each time.
	var buf syncBuffer
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: []string{"127.0.0.1:1"}, Topic: "t", Partition: 0, MaxAttempts: 2,
		ErrorLogger: broker.ErrorLogger(slog.New(slog.NewTextHandler(&buf, nil))),
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := r.FetchMessage(ctx); err == nil {
		t.Fatal("fetch from a closed port succeeded")
	}
	r.Close()
	if !strings.Contains(buf.String(), `msg="kafka client error"`) {
		t.Errorf("the failed fetch left no warning; log:\n%s", buf.String())
	}
}

// syncBuffer is a bytes.Buffer for a logger that a client's goroutines write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
