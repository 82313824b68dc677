package config

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRedactedHidesEverySecretAndKeepsTheRest(t *testing.T) {
	cleanEnv(t)
	c, err := Load("testdata/config.yaml", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(c.Redacted())
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	for _, secret := range []string{c.HTTP.SQLToken, c.Ingest.HMACKey, c.Warehouse.ClickHouse.Password, c.Kafka.SASL.Password,
		c.Auth.Users[0].PasswordHash, c.Auth.Users[0].TokenHashes[0], c.Ingest.Collectors[0].TokenHashes[0]} {
		if strings.Contains(out, secret) {
			t.Errorf("Redacted shows the secret %q", secret)
		}
	}
	for _, kept := range []string{`"listen":"0.0.0.0:9090"`, `"sql_token":"(hidden)"`, `"hmac_key":"(hidden)"`, `"password":"(hidden)"`, `"mechanism":"SCRAM-SHA-512"`,
		`"max_past":"48h0m0s"`, `"regions":["11"]`, `"name":"alice"`, `"roles":["analyst","union"]`, `"password_hash":"(hidden)"`,
		`"token_hashes":["(hidden)"]`, `"client_secret_file":"/run/secrets/oidc"`, `"availability_target":0.99`} {
		if !strings.Contains(out, kept) {
			t.Errorf("Redacted lacks %s:\n%s", kept, out)
		}
	}
	if c.HTTP.SQLToken == Hidden || c.Auth.Users[0].PasswordHash == Hidden || c.Ingest.Collectors[0].TokenHashes[0] == Hidden {
		t.Error("Redacted changed the configuration it was called on")
	}
	if d := Default(); d.Redacted()["http"].(map[string]any)["sql_token"] != "" {
		t.Error("an empty secret is shown as hidden: the admin cannot tell it is generated")
	}
}
