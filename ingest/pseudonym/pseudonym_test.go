package pseudonym_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/vigie-fr/vigie/ingest/pseudonym"
)

func TestOf(t *testing.T) {
	p, err := pseudonym.New([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	// Expected values computed independently, with
	// printf %s "$USER" | openssl dgst -sha256 -hmac 0123456789abcdef0123456789abcdef | cut -c1-16
	for _, tc := range []struct{ name, user, want string }{
		{"an empty user stays empty", "", ""},
		{"a user id gives 16 hex chars of the MAC", "eleve-75-000123", "c7ffa7fc45d939ae"},
		{"non-ASCII ids are hashed as UTF-8", "élève@ac-versailles.fr", "7543ea657b8247b2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := p.Of(tc.user)
			if got != tc.want {
				t.Errorf("Of(%q) = %q, want %q", tc.user, got, tc.want)
			}
			if tc.user == "" {
				return
			}
			if len(got) != pseudonym.Len || strings.ToLower(got) != got {
				t.Errorf("Of(%q) = %q, want %d lowercase hex chars", tc.user, got, pseudonym.Len)
			}
			if _, err := strconv.ParseUint(got, 16, 64); err != nil {
				t.Errorf("pseudonym %q does not parse as a UInt64: %v", got, err)
			}
		})
	}
}

func TestDifferentKeysGiveDifferentPseudonyms(t *testing.T) {
	a, _ := pseudonym.New(bytes.Repeat([]byte("a"), 32))
	b, _ := pseudonym.New(bytes.Repeat([]byte("b"), 32))
	if a.Of("u1") == b.Of("u1") {
		t.Error("two keys gave the same pseudonym")
	}
	if a.Of("u1") == a.Of("u2") {
		t.Error("two users gave the same pseudonym")
	}
}

func TestNewRefusesAnEmptyKey(t *testing.T) {
	if _, err := pseudonym.New(nil); err == nil {
		t.Error("New(nil) succeeded, want an error")
	}
}

func TestPrintingNeverShowsTheKey(t *testing.T) {
	key := "secret-key-secret-key-secret-key"
	p, _ := pseudonym.New([]byte(key))
	for _, s := range []string{fmt.Sprint(p), fmt.Sprintf("%v %+v %#v %s", p, p, p, p)} {
		if strings.Contains(s, key) || strings.Contains(s, "115 101 99") {
			t.Errorf("printed form shows the key: %s", s)
		}
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	t.Run("a configured key wins over the file", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, pseudonym.KeyFile), bytes.Repeat([]byte("f"), 32), 0o600)
		key, err := pseudonym.LoadOrCreateKey(dir, "configured-key-configured-key-123")
		if err != nil || string(key) != "configured-key-configured-key-123" {
			t.Errorf("key = %q, %v; want the configured one", key, err)
		}
	})
	t.Run("a missing key is generated once and reused", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		k1, err := pseudonym.LoadOrCreateKey(dir, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(k1) != pseudonym.KeySize {
			t.Errorf("generated %d bytes, want %d", len(k1), pseudonym.KeySize)
		}
		st, err := os.Stat(filepath.Join(dir, pseudonym.KeyFile))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("key file mode = %v (%v), want 0600", st.Mode().Perm(), err)
		}
		k2, err := pseudonym.LoadOrCreateKey(dir, "")
		if err != nil || !bytes.Equal(k1, k2) {
			t.Errorf("second load gave another key (%v)", err)
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 {
			t.Errorf("data dir holds %d files, want only %s (no temp files left)", len(entries), pseudonym.KeyFile)
		}
	})
	t.Run("concurrent first starts agree on one key", func(t *testing.T) {
		dir := t.TempDir()
		keys := make([][]byte, 8)
		var wg sync.WaitGroup
		for i := range keys {
			wg.Add(1)
			go func() {
				defer wg.Done()
				k, err := pseudonym.LoadOrCreateKey(dir, "")
				if err != nil {
					t.Error(err)
				}
				keys[i] = k
			}()
		}
		wg.Wait()
		for _, k := range keys[1:] {
			if !bytes.Equal(k, keys[0]) {
				t.Fatal("concurrent loads returned different keys")
			}
		}
	})
	t.Run("a truncated key file is an error, not a new key", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, pseudonym.KeyFile), []byte("short"), 0o600)
		if _, err := pseudonym.LoadOrCreateKey(dir, ""); err == nil || !strings.Contains(err.Error(), "5 bytes") {
			t.Errorf("err = %v, want it to name the 5-byte file", err)
		}
	})
}
