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
	"syscall"
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
	// Up to date (the common start): nothing is written, no lock is taken,
	// so a start killed here leaves nothing behind and a full disk is not
	// touched.
	done, err := applied(ctx, wh, opt)
	if err != nil {
		return nil, err
	}
	ttl, err := ttlChanges(ctx, wh, opt)
	if err != nil {
		return nil, err
	}
	if len(pending(migs, done)) == 0 && len(ttl) == 0 {
		return nil, checksums(migs, done)
	}
	unlock, err := lock(ctx, wh, opt)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if done, err = applied(ctx, wh, opt); err != nil { // another process may have migrated meanwhile
		return nil, err
	}
	if err := checksums(migs, done); err != nil {
		return nil, err
	}
	var changed []string
	for _, m := range pending(migs, done) {
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
	retention, err := reconcileTTL(ctx, wh, opt)
	return append(changed, retention...), err
}

// applied reads the versions recorded in schema_migrations, with checksums.
func applied(ctx context.Context, wh warehouse.Warehouse, opt MigrateOptions) (map[uint64]string, error) {
	res, err := wh.Query(ctx, "SELECT version, checksum FROM "+opt.Database+".schema_migrations FINAL", nil)
	if err != nil {
		return nil, fmt.Errorf("migrate: read applied versions: %w", err)
	}
	done := map[uint64]string{}
	for _, r := range res.Rows {
		done[warehouse.AsUint(r[0])] = warehouse.AsString(r[1])
	}
	return done, nil
}

// pending are the migrations not applied yet, in order.
func pending(migs []Migration, done map[uint64]string) []Migration {
	var out []Migration
	for _, m := range migs {
		if _, ok := done[uint64(m.Version)]; !ok {
			out = append(out, m)
		}
	}
	return out
}

// checksums refuses a migration whose file changed after it was applied.
func checksums(migs []Migration, done map[uint64]string) error {
	for _, m := range migs {
		if sum, ok := done[uint64(m.Version)]; ok && sum != m.Checksum {
			return fmt.Errorf("migrate: %s.sql changed after it was applied (checksum %s, now %s): add a new migration instead", m.Name, sum, m.Checksum)
		}
	}
	return nil
}

// lock takes the migration lock and returns its release. A lock left by a
// process that died is broken at once when that can be known (its pid is
// gone on this host; on chDB, whose data dir only one process can open,
// any other process), otherwise when its holder stopped beating for
// staleLock: the holder rewrites its beat every lockBeat while it holds.
func lock(ctx context.Context, wh warehouse.Warehouse, opt MigrateOptions) (func(), error) {
	table := opt.Database + ".schema_lock"
	me := lockOwner{host: hostname(), pid: os.Getpid()}
	deadline := time.Now().Add(opt.LockTimeout)
	wait := 20 * time.Millisecond
	for {
		err := wh.Exec(ctx, "ALTER TABLE "+table+" ADD COLUMN lock UInt8 COMMENT "+warehouse.QuoteString(me.at(time.Now())), nil)
		if err == nil {
			beatCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
			done := make(chan struct{})
			go func() { // the lease: a holder that stops beating is dead
				defer close(done)
				for sleepCtx(beatCtx, lockBeat) {
					_ = wh.Exec(beatCtx, "ALTER TABLE "+table+" COMMENT COLUMN lock "+warehouse.QuoteString(me.at(time.Now())), nil)
				}
			}()
			return func() {
				stop()
				<-done
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
		if why := stale(holder, me, wh.Driver()); why != "" {
			_ = wh.Exec(ctx, "ALTER TABLE "+table+" DROP COLUMN IF EXISTS lock", nil)
			continue
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("migrate: lock on %s held by %s for longer than %v", table, holder, opt.LockTimeout)
		}
		if !sleepCtx(ctx, wait) {
			return nil, ctx.Err()
		}
		wait = min(wait*2, time.Second)
	}
}

// lockBeat is how often a holder renews its lock; staleLock is when a lock
// whose holder stopped renewing is broken.
const (
	lockBeat  = 5 * time.Second
	staleLock = 30 * time.Second
)

// lockOwner names a lock's holder: "<host> pid <pid> at <RFC 3339 time>".
type lockOwner struct {
	host string
	pid  int
	beat time.Time
}

func (o lockOwner) at(t time.Time) string {
	return fmt.Sprintf("%s pid %d at %s", o.host, o.pid, t.UTC().Format(time.RFC3339))
}

var ownerRE = regexp.MustCompile(`^(.*) pid (\d+) at (\S+)$`)

func parseOwner(s string) (lockOwner, bool) {
	m := ownerRE.FindStringSubmatch(s)
	if m == nil {
		return lockOwner{}, false
	}
	pid, _ := strconv.Atoi(m[2])
	t, err := time.Parse(time.RFC3339, m[3])
	return lockOwner{host: m[1], pid: pid, beat: t}, err == nil
}

// stale says why holder's lock can be broken, or "" when it is live.
func stale(holder string, me lockOwner, driver string) string {
	o, ok := parseOwner(holder)
	switch {
	case !ok:
		return "" // not ours to judge: wait for the timeout
	case o.host == me.host && o.pid == me.pid:
		return "" // another goroutine of this process
	case driver == "chdb":
		return "chDB's data dir is this process's alone: the holder is gone"
	case o.host == me.host && !alive(o.pid):
		return fmt.Sprintf("pid %d is gone", o.pid)
	case time.Since(o.beat) > staleLock:
		return fmt.Sprintf("no beat since %s", o.beat.Format(time.RFC3339))
	}
	return ""
}

// alive reports whether process pid exists on this host.
func alive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	return p.Signal(syscall.Signal(0)) == nil
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

func lockHolder(ctx context.Context, wh warehouse.Warehouse, opt MigrateOptions) string {
	res, err := wh.Query(ctx, "SELECT comment FROM system.columns WHERE database = "+warehouse.QuoteString(opt.Database)+
		" AND table = 'schema_lock' AND name = 'lock'", nil)
	if err != nil || len(res.Rows) == 0 {
		return "another process"
	}
	return warehouse.AsString(res.Rows[0][0])
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

// ttlChange is one table whose TTL differs from the configured retention.
type ttlChange struct {
	table      string
	have, want int
}

// ttlChanges lists the tables created with another retention than the
// configured one.
func ttlChanges(ctx context.Context, wh warehouse.Warehouse, opt MigrateOptions) ([]ttlChange, error) {
	res, err := wh.Query(ctx, "SELECT name, engine_full FROM system.tables WHERE database = "+warehouse.QuoteString(opt.Database), nil)
	if err != nil {
		return nil, fmt.Errorf("migrate: read TTLs: %w", err)
	}
	current := map[string]string{}
	for _, r := range res.Rows {
		current[warehouse.AsString(r[0])] = warehouse.AsString(r[1])
	}
	var out []ttlChange
	for _, rt := range retentionTables {
		engine, ok := current[rt.table]
		if !ok {
			continue
		}
		c := ttlChange{table: rt.table, have: -1, want: days(rt.pick(opt.Retention))}
		if m := ttlRE.FindStringSubmatch(engine); m != nil {
			c.have, _ = strconv.Atoi(m[1])
		}
		if c.have != c.want {
			out = append(out, c)
		}
	}
	return out, nil
}

// reconcileTTL sets each table's TTL to the configured retention when the
// table was created with another one. MODIFY TTL recomputes existing parts
// (materialize_ttl_after_modify=1), so shortening retention deletes at once.
func reconcileTTL(ctx context.Context, wh warehouse.Warehouse, opt MigrateOptions) ([]string, error) {
	todo, err := ttlChanges(ctx, wh, opt)
	if err != nil {
		return nil, err
	}
	var changed []string
	for _, c := range todo {
		stmt, err := ModifyTTL(opt, c.table, c.want)
		if err != nil {
			return changed, err
		}
		if err := wh.Exec(ctx, stmt, nil); err != nil {
			return changed, fmt.Errorf("migrate: retention of %s: %w", c.table, err)
		}
		changed = append(changed, fmt.Sprintf("retention %s: %d -> %d days", c.table, c.have, c.want))
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
