// Package queries_test runs every example query of schemas/queries on the
// real engine (chDB), read-only, over a small fixed dataset loaded through
// the same path as production: store.Migrate, then the store's encoders
// into vigie.agg_in (turned into aggregate states by the materialized views) and
// vigie.events.
package queries_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/internal/store"
	"github.com/vigie-fr/vigie/internal/warehouse"
	"github.com/vigie-fr/vigie/internal/warehouse/chdb"
)

var (
	db    *chdb.DB
	dbErr error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "queries-chdb-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	db, dbErr = chdb.Open(dir)
	if dbErr == nil {
		dbErr = load(context.Background(), db)
	}
	code := m.Run()
	if db != nil {
		db.Close()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// at is a time on the morning of 6 April 2021 in Paris (CEST, UTC+2), as a
// UTC time.Time like the warehouse returns: at("08:00") is 06:00 UTC.
func at(hhmm string) time.Time {
	t, err := time.Parse("2006-01-02 15:04 -0700", "2021-04-06 "+hhmm+" +0200")
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// minute is one agg_in row: what the aggregator sends for one
// (minute, platform, service, region).
type minute struct {
	bucket                         string
	platform, service, region      string
	ok, errors, timeouts, rejected uint64
	queued                         uint64
	sessStart, sessEnd             uint64
	status                         map[uint16]uint64
	latValues                      []float64
	latCounts                      []uint64
	queueN                         uint64
	queueSum                       float64
	queueMax                       float32
	users, usersFailed             []uint64
}

func ids(from, to uint64) []uint64 {
	var out []uint64
	for u := from; u <= to; u++ {
		out = append(out, u)
	}
	return out
}

// The dataset: the 2021-04-06 morning in miniature. ent-11 (Île-de-France)
// and ent-32 (Hauts-de-France) both collapse at 08:01 (the shared-provider
// minute); CNED sends pupils of region 52 to its waiting room at 08:00.
var minutes = []minute{
	{bucket: "08:00", platform: "ent", service: "ent-11", region: "11", ok: 90, errors: 10, sessStart: 50, sessEnd: 10,
		status: map[uint16]uint64{200: 90, 503: 10}, latValues: []float64{100, 200}, latCounts: []uint64{80, 10},
		users: ids(1, 40), usersFailed: ids(1, 10)},
	{bucket: "08:01", platform: "ent", service: "ent-11", region: "11", ok: 40, errors: 50, timeouts: 10, sessStart: 30, sessEnd: 20,
		status: map[uint16]uint64{200: 40, 503: 50, 0: 10}, latValues: []float64{900, 4000}, latCounts: []uint64{30, 10},
		users: ids(1, 20), usersFailed: ids(5, 20)},
	{bucket: "08:02", platform: "ent", service: "ent-11", region: "11", ok: 95, errors: 5, sessStart: 5, sessEnd: 40,
		status: map[uint16]uint64{200: 95, 503: 5}, latValues: []float64{120}, latCounts: []uint64{95},
		users: ids(1, 50), usersFailed: ids(1, 5)},
	{bucket: "08:01", platform: "ent", service: "ent-32", region: "32", ok: 20, errors: 20, rejected: 10, sessStart: 20,
		status: map[uint16]uint64{200: 20, 503: 20, 429: 10}, latValues: []float64{1500}, latCounts: []uint64{20},
		users: ids(101, 125), usersFailed: ids(101, 120)},
	{bucket: "08:02", platform: "ent", service: "ent-32", region: "32", ok: 50, sessEnd: 5,
		status: map[uint16]uint64{200: 50}, latValues: []float64{300}, latCounts: []uint64{50},
		users: ids(101, 125)},
	{bucket: "08:00", platform: "cned", service: "cned-classe-virtuelle", region: "52", ok: 10, queued: 10, sessStart: 10,
		status: map[uint16]uint64{200: 20}, latValues: []float64{250}, latCounts: []uint64{10},
		queueN: 10, queueSum: 300000, queueMax: 60000, users: ids(201, 210)},
	{bucket: "09:15", platform: "cned", service: "cned-classe-virtuelle", region: "11", ok: 20,
		status: map[uint16]uint64{200: 20}, latValues: []float64{180}, latCounts: []uint64{20},
		users: ids(1, 2)}, // 20 requests from 2 users: the attack-like minute
}

func load(ctx context.Context, db *chdb.DB) error {
	if _, err := store.Migrate(ctx, db, store.MigrateOptions{Database: "vigie"}); err != nil {
		return err
	}
	st, err := store.New(db, "vigie")
	if err != nil {
		return err
	}
	var agg []store.Window
	for _, m := range minutes {
		var latN uint64
		var latSum float64
		var latMax float32
		for i, v := range m.latValues {
			latN += m.latCounts[i]
			latSum += v * float64(m.latCounts[i])
			latMax = max(latMax, float32(v))
		}
		total := m.ok + m.errors + m.timeouts + m.rejected + m.queued
		agg = append(agg, store.Window{Bucket: at(m.bucket), Platform: m.platform, Service: m.service, Region: m.region,
			Counts: store.Counts{Total: total, OK: m.ok, Error: m.errors, Timeout: m.timeouts, Rejected: m.rejected, Queued: m.queued,
				Page: total - m.queued, SessionStart: m.sessStart, SessionEnd: m.sessEnd, QueueKind: m.queued,
				LatencyN: latN, LatencySum: latSum, LatencyMax: latMax, QueueN: m.queueN, QueueSum: m.queueSum, QueueMax: m.queueMax},
			Status: m.status, LatValues: m.latValues, LatCounts: m.latCounts, Users: m.users, UsersFailed: m.usersFailed})
	}
	if err := st.InsertWindows(ctx, agg, ""); err != nil {
		return err
	}
	var ev []store.Event
	add := func(id string, ts time.Time, service, region, outcome string, status uint16, latency *float32, user uint64, attrs map[string]string) {
		platform, academy := "ent", "paris"
		if strings.HasPrefix(service, "cned") {
			platform = "cned"
		}
		if region == "32" {
			academy = "lille"
		}
		ev = append(ev, store.Event{ID: id, TS: ts, Platform: platform, Service: service, Region: region, Academy: academy,
			Kind: "page", Outcome: outcome, Status: status, LatencyMS: latency, User: user, Role: "student", Source: "log",
			Attrs: attrs, Offset: int64(len(ev))})
	}
	ms := func(v float32) *float32 { return &v }
	t0 := at("08:01")
	add("e-ok", t0.Add(1*time.Second), "ent-11", "11", "ok", 200, ms(850), 7, map[string]string{})
	add("e-503", t0.Add(2*time.Second), "ent-11", "11", "error", 503, ms(30), 7, map[string]string{"brand": "monlycee.net"})
	add("e-to", t0.Add(3500*time.Millisecond), "ent-11", "11", "timeout", 0, nil, 8, map[string]string{})
	add("e-32", t0.Add(4*time.Second), "ent-32", "32", "rejected", 429, ms(5), 9, map[string]string{})
	add("e-late", at("08:02"), "ent-11", "11", "error", 503, ms(40), 8, map[string]string{}) // next minute: not in the drill-down
	for i := range 30 {                                                                      // one pseudonym hammering the CNED: 30 requests over two minutes
		add(fmt.Sprintf("bot-%02d", i), at("09:15").Add(time.Duration(i)*3*time.Second), "cned-classe-virtuelle", "11", "ok", 200, ms(180), 424242, map[string]string{})
	}
	add("anon", at("09:16"), "cned-classe-virtuelle", "11", "ok", 200, ms(170), 0, map[string]string{})
	return st.InsertEvents(ctx, ev, "")
}

// want holds every file's exact rows; a file missing here fails the test.
var want = map[string][][]any{
	"01_minute_series.sql": {
		{at("08:00"), u(100), u(10), 0.9, 100.0, 200.0, 200.0, u(10)},
		{at("08:01"), u(100), u(60), 0.4, 900.0, 4000.0, 4000.0, u(16)},
		{at("08:02"), u(100), u(5), 0.95, 120.0, 120.0, 120.0, u(5)},
	},
	"02_availability_by_region_hour.sql": {
		{at("08:00"), "11", u(300), u(75), 0.75},
		{at("08:00"), "32", u(100), u(30), 0.7},
		{at("08:00"), "52", u(20), u(0), 1.0}, // queued is not a failure
		{at("09:00"), "11", u(20), u(0), 1.0},
	},
	"03_status_code_mix.sql": {
		{"cned-classe-virtuelle", u(200), u(40), 1.0},
		{"ent-11", u(200), u(225), 0.75},
		{"ent-11", u(503), u(65), 0.2167},
		{"ent-11", u(0), u(10), 0.0333},
		{"ent-32", u(200), u(70), 0.7},
		{"ent-32", u(503), u(20), 0.2},
		{"ent-32", u(429), u(10), 0.1},
	},
	"04_waiting_room.sql": {
		{at("08:00"), "52", "cned-classe-virtuelle", u(10), 30.0, 60.0},
	},
	"05_concurrency_peak.sql": {
		{"cned-classe-virtuelle", at("08:00"), int64(10), at("08:00")},
		{"cned-classe-virtuelle", at("09:00"), int64(10), at("09:15")},
		{"ent-11", at("08:00"), int64(50), at("08:01")},
		{"ent-32", at("08:00"), int64(20), at("08:01")},
	},
	"06_shared_provider.sql": {
		{at("08:01"), u(2), []any{"11", "32"}, []any{"ent-11", "ent-32"}},
	},
	"07_requests_per_user.sql": {
		{at("09:15"), "cned-classe-virtuelle", "11", u(20), u(2), 10.0},
		{at("08:01"), "ent-11", "11", u(100), u(20), 5.0},
		{at("08:00"), "ent-11", "11", u(100), u(40), 2.5},
		{at("08:00"), "cned-classe-virtuelle", "52", u(20), u(10), 2.0},
		{at("08:01"), "ent-32", "32", u(50), u(25), 2.0},
		{at("08:02"), "ent-11", "11", u(100), u(50), 2.0},
		{at("08:02"), "ent-32", "32", u(50), u(25), 2.0},
	},
	"08_top_failing_services.sql": {
		// pupils_failed: 1–10, 5–20 and 1–5 failed in three minutes: 20 pupils, not 31.
		{"ent", "ent-11", u(75), u(300), 0.75, u(20), 900.0},
		{"ent", "ent-32", u(30), u(100), 0.7, u(20), 1500.0},
		{"cned", "cned-classe-virtuelle", u(0), u(40), 1.0, u(0), 250.0},
	},
	"09_events_drilldown.sql": {
		{at("08:01").Add(2 * time.Second), "11", "paris", "page", "error", u(503), 30.0, u(7), map[string]any{"brand": "monlycee.net"}},
		{at("08:01").Add(3500 * time.Millisecond), "11", "paris", "page", "timeout", u(0), nil, u(8), map[string]any{}},
		{at("08:02"), "11", "paris", "page", "error", u(503), 40.0, u(8), map[string]any{}},
	},
	"10_busiest_users.sql": {
		{u(424242), u(30), u(0), u(2), 15.0, []any{"cned-classe-virtuelle"}},
		{u(7), u(2), u(1), u(1), 2.0, []any{"ent-11"}},
		{u(8), u(2), u(2), u(2), 1.0, []any{"ent-11"}},
		{u(9), u(1), u(1), u(1), 1.0, []any{"ent-32"}},
	},
}

func u(n uint64) uint64 { return n }

// TestQueries runs each file as an engineer would paste it (read-only, as
// written, trailing semicolon and comments included) and checks its rows.
func TestQueries(t *testing.T) {
	if dbErr != nil {
		t.Skipf("chDB unavailable (%v): set CHDB_LIB_PATH to libchdb.so to run", dbErr)
	}
	files, _ := filepath.Glob("*.sql")
	if len(files) < 6 || len(files) > 10 {
		t.Fatalf("%d example queries, want 6 to 10", len(files))
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(b), "-- Question: ") {
				t.Errorf("%s does not start with the question it answers (\"-- Question: …\")", f)
			}
			rows, ok := want[f]
			if !ok {
				t.Fatalf("no expected rows for %s: add them to want", f)
			}
			res, err := db.QueryReadOnly(t.Context(), string(b), warehouse.Limits{Timeout: 30 * time.Second, MaxRows: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Rows) == 0 {
				t.Fatal("no rows")
			}
			if !reflect.DeepEqual(res.Rows, rows) {
				t.Errorf("rows:\n%s\nwant:\n%s", show(res.Rows), show(rows))
			}
		})
	}
}

func show(rows [][]any) string {
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "%#v\n", r)
	}
	return b.String()
}

// TestReadmeSnippets runs the SQL blocks of schemas/README.md, so the
// reference's examples stay true to the tables.
func TestReadmeSnippets(t *testing.T) {
	if dbErr != nil {
		t.Skipf("chDB unavailable (%v): set CHDB_LIB_PATH to libchdb.so to run", dbErr)
	}
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(b), "```sql\n")[1:]
	if len(blocks) < 2 {
		t.Fatalf("%d SQL blocks in the README, want at least 2", len(blocks))
	}
	lim := warehouse.Limits{Timeout: 30 * time.Second, MaxRows: 1000}
	for i, blk := range blocks {
		sql, _, _ := strings.Cut(blk, "```")
		if _, err := db.QueryReadOnly(t.Context(), sql, lim); err != nil {
			t.Errorf("README SQL block %d:\n%s\n%v", i+1, sql, err)
		}
	}
	t.Run("the pseudonym conversions shown are each other's inverse", func(t *testing.T) {
		res, err := db.QueryReadOnly(t.Context(), "SELECT lower(leftPad(hex(toUInt64(48152893583218296)), 16, '0')) AS h, reinterpretAsUInt64(reverse(unhex(h))) AS back", lim)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Rows[0]; got[0] != "00ab12cd34ef5678" || got[1] != uint64(48152893583218296) {
			t.Fatalf("got %v", got)
		}
	})
	t.Run("the Paris-time display shown prints Paris time", func(t *testing.T) {
		res, err := db.QueryReadOnly(t.Context(), "SELECT toString(toDateTime('2021-04-06 06:00:00', 'UTC'), 'Europe/Paris')", lim)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Rows[0][0]; got != "2021-04-06 08:00:00" {
			t.Fatalf("got %v", got)
		}
	})
	t.Run("the pupils-affected example merges states", func(t *testing.T) {
		sql, _, _ := strings.Cut(blocks[0], "```")
		res, err := db.QueryReadOnly(t.Context(), sql, lim)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Rows[0]; got[0] != uint64(20) || got[1] != 900.0 {
			t.Fatalf("got %v, want 20 pupils and p95 900 ms", got)
		}
	})
}
