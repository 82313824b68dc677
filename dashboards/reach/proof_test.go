package reach

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

func TestVerifyTrustsOnlyTheServerOfTheDataDir(t *testing.T) {
	dir := t.TempDir()
	nonce, err := WriteNonce(dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, NonceFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("nonce file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	mux.Handle(ProofPath, ProofHandler(nonce, srv.URL))
	if err := Verify(t.Context(), nil, srv.URL, dir); err != nil {
		t.Fatalf("the real server: %v", err)
	}

	// A restart writes a new nonce: the old server's proofs are worth nothing.
	if _, err := WriteNonce(dir); err != nil {
		t.Fatal(err)
	}
	if err := Verify(t.Context(), nil, srv.URL, dir); !errors.Is(err, ErrNotOurServer) {
		t.Fatalf("a server with last run's nonce: %v, want ErrNotOurServer", err)
	}
	// A server that signs another address (a relay's target) fails too.
	nonce, _ = WriteNonce(dir)
	other := httptest.NewServer(ProofHandler(nonce, "http://127.0.0.1:1"))
	defer other.Close()
	if err := Verify(t.Context(), nil, other.URL, dir); !errors.Is(err, ErrNotOurServer) {
		t.Fatalf("a proof for another address: %v, want ErrNotOurServer", err)
	}
	// A bad challenge is refused, not signed.
	resp, err := http.Get(other.URL + ProofPath + "?challenge=zz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a bad challenge: %d, want 400", resp.StatusCode)
	}
}
