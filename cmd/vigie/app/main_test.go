package app

import (
	"testing"

	"go.uber.org/goleak"
)

// After Shutdown nothing of the app may still run (kafka-go's shared
// connection pool stays, by design).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/segmentio/kafka-go.(*connPool).discover"),
		goleak.IgnoreTopFunction("github.com/segmentio/kafka-go.(*conn).run"),
	)
}
