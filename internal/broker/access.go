package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/tlsconf"
)

// Access is how Vigie reaches Kafka: the brokers' addresses and, on a
// secured cluster, TLS and a SASL mechanism (kafka-go's own). Every kafka-go
// client Vigie makes takes its Transport or Dialer from here — writers,
// readers, the consumer group, topic set-up, health checks — so that none
// connects in the clear by mistake. Build it with Plain or Secured; it is a
// small value, copied freely, sharing one connection pool.
type Access struct {
	brokers []string
	tls     *tls.Config
	sasl    sasl.Mechanism
	// saslDesc names the mechanism and user in errors, never the password.
	saslDesc string
	// transport is shared by every writer and client of a secured
	// Access; nil is kafka-go's default transport (plaintext).
	transport *kafka.Transport
}

// Plain is access to brokers without TLS or SASL: the embedded broker, a
// test cluster.
func Plain(brokers []string) Access { return Access{brokers: brokers} }

// Secured is access to brokers with k's TLS and SASL (kafka.tls,
// kafka.sasl), or Plain when neither is enabled. k is trusted to have
// passed config.Validate; the files it names are read now, and an error
// (a file gone since) names the key.
func Secured(brokers []string, k config.KafkaConfig) (Access, error) {
	a := Plain(brokers)
	if k.TLS.Enabled {
		c, err := k.TLS.Files().Client()
		if err != nil {
			return a, fmt.Errorf("kafka.tls: %w", err)
		}
		a.tls = c
	}
	if k.SASL.Mechanism != "" {
		password, err := k.SASL.Secret()
		if err != nil {
			return a, fmt.Errorf("kafka.sasl.password_file: %w", err)
		}
		switch k.SASL.Mechanism {
		case config.SASLPlain:
			a.sasl = plain.Mechanism{Username: k.SASL.Username, Password: password}
		case config.SASLScramSHA256, config.SASLScramSHA512:
			algo := scram.SHA256
			if k.SASL.Mechanism == config.SASLScramSHA512 {
				algo = scram.SHA512
			}
			if a.sasl, err = scram.Mechanism(algo, k.SASL.Username, password); err != nil {
				return a, fmt.Errorf("kafka.sasl: %s for user %q: %w", k.SASL.Mechanism, k.SASL.Username, err)
			}
		default:
			return a, fmt.Errorf("kafka.sasl.mechanism: %q is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512", k.SASL.Mechanism)
		}
		a.saslDesc = fmt.Sprintf("user %q (%s)", k.SASL.Username, k.SASL.Mechanism)
	}
	if a.tls != nil || a.sasl != nil {
		a.transport = a.newTransport()
	}
	return a, nil
}

// Brokers returns the brokers' host:port.
func (a Access) Brokers() []string { return a.brokers }

// Secure reports whether TLS or SASL is in use.
func (a Access) Secure() bool { return a.tls != nil || a.sasl != nil }

// Transport is for kafka.Writer and kafka.Client: nil (kafka-go's default)
// when plain, else the Access's shared transport.
func (a Access) Transport() kafka.RoundTripper {
	if a.transport == nil {
		return nil
	}
	return a.transport
}

// newTransport is a transport of its own, for a caller that closes its
// connections when done.
func (a Access) newTransport() *kafka.Transport {
	return &kafka.Transport{TLS: a.tls, SASL: a.sasl, DialTimeout: 10 * time.Second}
}

// Dialer is for kafka.Reader, kafka.ConsumerGroup and single connections:
// kafka-go's default dialer's settings, with TLS and SASL.
func (a Access) Dialer() *kafka.Dialer {
	return &kafka.Dialer{Timeout: 10 * time.Second, DualStack: true, TLS: a.tls, SASLMechanism: a.sasl}
}

// Client is an admin and metadata client with timeout per request.
func (a Access) Client(timeout time.Duration) *kafka.Client {
	return &kafka.Client{Addr: kafka.TCP(a.brokers...), Timeout: timeout, Transport: a.Transport()}
}

// Close closes the idle connections of the shared transport (at shutdown,
// after the writers and readers closed).
func (a Access) Close() {
	if a.transport != nil {
		a.transport.CloseIdleConnections()
	}
}

// Check connects to the brokers as every client will (TCP, TLS handshake,
// SASL authentication) and asks for metadata, so that a wrong password or
// an untrusted certificate stops Vigie at start with the key to fix rather
// than as retries in the log. It succeeds when one broker answers.
func (a Access) Check(ctx context.Context) error {
	if len(a.brokers) == 0 {
		return errors.New("kafka.brokers: none to connect to")
	}
	d := a.Dialer()
	var errs []error
	for _, b := range a.brokers {
		conn, err := d.DialContext(ctx, "tcp", b)
		if err == nil {
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			_, err = conn.Brokers()
			conn.Close()
		}
		if err == nil {
			return nil
		}
		if key := a.explain(err); key != nil {
			// A security problem is the same on every broker: say it once.
			return fmt.Errorf("%w (broker %s)", key, b)
		}
		errs = append(errs, fmt.Errorf("broker %s: %w", b, err))
	}
	return fmt.Errorf("kafka.brokers: none of %v answered: %w", a.brokers, errors.Join(errs...))
}

// explain turns a TLS or SASL failure into an error naming the key to fix,
// nil for anything else (an unreachable broker).
func (a Access) explain(err error) error {
	switch {
	case errors.Is(err, kafka.SASLAuthenticationFailed):
		return fmt.Errorf("kafka.sasl.password: the brokers refused %s: wrong password or user (check kafka.sasl.username too): %w", a.saslDesc, err)
	case errors.Is(err, kafka.UnsupportedSASLMechanism):
		return fmt.Errorf("kafka.sasl.mechanism: the brokers do not offer %s: %w", a.saslDesc, err)
	case errors.Is(err, kafka.IllegalSASLState) && a.sasl == nil:
		return fmt.Errorf("kafka.sasl.mechanism: the brokers require SASL authentication: %w", err)
	}
	if a.tls == nil {
		return nil
	}
	if field, why, ok := tlsconf.Diagnose(err); ok {
		return fmt.Errorf("kafka.tls.%s: %s: %w", field, strings.Replace(why, "server", "broker", 1), err)
	}
	return nil
}

// Connect is Secured followed by Check: what a process does at start, so
// that a wrong password or an untrusted certificate stops it there, naming
// the key. A plain Access is not checked here (the embedded broker is up;
// an unreachable cluster shows in topic set-up and /readyz).
func Connect(ctx context.Context, brokers []string, k config.KafkaConfig) (Access, error) {
	a, err := Secured(brokers, k)
	if err != nil || !a.Secure() {
		return a, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := a.Check(ctx); err != nil {
		a.Close()
		return Access{}, err
	}
	return a, nil
}
