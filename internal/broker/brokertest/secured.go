package brokertest

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/vigie-fr/vigie/internal/tlsconf/tlsconftest"
)

// User is a SASL user of a secured test cluster.
type User struct{ Mechanism, Name, Password string }

// StartSecured runs a one-broker Kafka-protocol cluster (kfake) that speaks
// TLS with pki's server certificate (requiring a client certificate of pki
// when mutual) and authenticates users with SASL, and returns its address.
// It is the cluster Vigie reaches as a client, not the embedded broker
// (which listens on loopback in clear). Closed when the test ends.
func StartSecured(t testing.TB, pki *tlsconftest.PKI, mutual bool, users ...User) []string {
	t.Helper()
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.TLS(pki.Server(t, mutual)), kfake.EnableSASL()}
	for _, u := range users {
		opts = append(opts, kfake.Superuser(u.Mechanism, u.Name, u.Password))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatalf("start a secured cluster: %v", err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}
