package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/warehouse"
	"github.com/vigie-fr/vigie/schemas"
)

// MigrateOptions says where and how to apply the DDL.
type MigrateOptions struct {
	// Database receives every table; letters, digits and _.
	Database string
	// Cluster, when set, renders ON CLUSTER '<Cluster>' and Replicated*
	// engines (server only; chDB has no clusters).
	Cluster string
	// Retention sets the TTLs, in whole days (the rule of
	// warehouse.retention.*, checked by config.Validate, not here); a zero
	// field takes the default of config.Default().
	Retention config.RetentionConfig
	// Migrations are NNNN_name.sql files; nil means schemas.Migrations().
	Migrations fs.FS
	// LockTimeout bounds the wait for another migrating process; 0 means 2 minutes.
	LockTimeout time.Duration
}

// Migration is one versioned DDL file.
type Migration struct {
	Version  int
	Name     string // file name without .sql, e.g. "0001_init"
	SQL      string
	Checksum string // of the file as written, before rendering
}

// dedupSeconds is how long a Replicated table remembers insert
// de-duplication tokens. 26.x defaults to one hour, shorter than an
// aggregator outage we want a replay to survive.
const dedupSeconds = 7 * 24 * 3600

// staleLock is when a migration lock left by a dead process is broken.
const staleLock = 10 * time.Minute

var fileRE = regexp.MustCompile(`^(\d{4})_[a-z0-9_]+\.sql$`)

// LoadMigrations reads every NNNN_name.sql at the root of fsys, sorted by
// version; two files with one version are an error.
func LoadMigrations(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []Migration
	seen := map[int]string{}
	for _, e := range entries {
		m := fileRE.FindStringSubmatch(e.Name())
		if e.IsDir() || m == nil {
			continue
		}
		v, _ := strconv.Atoi(m[1])
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share version %d", prev, e.Name(), v)
		}
		seen[v] = e.Name()
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		sum := sha256.Sum256(b)
		out = append(out, Migration{Version: v, Name: strings.TrimSuffix(e.Name(), ".sql"), SQL: string(b), Checksum: hex.EncodeToString(sum[:8])})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// withDefaults fills what was left zero. The names are checked even though
// config.Validate has checked warehouse.database and the cluster: Render
// pastes them into SQL, and that guard belongs where the SQL is written,
// whoever built the options.
func (o MigrateOptions) withDefaults() (MigrateOptions, error) {
	var errs []error
	if !warehouse.ValidIdent(o.Database) {
		errs = append(errs, fmt.Errorf("database %q must be letters, digits and _", o.Database))
	}
	if o.Cluster != "" && !warehouse.ValidIdent(o.Cluster) {
		errs = append(errs, fmt.Errorf("cluster %q must be letters, digits and _", o.Cluster))
	}
	def := config.Default().Warehouse.Retention
	for _, r := range []struct {
		d   *time.Duration
		def time.Duration
	}{{&o.Retention.Raw, def.Raw}, {&o.Retention.Minute, def.Minute}, {&o.Retention.Hour, def.Hour}} {
		if *r.d == 0 {
			*r.d = r.def
		}
	}
	if o.Migrations == nil {
		o.Migrations = schemas.Migrations()
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = 2 * time.Minute
	}
	return o, errors.Join(errs...)
}

func days(d time.Duration) int { return int(d / (24 * time.Hour)) }

var (
	placeholderRE = regexp.MustCompile(`\{[a-z_]+\}`)
	dedupRE       = regexp.MustCompile(`non_replicated_deduplication_window\s*=\s*(\d+)`)
)

// Render turns a migration's text into statements for opt: placeholders
// replaced, split at lines holding only ";", whole-line comments and empty
// pieces dropped.
// On a cluster, non_replicated_deduplication_window (plain MergeTree) becomes
// replicated_deduplication_window plus a seconds window (Replicated tables
// keep tokens by count and by age).
func Render(sql string, opt MigrateOptions) ([]string, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	// Whole-line comments go first: they explain the file, the engine does
	// not keep them, and placeholders named in them are not to be rendered.
	var kept []string
	for _, line := range strings.Split(sql, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "--") {
			kept = append(kept, line)
		}
	}
	sql = strings.Join(kept, "\n")
	onCluster, prefix := "", ""
	if opt.Cluster != "" {
		onCluster, prefix = "ON CLUSTER "+warehouse.QuoteString(opt.Cluster), "Replicated"
		sql = dedupRE.ReplaceAllString(sql, fmt.Sprintf("replicated_deduplication_window = $1, replicated_deduplication_window_seconds = %d", dedupSeconds))
	}
	sql = strings.NewReplacer(
		"{db}", opt.Database,
		"{on_cluster}", onCluster,
		"{engine_prefix}", prefix,
		"{ttl_raw}", strconv.Itoa(days(opt.Retention.Raw)),
		"{ttl_minute}", strconv.Itoa(days(opt.Retention.Minute)),
		"{ttl_hour}", strconv.Itoa(days(opt.Retention.Hour)),
	).Replace(sql)
	if p := placeholderRE.FindString(sql); p != "" {
		return nil, fmt.Errorf("unknown placeholder %s", p)
	}
	var out []string
	var cur []string
	flush := func() {
		if stmt := strings.TrimSpace(strings.Join(cur, "\n")); stmt != "" {
			out = append(out, stmt)
		}
		cur = cur[:0]
	}
	for _, line := range strings.Split(sql, "\n") {
		if strings.TrimSpace(line) == ";" {
			flush()
			continue
		}
		cur = append(cur, strings.TrimRight(line, " \t\r"))
	}
	flush()
	return out, nil
}

// bootstrap is what Migrate needs before any migration: the database, the
// record of applied versions (ReplacingMergeTree: a re-recorded version
// collapses) and the lock table.
const bootstrap = `CREATE DATABASE IF NOT EXISTS {db} {on_cluster}
;
CREATE TABLE IF NOT EXISTS {db}.schema_migrations {on_cluster}
(
    version    UInt32,
    name       String,
    checksum   String,
    applied_at DateTime64(3, 'UTC')
)
ENGINE = {engine_prefix}ReplacingMergeTree(applied_at)
ORDER BY version
;
-- The lock is a column: ALTER TABLE … ADD COLUMN is atomic and fails with
-- DUPLICATE_COLUMN while another process holds it (Uptrace's chmigrate
-- trick). Works on chDB and on a server; on a cluster the table is
-- Replicated, so the column is shared through Keeper.
CREATE TABLE IF NOT EXISTS {db}.schema_lock {on_cluster}
(
    id UInt8
)
ENGINE = {engine_prefix}MergeTree
ORDER BY tuple()
`

// Migrate applies the migrations not yet recorded in {db}.schema_migrations,
// in version order, then sets each table's TTL to opt.Retention when it
// differs. It returns what it changed, e.g. ["0001_init",
// "retention events: 90 -> 30 days"]; an empty list means the schema and
// the TTLs were already up to date.
//
// Two processes may run it at once: the second waits for the first's lock
// (at most opt.LockTimeout) and then finds nothing to do. On chDB only one
// process can open a data directory anyway, so the lock only orders
// goroutines of that process. A migration whose file changed after it was
// applied is an error: write a new one instead.
func Migrate(ctx context.Context, wh warehouse.Warehouse, opt MigrateOptions) ([]string, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	migs, err := LoadMigrations(opt.Migrations)
	if err != nil {
		return nil, err
	}
	boot, err := Render(bootstrap, opt)
	if err != nil {
		return nil, err
	}
	for _, stmt := range boot {
		if err := wh.Exec(ctx, stmt, nil); err != nil {
			return nil, fmt.Errorf("migrate: bootstrap: %w", err)
		}
	}
	unlock, err := lock(ctx, wh, opt)
	if err != nil {
		return nil, err
	}
	defer unlock()

	res, err := wh.Query(ctx, "SELECT version, checksum FROM "+opt.Database+".schema_migrations FINAL", nil)
	if err != nil {
		return nil, fmt.Errorf("migrate: read applied versions: %w", err)
	}
	done := map[uint64]string{}
	for _, r := range res.Rows {
		v, _ := r[0].(uint64)
		s, _ := r[1].(string)
		done[v] = s
	}
	var changed []string
	for _, m := range migs {
		if sum, ok := done[uint64(m.Version)]; ok {
			if sum != m.Checksum {
				return changed, fmt.Errorf("migrate: %s.sql changed after it was applied (checksum %s, now %s): add a new migration instead", m.Name, sum, m.Checksum)
			}
			continue
		}
		stmts, err := Render(m.SQL, opt)
		if err != nil {
			return changed, fmt.Errorf("migrate %s: %w", m.Name, err)
		}
		for i, stmt := range stmts {
			if err := wh.Exec(ctx, stmt, nil); err != nil {
				return changed, fmt.Errorf("migrate %s: statement %d: %w\n%s", m.Name, i+1, err, stmt)
			}
		}
		err = wh.Insert(ctx, &warehouse.Batch{
			Table:   opt.Database + ".schema_migrations",
			Columns: []string{"version", "name", "checksum", "applied_at"},
			Rows:    [][]any{{uint32(m.Version), m.Name, m.Checksum, time.Now().UTC().Truncate(time.Millisecond)}},
		}, nil)
		if err != nil {
			return changed, fmt.Errorf("migrate %s: record: %w", m.Name, err)
		}
		changed = append(changed, m.Name)
	}
	ttl, err := reconcileTTL(ctx, wh, opt)
	return append(changed, ttl...), err
}

// lock takes the migration lock, breaking one older than staleLock (left
// by a process that died), and returns its release.
func lock(ctx context.Context, wh warehouse.Warehouse, opt MigrateOptions) (func(), error) {
	table := opt.Database + ".schema_lock"
	host, _ := os.Hostname()
	owner := fmt.Sprintf("%s pid %d at %s", host, os.Getpid(), time.Now().UTC().Format(time.RFC3339))
	deadline := time.Now().Add(opt.LockTimeout)
	wait := 20 * time.Millisecond
	for {
		err := wh.Exec(ctx, "ALTER TABLE "+table+" ADD COLUMN lock UInt8 COMMENT "+warehouse.QuoteString(owner), nil)
		if err == nil {
			return func() {
				// Released even when ctx is done: a held lock blocks the next run.
				c, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
				defer cancel()
				_ = wh.Exec(c, "ALTER TABLE "+table+" DROP COLUMN IF EXISTS lock", nil)
			}, nil
		}
		if warehouse.Code(err) != warehouse.CodeDuplicateColumn {
			return nil, fmt.Errorf("migrate: take lock: %w", err)
		}
		holder := lockHolder(ctx, wh, opt)
		if at, ok := lockTime(holder); ok && time.Since(at) > staleLock {
			_ = wh.Exec(ctx, "ALTER TABLE "+table+" DROP COLUMN IF EXISTS lock", nil)
			continue
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("migrate: lock on %s held by %s for longer than %v", table, holder, opt.LockTimeout)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, time.Second)
	}
}

func lockHolder(ctx context.Context, wh warehouse.Warehouse, opt MigrateOptions) string {
	res, err := wh.Query(ctx, "SELECT comment FROM system.columns WHERE database = "+warehouse.QuoteString(opt.Database)+
		" AND table = 'schema_lock' AND name = 'lock'", nil)
	if err != nil || len(res.Rows) == 0 {
		return "another process"
	}
	s, _ := res.Rows[0][0].(string)
	return s
}

func lockTime(holder string) (time.Time, bool) {
	i := strings.LastIndex(holder, " at ")
	if i < 0 {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, holder[i+4:])
	return t, err == nil
}

// RetentionTables maps each table with a TTL to its retention setting.
var retentionTables = []struct {
	table string
	pick  func(config.RetentionConfig) time.Duration
}{
	{"events", func(r config.RetentionConfig) time.Duration { return r.Raw }},
	{"agg_minute", func(r config.RetentionConfig) time.Duration { return r.Minute }},
	{"agg_hour", func(r config.RetentionConfig) time.Duration { return r.Hour }},
}

var ttlRE = regexp.MustCompile(`TTL received_at \+ toIntervalDay\((\d+)\)`)

// reconcileTTL sets each table's TTL to the configured retention when the
// table was created with another one. MODIFY TTL recomputes existing parts
// (materialize_ttl_after_modify=1), so shortening retention deletes at once.
func reconcileTTL(ctx context.Context, wh warehouse.Warehouse, opt MigrateOptions) ([]string, error) {
	res, err := wh.Query(ctx, "SELECT name, engine_full FROM system.tables WHERE database = "+warehouse.QuoteString(opt.Database), nil)
	if err != nil {
		return nil, fmt.Errorf("migrate: read TTLs: %w", err)
	}
	current := map[string]string{}
	for _, r := range res.Rows {
		current[r[0].(string)] = r[1].(string)
	}
	var changed []string
	for _, rt := range retentionTables {
		engine, ok := current[rt.table]
		if !ok {
			continue
		}
		want := days(rt.pick(opt.Retention))
		have := -1
		if m := ttlRE.FindStringSubmatch(engine); m != nil {
			have, _ = strconv.Atoi(m[1])
		}
		if have == want {
			continue
		}
		stmt, err := ModifyTTL(opt, rt.table, want)
		if err != nil {
			return changed, err
		}
		if err := wh.Exec(ctx, stmt, nil); err != nil {
			return changed, fmt.Errorf("migrate: retention of %s: %w", rt.table, err)
		}
		changed = append(changed, fmt.Sprintf("retention %s: %d -> %d days", rt.table, have, want))
	}
	return changed, nil
}

// ModifyTTL renders the ALTER that sets table's retention to days.
func ModifyTTL(opt MigrateOptions, table string, days int) (string, error) {
	if !warehouse.ValidIdent(table) {
		return "", fmt.Errorf("table %q is not an identifier", table)
	}
	out, err := Render("ALTER TABLE {db}."+table+" {on_cluster} MODIFY TTL received_at + INTERVAL "+strconv.Itoa(days)+" DAY", opt)
	if err != nil {
		return "", err
	}
	return strings.Join(strings.Fields(out[0]), " "), nil
}
