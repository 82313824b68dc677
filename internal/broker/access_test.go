package broker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/vigie-fr/vigie/internal/broker"
	"github.com/vigie-fr/vigie/internal/broker/brokertest"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/tlsconf/tlsconftest"
)

// Over TLS and each SASL mechanism, Vigie's clients set topics up, produce
// and read back; a wrong password, an untrusted or misnamed broker
// certificate, a missing client certificate or a plaintext client stop at
// Connect with the key to fix.
func TestSecuredClusterAndItsRefusals(t *testing.T) {
	pki := tlsconftest.New(t, "vigie test CA")
	other := tlsconftest.New(t, "another CA")
	users := []brokertest.User{
		{Mechanism: config.SASLPlain, Name: "plain-user", Password: "plain-password"},
		{Mechanism: config.SASLScramSHA256, Name: "scram256-user", Password: "scram256-password"},
		{Mechanism: config.SASLScramSHA512, Name: "vigie", Password: "right-password"},
	}
	addrs := brokertest.StartSecured(t, pki, false, users...)
	mtls := brokertest.StartSecured(t, pki, true, users[2])
	secured := func(brokers []string, f func(*config.KafkaConfig)) config.KafkaConfig {
		k := brokertest.Config(1) // one partition: NewestHeaders does not say which partition a header list is of
		k.Brokers = brokers
		k.TLS = config.KafkaTLSConfig{Enabled: true, CAFile: pki.CAFile}
		k.SASL = config.KafkaSASLConfig{Mechanism: config.SASLScramSHA512, Username: "vigie", Password: "right-password"}
		if f != nil {
			f(&k)
		}
		return k
	}
	for _, u := range users {
		t.Run("produce and read with "+u.Mechanism, func(t *testing.T) {
			k := secured(addrs, func(k *config.KafkaConfig) {
				k.SASL = config.KafkaSASLConfig{Mechanism: u.Mechanism, Username: u.Name, Password: u.Password}
				k.Topic = "events-" + strings.ToLower(u.Mechanism)
				k.DLQTopic = k.Topic + ".dlq"
			})
			roundTrip(t, k)
		})
	}
	t.Run("mutual TLS with the client certificate", func(t *testing.T) {
		roundTrip(t, secured(mtls, func(k *config.KafkaConfig) { k.TLS.CertFile, k.TLS.KeyFile = pki.ClientCert, pki.ClientKey }))
	})
	for _, c := range []struct {
		name    string
		brokers []string
		change  func(*config.KafkaConfig)
		says    string
	}{
		{"wrong password", addrs, func(k *config.KafkaConfig) { k.SASL.Password = "wrong-password" },
			`kafka.sasl.password: the brokers refused user "vigie" (SCRAM-SHA-512)`},
		{"unknown user", addrs, func(k *config.KafkaConfig) { k.SASL.Username = "nobody" },
			`kafka.sasl.password: the brokers refused user "nobody" (SCRAM-SHA-512)`},
		{"password of another mechanism", addrs, func(k *config.KafkaConfig) { k.SASL.Mechanism = config.SASLScramSHA256 },
			`kafka.sasl.password: the brokers refused user "vigie" (SCRAM-SHA-256)`},
		{"untrusted broker certificate", addrs, func(k *config.KafkaConfig) { k.TLS.CAFile = other.CAFile },
			"kafka.tls.ca_file: the broker's certificate is not signed by a CA Vigie trusts"},
		{"system roots only", addrs, func(k *config.KafkaConfig) { k.TLS.CAFile = "" },
			"kafka.tls.ca_file: the broker's certificate is not signed by a CA Vigie trusts"},
		{"wrong server name", addrs, func(k *config.KafkaConfig) { k.TLS.ServerName = "kafka.elsewhere.example" },
			"kafka.tls.server_name: the broker's certificate is not for the name Vigie expects"},
		{"no client certificate", mtls, nil,
			"kafka.tls.cert_file: the broker refused the TLS handshake"},
	} {
		t.Run(c.name, func(t *testing.T) {
			k := secured(c.brokers, c.change)
			a, err := broker.Connect(ctxT(t), k.Brokers, k)
			if err == nil {
				a.Close()
				t.Fatal("Connect succeeded")
			}
			if !strings.HasPrefix(err.Error(), c.says) || !strings.Contains(err.Error(), "(broker "+c.brokers[0]+")") {
				t.Fatalf("Connect: %v\nwant it to start with %q and name the broker", err, c.says)
			}
			if strings.Contains(err.Error(), "right-password") || strings.Contains(err.Error(), "wrong-password") {
				t.Fatalf("the error shows a password: %v", err)
			}
		})
	}
	t.Run("plaintext client", func(t *testing.T) {
		// Without TLS the broker never answers the client's first request:
		// Connect gives up within its bound, saying no broker answered.
		k := secured(addrs, func(k *config.KafkaConfig) { k.TLS = config.KafkaTLSConfig{} })
		ctx, cancel := context.WithTimeout(ctxT(t), 3*time.Second)
		defer cancel()
		_, err := broker.Connect(ctx, k.Brokers, k)
		if err == nil || !strings.HasPrefix(err.Error(), "kafka.brokers: none of ["+addrs[0]+"] answered") {
			t.Fatalf("Connect in clear to a TLS listener: %v", err)
		}
	})
}

// roundTrip connects with k, creates its topics, produces three messages
// with broker.NewWriter, reads the newest headers and one record back.
func roundTrip(t *testing.T, k config.KafkaConfig) {
	t.Helper()
	ctx := ctxT(t)
	a, err := broker.Connect(ctx, k.Brokers, k)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if !a.Secure() {
		t.Fatal("Access is not secured")
	}
	if err := broker.EnsureTopics(ctx, a, k, quiet()); err != nil {
		t.Fatal(err)
	}
	w := broker.NewWriter(a, k.Topic, k)
	msgs := []kafka.Message{
		{Key: []byte("11/ent"), Value: []byte("one"), Headers: []kafka.Header{{Key: "h", Value: []byte("1")}}},
		{Key: []byte("11/ent"), Value: []byte("two"), Headers: []kafka.Header{{Key: "h", Value: []byte("2")}}},
		{Key: []byte("11/ent"), Value: []byte("three"), Headers: []kafka.Header{{Key: "h", Value: []byte("3")}}},
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		w.Close()
		t.Fatalf("produce: %v", err)
	}
	w.Close()
	heads, err := broker.NewestHeaders(ctx, a, k.Topic)
	if err != nil {
		t.Fatal(err)
	}
	if len(heads) != 1 || len(heads[0]) != 1 || string(heads[0][0].Value) != "3" {
		t.Fatalf("newest headers %v, want the third message's h=3", heads)
	}
	m, err := broker.ReadAt(ctx, a, k.Topic, 0, 1, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Value) != "two" {
		t.Fatalf("offset 1 holds %q, want \"two\"", m.Value)
	}
}
