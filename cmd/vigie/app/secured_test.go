package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/internal/broker/brokertest"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/tlsconf/tlsconftest"
	"github.com/vigie-fr/vigie/internal/warehouse/chdb"
)

// Vigie on a Kafka cluster that speaks only TLS and SASL/SCRAM: the ingest
// API produces, the aggregator's consumer group consumes every event into
// the warehouse, /readyz sees the broker; the password comes from a file.
// A wrong password or a broker certificate of another CA stops the start
// with the key to fix.
func TestServeOnATLSAndSCRAMCluster(t *testing.T) {
	pki := tlsconftest.New(t, "vigie test CA")
	other := tlsconftest.New(t, "another CA")
	brokers := brokertest.StartSecured(t, pki, false, brokertest.User{Mechanism: config.SASLScramSHA512, Name: "vigie", Password: "right-password"})
	passwordFile := t.TempDir() + "/kafka-password"
	if err := os.WriteFile(passwordFile, []byte("right-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	configure := func(t *testing.T, f func(*config.Config)) *App {
		cfg := config.Default()
		cfg.DataDir = t.TempDir()
		cfg.HTTP.Listen = "127.0.0.1:0"
		cfg.Kafka.Brokers = brokers
		cfg.Kafka.Partitions = 2
		cfg.Kafka.TLS = config.KafkaTLSConfig{Enabled: true, CAFile: pki.CAFile}
		cfg.Kafka.SASL = config.KafkaSASLConfig{Mechanism: config.SASLScramSHA512, Username: "vigie", PasswordFile: passwordFile}
		cfg.Aggregate.FlushInterval = 100 * time.Millisecond
		f(&cfg)
		a, err := New(cfg, All, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	for _, c := range []struct {
		name   string
		change func(*config.Config)
		says   string
	}{
		{"wrong password", func(c *config.Config) { c.Kafka.SASL.PasswordFile, c.Kafka.SASL.Password = "", "wrong-password" },
			`kafka.sasl.password: the brokers refused user "vigie" (SCRAM-SHA-512)`},
		{"untrusted certificate", func(c *config.Config) { c.Kafka.TLS.CAFile = other.CAFile },
			"kafka.tls.ca_file: the broker's certificate is not signed by a CA Vigie trusts"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := configure(t, c.change)
			err := a.Start(context.Background())
			defer a.Shutdown(context.Background())
			if err == nil || !strings.HasPrefix(err.Error(), c.says) {
				t.Fatalf("start: %v\nwant an error starting with %q", err, c.says)
			}
		})
	}
	t.Run("produce and consume", func(t *testing.T) {
		if _, err := os.Stat(chdb.LibraryPath()); err != nil {
			t.Skip("libchdb.so is not installed: run scripts/install-chdb.sh")
		}
		a := configure(t, func(*config.Config) {})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		startApp(t, ctx, a)
		evs := dayEvents()[:500]
		var buf bytes.Buffer
		for _, ev := range evs {
			b, _ := json.Marshal(ev)
			buf.Write(b)
			buf.WriteByte('\n')
		}
		if code, out := post(t, a.URL(), buf.Bytes()); code != http.StatusOK || out["accepted"] != float64(len(evs)) {
			t.Fatalf("POST answered %d %v, want 200 with %d accepted", code, out, len(evs))
		}
		if err := a.WaitCaughtUp(ctx); err != nil {
			t.Fatal(err)
		}
		res, err := a.Warehouse().Query(ctx, `SELECT count() FROM vigie.events`, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Rows[0][0]; got != uint64(len(evs)) {
			t.Fatalf("the warehouse holds %v events, want %d", got, len(evs))
		}
		if code, r := readyz(t, a.URL()); code != http.StatusOK || r.Parts[partBroker] != "ok" {
			t.Fatalf("readyz = %d %+v, want 200 with the broker ok", code, r)
		}
	})
}
