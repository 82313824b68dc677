package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Argon2id parameters of HashPassword: OWASP's first recommendation
// (19 MiB, 2 passes, 1 lane). Verification reads them from the hash.
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonKeyLen    = 32
)

// HashPassword returns an argon2id hash of password in the PHC string format
// that auth.users[].password_hash takes.
func HashPassword(password string) (string, error) {
	if len(password) < 12 {
		return "", fmt.Errorf("a password of %d characters is too short, use at least 12", len(password))
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemoryKiB, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// checkPassword compares password with an argon2id or bcrypt hash in
// constant time. The hash passed config.Validate's format check.
func checkPassword(hash, password string) bool {
	if strings.HasPrefix(hash, "$2") {
		return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
	}
	var mem, iter uint32
	var threads uint8
	parts := strings.Split(hash, "$") // "", argon2id, v=19, m=…,t=…,p=…, salt, key
	if len(parts) != 6 {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &iter, &threads); err != nil || threads == 0 || iter == 0 || mem > 4<<20 {
		return false // also refuses a hash asking for more than 4 GiB per attempt
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, iter, mem, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is compared against when the user name is unknown, so that the
// answer takes as long as for a known name with a wrong password.
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$6c2ZXI8lYpUwShbLQ2hbFvA6Sa0flGvr4J2OO3mjIpE"

// NewToken returns a random API token (256 bits, prefixed "vigie_" so that
// secret scanners find leaked ones) and the hash to put in the configuration.
func NewToken() (token, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	token = "vigie_" + base64.RawURLEncoding.EncodeToString(b)
	return token, TokenHash(token), nil
}

// TokenHash is the configuration's form of a token: "sha256:<hex>". A
// token is 256 random bits, so a fast hash suffices (a password hash would
// only make every request slow).
func TokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// randomString is n random bytes, URL-safe base64.
func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(errors.New("crypto/rand failed: " + err.Error())) // never returns an error on Linux (Go 1.24+)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
