// Package broker is Vigie's side of Kafka: the embedded single-machine broker
// (kfake, persisted in the data dir, reached over loopback TCP like any
// cluster), topic set-up, and the one way Vigie configures a kafka-go Writer.
// It is not a Kafka abstraction: callers use kafka-go directly, against the
// embedded broker or a real cluster alike.
package broker

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"

	"github.com/twmb/franz-go/pkg/kfake"
)

// RetentionCheckInterval is how often the embedded broker deletes data past
// a topic's retention.ms. kfake's default is an hour; a minute keeps a
// long-running serve close to its configured retention at negligible cost.
const RetentionCheckInterval = 60_000 // ms, log.cleaner.backoff.ms

// Embedded is an in-process Kafka-protocol broker keeping its log under
// <dataDir>/kafka. It has one broker and no replication: it is for one
// machine, a Kafka cluster is what carries a national deployment.
type Embedded struct {
	cluster *kfake.Cluster
	unlock  func()
	log     *slog.Logger
}

// StartEmbedded starts the broker on 127.0.0.1:port (0 picks a free port),
// reloading whatever an earlier run left in <dataDir>/kafka. The directory
// is locked so that a second process cannot open the same log. Topics are
// not auto-created: call EnsureTopics. port is kafka.embedded_port, checked
// by config.Validate.
func StartEmbedded(ctx context.Context, dataDir string, port int, log *slog.Logger) (*Embedded, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dir := filepath.Join(dataDir, "kafka")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("embedded broker: create %s: %w", dir, err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, fmt.Errorf("embedded broker: %s: %w", dir, err)
	}
	c, err := kfake.NewCluster(
		kfake.Ports(port), // one broker
		kfake.DataDir(dir),
		kfake.WithLogger(kfakeLogger{log}),
		kfake.BrokerConfigs(map[string]string{
			"log.cleaner.backoff.ms": strconv.Itoa(RetentionCheckInterval),
		}),
	)
	if err != nil {
		unlock()
		return nil, fmt.Errorf("embedded broker on 127.0.0.1:%d with data in %s: %w", port, dir, err)
	}
	e := &Embedded{cluster: c, unlock: unlock, log: log}
	log.Info("embedded kafka broker started", "addr", e.Addrs()[0], "dir", dir)
	return e, nil
}

// Addrs returns the broker's host:port, to use as the brokers list.
func (e *Embedded) Addrs() []string { return e.cluster.ListenAddrs() }

// Access is how clients reach the embedded broker: loopback, plaintext.
func (e *Embedded) Access() Access { return Plain(e.Addrs()) }

// Close stops the broker, saves its state and releases the data dir. It is
// safe to call more than once.
func (e *Embedded) Close() {
	e.cluster.Close()
	if e.unlock != nil {
		e.unlock()
		e.unlock = nil
		e.log.Info("embedded kafka broker stopped")
	}
}

// ApplyRetention deletes what is past retention now, without waiting for
// the next periodic check. Tests and maintenance commands use it.
func (e *Embedded) ApplyRetention() { e.cluster.ApplyRetention() }

// kfakeLogger forwards kfake's messages to slog. kfake logs every request at
// info level, which is debug material for Vigie.
type kfakeLogger struct{ log *slog.Logger }

func (l kfakeLogger) Logf(level kfake.LogLevel, format string, args ...any) {
	var lv slog.Level
	switch level {
	case kfake.LogLevelError:
		lv = slog.LevelError
	case kfake.LogLevelWarn:
		lv = slog.LevelWarn
	case kfake.LogLevelNone:
		return
	default:
		lv = slog.LevelDebug
	}
	if !l.log.Enabled(context.Background(), lv) {
		return
	}
	l.log.Log(context.Background(), lv, fmt.Sprintf(format, args...), "component", "kfake")
}
