// Package tlsconf builds the TLS client configuration of a connection Vigie
// opens to a server it does not run (a Kafka cluster, a ClickHouse server)
// from PEM files named in the configuration. Configuration validation and the
// clients build it the same way, so a file that passes validation is the file
// the client uses. It is not a server-side TLS helper, and it does not decide
// which keys name the files: errors carry the field, the caller the key.
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
)

// Files names one client's TLS material. Empty CAFile trusts the system's
// roots; CertFile and KeyFile, both or neither, are the client certificate
// of mutual TLS.
type Files struct {
	CAFile, CertFile, KeyFile string
	// ServerName is the name the server's certificate must carry; empty
	// takes the host of the address dialled.
	ServerName string
	// InsecureSkipVerify accepts any server certificate (test clusters).
	InsecureSkipVerify bool
}

// FieldError is a problem with one field of Files: "ca_file", "cert_file"
// or "key_file". Callers prefix Field with their configuration section.
type FieldError struct {
	Field string
	Path  string
	Err   error
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Err.Error()
	}
	return fmt.Sprintf("%s: %v", e.Path, e.Err)
}

func (e *FieldError) Unwrap() error { return e.Err }

// Client reads the files and returns the configuration of a client: TLS 1.2
// at least, the CA file's certificates as the only roots when it is given
// (a private CA must not be mixed with the hundred public ones), the client
// certificate when given. Every error is a *FieldError.
func (f Files) Client() (*tls.Config, error) {
	c := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         f.ServerName,
		InsecureSkipVerify: f.InsecureSkipVerify, //nolint:gosec // opt-in, for test clusters
	}
	if f.CAFile != "" {
		pem, err := os.ReadFile(f.CAFile)
		if err != nil {
			return nil, &FieldError{Field: "ca_file", Err: err}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &FieldError{Field: "ca_file", Path: f.CAFile, Err: errors.New("holds no PEM certificate")}
		}
		c.RootCAs = pool
	}
	switch {
	case f.CertFile != "" && f.KeyFile == "":
		return nil, &FieldError{Field: "key_file", Err: errors.New("is empty but cert_file is set: give both, or neither")}
	case f.CertFile == "" && f.KeyFile != "":
		return nil, &FieldError{Field: "cert_file", Err: errors.New("is empty but key_file is set: give both, or neither")}
	case f.CertFile != "":
		certPEM, err := os.ReadFile(f.CertFile)
		if err != nil {
			return nil, &FieldError{Field: "cert_file", Err: err}
		}
		if !hasCertificate(certPEM) {
			return nil, &FieldError{Field: "cert_file", Path: f.CertFile, Err: errors.New("holds no PEM certificate")}
		}
		keyPEM, err := os.ReadFile(f.KeyFile)
		if err != nil {
			return nil, &FieldError{Field: "key_file", Err: err}
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			// The certificate is there: the key is what is wrong (not a PEM key, or another certificate's).
			return nil, &FieldError{Field: "key_file", Path: f.KeyFile, Err: fmt.Errorf("does not go with cert_file %s: %w", f.CertFile, err)}
		}
		c.Certificates = []tls.Certificate{pair}
	}
	return c, nil
}

func hasCertificate(b []byte) bool {
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return false
		}
		if blk.Type == "CERTIFICATE" {
			return true
		}
	}
}

// Diagnose names the field of Files a failed TLS connection points to and
// says why, from the error of a dial or handshake: "ca_file" (the server's
// certificate is not signed by a trusted CA, or not valid), "server_name"
// (it is for another name), "cert_file" (the server refused the handshake:
// a client certificate missing or not trusted), "enabled" (no TLS on that
// port). ok is false for an error that is not about TLS.
func Diagnose(err error) (field, why string, ok bool) {
	var (
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		op        *net.OpError
		notTLS    tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &hostname):
		return "server_name", "the server's certificate is not for the name Vigie expects (set server_name to a name it carries)", true
	case errors.As(err, &unknownCA):
		return "ca_file", "the server's certificate is not signed by a CA Vigie trusts (ca_file, or the system's roots when empty)", true
	case errors.As(err, &invalid):
		return "ca_file", "the server's certificate is not valid", true
	case errors.As(err, &notTLS):
		return "enabled", "the server does not answer TLS on this port (a plaintext listener?)", true
	case errors.As(err, &op) && op.Op == "remote error":
		// A TLS alert from the server: most often Vigie's client
		// certificate, missing or signed by a CA the server does not trust.
		return "cert_file", "the server refused the TLS handshake (client certificate missing or not trusted by the server?)", true
	}
	return "", "", false
}
