// Package smtptest starts a real SMTP server for tests: Debian's
// python3-aiosmtpd on a loopback port (scripts/install-test-deps.sh
// installs it), saving every accepted message as a file, optionally with
// STARTTLS and authentication, and able to fail the next messages with a
// transient 451. It is test support, not a mail server of the product.
package smtptest

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	_ "embed"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

//go:embed smtpd.py
var script []byte

// Python is Debian's interpreter, which has python3-aiosmtpd (a pyenv or
// venv python first in PATH may not).
const Python = "/usr/bin/python3"

// Options choose the server's security.
type Options struct {
	// STARTTLS offers STARTTLS with a fresh self-signed certificate and
	// refuses mail without it.
	STARTTLS bool
	// User and Password, when set, require authentication (over TLS).
	User, Password string
}

// Server is a running aiosmtpd.
type Server struct {
	Host string
	Port int
	dir  string
}

// Message is one accepted message.
type Message struct {
	Raw      []byte
	MailFrom string   `json:"mail_from"`
	RcptTos  []string `json:"rcpt_tos"`
	TLS      bool     `json:"tls"`
	Login    *string  `json:"login"`
}

// Start starts a server for the test and stops it at its end; it skips the
// test when python3-aiosmtpd is not installed.
func Start(t testing.TB, opt Options) *Server {
	t.Helper()
	if err := exec.Command(Python, "-c", "import aiosmtpd").Run(); err != nil {
		t.Skipf("no python3-aiosmtpd (%v): run scripts/install-test-deps.sh as root", err)
	}
	dir := t.TempDir()
	mail := filepath.Join(dir, "mail")
	if err := os.Mkdir(mail, 0o700); err != nil {
		t.Fatal(err)
	}
	py := filepath.Join(dir, "smtpd.py")
	if err := os.WriteFile(py, script, 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	args := []string{py, "--port", strconv.Itoa(port), "--dir", mail}
	if opt.STARTTLS {
		cert, key := selfSigned(t, dir)
		args = append(args, "--cert", cert, "--key", key)
	}
	if opt.User != "" {
		args = append(args, "--user", opt.User, "--password", opt.Password)
	}
	cmd := exec.Command(Python, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	ready := make(chan bool, 1)
	go func() {
		line, err := bufio.NewReader(out).ReadString('\n')
		ready <- err == nil && strings.TrimSpace(line) == "ready"
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("aiosmtpd did not start: %s", stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("aiosmtpd did not say ready within a minute: %s", stderr.String())
	}
	return &Server{Host: "127.0.0.1", Port: port, dir: mail}
}

// Fail makes the next n messages fail with 451.
func (s *Server) Fail(t testing.TB, n int) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(s.dir, "fail"), []byte(strconv.Itoa(n)), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Messages are the messages accepted so far, in order.
func (s *Server) Messages(t testing.TB) []Message {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(s.dir, "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	out := make([]Message, 0, len(names))
	for _, n := range names {
		var m Message
		meta, err := os.ReadFile(strings.TrimSuffix(n, ".eml") + ".json")
		if err == nil {
			err = json.Unmarshal(meta, &m)
		}
		if err != nil {
			t.Fatal(err)
		}
		if m.Raw, err = os.ReadFile(n); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t testing.TB, dir string) (cert, key string) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}
