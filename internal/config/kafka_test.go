package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigie-fr/vigie/internal/tlsconf/tlsconftest"
)

// Every rule of kafka.tls, kafka.sasl and warehouse.clickhouse.tls_*: one
// problem each, naming its key; the files are read at validation.
func TestSecurityRulesNameTheirKey(t *testing.T) {
	p := tlsconftest.New(t, "vigie test CA")
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pem")
	empty := filepath.Join(dir, "empty")
	pass := filepath.Join(dir, "password")
	for f, b := range map[string]string{junk: "junk\n", empty: "\n", pass: "s3cret\n"} {
		if err := os.WriteFile(f, []byte(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	missing := filepath.Join(dir, "missing.pem")
	cluster := func(f func(*Config)) func(*Config) {
		return func(c *Config) { c.Kafka.Brokers = []string{"kafka-1:9093"}; f(c) }
	}
	server := func(f func(*ClickHouseConfig)) func(*Config) {
		return func(c *Config) { c.Warehouse.Driver = "clickhouse"; f(&c.Warehouse.ClickHouse) }
	}
	scram := func(c *Config) {
		c.Kafka.SASL = KafkaSASLConfig{Mechanism: SASLScramSHA256, Username: "vigie", Password: "s3cret"}
	}
	for _, tt := range []struct {
		name   string
		change func(*Config)
		key    string // "" when valid
		says   string
	}{
		{"TLS with a CA and a client certificate", cluster(func(c *Config) {
			c.Kafka.TLS = KafkaTLSConfig{Enabled: true, CAFile: p.CAFile, CertFile: p.ClientCert, KeyFile: p.ClientKey, ServerName: "kafka"}
		}), "", ""},
		{"SCRAM without TLS", cluster(scram), "", ""},
		{"PLAIN over TLS, password from a file", cluster(func(c *Config) {
			c.Kafka.TLS.Enabled = true
			c.Kafka.SASL = KafkaSASLConfig{Mechanism: SASLPlain, Username: "vigie", PasswordFile: pass}
		}), "", ""},
		{"an unreadable CA", cluster(func(c *Config) { c.Kafka.TLS = KafkaTLSConfig{Enabled: true, CAFile: missing} }),
			"kafka.tls.ca_file", "no such file"},
		{"a CA file without certificate", cluster(func(c *Config) { c.Kafka.TLS = KafkaTLSConfig{Enabled: true, CAFile: junk} }),
			"kafka.tls.ca_file", "holds no PEM certificate"},
		{"a certificate without its key", cluster(func(c *Config) { c.Kafka.TLS = KafkaTLSConfig{Enabled: true, CertFile: p.ClientCert} }),
			"kafka.tls.key_file", "is empty but cert_file is set"},
		{"a key of another certificate", cluster(func(c *Config) {
			c.Kafka.TLS = KafkaTLSConfig{Enabled: true, CertFile: p.ClientCert, KeyFile: p.ServerKey}
		}), "kafka.tls.key_file", "does not go with cert_file"},
		{"TLS files without TLS", cluster(func(c *Config) { c.Kafka.TLS.CAFile = p.CAFile }),
			"kafka.tls.ca_file", "kafka.tls.enabled is false"},
		{"insecure and a CA", cluster(func(c *Config) {
			c.Kafka.TLS = KafkaTLSConfig{Enabled: true, CAFile: p.CAFile, InsecureSkipVerify: true}
		}), "kafka.tls.insecure_skip_verify", "choose one"},
		{"TLS on the embedded broker", func(c *Config) { c.Kafka.TLS.Enabled = true },
			"kafka.tls.enabled", "the embedded broker listens on loopback only"},
		{"SASL on the embedded broker", scram, "kafka.sasl.mechanism", "the embedded broker listens on loopback only"},
		{"an unknown mechanism", cluster(func(c *Config) { scram(c); c.Kafka.SASL.Mechanism = "GSSAPI" }),
			"kafka.sasl.mechanism", `"GSSAPI" is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512`},
		{"PLAIN in clear", cluster(func(c *Config) { scram(c); c.Kafka.SASL.Mechanism = SASLPlain }),
			"kafka.sasl.mechanism", "sends the password in clear"},
		{"credentials without a mechanism", cluster(func(c *Config) { scram(c); c.Kafka.SASL.Mechanism = "" }),
			"kafka.sasl.mechanism", "credentials are set"},
		{"no user", cluster(func(c *Config) { scram(c); c.Kafka.SASL.Username = "" }),
			"kafka.sasl.username", "is empty"},
		{"no password", cluster(func(c *Config) { scram(c); c.Kafka.SASL.Password = "" }),
			"kafka.sasl.password", "VIGIE_KAFKA_SASL_PASSWORD"},
		{"a password twice", cluster(func(c *Config) { scram(c); c.Kafka.SASL.PasswordFile = pass }),
			"kafka.sasl.password", "(hidden) and kafka.sasl.password_file are both set"},
		{"a missing password file", cluster(func(c *Config) { scram(c); c.Kafka.SASL.Password, c.Kafka.SASL.PasswordFile = "", missing }),
			"kafka.sasl.password_file", "cannot be read"},
		{"an empty password file", cluster(func(c *Config) { scram(c); c.Kafka.SASL.Password, c.Kafka.SASL.PasswordFile = "", empty }),
			"kafka.sasl.password_file", "is empty"},
		{"ClickHouse mutual TLS", server(func(ch *ClickHouseConfig) {
			ch.TLS, ch.TLSCAFile, ch.TLSCertFile, ch.TLSKeyFile, ch.TLSServerName = true, p.CAFile, p.ClientCert, p.ClientKey, "clickhouse"
		}), "", ""},
		{"a ClickHouse CA file without certificate", server(func(ch *ClickHouseConfig) { ch.TLS, ch.TLSCAFile = true, junk }),
			"warehouse.clickhouse.tls_ca_file", "holds no PEM certificate"},
		{"a ClickHouse key without certificate", server(func(ch *ClickHouseConfig) { ch.TLS, ch.TLSKeyFile = true, p.ClientKey }),
			"warehouse.clickhouse.tls_cert_file", "is empty but key_file is set"},
		{"ClickHouse TLS files without TLS", server(func(ch *ClickHouseConfig) { ch.TLSServerName = "clickhouse" }),
			"warehouse.clickhouse.tls_server_name", "warehouse.clickhouse.tls is false"},
		{"ClickHouse insecure and a CA", server(func(ch *ClickHouseConfig) { ch.TLS, ch.TLSCAFile, ch.TLSInsecure = true, p.CAFile, true }),
			"warehouse.clickhouse.tls_insecure_skip_verify", "choose one"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.change(&c)
			err := c.Validate()
			if tt.key == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			ps := problems(t, err)
			if len(ps) != 1 {
				t.Fatalf("%d problems, want 1:\n%v", len(ps), err)
			}
			if msg := ps[0].Error(); !strings.HasPrefix(msg, tt.key+": ") || !strings.Contains(msg, tt.says) {
				t.Errorf("problem %q, want it to start with %q and say %q", msg, tt.key+": ", tt.says)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the problem shows the password: %v", err)
			}
		})
	}
}

// The password comes from the environment (a Secret) or a file, with its
// trailing newline removed; it never shows in the SASL settings printed.
func TestSASLPasswordFromTheEnvironmentOrAFile(t *testing.T) {
	cleanEnv(t)
	t.Setenv("VIGIE_KAFKA_BROKERS", "kafka-1:9093")
	t.Setenv("VIGIE_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
	t.Setenv("VIGIE_KAFKA_SASL_USERNAME", "vigie")
	t.Setenv("VIGIE_KAFKA_SASL_PASSWORD", "from-the-environment")
	c, err := Load("", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Kafka.SASL.Secret(); err != nil || got != "from-the-environment" {
		t.Fatalf("Secret() = %q, %v", got, err)
	}
	file := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(file, []byte("from-a-file\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := KafkaSASLConfig{Mechanism: SASLScramSHA512, Username: "vigie", PasswordFile: file}
	if got, err := s.Secret(); err != nil || got != "from-a-file" {
		t.Fatalf("Secret() = %q, %v", got, err)
	}
	c.Kafka.SASL.Password = "do-not-print"
	if out := strings.Join([]string{c.Kafka.SASL.String(), fmt.Sprintf("%v %+v", c.Kafka, c.Kafka)}, " "); strings.Contains(out, "do-not-print") {
		t.Fatalf("printed SASL settings show the password: %s", out)
	}
}
