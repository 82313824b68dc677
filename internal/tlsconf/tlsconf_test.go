package tlsconf_test

import (
	"crypto/tls"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/internal/tlsconf"
	"github.com/vigie-fr/vigie/internal/tlsconf/tlsconftest"
)

// A client built from the files completes a mutual-TLS handshake with a
// server of that CA, and is refused by a server of another CA.
func TestClientHandshakes(t *testing.T) {
	p := tlsconftest.New(t, "vigie test CA")
	other := tlsconftest.New(t, "another CA")
	f := tlsconf.Files{CAFile: p.CAFile, CertFile: p.ClientCert, KeyFile: p.ClientKey, ServerName: "localhost"}
	c, err := f.Client()
	if err != nil {
		t.Fatal(err)
	}
	if c.MinVersion != tls.VersionTLS12 || len(c.Certificates) != 1 || c.ServerName != "localhost" || c.InsecureSkipVerify {
		t.Fatalf("config = min %x, %d certificates, server name %q, insecure %v", c.MinVersion, len(c.Certificates), c.ServerName, c.InsecureSkipVerify)
	}
	if err := handshake(t, p.Server(t, true), c); err != nil {
		t.Fatalf("handshake with the CA's server: %v", err)
	}
	err = handshake(t, other.Server(t, false), c)
	var unknown *tls.CertificateVerificationError
	if !errors.As(err, &unknown) {
		t.Fatalf("handshake with another CA's server = %v, want a certificate verification error", err)
	}
	// Without the client certificate, a server requiring one refuses.
	noCert, _ := tlsconf.Files{CAFile: p.CAFile, ServerName: "localhost"}.Client()
	if err := handshake(t, p.Server(t, true), noCert); err == nil {
		t.Fatal("a server requiring a client certificate accepted a client without one")
	}
}

func handshake(t *testing.T, server, client *tls.Config) error {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", server)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if c.(*tls.Conn).Handshake() == nil {
			_, _ = c.Write([]byte("k"))
		}
	}()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", ln.Addr().String(), client)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	// TLS 1.3: the server's verdict on the client certificate arrives with the first read.
	b := make([]byte, 1)
	if _, err := conn.Read(b); err != nil {
		return err
	}
	if b[0] != 'k' {
		t.Fatalf("server sent %q", b)
	}
	return nil
}

func TestErrorsNameTheField(t *testing.T) {
	p := tlsconftest.New(t, "vigie test CA")
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	for _, c := range []struct {
		f         tlsconf.Files
		field     string
		substring string
	}{
		{tlsconf.Files{CAFile: missing}, "ca_file", "missing.pem: no such file"},
		{tlsconf.Files{CAFile: junk}, "ca_file", "junk.pem: holds no PEM certificate"},
		{tlsconf.Files{CertFile: p.ClientCert}, "key_file", "is empty but cert_file is set"},
		{tlsconf.Files{KeyFile: p.ClientKey}, "cert_file", "is empty but key_file is set"},
		{tlsconf.Files{CertFile: junk, KeyFile: p.ClientKey}, "cert_file", "junk.pem: holds no PEM certificate"},
		{tlsconf.Files{CertFile: missing, KeyFile: p.ClientKey}, "cert_file", "missing.pem: no such file"},
		{tlsconf.Files{CertFile: p.ClientCert, KeyFile: missing}, "key_file", "missing.pem: no such file"},
		// The server's key with the client's certificate: a pair that does not match.
		{tlsconf.Files{CertFile: p.ClientCert, KeyFile: p.ServerKey}, "key_file", "server-key.pem: does not go with cert_file"},
	} {
		_, err := c.f.Client()
		var fe *tlsconf.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || !strings.Contains(err.Error(), c.substring) {
			t.Errorf("%+v: error %v, want field %s and %q", c.f, err, c.field, c.substring)
		}
	}
}
