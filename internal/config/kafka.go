package config

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/vigie-fr/vigie/internal/tlsconf"
)

// KafkaTLSConfig is TLS to the brokers (kafka.tls).
type KafkaTLSConfig struct {
	Enabled bool `mapstructure:"enabled"`
	// CAFile is the only CA the brokers' certificates may be signed by;
	// empty trusts the system's roots (managed clusters).
	CAFile string `mapstructure:"ca_file"`
	// CertFile and KeyFile are Vigie's client certificate (mutual TLS).
	CertFile   string `mapstructure:"cert_file"`
	KeyFile    string `mapstructure:"key_file"`
	ServerName string `mapstructure:"server_name"`
	// InsecureSkipVerify accepts any broker certificate: test clusters only.
	InsecureSkipVerify bool `mapstructure:"insecure_skip_verify"`
}

// Files is the TLS material as internal/tlsconf reads it.
func (t KafkaTLSConfig) Files() tlsconf.Files {
	return tlsconf.Files{CAFile: t.CAFile, CertFile: t.CertFile, KeyFile: t.KeyFile,
		ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify}
}

// KafkaSASLConfig is SASL authentication to the brokers (kafka.sasl).
type KafkaSASLConfig struct {
	// Mechanism is empty (no SASL), PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
	Mechanism string `mapstructure:"mechanism"`
	Username  string `mapstructure:"username"`
	// Password, or PasswordFile holding it (a mounted secret): one of the two.
	Password     string `mapstructure:"password"`
	PasswordFile string `mapstructure:"password_file"`
}

// SASL mechanisms Vigie speaks, by their Kafka names.
const (
	SASLPlain       = "PLAIN"
	SASLScramSHA256 = "SCRAM-SHA-256"
	SASLScramSHA512 = "SCRAM-SHA-512"
)

// Secret returns the password, from PasswordFile when it is set (its
// trailing newline removed: files written by editors or echo end with one).
func (s KafkaSASLConfig) Secret() (string, error) {
	if s.PasswordFile == "" {
		return s.Password, nil
	}
	b, err := os.ReadFile(s.PasswordFile)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// validateSecurity checks kafka.tls and kafka.sasl: the files are read and
// parsed here, so a bad one fails at start naming its key.
func (k KafkaConfig) validateSecurity(bad func(key string, val any, rule string)) {
	t := k.TLS
	if k.Embedded() && (t.Enabled || k.SASL.Mechanism != "") {
		key := "kafka.tls.enabled"
		if !t.Enabled {
			key = "kafka.sasl.mechanism"
		}
		bad(key, "(set)", "is for a Kafka cluster (kafka.brokers): the embedded broker listens on loopback only, without TLS or SASL")
	}
	if t.Enabled {
		if _, err := t.Files().Client(); err != nil {
			var fe *tlsconf.FieldError
			if errors.As(err, &fe) {
				bad("kafka.tls."+fe.Field, quote(fileOf(t.Files(), fe.Field)), fe.Err.Error())
			} else {
				bad("kafka.tls.ca_file", "", err.Error())
			}
		}
		if t.InsecureSkipVerify && t.CAFile != "" {
			bad("kafka.tls.insecure_skip_verify", true, "and kafka.tls.ca_file are both set: choose one")
		}
	} else {
		for key, v := range map[string]string{"ca_file": t.CAFile, "cert_file": t.CertFile, "key_file": t.KeyFile, "server_name": t.ServerName} {
			if v != "" {
				bad("kafka.tls."+key, quote(v), "is set but kafka.tls.enabled is false: enable TLS, or remove it")
			}
		}
		if t.InsecureSkipVerify {
			bad("kafka.tls.insecure_skip_verify", true, "is set but kafka.tls.enabled is false")
		}
	}
	s := k.SASL
	switch s.Mechanism {
	case "":
		if s.Username != "" || s.Password != "" || s.PasswordFile != "" {
			bad("kafka.sasl.mechanism", `""`, "is empty but credentials are set: choose PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
		}
		return
	case SASLPlain:
		if !t.Enabled {
			// PLAIN sends the password as it is: never over a clear connection.
			bad("kafka.sasl.mechanism", quote(s.Mechanism), "sends the password in clear: enable kafka.tls, or use SCRAM-SHA-256 or SCRAM-SHA-512")
		}
	case SASLScramSHA256, SASLScramSHA512:
	default:
		bad("kafka.sasl.mechanism", quote(s.Mechanism), "is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (or empty: no SASL)")
		return
	}
	if s.Username == "" {
		bad("kafka.sasl.username", `""`, "is empty, give the SASL user")
	}
	switch {
	case s.Password != "" && s.PasswordFile != "":
		bad("kafka.sasl.password", Hidden, "and kafka.sasl.password_file are both set: choose one")
	case s.Password == "" && s.PasswordFile == "":
		bad("kafka.sasl.password", `""`, "is empty: give kafka.sasl.password_file (a mounted secret) or VIGIE_KAFKA_SASL_PASSWORD")
	case s.PasswordFile != "":
		if p, err := s.Secret(); err != nil {
			bad("kafka.sasl.password_file", quote(s.PasswordFile), "cannot be read: "+err.Error())
		} else if p == "" {
			bad("kafka.sasl.password_file", quote(s.PasswordFile), "is empty")
		}
	}
}

func fileOf(t tlsconf.Files, field string) string {
	switch field {
	case "ca_file":
		return t.CAFile
	case "cert_file":
		return t.CertFile
	case "key_file":
		return t.KeyFile
	}
	return ""
}

// String never shows the password, should a SASL configuration be printed.
func (s KafkaSASLConfig) String() string {
	return fmt.Sprintf("%s user %q", s.Mechanism, s.Username)
}

// TLSFiles is the ClickHouse connection's TLS material as internal/tlsconf
// reads it.
func (ch ClickHouseConfig) TLSFiles() tlsconf.Files {
	return tlsconf.Files{CAFile: ch.TLSCAFile, CertFile: ch.TLSCertFile, KeyFile: ch.TLSKeyFile,
		ServerName: ch.TLSServerName, InsecureSkipVerify: ch.TLSInsecure}
}

// validateTLS checks warehouse.clickhouse.tls*: its files are read and
// parsed here, so a bad one fails at start naming its key.
func (ch ClickHouseConfig) validateTLS(bad func(key string, val any, rule string)) {
	const p = "warehouse.clickhouse.tls_"
	if !ch.TLS {
		for key, v := range map[string]string{"ca_file": ch.TLSCAFile, "cert_file": ch.TLSCertFile, "key_file": ch.TLSKeyFile, "server_name": ch.TLSServerName} {
			if v != "" {
				bad(p+key, quote(v), "is set but warehouse.clickhouse.tls is false: enable TLS (port 9440), or remove it")
			}
		}
		if ch.TLSInsecure {
			bad(p+"insecure_skip_verify", true, "is set but warehouse.clickhouse.tls is false")
		}
		return
	}
	if ch.TLSInsecure && ch.TLSCAFile != "" {
		bad(p+"insecure_skip_verify", true, "and "+p+"ca_file are both set: choose one")
	}
	f := ch.TLSFiles()
	if _, err := f.Client(); err != nil {
		var fe *tlsconf.FieldError
		if errors.As(err, &fe) {
			bad(p+fe.Field, quote(fileOf(f, fe.Field)), fe.Err.Error())
		} else {
			bad(p+"ca_file", "", err.Error())
		}
	}
}
