package sqlapi

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadOrCreateToken(t *testing.T) {
	t.Run("a new token is written 0600 and read back the same", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		tok, err := LoadOrCreateToken(dir, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(tok) != 64 {
			t.Fatalf("token %d characters, want 64 hex", len(tok))
		}
		fi, err := os.Stat(filepath.Join(dir, TokenFile))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("token file: %v, mode %v, want 0600", err, fi.Mode().Perm())
		}
		again, err := LoadOrCreateToken(dir, "")
		if err != nil || again != tok {
			t.Fatalf("second load: %v, same token %v", err, again == tok)
		}
		read, err := ReadToken(dir)
		if err != nil || read != tok {
			t.Fatalf("ReadToken: %v, same token %v", err, read == tok)
		}
		left, _ := filepath.Glob(filepath.Join(dir, TokenFile+".*"))
		if len(left) != 0 {
			t.Fatalf("temporary files left behind: %v", left)
		}
	})
	t.Run("a configured token wins and is not written", func(t *testing.T) {
		dir := t.TempDir()
		want := strings.Repeat("k", 40)
		tok, err := LoadOrCreateToken(dir, want)
		if err != nil || tok != want {
			t.Fatalf("got %q, %v", tok, err)
		}
		if _, err := os.Stat(filepath.Join(dir, TokenFile)); !os.IsNotExist(err) {
			t.Fatalf("configured token was written to disk: %v", err)
		}
	})
	t.Run("reading a token nobody created says the file does not exist", func(t *testing.T) {
		_, err := ReadToken(t.TempDir())
		if !os.IsNotExist(err) && !strings.Contains(err.Error(), "no such file") {
			t.Fatalf("got %v", err)
		}
	})
}
