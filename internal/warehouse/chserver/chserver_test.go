package chserver

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/tlsconf/tlsconftest"
	"github.com/vigie-fr/vigie/internal/warehouse"
	"github.com/vigie-fr/vigie/internal/warehouse/contract"
)

// configFromDSN reads clickhouse://user:password@host:9000[,host2:9000]?secure=true&skip_verify=true.
func configFromDSN(t *testing.T, dsn string) config.ClickHouseConfig {
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("VIGIE_TEST_CLICKHOUSE_DSN: %v", err)
	}
	cfg := config.Default().Warehouse.ClickHouse
	cfg.Addr = strings.Split(u.Host, ",")
	cfg.Username = u.User.Username()
	cfg.Password, _ = u.User.Password()
	cfg.TLS = u.Query().Get("secure") == "true"
	cfg.TLSInsecure = u.Query().Get("skip_verify") == "true"
	return cfg
}

// TestContract runs the shared suite against a real server. No ClickHouse
// server can be installed on the project's machines, so it needs one given
// from outside.
func TestContract(t *testing.T) {
	dsn := os.Getenv("VIGIE_TEST_CLICKHOUSE_DSN")
	if dsn == "" {
		t.Skip("set VIGIE_TEST_CLICKHOUSE_DSN=clickhouse://user:password@host:9000 to run the warehouse contract against a ClickHouse server")
	}
	db, err := Open(configFromDSN(t, dsn), "default")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	contract.Run(t, db, fmt.Sprintf("vigie_contract_%d", time.Now().UnixNano()))
}

func TestOpenErrorNamesTheServerButNotThePassword(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	cfg := config.ClickHouseConfig{Addr: []string{addr}, Username: "vigie", Password: "s3cret-pass", MaxOpenConn: 2, DialTimeout: time.Second}
	_, err = Open(cfg, "default")
	if err == nil {
		t.Fatal("open of a closed port succeeded")
	}
	if !strings.Contains(err.Error(), addr) || strings.Contains(err.Error(), "s3cret-pass") {
		t.Fatalf("error %q should name %s and never the password", err, addr)
	}
}

func TestNormaliseGivesTheSameTypesAsChDB(t *testing.T) {
	f := float32(0.1)
	when := time.Date(2021, 4, 6, 10, 0, 0, 123e6, time.FixedZone("CEST", 2*3600))
	for _, tc := range []struct {
		name string
		typ  string
		in   any
		want any
	}{
		{"small unsigned integers widen to uint64", "UInt8", uint8(255), uint64(255)},
		{"signed integers widen to int64", "Int16", int16(-3), int64(-3)},
		{"a float32 widens exactly", "Float32", f, float64(f)},
		{"a NULL is nil", "Nullable(Float32)", (*float32)(nil), nil},
		{"a non-NULL nullable is its value", "Nullable(Float32)", &f, float64(f)},
		{"times are UTC", "DateTime64(3, 'UTC')", when, when.UTC()},
		{"dates are midnight UTC", "Date", time.Date(2021, 4, 6, 0, 0, 0, 0, time.Local), time.Date(2021, 4, 6, 0, 0, 0, 0, time.UTC)},
		{"arrays are []any of normalised values", "Array(UInt64)", []uint64{1, 2}, []any{uint64(1), uint64(2)}},
		{"maps are keyed by the key's text", "Map(UInt16, UInt64)", map[uint16]uint64{200: 3}, map[string]any{"200": uint64(3)}},
		{"named tuples come back in field order", "Tuple(b UInt8, a String)", map[string]any{"a": "x", "b": uint8(1)}, []any{uint64(1), "x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := reflect.New(reflect.TypeOf(tc.in))
			v.Elem().Set(reflect.ValueOf(tc.in))
			got := normalise(warehouse.ParseType(tc.typ), v.Elem())
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestSettingsTravelWithTheContext(t *testing.T) {
	ctx := withSettings(context.Background(), warehouse.Settings{"max_execution_time": 1500 * time.Millisecond})
	if ctx == context.Background() {
		t.Fatal("settings were dropped")
	}
	if withSettings(context.Background(), nil) != context.Background() {
		t.Fatal("no settings should leave the context alone")
	}
}

// The connection's TLS comes from the files: the CA as the only roots, the
// client certificate presented (mutual TLS), the server name checked. No
// ClickHouse server runs here, so a TLS listener stands in for one: it
// records the client certificate the handshake showed, then hangs up.
func TestTLSFromFiles(t *testing.T) {
	pki := tlsconftest.New(t, "vigie test CA")
	other := tlsconftest.New(t, "another CA")
	seen := make(chan string, 8)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", pki.Server(t, true))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tc := c.(*tls.Conn)
			if tc.Handshake() == nil {
				if certs := tc.ConnectionState().PeerCertificates; len(certs) > 0 {
					seen <- certs[0].Subject.CommonName
				}
			}
			c.Close()
		}
	}()
	base := config.ClickHouseConfig{Addr: []string{ln.Addr().String()}, Username: "vigie_writer", MaxOpenConn: 1, DialTimeout: 2 * time.Second,
		TLS: true, TLSCAFile: pki.CAFile, TLSCertFile: pki.ClientCert, TLSKeyFile: pki.ClientKey}

	c, err := tlsConfig(base)
	if err != nil {
		t.Fatal(err)
	}
	if c.RootCAs == nil || len(c.Certificates) != 1 || c.InsecureSkipVerify || c.MinVersion != tls.VersionTLS12 {
		t.Fatalf("tls.Config: roots %v, %d certificates, insecure %v, min version %x", c.RootCAs != nil, len(c.Certificates), c.InsecureSkipVerify, c.MinVersion)
	}
	// Handshake done, client certificate shown; the stand-in then speaks no ClickHouse.
	if _, err := Open(base, "default"); err == nil {
		t.Fatal("Open succeeded against a server that speaks no ClickHouse")
	}
	select {
	case cn := <-seen:
		if cn != "vigie-client" {
			t.Fatalf("the server saw the client certificate %q, want vigie-client", cn)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no handshake with a client certificate reached the server")
	}
	for _, c := range []struct {
		name   string
		change func(*config.ClickHouseConfig)
		says   string
	}{
		{"untrusted server certificate", func(c *config.ClickHouseConfig) { c.TLSCAFile = other.CAFile },
			"warehouse.clickhouse.tls_ca_file: the server's certificate is not signed by a CA Vigie trusts"},
		{"wrong server name", func(c *config.ClickHouseConfig) { c.TLSServerName = "clickhouse.elsewhere.example" },
			"warehouse.clickhouse.tls_server_name: the server's certificate is not for the name Vigie expects"},
		{"no client certificate", func(c *config.ClickHouseConfig) { c.TLSCertFile, c.TLSKeyFile = "", "" },
			"warehouse.clickhouse.tls_cert_file: the server refused the TLS handshake"},
		{"key file gone", func(c *config.ClickHouseConfig) { c.TLSKeyFile = filepath.Join(t.TempDir(), "gone.pem") },
			"warehouse.clickhouse.tls_key_file: open "},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := base
			c.change(&cfg)
			_, err := Open(cfg, "default")
			if err == nil || !strings.HasPrefix(err.Error(), c.says) {
				t.Fatalf("Open: %v\nwant it to start with %q", err, c.says)
			}
		})
	}
}
