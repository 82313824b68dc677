package broker

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/segmentio/kafka-go"
)

// ErrorLogger is the ErrorLogger every kafka-go Writer, Reader and
// ConsumerGroup of Vigie gets, so that the client's own errors reach the
// component's log instead of vanishing: a produce attempt that failed and
// will be retried, a fetch from a broker that went away, a reader skipping
// to the first offset still in the log. Each becomes one Warn record
// "kafka client error" with the client's text under "err"; the caller adds
// what names the client (log.With("topic", …)). Warn, not Error: what
// kafka-go logs here is what it retries or recovers from; a failure it gives
// up on comes back to the caller as an error, which the caller reports.
//
// kafka-go's informational Logger is left unset: it logs every fetch and
// heartbeat.
func ErrorLogger(log *slog.Logger) kafka.Logger {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return kafka.LoggerFunc(func(format string, args ...any) {
		log.Warn("kafka client error", "err", strings.TrimSpace(fmt.Sprintf(format, args...)))
	})
}
