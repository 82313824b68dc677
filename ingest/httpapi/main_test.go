package httpapi_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Handlers and brokers of a test must leave no goroutine behind. Writers
// share kafka-go's process-wide DefaultTransport, whose pooled connections
// outlive a test by design; they are not ours to stop.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/segmentio/kafka-go.(*connPool).discover"),
		goleak.IgnoreTopFunction("github.com/segmentio/kafka-go.(*conn).run"),
	)
}
