// Package contract is the test suite both warehouse transports must pass
// with the same inputs and the same expected rows: migrations, inserts of
// every value type read back with exact types, read-only refusal, limits,
// insert de-duplication tokens through the materialized views, TTL, and
// every typed read and write of package store.
// It runs on chDB in every `go test ./...` and on a ClickHouse server when
// VIGIE_TEST_CLICKHOUSE_DSN is set. It is test code only.
package contract

import (
	"context"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/store"
	"github.com/vigie-fr/vigie/internal/warehouse"
	"github.com/vigie-fr/vigie/schemas"
)

// Run runs the whole suite on wh. prefix names the databases it creates
// (prefix_main, prefix_race, …), so runs on a shared server do not collide;
// they are dropped at the end.
func Run(t *testing.T, wh warehouse.Warehouse, prefix string) {
	db := prefix + "_main"
	ctx := context.Background()
	t.Cleanup(func() {
		for _, d := range []string{db, prefix + "_race"} {
			if err := wh.Exec(ctx, "DROP DATABASE IF EXISTS "+d+" SYNC", nil); err != nil {
				t.Logf("drop %s: %v", d, err)
			}
		}
	})
	t.Run("migrations apply once and report up to date after", func(t *testing.T) { testMigrate(t, wh, db) })
	t.Run("two migrations at once apply the schema once", func(t *testing.T) { testMigrateRace(t, wh, prefix+"_race") })
	t.Run("retention change is applied once", func(t *testing.T) { testRetentionChange(t, wh, prefix+"_race") })
	t.Run("a held migration lock makes others wait and a stale one is broken", func(t *testing.T) { testLock(t, wh, prefix+"_race") })
	t.Run("an applied migration that changed is refused", func(t *testing.T) { testChangedMigration(t, wh, prefix+"_race") })
	t.Run("every value type round-trips with exact Go types", func(t *testing.T) { testTypes(t, wh, db) })
	t.Run("read-only queries refuse writes and enforce limits", func(t *testing.T) { testReadOnly(t, wh, db) })
	t.Run("a retried flush with the same token changes no total", func(t *testing.T) { testDedup(t, wh, db) })
	t.Run("the store's reads answer from what its writes sent", func(t *testing.T) { testStoreReads(t, wh, db) })
	t.Run("the offset store resumes after a commit and replays a begun range", func(t *testing.T) { testOffsets(t, wh, db) })
	t.Run("re-sent ids are found among more keys than one statement can carry", func(t *testing.T) { testEarlierMany(t, wh, db) })
	t.Run("rows past retention are deleted and recent ones kept", func(t *testing.T) { testTTL(t, wh, db) })
	t.Run("queries from several goroutines all answer", func(t *testing.T) { testConcurrent(t, wh, db) })
}

func testMigrate(t *testing.T, wh warehouse.Warehouse, db string) {
	ctx := context.Background()
	applied, err := store.Migrate(ctx, wh, store.MigrateOptions{Database: db})
	if err != nil {
		t.Fatal(err)
	}
	if want := migrationNames(t); !reflect.DeepEqual(applied, want) {
		t.Fatalf("first run applied %q, want %q", applied, want)
	}
	applied, err = store.Migrate(ctx, wh, store.MigrateOptions{Database: db})
	if err != nil || len(applied) != 0 {
		t.Fatalf("second run applied %q (err %v), want nothing", applied, err)
	}
	res := query(t, wh, "SELECT name FROM system.tables WHERE database = '"+db+"' ORDER BY name")
	var names []any
	for _, r := range res.Rows {
		names = append(names, r[0])
	}
	want := []any{"agg_hour", "agg_hour_mv", "agg_in", "agg_minute", "agg_minute_mv", "alert_deliveries", "consumer_offsets",
		"events", "hour_stats", "incident_state", "minute_stats", "offset_claims", "report_actions", "report_annotations",
		"report_deliveries", "report_status", "report_subscriptions",
		"schema_lock", "schema_migrations"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("tables %v, want %v", names, want)
	}
}

// migrationNames are every migration of schemas/migrations, in order.
func migrationNames(t *testing.T) []string {
	t.Helper()
	migs, err := store.LoadMigrations(schemas.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(migs))
	for i, m := range migs {
		names[i] = m.Name
	}
	return names
}

func testMigrateRace(t *testing.T, wh warehouse.Warehouse, db string) {
	var wg sync.WaitGroup
	results := make([][]string, 2)
	errs := make([]error, 2)
	for i := range results {
		wg.Go(func() {
			results[i], errs[i] = store.Migrate(context.Background(), wh, store.MigrateOptions{Database: db, LockTimeout: 30 * time.Second})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	all := append(append([]string{}, results[0]...), results[1]...)
	want := migrationNames(t)
	if !reflect.DeepEqual(all, want) {
		t.Fatalf("two concurrent runs applied %q, want %q once", all, want)
	}
	rows := query(t, wh, "SELECT count() FROM "+db+".schema_migrations")
	if got := rows.Rows[0][0]; got != uint64(len(want)) {
		t.Fatalf("schema_migrations has %v rows, want %d", got, len(want))
	}
}

func testRetentionChange(t *testing.T, wh warehouse.Warehouse, db string) {
	ctx := context.Background()
	opt := store.MigrateOptions{Database: db, Retention: config.RetentionConfig{Raw: 30 * 24 * time.Hour}}
	applied, err := store.Migrate(ctx, wh, opt)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"retention events: 90 -> 30 days"}; !reflect.DeepEqual(applied, want) {
		t.Fatalf("applied %q, want %q", applied, want)
	}
	if applied, err = store.Migrate(ctx, wh, opt); err != nil || len(applied) != 0 {
		t.Fatalf("rerun applied %q (err %v), want nothing", applied, err)
	}
}

func testLock(t *testing.T, wh warehouse.Warehouse, db string) {
	ctx := context.Background()
	// A migration not applied yet: only then is the lock taken.
	fsys := fstest.MapFS{}
	migs, err := store.LoadMigrations(schemas.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range migs {
		fsys[m.Name+".sql"] = &fstest.MapFile{Data: []byte(m.SQL)}
	}
	fsys["0900_lock_probe.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE IF NOT EXISTS {db}.lock_probe (a UInt8) ENGINE = Memory")}
	opt := store.MigrateOptions{Database: db, Retention: config.RetentionConfig{Raw: 30 * 24 * time.Hour}, Migrations: fsys, LockTimeout: 300 * time.Millisecond}
	host, _ := os.Hostname()
	take := func(owner string) {
		exec(t, wh, "ALTER TABLE "+db+".schema_lock ADD COLUMN lock UInt8 COMMENT '"+owner+"'")
	}
	held := func() bool {
		r := query(t, wh, "SELECT count() FROM system.columns WHERE database = '"+db+"' AND table = 'schema_lock' AND name = 'lock'")
		return r.Rows[0][0] != uint64(0)
	}
	now := func(d time.Duration) string { return time.Now().Add(d).UTC().Format(time.RFC3339) }

	// A live holder: another goroutine of this process.
	take(fmt.Sprintf("%s pid %d at %s", host, os.Getpid(), now(0)))
	if _, err := store.Migrate(ctx, wh, opt); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("held by %s pid %d", host, os.Getpid())) {
		t.Fatalf("migrate under a live lock: %v, want it to name the holder", err)
	}
	exec(t, wh, "ALTER TABLE "+db+".schema_lock DROP COLUMN lock")

	// A holder on this host whose process is gone: broken at once.
	gone := osexec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	take(fmt.Sprintf("%s pid %d at %s", host, gone.Process.Pid, now(0)))
	// A live holder would make this fail after LockTimeout (above): success
	// means the dead one's lock was broken.
	if applied, err := store.Migrate(ctx, wh, opt); err != nil || len(applied) != 1 || applied[0] != "0900_lock_probe" {
		t.Fatalf("migrate under a dead process's lock: applied %q, err %v", applied, err)
	}
	if held() {
		t.Fatal("the lock was not released")
	}

	// A holder elsewhere that stopped beating an hour ago: broken.
	fsys["0901_lock_probe.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE IF NOT EXISTS {db}.lock_probe_2 (a UInt8) ENGINE = Memory")}
	take("other-host pid 7 at " + now(-time.Hour))
	if applied, err := store.Migrate(ctx, wh, opt); err != nil || len(applied) != 1 {
		t.Fatalf("migrate under a lock without beats: applied %q, err %v", applied, err)
	}
	if held() {
		t.Fatal("the lock was not released")
	}

	// Up to date: no lock is taken at all, even one a live holder has.
	take("other-host pid 7 at " + now(0))
	if applied, err := store.Migrate(ctx, wh, opt); err != nil || len(applied) != 0 {
		t.Fatalf("an up-to-date migrate: applied %q, err %v; want nothing, without waiting for the lock", applied, err)
	}
	exec(t, wh, "ALTER TABLE "+db+".schema_lock DROP COLUMN lock")
}

func testChangedMigration(t *testing.T, wh warehouse.Warehouse, db string) {
	fsys := fstest.MapFS{"0001_init.sql": {Data: []byte("CREATE TABLE {db}.other (a UInt8) ENGINE = Memory")}}
	_, err := store.Migrate(context.Background(), wh, store.MigrateOptions{Database: db, Migrations: fsys,
		Retention: config.RetentionConfig{Raw: 30 * 24 * time.Hour}})
	if err == nil || !strings.Contains(err.Error(), "0001_init.sql changed after it was applied") {
		t.Fatalf("got %v", err)
	}
}

var (
	t1 = time.Date(2021, 4, 6, 8, 0, 0, 123_000_000, time.UTC)
	t2 = time.Date(2020, 3, 16, 23, 59, 59, 999_000_000, time.UTC)
)

func testTypes(t *testing.T, wh warehouse.Warehouse, db string) {
	ctx := context.Background()
	table := db + ".types"
	exec(t, wh, `CREATE TABLE `+table+` (
		k UInt8, s String, lc LowCardinality(String), e Enum8('ok' = 1, 'error' = 2), b Bool,
		i8 Int8, i16 Int16, i32 Int32, i64 Int64, u8 UInt8, u16 UInt16, u32 UInt32, u64 UInt64,
		f32 Float32, f64 Float64, nf Nullable(Float32),
		dt64 DateTime64(3, 'UTC'), dt DateTime('UTC'), dtl DateTime, d Date,
		au Array(UInt64), af Array(Float64), as Array(String),
		ms Map(LowCardinality(String), String), mu Map(UInt16, UInt64)
	) ENGINE = MergeTree ORDER BY k`)
	cols := []string{"k", "s", "lc", "e", "b", "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64",
		"f32", "f64", "nf", "dt64", "dt", "dtl", "d", "au", "af", "as", "ms", "mu"}
	rows := [][]any{
		{uint8(1), "l'école \"ENT\"\n\\", "11", "ok", true,
			int8(-8), int16(-1600), int32(-320000), int64(-1 << 62), uint8(255), uint16(65535), uint32(4294967295), uint64(18446744073709551615),
			float32(0.1), 0.1, float32(2.5),
			t1, t1.Truncate(time.Second), t1.Truncate(time.Second), time.Date(2021, 4, 6, 0, 0, 0, 0, time.UTC),
			[]uint64{1, 1 << 63}, []float64{0.5, 1e-9}, []string{"a", "é"},
			map[string]string{"ua": "Firefox", "k'": "v\""}, map[uint16]uint64{200: 3, 503: 1 << 40}},
		{uint8(2), "", "", "error", false,
			int8(0), int16(0), int32(0), int64(0), uint8(0), uint16(0), uint32(0), uint64(0),
			float32(0), 0.0, nil,
			t2, t2.Truncate(time.Second), t2.Truncate(time.Second), time.Date(2020, 3, 16, 0, 0, 0, 0, time.UTC),
			[]uint64{}, []float64{}, []string{},
			map[string]string{}, map[uint16]uint64{}},
	}
	if err := wh.Insert(ctx, &warehouse.Batch{Table: table, Columns: cols, Rows: rows}, nil); err != nil {
		t.Fatal(err)
	}
	res := query(t, wh, "SELECT * FROM "+table+" ORDER BY k")
	wantTypes := []string{"UInt8", "String", "LowCardinality(String)", "Enum8('ok' = 1, 'error' = 2)", "Bool",
		"Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64",
		"Float32", "Float64", "Nullable(Float32)",
		"DateTime64(3, 'UTC')", "DateTime('UTC')", "DateTime", "Date",
		"Array(UInt64)", "Array(Float64)", "Array(String)",
		"Map(LowCardinality(String), String)", "Map(UInt16, UInt64)"}
	for i, c := range res.Columns {
		if c.Name != cols[i] || c.Type != wantTypes[i] {
			t.Errorf("column %d is %s %s, want %s %s", i, c.Name, c.Type, cols[i], wantTypes[i])
		}
	}
	want := [][]any{
		{uint64(1), "l'école \"ENT\"\n\\", "11", "ok", true,
			int64(-8), int64(-1600), int64(-320000), int64(-1 << 62), uint64(255), uint64(65535), uint64(4294967295), uint64(18446744073709551615),
			float64(float32(0.1)), 0.1, 2.5,
			t1, t1.Truncate(time.Second), t1.Truncate(time.Second), time.Date(2021, 4, 6, 0, 0, 0, 0, time.UTC),
			[]any{uint64(1), uint64(1 << 63)}, []any{0.5, 1e-9}, []any{"a", "é"},
			map[string]any{"ua": "Firefox", "k'": "v\""}, map[string]any{"200": uint64(3), "503": uint64(1 << 40)}},
		{uint64(2), "", "", "error", false,
			int64(0), int64(0), int64(0), int64(0), uint64(0), uint64(0), uint64(0), uint64(0),
			0.0, 0.0, nil,
			t2, t2.Truncate(time.Second), t2.Truncate(time.Second), time.Date(2020, 3, 16, 0, 0, 0, 0, time.UTC),
			[]any{}, []any{}, []any{},
			map[string]any{}, map[string]any{}},
	}
	if len(res.Rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(res.Rows), len(want))
	}
	for r := range want {
		for c := range want[r] {
			if got := res.Rows[r][c]; !reflect.DeepEqual(got, want[r][c]) {
				t.Errorf("row %d column %s = %#v (%T), want %#v (%T)", r, cols[c], got, got, want[r][c], want[r][c])
			}
		}
	}
}

func testReadOnly(t *testing.T, wh warehouse.Warehouse, db string) {
	ctx := context.Background()
	lim := warehouse.Limits{Timeout: 5 * time.Second, MaxRows: 10}
	res, err := wh.QueryReadOnly(ctx, "SELECT number FROM numbers(10)", lim)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 10 || res.Rows[9][0] != uint64(9) {
		t.Fatalf("read-only select gave %v", res.Rows)
	}
	for _, tc := range []struct {
		name, sql string
		want      error
	}{
		{"an insert is refused", "INSERT INTO " + db + ".events (id) VALUES ('x')", warehouse.ErrReadOnly},
		{"a create is refused", "CREATE TABLE " + db + ".evil (a UInt8) ENGINE = Memory", warehouse.ErrReadOnly},
		{"a drop is refused", "DROP TABLE " + db + ".events", warehouse.ErrReadOnly},
		{"lifting readonly in the query is refused", "SELECT 1 SETTINGS readonly = 0", warehouse.ErrReadOnly},
		{"raising the row limit in the query is refused", "SELECT number FROM numbers(20) SETTINGS max_result_rows = 100", warehouse.ErrReadOnly},
		{"more rows than the limit is an error, not a silent cut", "SELECT number FROM numbers(11)", warehouse.ErrTooManyRows},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := wh.QueryReadOnly(ctx, tc.sql, lim)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("a query running past its timeout is stopped", func(t *testing.T) {
		start := time.Now()
		_, err := wh.QueryReadOnly(ctx, "SELECT count() FROM numbers(100000000000) WHERE NOT ignore(sipHash64(number))",
			warehouse.Limits{Timeout: 300 * time.Millisecond, MaxRows: 10})
		if !errors.Is(err, warehouse.ErrTimeout) {
			t.Fatalf("got %v, want %v", err, warehouse.ErrTimeout)
		}
		if el := time.Since(start); el > 5*time.Second {
			t.Fatalf("stopped after %v", el)
		}
	})
	t.Run("a query past its context deadline is stopped", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		_, err := wh.Query(ctx, "SELECT count() FROM numbers(100000000000) WHERE NOT ignore(sipHash64(number))", nil)
		if !errors.Is(err, warehouse.ErrTimeout) {
			t.Fatalf("got %v, want %v", err, warehouse.ErrTimeout)
		}
	})
	t.Run("the writer still writes", func(t *testing.T) {
		exec(t, wh, "CREATE TABLE "+db+".still_writable (a UInt8) ENGINE = Memory")
	})
}

// aggRows are one aggregator flush into agg_in: two minutes of one hour,
// and one minute on another day (a second partition of agg_minute and
// agg_hour's monthly partition for 2021-03).
func aggRows() []store.Window {
	row := func(bucket time.Time, total, ok, errs uint64, users []uint64) store.Window {
		return store.Window{Bucket: bucket, Platform: "ent", Service: "monlycee.net", Region: "11",
			Counts: store.Counts{Total: total, OK: ok, Error: errs, Page: total, LatencyN: ok, LatencySum: float64(ok) * 100, LatencyMax: 250},
			Status: map[uint16]uint64{200: ok, 503: errs}, LatValues: []float64{100, 200}, LatCounts: []uint64{ok - 1, 1},
			Users: users, UsersFailed: users[:1]}
	}
	return []store.Window{
		row(time.Date(2021, 4, 6, 8, 0, 0, 0, time.UTC), 10, 8, 2, []uint64{1, 2, 3}),
		row(time.Date(2021, 4, 6, 8, 1, 0, 0, time.UTC), 20, 15, 5, []uint64{3, 4}),
		row(time.Date(2021, 3, 30, 9, 0, 0, 0, time.UTC), 4, 4, 0, []uint64{5}),
	}
}

// eventRows are raw events over two days: every batch spans two partitions.
func eventRows(ids ...string) []store.Event {
	out := make([]store.Event, len(ids))
	for i, id := range ids {
		lat := float32(120.5)
		out[i] = store.Event{ID: id, TS: time.Date(2021, 4, 5+i%2, 8, 0, i, 0, time.UTC), Platform: "ent",
			Service: "monlycee.net", Region: "11", Kind: "login", Outcome: "ok", Status: 200, LatencyMS: &lat,
			User: uint64(i), Attrs: map[string]string{"n": id}, Offset: int64(i)}
	}
	return out
}

func newStore(t *testing.T, wh warehouse.Warehouse, db string) *store.Store {
	t.Helper()
	st, err := store.New(wh, db)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func testDedup(t *testing.T, wh warehouse.Warehouse, db string) {
	ctx := context.Background()
	totals := func() []any {
		r := query(t, wh, `SELECT
			(SELECT sum(n_total) FROM `+db+`.agg_minute), (SELECT sum(n_ok) FROM `+db+`.agg_hour),
			(SELECT sum(events) FROM `+db+`.minute_stats), (SELECT sum(events) FROM `+db+`.hour_stats),
			(SELECT count() FROM `+db+`.events)`)
		return r.Rows[0]
	}
	st := newStore(t, wh, db)
	steps := []struct {
		name  string
		agg   string // token of an agg_in flush, "" for none
		ev    string // token of an events flush
		total []any
	}{
		{"a first flush lands", "p0:0-99", "p0:0-99", []any{uint64(34), uint64(27), uint64(34), uint64(34), uint64(4)}},
		{"the same flush retried with its token is dropped", "p0:0-99", "p0:0-99", []any{uint64(34), uint64(27), uint64(34), uint64(34), uint64(4)}},
		{"the next flush with another token adds", "p0:100-199", "p0:100-199", []any{uint64(68), uint64(54), uint64(68), uint64(68), uint64(8)}},
		{"an older flush replayed much later is still dropped", "p0:0-99", "p0:0-99", []any{uint64(68), uint64(54), uint64(68), uint64(68), uint64(8)}},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			if err := st.InsertWindows(ctx, aggRows(), step.agg); err != nil {
				t.Fatal(err)
			}
			if err := st.InsertEvents(ctx, eventRows("a", "b", "c", "d"), step.ev); err != nil {
				t.Fatal(err)
			}
			if got := totals(); !reflect.DeepEqual(got, step.total) {
				t.Fatalf("totals (agg_minute, agg_hour ok, minute_stats, hour_stats, events) = %v, want %v", got, step.total)
			}
		})
	}
	t.Run("the finalized views read the states the views built", func(t *testing.T) {
		r := query(t, wh, `SELECT bucket, events, ok, errors, availability, p50_ms, p99_ms, status_counts, users, users_failed
			FROM `+db+`.hour_stats WHERE bucket = '2021-04-06 08:00:00'`)
		want := [][]any{{time.Date(2021, 4, 6, 8, 0, 0, 0, time.UTC), uint64(60), uint64(46), uint64(14), 46.0 / 60,
			100.0, 200.0, map[string]any{"200": uint64(46), "503": uint64(14)}, uint64(4), uint64(2)}}
		if !reflect.DeepEqual(r.Rows, want) {
			t.Fatalf("hour_stats = %#v\nwant %#v", r.Rows, want)
		}
	})
}

func testTTL(t *testing.T, wh warehouse.Warehouse, db string) {
	ctx := context.Background()
	table := db + ".events"
	exec(t, wh, "TRUNCATE TABLE "+table)
	// Stopped so the rows already past retention are still there to count
	// (a TTL merge would otherwise delete them right after the insert).
	exec(t, wh, "SYSTEM STOP TTL MERGES "+table)
	// Only the columns TTL reads: received_at is the engine's (DEFAULT
	// now()), which the store never writes.
	now := time.Now().UTC().Truncate(time.Second)
	ts := time.Date(2021, 4, 5, 8, 0, 0, 0, time.UTC)
	b := &warehouse.Batch{Table: table, Columns: []string{"id", "ts", "received_at"}, Rows: [][]any{
		{"old-1", ts, now.Add(-100 * 24 * time.Hour)},
		{"old-2", ts, now.Add(-91 * 24 * time.Hour)},
		{"new-1", ts, now.Add(-89 * 24 * time.Hour)},
	}}
	if err := wh.Insert(ctx, b, nil); err != nil {
		t.Fatal(err)
	}
	// Replayed history: event time in 2021 but received now must stay.
	if err := newStore(t, wh, db).InsertEvents(ctx, eventRows("replayed"), ""); err != nil {
		t.Fatal(err)
	}
	if r := query(t, wh, "SELECT count() FROM "+table); r.Rows[0][0] != uint64(4) {
		t.Fatalf("before TTL: %v rows, want 4", r.Rows[0][0])
	}
	exec(t, wh, "SYSTEM START TTL MERGES "+table)
	exec(t, wh, "ALTER TABLE "+table+" MATERIALIZE TTL")
	exec(t, wh, "OPTIMIZE TABLE "+table+" FINAL")
	r := query(t, wh, "SELECT id FROM "+table+" ORDER BY id")
	if want := [][]any{{"new-1"}, {"replayed"}}; !reflect.DeepEqual(r.Rows, want) {
		t.Fatalf("after TTL: %v, want %v", r.Rows, want)
	}
}

func testConcurrent(t *testing.T, wh warehouse.Warehouse, db string) {
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Go(func() {
			var r *warehouse.Result
			var err error
			if i%2 == 0 {
				r, err = wh.Query(context.Background(), fmt.Sprintf("SELECT %d + number FROM numbers(3)", i), nil)
			} else {
				r, err = wh.QueryReadOnly(context.Background(), fmt.Sprintf("SELECT %d + number FROM numbers(3)", i), warehouse.Limits{Timeout: 10 * time.Second, MaxRows: 10})
			}
			if err == nil && (len(r.Rows) != 3 || r.Rows[2][0] != uint64(i+2)) {
				err = fmt.Errorf("goroutine %d got %v", i, r.Rows)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

func exec(t *testing.T, wh warehouse.Warehouse, q string) {
	t.Helper()
	if err := wh.Exec(context.Background(), q, nil); err != nil {
		t.Fatal(err)
	}
}

func query(t *testing.T, wh warehouse.Warehouse, q string) *warehouse.Result {
	t.Helper()
	r, err := wh.Query(context.Background(), q, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
