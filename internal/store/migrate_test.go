package store

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/schemas"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// The cluster variant cannot run on chDB (no Keeper, no clusters), so its
// SQL is pinned as text; the single-node text is what the chDB tests run.
func TestRenderMatchesGoldenFiles(t *testing.T) {
	migs, err := LoadMigrations(schemas.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opt  MigrateOptions
	}{
		{"single", MigrateOptions{Database: "vigie"}},
		{"cluster", MigrateOptions{Database: "vigie", Cluster: "vigie_cluster",
			Retention: config.RetentionConfig{Raw: 30 * 24 * time.Hour, Minute: 7 * 24 * time.Hour, Hour: 365 * 24 * time.Hour}}},
	} {
		t.Run("the "+tc.name+" rendering is unchanged", func(t *testing.T) {
			var b strings.Builder
			for _, m := range append([]Migration{{Name: "bootstrap", SQL: bootstrap}}, migs...) {
				stmts, err := Render(m.SQL, tc.opt)
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range stmts {
					b.WriteString("-- " + m.Name + "\n" + s + "\n;\n")
				}
			}
			ttl, err := ModifyTTL(tc.opt, "events", 14)
			if err != nil {
				t.Fatal(err)
			}
			b.WriteString("-- retention\n" + ttl + "\n")
			golden(t, filepath.Join("testdata", tc.name+".golden"), b.String())
		})
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Fatalf("%s differs (go test -update rewrites it); got:\n%s", path, got)
	}
}

func TestClusterRenderingUsesReplicatedEnginesEverywhere(t *testing.T) {
	migs, err := LoadMigrations(schemas.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	opt := MigrateOptions{Database: "vigie", Cluster: "c1"}
	for _, m := range migs {
		stmts, err := Render(m.SQL, opt)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range stmts {
			if strings.HasPrefix(s, "CREATE") && !strings.Contains(s, "ON CLUSTER 'c1'") {
				t.Errorf("%s: statement without ON CLUSTER:\n%s", m.Name, s)
			}
			if strings.Contains(s, "non_replicated_deduplication_window") {
				t.Errorf("%s: non-replicated dedup setting left on a cluster:\n%s", m.Name, s)
			}
			for _, line := range strings.Split(s, "\n") {
				if strings.Contains(line, "ENGINE = ") && strings.Contains(line, "MergeTree") && !strings.Contains(line, "ENGINE = Replicated") {
					t.Errorf("%s: non-replicated engine: %s", m.Name, line)
				}
			}
		}
	}
}

func TestRenderRejectsBadInput(t *testing.T) {
	for _, tc := range []struct {
		name, sql string
		opt       MigrateOptions
		want      string
	}{
		{"an unknown placeholder is an error", "CREATE TABLE {db}.t {nope}", MigrateOptions{Database: "d"}, "unknown placeholder {nope}"},
		{"a database name with a quote is refused", "SELECT 1", MigrateOptions{Database: "d'; DROP"}, "must be letters"},
		{"a cluster name with a space is refused", "SELECT 1", MigrateOptions{Database: "d", Cluster: "a b"}, "must be letters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Render(tc.sql, tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestRenderSplitsAtSemicolonLinesAndDropsComments(t *testing.T) {
	got, err := Render("-- header naming {placeholders}\n;\nCREATE DATABASE {db}\n;\n  -- a comment\nSELECT ';' -- not a separator\n  ;  \n", MigrateOptions{Database: "d"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"CREATE DATABASE d", "SELECT ';' -- not a separator"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestLoadMigrationsOrdersByVersionAndRefusesDuplicates(t *testing.T) {
	fsys := fstest.MapFS{
		"0002_b.sql": {Data: []byte("SELECT 2")},
		"0001_a.sql": {Data: []byte("SELECT 1")},
		"README.md":  {Data: []byte("not a migration")},
	}
	migs, err := LoadMigrations(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if len(migs) != 2 || migs[0].Name != "0001_a" || migs[1].Version != 2 {
		t.Fatalf("got %+v", migs)
	}
	fsys["0002_c.sql"] = &fstest.MapFile{Data: []byte("SELECT 3")}
	if _, err := LoadMigrations(fsys); err == nil || !strings.Contains(err.Error(), "share version 2") {
		t.Fatalf("duplicate versions: %v", err)
	}
}

func TestWhenAMigrationLockIsStale(t *testing.T) {
	me := lockOwner{host: "vigie-1", pid: os.Getpid()}
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	at := func(d time.Duration) string { return time.Now().Add(d).UTC().Format(time.RFC3339) }
	for _, tc := range []struct {
		name, holder, driver string
		stale                bool
	}{
		{"this process's own goroutine is live", me.at(time.Now().Add(-time.Hour)), "clickhouse", false},
		{"a live process on this host that beats is live", fmt.Sprintf("vigie-1 pid 1 at %s", at(0)), "clickhouse", false},
		{"a gone process on this host is stale at once", fmt.Sprintf("vigie-1 pid %d at %s", gone.Process.Pid, at(0)), "clickhouse", true},
		{"another host beating is live", "vigie-2 pid 7 at " + at(-10*time.Second), "clickhouse", false},
		{"another host silent for a minute is stale", "vigie-2 pid 7 at " + at(-time.Minute), "clickhouse", true},
		{"on chDB any other process is gone (the data dir is ours alone)", "vigie-2 pid 7 at " + at(0), "chdb", true},
		{"a comment that is not ours is left to the timeout", "somebody", "chdb", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := stale(tc.holder, me, tc.driver) != ""; got != tc.stale {
				t.Errorf("stale(%q) = %v, want %v", tc.holder, got, tc.stale)
			}
		})
	}
}
