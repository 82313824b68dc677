package sqlapi

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// TokenFile is the SQL token's file name in the data dir.
const TokenFile = "sql.token"

// minTokenLen is the shortest token file ReadToken accepts: a generated
// token is 64 characters, so a shorter file was cut or edited by hand. (A
// configured token's length is config.Validate's rule.)
const minTokenLen = 32

// LoadOrCreateToken returns the token that guards POST /api/v1/sql: the
// configured one (http.sql_token) when set, else the one kept in
// <dataDir>/sql.token, else a new random one (256 bits, hex) written there
// with mode 0600 so that `vigie query` run by the same user on the same
// machine can read it and nobody else can. A configured token is not written
// to disk: `vigie query` then reads it from the same configuration. Its
// length is config.Validate's rule (http.sql_token), not checked again here.
func LoadOrCreateToken(dataDir, configured string) (string, error) {
	if configured != "" {
		return configured, nil
	}
	tok, err := ReadToken(dataDir)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return tok, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", fmt.Errorf("sql token: %w", err)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("sql token: %w", err)
	}
	tok = hex.EncodeToString(b)
	path := filepath.Join(dataDir, TokenFile)
	// Written aside then hard-linked into place: the link fails if another
	// process got there first, and nobody ever reads a half-written file.
	f, err := os.CreateTemp(dataDir, TokenFile+".*")
	if err != nil {
		return "", fmt.Errorf("sql token: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.WriteString(tok + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("sql token: write %s: %w", path, err)
	}
	// CreateTemp already made it 0600.
	if err := os.Link(f.Name(), path); errors.Is(err, fs.ErrExist) {
		return ReadToken(dataDir)
	} else if err != nil {
		return "", fmt.Errorf("sql token: %w", err)
	}
	return tok, nil
}

// ReadToken reads <dataDir>/sql.token; the error wraps fs.ErrNotExist when
// no server has created it yet.
func ReadToken(dataDir string) (string, error) {
	path := filepath.Join(dataDir, TokenFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("sql token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if len(tok) < minTokenLen {
		return "", fmt.Errorf("sql token: %s holds %d characters, want at least %d (delete it to generate a new one)", path, len(tok), minTokenLen)
	}
	return tok, nil
}
