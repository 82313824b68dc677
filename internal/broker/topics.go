package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/vigie-fr/vigie/internal/config"
)

// adminTimeout bounds each metadata or admin request of EnsureTopics.
const adminTimeout = 10 * time.Second

// EnsureTopics creates cfg.Topic and cfg.DLQTopic when they are missing, with
// cfg.Partitions partitions, the brokers' default replication factor and
// retention.ms = cfg.Retention. Existing topics are never deleted or
// re-partitioned: a different partition count is only logged (changing it
// remaps keys, an operator's decision). A retention.ms different from the
// configuration is updated, so that a changed kafka.retention takes effect.
// It works the same on the embedded broker and on a real cluster. cfg is
// trusted to have passed config.Validate.
func EnsureTopics(ctx context.Context, access Access, cfg config.KafkaConfig, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	brokers := access.Brokers()
	if len(brokers) == 0 {
		return errors.New("ensure topics: no brokers given")
	}
	// An own transport, closed on return: set-up leaves no idle connections behind.
	transport := access.newTransport()
	defer transport.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: adminTimeout, Transport: transport}
	retention := strconv.FormatInt(cfg.Retention.Milliseconds(), 10)
	for _, topic := range []string{cfg.Topic, cfg.DLQTopic} {
		if err := ensureTopic(ctx, client, topic, cfg.Partitions, retention, log); err != nil {
			return fmt.Errorf("ensure topic %s on %v: %w", topic, brokers, err)
		}
	}
	return nil
}

func ensureTopic(ctx context.Context, client *kafka.Client, topic string, partitions int, retentionMS string, log *slog.Logger) error {
	have, err := partitionCount(ctx, client, topic)
	if err != nil {
		return err
	}
	if have == 0 {
		res, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
			Topic:             topic,
			NumPartitions:     partitions,
			ReplicationFactor: -1, // the cluster's default.replication.factor (KIP-464)
			ConfigEntries:     []kafka.ConfigEntry{{ConfigName: "retention.ms", ConfigValue: retentionMS}},
		}}})
		if err != nil {
			return fmt.Errorf("create: %w", err)
		}
		// Another process may have created it meanwhile: then check it like an existing one.
		if err := res.Errors[topic]; err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
			return fmt.Errorf("create with %d partitions: %w", partitions, err)
		}
		if res.Errors[topic] == nil {
			log.Info("kafka topic created", "topic", topic, "partitions", partitions, "retention_ms", retentionMS)
			return nil
		}
		if have, err = partitionCount(ctx, client, topic); err != nil {
			return err
		}
	}
	if have != partitions {
		log.Warn("kafka topic has a different partition count than configured; keeping it (changing it remaps keys)",
			"topic", topic, "partitions", have, "configured", partitions)
	}
	return ensureRetention(ctx, client, topic, retentionMS, log)
}

// partitionCount returns 0 when the topic does not exist. The metadata
// request names the topic without asking for auto-creation.
func partitionCount(ctx context.Context, client *kafka.Client, topic string) (int, error) {
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return 0, fmt.Errorf("metadata: %w", err)
	}
	for _, t := range md.Topics {
		if t.Name != topic {
			continue
		}
		if errors.Is(t.Error, kafka.UnknownTopicOrPartition) {
			return 0, nil
		}
		if t.Error != nil {
			return 0, fmt.Errorf("metadata: %w", t.Error)
		}
		return len(t.Partitions), nil
	}
	return 0, nil
}

func ensureRetention(ctx context.Context, client *kafka.Client, topic, retentionMS string, log *slog.Logger) error {
	res, err := client.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{{
		ResourceType: kafka.ResourceTypeTopic, ResourceName: topic, ConfigNames: []string{"retention.ms"},
	}}})
	if err != nil {
		return fmt.Errorf("describe configs: %w", err)
	}
	current := ""
	for _, r := range res.Resources {
		if r.Error != nil {
			return fmt.Errorf("describe configs: %w", r.Error)
		}
		for _, e := range r.ConfigEntries {
			if e.ConfigName == "retention.ms" {
				current = e.ConfigValue
			}
		}
	}
	if current == retentionMS {
		return nil
	}
	alt, err := client.IncrementalAlterConfigs(ctx, &kafka.IncrementalAlterConfigsRequest{Resources: []kafka.IncrementalAlterConfigsRequestResource{{
		ResourceType: kafka.ResourceTypeTopic, ResourceName: topic,
		Configs: []kafka.IncrementalAlterConfigsRequestConfig{{
			Name: "retention.ms", Value: retentionMS, ConfigOperation: kafka.ConfigOperationSet,
		}},
	}}})
	if err != nil {
		return fmt.Errorf("set retention.ms=%s: %w", retentionMS, err)
	}
	for _, r := range alt.Resources {
		if r.Error != nil {
			return fmt.Errorf("set retention.ms=%s: %w", retentionMS, r.Error)
		}
	}
	log.Info("kafka topic retention updated", "topic", topic, "retention_ms", retentionMS, "was", current)
	return nil
}

// Writer batching: a synchronous WriteMessages returns when every partition's
// batch is full or BatchTimeout passed, so the timeout (a few ms) is what an
// ingest request pays; BatchSize only caps how much one Produce carries.
const (
	writerBatchSize  = 1000
	writerBatchBytes = 1 << 20 // under the brokers' default message.max.bytes (1048588)
	writerTimeout    = 10 * time.Second
)

// NewWriter returns the producer Vigie uses for topic: acknowledged by all
// in-sync replicas, keys hashed with murmur2 like the Java client (so a
// region/service key lands on the same partition whoever produces it), a
// BatchTimeout of cfg.BatchTimeout, lz4 compression, and no topic
// auto-creation (a mistyped topic is an error, not a new topic), over
// access's TLS and SASL. Share one Writer across goroutines and Close it on
// shutdown. Set its ErrorLogger with ErrorLogger(log) so that retried produce
// errors reach the log.
func NewWriter(access Access, topic string, cfg config.KafkaConfig) *kafka.Writer {
	return &kafka.Writer{
		Addr:                   kafka.TCP(access.Brokers()...),
		Transport:              access.Transport(),
		Topic:                  topic,
		Balancer:               kafka.Murmur2Balancer{},
		RequiredAcks:           kafka.RequireAll,
		BatchTimeout:           cfg.BatchTimeout,
		BatchSize:              writerBatchSize,
		BatchBytes:             writerBatchBytes,
		MaxAttempts:            10,
		ReadTimeout:            writerTimeout,
		WriteTimeout:           writerTimeout,
		Compression:            kafka.Lz4,
		AllowAutoTopicCreation: false,
	}
}

// NewestHeaders returns the headers of the newest message of each
// partition of topic (nil for an empty partition): what collectors check
// their pseudonymisation key against before they produce.
func NewestHeaders(ctx context.Context, access Access, topic string) ([][]kafka.Header, error) {
	c := access.Client(10 * time.Second)
	md, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, fmt.Errorf("metadata of %s: %w", topic, err)
	}
	req := map[string][]kafka.OffsetRequest{}
	for _, t := range md.Topics {
		if t.Error != nil {
			return nil, fmt.Errorf("metadata of %s: %w", topic, t.Error)
		}
		for _, p := range t.Partitions {
			req[topic] = append(req[topic], kafka.FirstOffsetOf(p.ID), kafka.LastOffsetOf(p.ID))
		}
	}
	offs, err := c.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: req})
	if err != nil {
		return nil, fmt.Errorf("list offsets of %s: %w", topic, err)
	}
	var out [][]kafka.Header
	for _, po := range offs.Topics[topic] {
		if po.Error != nil {
			return nil, fmt.Errorf("list offsets of %s/%d: %w", topic, po.Partition, po.Error)
		}
		if po.LastOffset <= po.FirstOffset {
			out = append(out, nil)
			continue
		}
		m, err := ReadAt(ctx, access, topic, po.Partition, po.LastOffset-1, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, m.Headers)
	}
	return out, nil
}

// ReadAt reads the record at offset off of topic's partition p (within 10
// s); errLog receives kafka-go's own errors (nil discards them).
func ReadAt(ctx context.Context, access Access, topic string, p int, off int64, errLog *slog.Logger) (kafka.Message, error) {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: access.Brokers(), Topic: topic, Partition: p, Dialer: access.Dialer(),
		MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 100 * time.Millisecond, ReadLagInterval: -1,
		ErrorLogger: ErrorLogger(errLog),
	})
	defer r.Close()
	if err := r.SetOffset(off); err != nil {
		return kafka.Message{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	m, err := r.FetchMessage(ctx)
	if err != nil {
		return m, fmt.Errorf("read %s/%d at offset %d: %w", topic, p, off, err)
	}
	return m, nil
}
