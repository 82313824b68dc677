package httpapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/ingest/httpapi"
	"github.com/vigie-fr/vigie/internal/auth"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/schemas"
)

// The collectors of the tests, each with its token.
const (
	tokenAll    = "vigie_test-token-of-an-unscoped-backfill-collector"
	tokenIDF    = "vigie_test-token-of-the-ile-de-france-ent"
	tokenHDF    = "vigie_test-token-of-the-hauts-de-france-ent"
	tokenSlow   = "vigie_test-token-of-a-collector-at-one-request-per-second"
	tokenReader = "vigie_test-token-of-an-analyst"
)

var testCollectors = []config.CollectorConfig{
	{Name: "all", TokenHashes: []string{auth.TokenHash(tokenAll)}, Platforms: []string{"*"}, Services: []string{"*"}, Regions: []string{"*"},
		Backfill: true, RatePerSecond: 1e6, RateBurst: 1e6},
	{Name: "ent-idf", TokenHashes: []string{auth.TokenHash(tokenIDF)}, Platforms: []string{"ent"}, Services: []string{"monlycee.net"}, Regions: []string{"11"},
		RatePerSecond: 1e6, RateBurst: 1e6},
	{Name: "ent-hdf", TokenHashes: []string{auth.TokenHash(tokenHDF)}, Platforms: []string{"ent"}, Services: []string{"*"}, Regions: []string{"32"},
		RatePerSecond: 1e6, RateBurst: 1e6},
	{Name: "slow", TokenHashes: []string{auth.TokenHash(tokenSlow)}, Platforms: []string{"*"}, Services: []string{"*"}, Regions: []string{"*"},
		RatePerSecond: 0.2, RateBurst: 1},
}

// guarded puts the real auth.Guard, with the test collectors and an
// analyst, in front of mux.
func guarded(t testing.TB, ic config.IngestConfig, mux *http.ServeMux) http.Handler {
	t.Helper()
	ac := config.Default().Auth
	ac.Users = []config.UserConfig{{Name: "reader", Roles: []string{"analyst"}, TokenHashes: []string{auth.TokenHash(tokenReader)}}}
	g, err := auth.New(auth.Options{Auth: ac, Ingest: ic, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	return g.Wrap(mux)
}

// asAll is r sent by the unscoped collector, for tests that call the
// handler without the Guard.
func asAll(r *http.Request) *http.Request {
	return r.WithContext(auth.NewContext(r.Context(), auth.Identity{Name: "all", Roles: []auth.Role{auth.Collector}, Scope: &auth.Scope{Backfill: true}}))
}

func event(id, ts, platform, service, region string) string {
	return fmt.Sprintf(`{"id":%q,"ts":%q,"platform":%q,"service":%q,"region":%q,"kind":"page","outcome":"ok","latency_ms":5}`,
		id, ts, platform, service, region)
}

func TestACollectorSendsOnlyWithinItsScope(t *testing.T) {
	f := start(t, 1<<20, nil)
	now := ts(-time.Minute)
	old := time.Now().Add(-config.Default().Ingest.MaxPast - time.Hour).UTC().Format(time.RFC3339)
	body := strings.Join([]string{
		event("idf-ok", now, "ent", "monlycee.net", "11"),
		event("idf-other-region", now, "ent", "monlycee.net", "32"),
		event("idf-other-platform", now, "cned", "monlycee.net", "11"),
		event("idf-other-service", now, "ent", "enthdf.fr", "11"),
		event("idf-history", old, "ent", "monlycee.net", "11"),
		`{"id":"idf-invalid","ts":"` + now + `"}`,
		event("idf-ok-2", now, "ent", "monlycee.net", "11"),
	}, "\n")
	code, _, resp := f.postAs(t, tokenIDF, []byte(body), "")
	if code != http.StatusOK || resp.Accepted != 2 || resp.Rejected != 5 {
		t.Fatalf("got %d accepted %d rejected %d (%+v), want 200, 2, 5", code, resp.Accepted, resp.Rejected, resp.Errors)
	}
	want := []struct {
		index int
		field string
		has   string
	}{
		{1, "region", `may not send region "32" (it may send "11")`},
		{2, "platform", `may not send platform "cned" (it may send "ent")`},
		{3, "service", `may not send service "enthdf.fr" (it may send "monlycee.net")`},
		{4, "ts", "older than ingest.max_past (72h0m0s): only a collector with backfill: true may send history"},
		{5, "platform", "required"},
	}
	if len(resp.Errors) != len(want) {
		t.Fatalf("errors %+v, want %d", resp.Errors, len(want))
	}
	for i, w := range want {
		e := resp.Errors[i]
		if e.Index != w.index || e.Field != w.field || !strings.Contains(e.Msg, w.has) {
			t.Errorf("error %d = %+v, want index %d field %s containing %q", i, e, w.index, w.field, w.has)
		}
	}
	got := topicEvents(t, f)
	if len(got) != 2 || got["idf-ok"].Value == nil || got["idf-ok-2"].Value == nil {
		t.Fatalf("the topic holds %d events, want idf-ok and idf-ok-2 only", len(got))
	}
	for id, m := range got {
		collector := ""
		for _, h := range m.Headers {
			if h.Key == schemas.CollectorHeader {
				collector = string(h.Value)
			}
		}
		if collector != "ent-idf" {
			t.Errorf("message of %s has headers %v, want %s: ent-idf", id, m.Headers, schemas.CollectorHeader)
		}
	}
	if got := f.metric(t, "vigie_ingest_events_rejected_total", "reason", "region"); got != 1 {
		t.Errorf("rejected{reason=region} = %v, want 1", got)
	}

	// A collector whose scope is all out of this batch gets 400, nothing stored.
	code, _, resp = f.postAs(t, tokenHDF, []byte(event("hdf-writes-idf", now, "ent", "monlycee.net", "11")), "")
	if code != http.StatusBadRequest || resp.Accepted != 0 || len(resp.Errors) != 1 || resp.Errors[0].Field != "region" {
		t.Fatalf("ent-hdf writing region 11: %d %+v, want 400 with a region error", code, resp)
	}
	if got := topicEvents(t, f); len(got) != 2 {
		t.Fatalf("the topic holds %d events after ent-hdf's refused batch, want 2", len(got))
	}

	// The backfill collector may send history (the simulator, replays).
	if code, _, resp := f.postAs(t, tokenAll, []byte(event("all-history", old, "cned", "cned-classe-virtuelle", "84")), ""); code != 200 || resp.Accepted != 1 {
		t.Fatalf("backfill collector: %d %+v, want 200 accepted 1", code, resp)
	}
}

func TestIngestNeedsACollectorToken(t *testing.T) {
	f := start(t, 1<<20, nil)
	body := []byte(validEvent("anon"))
	for _, tc := range []struct {
		name, token string
		code        int
		has         string
	}{
		{"no token", "", 401, "authentication required"},
		{"an unknown token", tokenAll + "x", 401, "unknown or revoked token"},
		{"an analyst's token", tokenReader, 403, "reader (role analyst) may not use /v1/events: it needs the role collector"},
	} {
		code, hdr, resp := f.postAs(t, tc.token, body, "")
		if code != tc.code || !strings.Contains(resp.Error, tc.has) {
			t.Errorf("%s: %d %q, want %d containing %q", tc.name, code, resp.Error, tc.code, tc.has)
		}
		if code == 401 && hdr.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", tc.name)
		}
	}
	if got := topicEvents(t, f); len(got) != 0 {
		t.Fatalf("the topic holds %d events, want none", len(got))
	}
}

func TestACollectorOverItsRateGets429WithRetryAfter(t *testing.T) {
	f := start(t, 1<<20, nil)
	code, _, _ := f.postAs(t, tokenSlow, []byte(validEvent("slow-1")), "")
	if code != 200 {
		t.Fatalf("first request: %d, want 200", code)
	}
	code, hdr, resp := f.postAs(t, tokenSlow, []byte(validEvent("slow-2")), "")
	// 0.2 requests per second: the next one comes in 5 s.
	if code != http.StatusTooManyRequests || hdr.Get("Retry-After") != "5" || !strings.Contains(resp.Error, "collector slow sends more than its 0.2 requests per second") {
		t.Fatalf("second request: %d Retry-After %q %q, want 429, 5", code, hdr.Get("Retry-After"), resp.Error)
	}
	// Another collector is not slowed by it.
	if code, _, _ := f.postAs(t, tokenIDF, []byte(validEvent("idf")), ""); code != 200 {
		t.Fatalf("another collector: %d, want 200", code)
	}
	if got := topicEvents(t, f); len(got) != 2 || got["slow-2"].Value != nil {
		t.Fatalf("topic holds %d events (slow-2 present: %v), want slow-1 and idf", len(got), got["slow-2"].Value != nil)
	}
}

func TestRequestsBeyondMaxInFlightGet503(t *testing.T) {
	// A broker that never answers holds the first request in produce; the
	// second finds no room.
	cfg := config.Default().Ingest
	cfg.ProduceTimeout, cfg.MaxInFlight = 3*time.Second, 1
	h := onHungBroker(t, cfg)
	var wg sync.WaitGroup
	recs := make([]*httptest.ResponseRecorder, 2)
	for i := range recs {
		recs[i] = httptest.NewRecorder()
		wg.Go(func() {
			h.ServeHTTP(recs[i], asAll(httptest.NewRequest(http.MethodPost, httpapi.Path, strings.NewReader(validEvent(fmt.Sprint(i))))))
		})
	}
	wg.Wait()
	var busy, timedOut int
	for _, rec := range recs {
		switch {
		case rec.Code == 503 && rec.Header().Get("Retry-After") == "1" && strings.Contains(rec.Body.String(), "ingest.max_in_flight"):
			busy++
		case rec.Code == 503 && rec.Header().Get("Retry-After") == "5":
			timedOut++
		default:
			t.Errorf("unexpected answer %d %q: %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
		}
	}
	if busy != 1 || timedOut != 1 {
		t.Fatalf("%d answers for max_in_flight, %d for the produce timeout; want 1 and 1", busy, timedOut)
	}
}
