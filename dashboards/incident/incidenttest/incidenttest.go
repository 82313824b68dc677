// Package incidenttest gives the dashboards' tests a real warehouse: the
// process's one chDB engine on a temp dir, a migrated database per test, and
// rows written to agg_in exactly as the aggregator writes them (so the
// materialized views build the states). It also holds a small synthetic
// morning that the incident, report and web tests share.
package incidenttest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/internal/store"
	"github.com/vigie-fr/vigie/internal/warehouse"
	"github.com/vigie-fr/vigie/internal/warehouse/chdb"
)

var (
	mu      sync.Mutex
	dir     string
	engine  *chdb.DB
	openErr error
)

// Run runs the package's tests and closes the engine after them; call it
// from TestMain: os.Exit(incidenttest.Run(m)).
func Run(m *testing.M) int {
	code := m.Run()
	mu.Lock()
	defer mu.Unlock()
	if engine != nil {
		engine.Close()
	}
	if dir != "" {
		os.RemoveAll(dir)
	}
	return code
}

// Store returns the store of database db, migrated, on the process's engine
// (db must be new to this test binary: chDB allows one engine per process,
// so tests are isolated by database). It skips the test when libchdb.so is
// missing.
func Store(t testing.TB, db string) *store.Store {
	t.Helper()
	mu.Lock()
	if engine == nil && openErr == nil {
		dir, openErr = os.MkdirTemp("", "vigie-dashboards-chdb-")
		if openErr == nil {
			engine, openErr = chdb.Open(dir)
		}
	}
	e, err := engine, openErr
	mu.Unlock()
	if errors.Is(err, chdb.ErrLibraryMissing) {
		t.Skipf("libchdb.so not found (%v): run scripts/install-chdb.sh or set CHDB_LIB_PATH", err)
	}
	if err != nil {
		t.Fatalf("open chdb: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := store.Migrate(ctx, e, store.MigrateOptions{Database: db}); err != nil {
		t.Fatalf("migrate %s: %v", db, err)
	}
	st, err := store.New(e, db)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// Row is one aggregator delta for agg_in; Total is derived from the outcomes.
type Row struct {
	Bucket                                time.Time
	Platform, Service, Region             string
	OK, Errors, Timeouts, Rejected, Queue uint64
	// LatValues and LatCounts are the latency sketch (ms, count).
	LatValues   []float64
	LatCounts   []uint64
	Users       []uint64
	UsersFailed []uint64
}

// Engine is the process's engine that Store opened, for a test that needs
// the warehouse itself (to lend it to code that opens one, say).
func Engine(t testing.TB) warehouse.Warehouse {
	t.Helper()
	mu.Lock()
	e := engine
	mu.Unlock()
	if e == nil {
		t.Fatal("incidenttest.Engine before incidenttest.Store opened the engine")
	}
	return e
}

// Exec runs one statement on the process's engine, for a test that must
// change the warehouse behind the store's back (drop a partition, say).
func Exec(t testing.TB, sql string) {
	t.Helper()
	if err := Engine(t).Exec(context.Background(), sql, nil); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// Insert writes rows to agg_in in one batch, through the store's encoder.
func Insert(t testing.TB, st *store.Store, rows []Row) {
	t.Helper()
	w := make([]store.Window, len(rows))
	for i, r := range rows {
		var latN uint64
		var latSum, latMax float64
		for k, v := range r.LatValues {
			latN += r.LatCounts[k]
			latSum += v * float64(r.LatCounts[k])
			latMax = max(latMax, v)
		}
		total := r.OK + r.Errors + r.Timeouts + r.Rejected + r.Queue
		w[i] = store.Window{Bucket: r.Bucket, Platform: r.Platform, Service: r.Service, Region: r.Region,
			Counts: store.Counts{Total: total, OK: r.OK, Error: r.Errors, Timeout: r.Timeouts, Rejected: r.Rejected, Queued: r.Queue,
				Page: total, QueueKind: r.Queue, LatencyN: latN, LatencySum: latSum, LatencyMax: float32(latMax)},
			LatValues: r.LatValues, LatCounts: r.LatCounts, Users: r.Users, UsersFailed: r.UsersFailed}
	}
	if err := st.InsertWindows(context.Background(), w, ""); err != nil {
		t.Fatalf("insert %d rows into agg_in: %v", len(rows), err)
	}
}

// Morning is 06:00 to 10:00 UTC (08:00 to 12:00 in Paris) of 6 April 2021.
var (
	MorningFrom = time.Date(2021, 4, 6, 6, 0, 0, 0, time.UTC)
	MorningTo   = time.Date(2021, 4, 6, 10, 0, 0, 0, time.UTC)
)

// Morning is a small synthetic morning, minute by minute, that exercises
// every rule and signal with numbers a test can check by hand:
//
//   - ENT of regions 11, 32, 53 and 76 (service ent-<code>), 100 attempts a
//     minute from 50 users: 99 ok, 1 error, p95 200 ms.
//   - ent-76 saturates from 06:30 to 07:30 UTC: 55 ok, 15 rejected by the
//     quota, 30 queued; the first 20 of its 50 users fail each minute.
//   - ent-11 and ent-32 fail from 06:40 to 07:00 UTC (50 ok, 50 errors, the
//     first 10 users fail): with ent-76 and the CNED, four services in
//     incident at once.
//   - The CNED (cned-classe-virtuelle) in the same four regions, 60 attempts
//     from 30 users a minute, is flooded from 06:00 to 08:00 UTC: 600
//     attempts from the same 30 users, 500 ok and 100 timeouts, p95 8000 ms;
//     the first 5 users fail.
func Morning() []Row {
	var rows []Row
	regions := []string{"11", "32", "53", "76"}
	for m := MorningFrom; m.Before(MorningTo); m = m.Add(time.Minute) {
		for ri, region := range regions {
			ent := Row{Bucket: m, Platform: "ent", Service: "ent-" + region, Region: region,
				OK: 99, Errors: 1, LatValues: []float64{100, 200, 400}, LatCounts: []uint64{50, 45, 4},
				Users: users(ri, 50)}
			inside := func(h1, m1, h2, m2 int) bool {
				from := time.Date(2021, 4, 6, h1, m1, 0, 0, time.UTC)
				to := time.Date(2021, 4, 6, h2, m2, 0, 0, time.UTC)
				return !m.Before(from) && m.Before(to)
			}
			switch {
			case region == "76" && inside(6, 30, 7, 30):
				ent.OK, ent.Errors, ent.Rejected, ent.Queue = 55, 0, 15, 30
				ent.LatCounts = []uint64{5, 30, 20}
				ent.UsersFailed = users(ri, 20)
			case (region == "11" || region == "32") && inside(6, 40, 7, 0):
				ent.OK, ent.Errors = 50, 50
				ent.LatCounts = []uint64{25, 20, 5}
				ent.UsersFailed = users(ri, 10)
			}
			cned := Row{Bucket: m, Platform: "cned", Service: "cned-classe-virtuelle", Region: region,
				OK: 60, LatValues: []float64{300, 600}, LatCounts: []uint64{50, 10}, Users: users(10+ri, 30)}
			if inside(6, 0, 8, 0) {
				cned.OK, cned.Timeouts = 500, 100
				cned.LatValues, cned.LatCounts = []float64{2000, 8000}, []uint64{100, 400}
				cned.UsersFailed = users(10+ri, 5)
			}
			rows = append(rows, ent, cned)
		}
	}
	return rows
}

// users are n pseudonyms of population p, the same every minute.
func users(p, n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = uint64(p)*1_000_000 + uint64(i) + 1
	}
	return out
}

// DB names a test database after the test, unique in the process.
func DB(t testing.TB) string {
	mu.Lock()
	defer mu.Unlock()
	seq++
	return fmt.Sprintf("t%d_%d", seq, os.Getpid()%1000)
}

var seq int
