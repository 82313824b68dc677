// Package pseudonym turns user ids into keyed pseudonyms before anything is
// stored: HMAC-SHA256 under a secret key kept in the data dir (or given in
// the configuration). The same user gives the same pseudonym, so unique users
// can be counted, but without the key nobody can test a guessed id. It does
// not anonymise: whoever holds the key can still link a known id.
package pseudonym

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"sync"
)

// KeyFile is the name of the generated key inside the data dir.
const KeyFile = "hmac.key"

// KeySize is the size of a generated key.
const KeySize = 32

// Len is the length of a pseudonym: 16 hex characters, 8 bytes of the MAC,
// which the aggregator reads as a UInt64.
const Len = 16

// LoadOrCreateKey returns the HMAC key: the configured one when it is not
// empty, else the one in <dataDir>/hmac.key, else a new random key written
// there (mode 0600, atomically, so that a crash never leaves a short key).
// Losing the key changes every pseudonym: unique-user counts across the
// change would count everyone twice.
func LoadOrCreateKey(dataDir, configured string) ([]byte, error) {
	if configured != "" {
		return []byte(configured), nil
	}
	path := filepath.Join(dataDir, KeyFile)
	key, err := os.ReadFile(path)
	switch {
	case err == nil:
		if len(key) < KeySize {
			return nil, fmt.Errorf("pseudonym key %s is %d bytes, want at least %d: restore it from a backup or remove it to start over (pseudonyms will change)", path, len(key), KeySize)
		}
		return key, nil
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("read pseudonym key: %w", err)
	}
	key = make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate pseudonym key: %w", err)
	}
	if err := writeAtomic(path, key); err != nil {
		return nil, fmt.Errorf("write pseudonym key %s: %w", path, err)
	}
	// Read back: if another process won the race, its key is the one on disk.
	if key, err = os.ReadFile(path); err != nil {
		return nil, fmt.Errorf("read pseudonym key: %w", err)
	}
	return key, nil
}

// writeAtomic writes data to a temporary file in the same directory, syncs
// it, and links it into place. Link (unlike rename) fails if another process
// created the key first, and then that key wins.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".hmac.key.tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil // another process created it first; the caller reads theirs
		}
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // make the new name durable; best effort
		d.Close()
	}
	return nil
}

// Pseudonymiser computes pseudonyms. It is safe for concurrent use.
type Pseudonymiser struct {
	key []byte
	// macs keeps keyed HMACs for reuse: building one hashes the key's two
	// pads, which cost as much as the pseudonym itself (the ingest CPU
	// profile, docs/profiles/).
	macs sync.Pool
}

// New returns a Pseudonymiser for key, which must not be empty.
func New(key []byte) (*Pseudonymiser, error) {
	if len(key) == 0 {
		return nil, errors.New("pseudonym: empty key")
	}
	p := &Pseudonymiser{key: append([]byte(nil), key...)}
	p.macs.New = func() any { return hmac.New(sha256.New, p.key) }
	return p, nil
}

// Of returns the pseudonym of user: the first 8 bytes of
// HMAC-SHA256(key, user) as 16 lowercase hex characters, or "" for "".
func (p *Pseudonymiser) Of(user string) string {
	if user == "" {
		return ""
	}
	m := p.macs.Get().(hash.Hash)
	m.Reset()
	m.Write([]byte(user))
	var sum [sha256.Size]byte
	var out [Len]byte
	hex.Encode(out[:], m.Sum(sum[:0])[:Len/2])
	p.macs.Put(m)
	return string(out[:])
}

// Fingerprint names the key without revealing it: the first 8 bytes of
// HMAC-SHA256(key, a fixed label), as hex. Collectors tag what they produce
// with it, so that one started with another key is caught at once: one
// user would otherwise get two pseudonyms, and be counted twice.
func (p *Pseudonymiser) Fingerprint() string {
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte("vigie pseudonym key fingerprint"))
	var sum [sha256.Size]byte
	return hex.EncodeToString(m.Sum(sum[:0])[:8])
}

// String and GoString never show the key, so that a Pseudonymiser printed
// by mistake in a log line leaks nothing.
func (p *Pseudonymiser) String() string { return "pseudonym.Pseudonymiser{key: (hidden)}" }

// GoString is String, for %#v.
func (p *Pseudonymiser) GoString() string { return p.String() }
