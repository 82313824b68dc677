// Package sandboxtest holds the attack table the ad-hoc SQL sandbox is
// tested with, and the witnesses that show an attack left no trace: a
// canary file that must be neither read nor changed, a directory where no
// file may appear, and a loopback listener that must see no connection.
// The sandbox's own tests, the SQL endpoint's and `vigie query`'s run the
// same table. It is test support, not part of the product.
package sandboxtest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// Attack is one hostile statement, named for what it tries.
type Attack struct {
	Name string
	SQL  string
}

// Witness is what an attack could touch: a canary file with a secret in it,
// a directory to write into, and a listener for outgoing connections.
type Witness struct {
	Dir    string // holds the canary; no other file may appear in it
	Canary string // path of the canary file
	Secret string // the canary's content, which no answer may contain
	Addr   string // host:port of the listener
	conns  atomic.Int64
	ln     net.Listener
}

// NewWitness makes the canary (mode 0600, like the data dir's keys) and
// starts the listener; both are removed when t ends.
func NewWitness(t testing.TB) *Witness {
	t.Helper()
	w := &Witness{Dir: t.TempDir(), Secret: fmt.Sprintf("canary-%d-do-not-leak", time.Now().UnixNano())}
	w.Canary = filepath.Join(w.Dir, "hmac.key")
	if err := os.WriteFile(w.Canary, []byte(w.Secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.ln, w.Addr = ln, ln.Addr().String()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			w.conns.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return w
}

// Check fails t when the canary changed, a file appeared beside it, the
// listener saw a connection, or answer holds the secret.
func (w *Witness) Check(t testing.TB, answer []byte) {
	t.Helper()
	b, err := os.ReadFile(w.Canary)
	if err != nil || string(b) != w.Secret+"\n" {
		t.Errorf("the canary changed: %q, %v", b, err)
	}
	entries, _ := os.ReadDir(w.Dir)
	if len(entries) != 1 {
		names := make([]string, len(entries))
		for i, e := range entries {
			names[i] = e.Name()
		}
		t.Errorf("files beside the canary: %v, want only hmac.key", names)
	}
	if n := w.conns.Load(); n != 0 {
		t.Errorf("the listener saw %d connections", n)
	}
	if bytes.Contains(answer, []byte(w.Secret)) {
		t.Errorf("the answer holds the canary's secret: %s", answer)
	}
}

// Attacks is the table: one statement per class of attack found on the
// engine (read a file, write a file, reach the network or start a process,
// read paths or secrets from system tables, lift limits with SETTINGS, stop
// other queries, change the server), each in its variants (case, comments,
// nesting in subqueries, CTEs, UNION, IN, JOIN, several statements). db is
// Vigie's database in the test.
func (w *Witness) Attacks(db string) []Attack {
	f := w.Canary
	out := filepath.Join(w.Dir, "written")
	url := "http://" + w.Addr + "/x"
	a := []Attack{
		// Read a file.
		{"file() at the top", fmt.Sprintf("SELECT * FROM file('%s', 'RawBLOB')", f)},
		{"file() in a subquery lifting readonly", fmt.Sprintf("SELECT * FROM (SELECT * FROM file('%s', 'RawBLOB') SETTINGS readonly = 0)", f)},
		{"file() in a CTE", fmt.Sprintf("WITH k AS (SELECT * FROM file('%s', 'RawBLOB') SETTINGS readonly=0) SELECT * FROM k", f)},
		{"file() in a UNION", fmt.Sprintf("SELECT 'x' UNION ALL SELECT * FROM file('%s', 'RawBLOB')", f)},
		{"file() in IN", fmt.Sprintf("SELECT 1 WHERE 'x' IN (SELECT * FROM file('%s', 'RawBLOB'))", f)},
		{"file() in a JOIN", fmt.Sprintf("SELECT * FROM %s.t AS a JOIN (SELECT * FROM file('%s', 'RawBLOB')) AS b ON 1", db, f)},
		{"file() in upper case", fmt.Sprintf("select * from FILE('%s', 'RawBLOB')", f)},
		{"file() with comments between the tokens", fmt.Sprintf("SELECT * FROM/* x */file /* y */( '%s', -- z\n 'RawBLOB')", f)},
		{"file() as a backquoted name", fmt.Sprintf("SELECT * FROM `file`('%s', 'RawBLOB')", f)},
		{"the file() function", fmt.Sprintf("SELECT file('%s')", f)},
		{"file() in a scalar subquery", fmt.Sprintf("SELECT (SELECT file('%s'))", f)},
		{"file() deep in nested subqueries", fmt.Sprintf("SELECT * FROM (SELECT * FROM (SELECT * FROM (SELECT * FROM file('%s', 'RawBLOB'))))", f)},
		{"file() in a lambda", fmt.Sprintf("SELECT arrayMap(x -> file(x), ['%s'])", f)},
		{"/proc/self/environ", "SELECT * FROM file('/proc/self/environ', 'RawBLOB')"},
		{"DESCRIBE of a file", fmt.Sprintf("DESCRIBE TABLE file('%s', 'RawBLOB')", f)},
		{"EXPLAIN of a file read", fmt.Sprintf("EXPLAIN PLAN SELECT * FROM file('%s', 'RawBLOB')", f)},
		{"a file via view()", fmt.Sprintf("SELECT * FROM view(SELECT * FROM file('%s', 'RawBLOB'))", f)},
		// Write a file.
		{"INTO OUTFILE", fmt.Sprintf("SELECT 'x' INTO OUTFILE '%s' TRUNCATE FORMAT RawBLOB", f)},
		{"INTO OUTFILE to a new file", fmt.Sprintf("SELECT 'x' INTO OUTFILE '%s'", out)},
		{"INTO OUTFILE after a UNION", fmt.Sprintf("SELECT 1 UNION ALL SELECT 2 INTO OUTFILE '%s'", out)},
		{"SHOW TABLES INTO OUTFILE", fmt.Sprintf("SHOW TABLES INTO OUTFILE '%s'", out)},
		{"DESCRIBE INTO OUTFILE", fmt.Sprintf("DESCRIBE %s.t INTO OUTFILE '%s'", db, out)},
		{"EXPLAIN INTO OUTFILE", fmt.Sprintf("EXPLAIN SELECT 1 INTO OUTFILE '%s'", out)},
		{"INSERT INTO FUNCTION file", fmt.Sprintf("INSERT INTO FUNCTION file('%s', 'RawBLOB') SELECT 'x'", out)},
		{"sqlite() creates files", fmt.Sprintf("SELECT * FROM sqlite('%s', 't')", out)},
		// Network and processes.
		{"url()", fmt.Sprintf("SELECT * FROM url('%s', 'RawBLOB')", url)},
		{"url() in a subquery", fmt.Sprintf("SELECT count() FROM (SELECT * FROM url('%s', 'CSV', 'a String') SETTINGS readonly = 0)", url)},
		{"remote()", fmt.Sprintf("SELECT * FROM remote('%s', system.one)", w.Addr)},
		{"remoteSecure()", fmt.Sprintf("SELECT * FROM remoteSecure('%s', system.one)", w.Addr)},
		{"cluster()", "SELECT * FROM cluster('default', system.one)"},
		{"mysql()", fmt.Sprintf("SELECT * FROM mysql('%s', 'db', 't', 'u', 'p')", w.Addr)},
		{"postgresql()", fmt.Sprintf("SELECT * FROM postgresql('%s', 'db', 't', 'u', 'p')", w.Addr)},
		{"s3()", fmt.Sprintf("SELECT * FROM s3('%s', 'CSV', 'a String')", url)},
		{"hdfs()", fmt.Sprintf("SELECT * FROM hdfs('hdfs://%s/x', 'CSV', 'a String')", w.Addr)},
		{"mongodb()", fmt.Sprintf("SELECT * FROM mongodb('%s', 'db', 'c', 'u', 'p', 'a String')", w.Addr)},
		{"redis()", fmt.Sprintf("SELECT * FROM redis('%s', 'k', 'k String, v String')", w.Addr)},
		{"odbc()", "SELECT * FROM odbc('DSN=x', 'db', 't')"},
		{"jdbc()", "SELECT * FROM jdbc('jdbc:mysql://localhost/db', 't')"},
		{"executable()", "SELECT * FROM executable('id', 'TSV', 'a String')"},
		{"input()", "SELECT * FROM input('a String')"},
		{"merge() over other databases", "SELECT * FROM merge('system', '.*')"},
		{"url() in upper case through a JOIN", fmt.Sprintf("SELECT * FROM system.one AS a LEFT JOIN URL('%s', 'CSV', 'a String') AS b ON 1", url)},
		{"a dictionary", "SELECT dictGet('d', 'v', toUInt64(1))"},
		{"dictionary() table function", "SELECT * FROM dictionary('d')"},
		{"joinGet", "SELECT joinGet('system.one', 'dummy', 0)"},
		// System tables that leak paths or secrets.
		{"system.disks", "SELECT path FROM system.disks"},
		{"system.disks in upper case and quotes", "SELECT * FROM `SYSTEM`.\"DISKS\""},
		{"system.databases", "SELECT data_path FROM system.databases"},
		{"system.tables", "SELECT data_paths FROM system.tables"},
		{"system.settings", "SELECT * FROM system.settings"},
		{"system.processes", "SELECT query FROM system.processes"},
		{"system.query_log", "SELECT query FROM system.query_log"},
		{"system.disks in IN", "SELECT 1 WHERE 'x' IN system.disks"},
		{"system.disks in a CTE", "WITH d AS (SELECT * FROM system.disks) SELECT * FROM d"},
		{"information_schema", "SELECT * FROM information_schema.tables"},
		{"another database", "SELECT * FROM default.t"},
		{"SHOW CREATE of a system table", "SHOW CREATE TABLE system.disks"},
		{"SHOW PROCESSLIST", "SHOW PROCESSLIST"},
		{"SHOW GRANTS", "SHOW GRANTS"},
		{"SHOW SETTINGS", "SHOW SETTINGS LIKE '%path%'"},
		// SETTINGS anywhere.
		{"SETTINGS at the top", "SELECT 1 SETTINGS readonly = 0"},
		{"SETTINGS lifting the memory limit", "SELECT 1 SETTINGS max_memory_usage = 0"},
		{"SETTINGS in a subquery", "SELECT * FROM (SELECT 1 SETTINGS max_execution_time = 0)"},
		{"SETTINGS in a CTE", "WITH x AS (SELECT 1 SETTINGS max_threads = 64) SELECT * FROM x"},
		{"SETTINGS in a UNION", "SELECT 1 UNION ALL (SELECT 2 SETTINGS max_result_rows = 0)"},
		{"SETTINGS in IN", "SELECT 1 WHERE 1 IN (SELECT 1 SETTINGS readonly = 0)"},
		{"SETTINGS in a JOIN", "SELECT * FROM system.one AS a JOIN (SELECT 0 AS dummy SETTINGS readonly = 0) AS b USING dummy"},
		{"EXPLAIN options", "EXPLAIN PIPELINE graph = 1 SELECT 1"},
		{"SET", "SET readonly = 0"},
		{"FORMAT", "SELECT 1 FORMAT JSON"},
		{"FORMAT Template reading a file", fmt.Sprintf("SELECT 1 FORMAT Template SETTINGS format_template_resultset = '%s'", f)},
		// Stopping or changing the server.
		{"KILL QUERY", "KILL QUERY WHERE 1"},
		{"KILL QUERY in lower case with a comment", "kill /* all */ query where user = 'default' SYNC"},
		{"KILL MUTATION", "KILL MUTATION WHERE 1"},
		{"SYSTEM", "SYSTEM SHUTDOWN"},
		{"SYSTEM RELOAD", "SYSTEM RELOAD DICTIONARIES"},
		{"INSERT", fmt.Sprintf("INSERT INTO %s.t VALUES (1, 'x')", db)},
		{"CREATE", fmt.Sprintf("CREATE TABLE %s.evil (a UInt8) ENGINE = Memory", db)},
		{"DROP", fmt.Sprintf("DROP TABLE %s.t", db)},
		{"ALTER", fmt.Sprintf("ALTER TABLE %s.t DELETE WHERE 1", db)},
		{"TRUNCATE", fmt.Sprintf("TRUNCATE TABLE %s.t", db)},
		{"OPTIMIZE", fmt.Sprintf("OPTIMIZE TABLE %s.t FINAL", db)},
		{"ATTACH", fmt.Sprintf("ATTACH TABLE %s.x FROM '%s' (a String) ENGINE = File(RawBLOB)", db, f)},
		{"CREATE USER", "CREATE USER evil IDENTIFIED BY 'x'"},
		{"GRANT", "GRANT ALL ON *.* TO default"},
		{"USE", "USE system"},
		{"BACKUP", fmt.Sprintf("BACKUP DATABASE %s TO File('%s')", db, out)},
		// Several statements.
		{"two statements", fmt.Sprintf("SELECT 1; SELECT * FROM file('%s', 'RawBLOB')", f)},
		{"two statements after a comment", fmt.Sprintf("SELECT 1 -- x\n; INSERT INTO FUNCTION file('%s', 'RawBLOB') SELECT 'x'", out)},
		{"a statement hidden after a string", fmt.Sprintf("SELECT ';'; SELECT 'x' INTO OUTFILE '%s'", out)},
		{"file() through APPLY", fmt.Sprintf("SELECT * APPLY(file) FROM values('p String', ('%s'))", f)},
		{"file() through APPLY and a lambda", fmt.Sprintf("SELECT COLUMNS('p') APPLY(x -> file(x)) FROM values('p String', ('%s'))", f)},
		{"file() through REPLACE", fmt.Sprintf("SELECT * REPLACE(file(p) AS p) FROM values('p String', ('%s'))", f)},
		{"file() in a window frame", fmt.Sprintf("SELECT sum(number) OVER (ORDER BY number ROWS BETWEEN length(file('%s')) PRECEDING AND CURRENT ROW) FROM numbers(2)", f)},
		{"file() in WITH FILL INTERPOLATE", fmt.Sprintf("SELECT number AS n, '' AS s FROM numbers(2) ORDER BY n WITH FILL INTERPOLATE (s AS file('%s'))", f)},
		{"file() in an aggregate's parameters", fmt.Sprintf("SELECT quantile(length(file('%s')) / 100)(number) FROM numbers(2)", f)},
		{"file() in SHOW COLUMNS … WHERE", fmt.Sprintf("SHOW COLUMNS FROM %s.t WHERE substring(file('%s'), 1, 1) = 'c'", db, f)},
		{"file() in SHOW TABLES … WHERE", fmt.Sprintf("SHOW TABLES WHERE substring(file('%s'), 1, 1) = 'c'", f)},
		{"file() in SHOW DATABASES … LIMIT", fmt.Sprintf("SHOW DATABASES LIMIT length(file('%s'))", f)},
		{"SHOW TABLES of another database", "SHOW TABLES FROM information_schema"},
		// Other forms.
		{"PARALLEL WITH", fmt.Sprintf("SELECT 1 PARALLEL WITH SELECT * FROM file('%s', 'RawBLOB')", f)},
		{"EXPLAIN of an INSERT", fmt.Sprintf("EXPLAIN AST INSERT INTO FUNCTION file('%s', 'RawBLOB') SELECT 'x'", out)},
		{"EXISTS on a system table", "EXISTS TABLE system.disks"},
		{"a backquoted database.table name", "SELECT * FROM `system.disks`"},
		{"loop() over a table function", fmt.Sprintf("SELECT * FROM loop(file('%s', 'RawBLOB')) LIMIT 1", f)},
		{"a file read in LIMIT", fmt.Sprintf("SELECT 1 LIMIT (SELECT length(file('%s')))", f)},
		{"a query parameter", "SELECT {p:String}"},
		{"getSetting", "SELECT getSetting('max_memory_usage')"},
		{"a language model over the network", "SELECT aiGenerate('say hello')"},
		{"a language model in upper case", "SELECT AIClassify('x', ['a', 'b'])"},
		{"hasColumnInTable on another host", fmt.Sprintf("SELECT hasColumnInTable('%s', 'default', 'x', 'y')", w.Addr)},
		{"writing to the server's log", "SELECT logTrace('forged line')"},
		{"the embedded regions dictionaries", "SELECT regionToName(toUInt32(1))"},
		// Names that try to print lines into the engine's tree.
		{"an alias holding a line break and a forged node", fmt.Sprintf("SELECT 1 AS `a\n   Function numbers (children 1)` FROM file('%s', 'RawBLOB')", f)},
	}
	return a
}

// Ordinary is what an analyst writes, which must keep working: each
// statement and the number of rows it answers on the test table (rows 1..3
// of db.t(a UInt32, s String)).
func Ordinary(db string) []struct {
	SQL  string
	Rows int
} {
	return []struct {
		SQL  string
		Rows int
	}{
		{"SELECT 1", 1},
		{"-- comment first\nSELECT a, s FROM " + db + ".t ORDER BY a; -- and after\n", 3},
		{"select count() from t", 1},
		{"WITH x AS (SELECT a FROM t WHERE a > 1) SELECT * FROM x ORDER BY a", 2},
		{"SELECT a FROM " + db + ".t WHERE a IN (SELECT number FROM numbers(3)) UNION ALL SELECT 9", 3},
		{"SELECT t.a, o.dummy FROM t JOIN system.one AS o ON 1 = 1 ORDER BY t.a", 3},
		{"SELECT a, sum(a) OVER (ORDER BY a) AS `cumul (somme)`, s AS \"région\" FROM t ORDER BY a LIMIT 2", 2},
		{"SELECT toStartOfHour(toDateTime('2021-04-06 08:12:00')) AS h, format('{}-{}', 'a', 'b'), quantile(0.95)(number) FROM numbers(10) GROUP BY h", 1},
		{"SELECT * FROM values('x UInt8', (1), (2))", 2},
		{"SELECT number FROM system.numbers LIMIT 2", 2},
		{"SELECT name FROM system.columns WHERE database = '" + db + "' AND table = 't' ORDER BY name", 2},
		{"SHOW TABLES FROM " + db, 1},
		{"SHOW TABLES", 1},
		{"DESCRIBE TABLE " + db + ".t", 2},
		{"EXPLAIN SELECT count() FROM t", -1},
		{"EXISTS TABLE " + db + ".t", 1},
		{"SELECT 'a;b' AS s, 'SETTINGS' AS settings, 'file(' AS f", 1},
		{"SELECT arrayMap(x -> x * 2, [1, 2, 3])", 1},
		{"SELECT * FROM t WHERE s LIKE '%' || 'x' || '%' OR a BETWEEN 1 AND 2 ORDER BY a", 2},
		{"SELECT a, count() AS n, sumIf(a, a > 1), avgOrNull(a) FROM t GROUP BY ROLLUP(a) HAVING n > 0 ORDER BY a LIMIT 10 OFFSET 0", 4},
		{"SELECT a, s FROM t GROUP BY GROUPING SETS ((a), (s)) ORDER BY a, s", 6},
		{"SELECT * EXCEPT (s), COLUMNS('^s$') REPLACE (upper(s) AS s) FROM t PREWHERE a > 0 WHERE s != '' ORDER BY ALL LIMIT 1 BY a", 3},
		{"SELECT a, row_number() OVER w AS r FROM t WINDOW w AS (ORDER BY a DESC) QUALIFY r <= 2 ORDER BY a", 2},
		{"SELECT x.a, y.number FROM t AS x ANY LEFT JOIN numbers(5) AS y ON x.a = y.number ORDER BY x.a", 3},
		{"SELECT arrayJoin([1, 2]) AS j, (1, 'b').2, toDate('2021-04-06') - INTERVAL 1 DAY, now() > '2020-01-01'::DateTime, NULL IS NULL, 'ab' REGEXP 'a'", 2},
		{"SELECT number FROM numbers(10) ORDER BY number WITH FILL FROM 0 TO 12 LIMIT 3 WITH TIES", 3},
		{"SELECT DISTINCT a % 2 FROM t ORDER BY 1", 2},
		{"SELECT a FROM t WHERE a GLOBAL IN (SELECT 1) UNION DISTINCT SELECT 2 EXCEPT SELECT 3 INTERSECT SELECT 2", -1},
		{"SELECT * FROM generateRandom('x UInt8', 1) LIMIT 2", 2},
		{"SHOW CREATE TABLE t", 1},
		{"SHOW TABLES FROM " + db + " LIKE '%'", 1},
		{"SHOW TABLES FROM system LIKE 'zero%'", 2},
		{"SHOW DATABASES", -1},
		{"EXPLAIN SYNTAX SELECT a FROM t WHERE 1", -1},
		{"EXPLAIN ESTIMATE SELECT a FROM t", -1},
		{"DESCRIBE (SELECT 1 AS x)", 1},
	}
}
