package reach

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// A command must not send the SQL token to whatever answers on the
// configured port: another program may hold it. So the server proves that
// it owns the data dir before anything is sent. At start it writes a fresh
// random nonce into <data_dir>/server.nonce (0600: only the service's user
// and root read it). The command reads it, sends a random challenge, and the
// server answers HMAC-SHA256(nonce, challenge and the server's own address).
// A program that cannot read the data dir cannot answer; the nonce itself
// never crosses the wire; and a relay to the real server on another port
// fails, since the real server signs its own address, not the relay's.

// NonceFile is the server's nonce in the data dir.
const NonceFile = "server.nonce"

// ProofPath is where the server answers a challenge.
const ProofPath = "/api/v1/proof"

// ErrNotOurServer is wrapped when something answers on the server's address
// but cannot prove it owns the data dir.
var ErrNotOurServer = errors.New("the program answering is not the Vigie server of this data dir")

// WriteNonce writes a new random nonce into dataDir (mode 0600), replacing
// the last run's, and returns it.
func WriteNonce(dataDir string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("server nonce: %w", err)
	}
	nonce := hex.EncodeToString(b)
	f, err := os.CreateTemp(dataDir, NonceFile+".*") // 0600
	if err != nil {
		return "", fmt.Errorf("server nonce: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.WriteString(nonce + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(dataDir, NonceFile))
	}
	if err != nil {
		return "", fmt.Errorf("server nonce: %w", err)
	}
	return nonce, nil
}

// ProofHandler answers GET ProofPath?challenge=<hex> with the proof for
// self, the server's URL as LocalURL gives it.
func ProofHandler(nonce, self string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := r.URL.Query().Get("challenge")
		if len(c) != 64 || !isHex(c) {
			http.Error(w, "challenge: 64 hexadecimal digits", http.StatusBadRequest)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, proof(nonce, self, c))
	})
}

func proof(nonce, self, challenge string) string {
	m := hmac.New(sha256.New, []byte(nonce))
	io.WriteString(m, "vigie server proof\n"+self+"\n"+challenge)
	return hex.EncodeToString(m.Sum(nil))
}

// Verify checks that the server at base owns dataDir (see WriteNonce); the
// error wraps ErrNotOurServer when it does not.
func Verify(ctx context.Context, hc *http.Client, base, dataDir string) error {
	b, err := os.ReadFile(filepath.Join(dataDir, NonceFile))
	if err != nil {
		return fmt.Errorf("%w: a program answers at %s, but %v (run on the server's machine, as its user, with its data_dir)", ErrNotOurServer, base, err)
	}
	nonce := strings.TrimSpace(string(b))
	cb := make([]byte, 32)
	if _, err := rand.Read(cb); err != nil {
		return err
	}
	challenge := hex.EncodeToString(cb)
	status, got, err := probe(ctx, hc, base+ProofPath+"?challenge="+challenge)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotOurServer, err)
	}
	want := proof(nonce, base, challenge)
	if status != http.StatusOK || !hmac.Equal([]byte(strings.TrimSpace(string(got))), []byte(want)) {
		return fmt.Errorf("%w: %s gave no valid proof (HTTP %d); nothing was sent to it", ErrNotOurServer, base, status)
	}
	return nil
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}
