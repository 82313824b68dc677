package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/dashboards/sqlapi"
	"github.com/vigie-fr/vigie/ingest/httpapi"
	"github.com/vigie-fr/vigie/internal/auth"
	"github.com/vigie-fr/vigie/internal/warehouse"
)

// TestServeKeepsEachCollectorToItsScope runs vigie serve with users and
// collectors in its configuration file, as an operator would, and sends as
// the collectors: one region's token cannot write another region's events,
// history older than ingest.max_past is refused, and a collector that
// sends another's event id first does not hide the real event.
func TestServeKeepsEachCollectorToItsScope(t *testing.T) {
	needChDB(t)
	tokens := map[string]string{}
	hash := func(name string) string {
		tokens[name] = "vigie_acceptance-token-of-" + name
		return auth.TokenHash(tokens[name])
	}
	config := fmt.Sprintf(`auth:
  users:
    - name: eng
      roles: [engineer]
      token_hashes: [%q]
ingest:
  collectors:
    - {name: ent-idf, token_hashes: [%q], platforms: [ent], services: ["*"], regions: ["11"]}
    - {name: ent-hdf, token_hashes: [%q], platforms: [ent], services: ["*"], regions: ["32"]}
    - {name: squatter, token_hashes: [%q], platforms: [ent], services: ["*"], regions: ["11"]}
`, hash("eng"), hash("ent-idf"), hash("ent-hdf"), hash("squatter"))
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "vigie.yaml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServeArgs(t, filepath.Join(dir, "data"), []string{"--config", cfgPath})

	now := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	event := func(id, ts, region, outcome string) string {
		lat := ""
		if outcome == "ok" {
			lat = `,"latency_ms":90`
		}
		return fmt.Sprintf(`{"id":%q,"ts":%q,"platform":"ent","service":"ent-%s","region":%q,"kind":"page","outcome":%q%s}`, id, ts, region, region, outcome, lat)
	}
	post := func(who string, lines ...string) (int, httpapi.Response) {
		t.Helper()
		req, _ := http.NewRequest("POST", s.url+"/v1/events", strings.NewReader(strings.Join(lines, "\n")))
		if who != "" {
			req.Header.Set("Authorization", "Bearer "+tokens[who])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out httpapi.Response
		json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out
	}
	for _, tc := range []struct {
		name, who string
		lines     []string
		code      int
		accepted  int
		field     string
	}{
		{"nobody", "", []string{event("anon-1", now, "11", "ok")}, 401, 0, ""},
		{"the Hauts-de-France token writing Île-de-France", "ent-hdf", []string{event("hdf-as-idf", now, "11", "error")}, 400, 0, "region"},
		{"forged history of 6 April 2021", "ent-idf", []string{event("idf-2021", "2021-04-06T08:00:00+02:00", "11", "error")}, 400, 0, "ts"},
		{"the squatter sends the id first", "squatter", []string{event("idf-42", now, "11", "error")}, 200, 1, ""},
		{"the real event, and a forged one in the same batch", "ent-idf", []string{event("idf-42", now, "11", "ok"), event("idf-as-hdf", now, "32", "error")}, 200, 1, "region"},
		{"the real event re-sent", "ent-idf", []string{event("idf-42", now, "11", "ok")}, 200, 1, ""},
		{"Hauts-de-France in its own region", "ent-hdf", []string{event("hdf-1", now, "32", "ok")}, 200, 1, ""},
		{"one more event of its own", "ent-idf", []string{event("idf-last", now, "11", "ok")}, 200, 1, ""},
	} {
		code, resp := post(tc.who, tc.lines...)
		if code != tc.code || resp.Accepted != tc.accepted || (tc.field != "" && (len(resp.Errors) != 1 || resp.Errors[0].Field != tc.field)) {
			t.Fatalf("%s: %d %+v, want %d, %d accepted, an error on %q", tc.name, code, resp, tc.code, tc.accepted, tc.field)
		}
	}

	// Wait for the aggregator through the SQL endpoint, as the engineer.
	// The events sit on different partitions, flushed independently: the
	// last one sent can land before an earlier one, so wait for as many
	// rows as were accepted, then check which they are (a fifth row, if
	// one slipped in, fails the comparison below).
	c := &sqlapi.Client{BaseURL: s.url, Token: tokens["eng"]}
	deadline := time.Now().Add(90 * time.Second)
	for {
		res, err := c.Query(t.Context(), "SELECT count() FROM vigie.events")
		if err == nil && warehouse.AsInt64(res.Rows[0][0]) >= 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the accepted events never all reached the warehouse (%v):\n%s", err, tail(s.log()))
		}
		time.Sleep(200 * time.Millisecond)
	}
	res, err := c.Query(t.Context(), "SELECT id, collector, region, outcome FROM vigie.events ORDER BY id, collector")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range res.Rows {
		got = append(got, fmt.Sprintf("%v %v %v %v", r[0], r[1], r[2], r[3]))
	}
	want := []string{"hdf-1 ent-hdf 32 ok", "idf-42 ent-idf 11 ok", "idf-42 squatter 11 error", "idf-last ent-idf 11 ok"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events in the warehouse:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// vigie query on the server's machine goes through with the data
	// dir's token; the collectors' tokens open no SQL.
	r := vigie(t, time.Minute, nil, "query", "--config", cfgPath, "--data-dir", s.dataDir, "--listen", s.listen, "--format", "csv", "SELECT count() FROM vigie.events")
	if r.code != 0 || strings.TrimSpace(strings.ReplaceAll(r.stdout, "\r\n", "\n")) != "count()\n4" {
		t.Errorf("vigie query: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	req, _ := http.NewRequest("POST", s.url+"/api/v1/sql", bytes.NewReader([]byte("SELECT 1")))
	req.Header.Set("Authorization", "Bearer "+tokens["ent-idf"])
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 403 {
		t.Errorf("SQL with a collector's token: %v %v, want 403", res.StatusCode, err)
	}
	// The demo never asks who is there: even with users configured it
	// refuses anything but loopback.
	r = vigie(t, time.Minute, nil, "demo", "--exit", "--config", cfgPath, "--data-dir", t.TempDir(), "--listen", "0.0.0.0:0")
	if r.code == 0 || !strings.Contains(r.stderr, `http.listen: "0.0.0.0:0" is not a loopback address, but vigie demo runs without authentication`) {
		t.Errorf("vigie demo with users on 0.0.0.0: exit %d, stderr %q", r.code, r.stderr)
	}
	if logs := s.log(); strings.Contains(logs, tokens["eng"]) || strings.Contains(logs, tokens["ent-idf"]) {
		t.Errorf("a token is in serve's log")
	}
}

// Without any user, vigie serve listens on loopback only, and vigie demo
// (which never asks) too: each says which key to change.
func TestNobodyConfiguredMeansLoopbackOnly(t *testing.T) {
	for _, cmd := range []string{"serve", "demo"} {
		r := vigie(t, time.Minute, nil, cmd, "--data-dir", t.TempDir(), "--listen", "0.0.0.0:0", "--exit")
		if cmd == "serve" {
			r = vigie(t, time.Minute, nil, cmd, "--data-dir", t.TempDir(), "--listen", "0.0.0.0:0")
		}
		if r.code == 0 || !strings.Contains(r.stderr, `auth.users: [] is empty (and so are ingest.collectors and auth.oidc.issuer), but http.listen "0.0.0.0:0" is not a loopback address`) {
			t.Errorf("vigie %s on 0.0.0.0: exit %d, stderr %q", cmd, r.code, r.stderr)
		}
	}
}
