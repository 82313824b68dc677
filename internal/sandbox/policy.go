package sandbox

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// ErrRefused is wrapped by every refusal of the allow-list: the statement
// was parsed by the engine and is not one ad-hoc SQL may run. The SQL
// endpoint answers it with 403.
var ErrRefused = errors.New("refused by the SQL sandbox")

// Refusal says what in the statement the allow-list refused.
type Refusal struct{ Reason string }

func (r *Refusal) Error() string { return "refused: " + r.Reason }

// Is makes errors.Is(err, ErrRefused) true.
func (r *Refusal) Is(target error) bool { return target == ErrRefused }

func refuse(format string, args ...any) error {
	return &Refusal{Reason: fmt.Sprintf(format, args...)}
}

// Policy is the allow-list a statement's tree is walked against.
type Policy struct {
	// Database is Vigie's database: its tables may be read, qualified or
	// not (ad-hoc sessions have it as their current database, so an
	// unqualified name is one of its tables or a WITH name).
	Database string
}

// SystemTables are the system tables ad-hoc SQL may read: constants,
// generators and catalogues of what the engine can do. Every other system
// table is refused: system.disks, system.databases and system.tables give
// paths on disk, system.settings and the logs tell about the process and
// other users' statements, system.processes lists running queries.
var SystemTables = []string{
	"one", "numbers", "numbers_mt", "zeros", "zeros_mt",
	"columns", "functions", "data_type_families", "time_zones",
}

// Generators are the table functions ad-hoc SQL may call: each makes rows
// from its arguments alone, without touching a file, a table, the network or
// a process. Every other table function is refused (file, url, remote,
// mysql, postgresql, s3, hdfs, mongodb, redis, odbc, jdbc, sqlite,
// executable, input, merge, cluster, dictionary…).
var Generators = []string{
	"numbers", "numbers_mt", "zeros", "zeros_mt", "values", "generaterandom",
	"generate_series", "generateseries", "null",
}

// deniedFunctions are ordinary functions that reach outside the query's
// own data: a file, a dictionary (whose source may be a URL, a database or a
// process), the embedded regions dictionaries (files from the server's
// configuration), a Join table, a model file or a library bridge, a language
// model over the network (ai*), another server (hasColumnInTable takes a
// host), the server's log, configuration or disks, Keeper. Matched on the
// lower-cased name; deniedPrefixes cover families. The engine's
// system.functions files most of them under the categories Other, AI,
// Dictionary, Embedded Dictionary, Introspection and Internal, which were
// read through for this list (chDB 26.7).
var (
	deniedFunctions = []string{
		"file", "joinget", "joingetornull", "catboostevaluate", "modelevaluate",
		"getmacro", "getsetting", "getsettingordefault", "getserversetting", "getmergetreesetting",
		"filesystemavailable", "filesystemcapacity", "filesystemunreserved",
		"generateserialid", "showcertificate", "naivebayesclassifier", "naivebayesclassifierwithprob",
		"naivebayesclassifierwithallprobs", "hascolumnintable", "logtrace", "regionin", "regionhierarchy",
		"url", "remote", "input", "s3", "hdfs", "mysql", "postgresql", "odbc", "jdbc", "sqlite",
		"executable", "mongodb", "redis", "azureblobstorage", "gcs", "iceberg", "deltalake", "hudi",
	}
	deniedPrefixes = []string{"dict", "__", "addressto", "demangle", "ai", "regionto"}
)

// inFunctions take a table name as their second argument (x IN t).
var inFunctions = []string{"in", "notin", "globalin", "globalnotin", "nullin", "notnullin", "globalnullin", "globalnotnullin"}

// explainKinds are the EXPLAIN forms allowed: they describe a query
// without running it (ESTIMATE reads only part metadata).
var explainKinds = []string{"EXPLAIN", "EXPLAIN AST", "EXPLAIN SYNTAX", "EXPLAIN PLAN", "EXPLAIN PIPELINE", "EXPLAIN QUERY TREE", "EXPLAIN ESTIMATE"}

// exprTypes are the nodes of expressions and SELECT clauses that do
// nothing by themselves; their children are checked in turn.
var exprTypes = []string{
	"ExpressionList", "SelectQuery", "SelectIntersectExceptQuery", "Subquery", "WithElement",
	"Asterisk", "QualifiedAsterisk", "ColumnsRegexpMatcher", "QualifiedColumnsRegexpMatcher",
	"ColumnsListMatcher", "QualifiedColumnsListMatcher", "ColumnsTransformerList",
	"ColumnsExceptTransformer", "ColumnsReplaceTransformer",
	"ColumnsReplaceTransformer::Replacement",
	"TablesInSelectQuery", "TablesInSelectQueryElement", "TableJoin", "ArrayJoin",
	"OrderByElement", "InterpolateElement", "WindowDefinition", "WindowListElement", "SampleRatio",
	"Literal", "Identifier",
}

var nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// showRE is the engine's canonical text of the SHOW forms allowed: SHOW
// TABLES [FROM db] or SHOW DATABASES, with at most a LIKE on a plain
// pattern (no quote, no backslash); nothing after it.
var showRE = regexp.MustCompile(`^SHOW (?:TABLES(?: FROM ([A-Za-z_][A-Za-z0-9_]*))?|DATABASES)(?: (?:NOT )?I?LIKE '[^'\\]*')?$`)

// Kind is what an allowed statement is.
type Kind int

const (
	// Select is SELECT, WITH … SELECT, and their UNION/INTERSECT/EXCEPT.
	Select Kind = iota
	// Other is SHOW, DESCRIBE, EXISTS or EXPLAIN.
	Other
)

// check walks the statement's tree and says what kind of statement it is,
// or why it is refused.
//
// canonical is the engine's own text of the statement: where two statements
// print the same tree (SHOW TABLES and SHOW SETTINGS both print ShowTables),
// its first words tell them apart.
func (p Policy) check(root *node, canonical string) (Kind, error) {
	switch root.typ {
	case "SelectWithUnionQuery":
		return Select, p.walk(root)
	case "Explain":
		kind := strings.Join(strings.Fields(root.detail), " ")
		if !slices.Contains(explainKinds, kind) {
			return 0, refuse("%s is not one of the allowed forms (%s)", kind, strings.Join(explainKinds, ", "))
		}
		if len(root.children) != 1 || root.children[0].typ != "SelectWithUnionQuery" {
			return 0, p.outputClause(root, 1)
		}
		return Other, p.walk(root.children[0])
	case "DescribeQuery":
		if len(root.children) != 1 || root.children[0].typ != "TableExpression" {
			return 0, p.outputClause(root, 1)
		}
		return Other, p.walk(root.children[0])
	case "ShowTables":
		// The node keeps its WHERE, LIMIT and LIKE out of the tree (SHOW
		// TABLES WHERE file(…) != '' would run file() unseen), and also
		// prints SHOW SETTINGS, SHOW DICTIONARIES, SHOW CLUSTERS…: only the
		// plain forms are allowed, recognised in the engine's own text.
		m := showRE.FindStringSubmatch(canonical)
		if m == nil {
			return 0, refuse("only SHOW TABLES [FROM %s] [LIKE '…'] and SHOW DATABASES [LIKE '…'] are allowed, not %q", p.Database, abbreviate(canonical))
		}
		if db := m[1]; db != "" && db != p.Database && !strings.EqualFold(db, "system") {
			return 0, refuse("SHOW TABLES FROM %s is not allowed: only %s and system", db, p.Database)
		}
		return Other, nil
	case "ShowColumns":
		// Its WHERE and LIKE are kept out of the tree: use DESCRIBE.
		return 0, refuse("SHOW COLUMNS is not allowed (its WHERE cannot be checked): use DESCRIBE TABLE")
	case "ShowCreateTableQuery", "ExistsTableQuery":
		// The detail is "database table" (database empty when not given);
		// one Identifier child per name, anything more is an output clause.
		names := strings.Fields(root.detail)
		if len(root.children) != len(names) {
			return 0, p.outputClause(root, len(names))
		}
		for _, c := range root.children {
			if c.typ != "Identifier" {
				return 0, p.outputClause(root, len(names))
			}
		}
		if len(names) == 2 && names[0] != p.Database {
			return 0, refuse("only tables of the %s database may be shown, not %s.%s", p.Database, names[0], names[1])
		}
		return Other, nil
	case "Set":
		return 0, refuse("SET is not allowed: the session's settings are fixed")
	}
	return 0, refuse("%s statements are not allowed: only one SELECT (or WITH … SELECT), SHOW, DESCRIBE, EXISTS or EXPLAIN", statementName(root))
}

// outputClause explains the children of n past the first want ones: an
// INTO OUTFILE path (a Literal), a FORMAT (an Identifier) or SETTINGS.
func (p Policy) outputClause(n *node, want int) error {
	for _, c := range n.children[min(want, len(n.children)):] {
		switch c.typ {
		case "Literal":
			return refuse("INTO OUTFILE is not allowed: results are returned, never written to a file")
		case "Identifier":
			return refuse("FORMAT is not allowed: choose the output format with --format or the API")
		case "Set":
			return refuse("SETTINGS is not allowed: the session's limits are fixed")
		}
	}
	return refuse("%s has a form that is not allowed", statementName(n))
}

// walk checks a SELECT's tree.
func (p Policy) walk(n *node) error {
	switch n.typ {
	case "SelectWithUnionQuery":
		if len(n.children) != 1 || n.children[0].typ != "ExpressionList" {
			return p.outputClause(n, 1)
		}
	case "Set":
		return refuse("SETTINGS is not allowed anywhere in the statement: the session's limits are fixed")
	case "ColumnsApplyTransformer":
		// The engine's tree does not show which function APPLY applies
		// (* APPLY(file) reads files), so it cannot be checked.
		return refuse("APPLY is not allowed: the function it applies cannot be checked; call the function on each column")
	case "TableExpression":
		for _, c := range n.children {
			if c.typ == "Function" {
				name := strings.ToLower(c.detail)
				if !slices.Contains(Generators, name) {
					return refuse("table function %s is not allowed: only the generators %s", c.detail, strings.Join(Generators, ", "))
				}
			}
		}
	case "TableIdentifier":
		if err := p.table(n.detail); err != nil {
			return err
		}
	case "Function":
		name := n.detail
		lower := strings.ToLower(name)
		if slices.Contains(deniedFunctions, lower) || slices.ContainsFunc(deniedPrefixes, func(pre string) bool { return strings.HasPrefix(lower, pre) }) {
			return refuse("function %s is not allowed: it reads outside the warehouse's tables", name)
		}
		if slices.Contains(inFunctions, lower) && len(n.children) == 1 && len(n.children[0].children) == 2 {
			if rhs := n.children[0].children[1]; rhs.typ == "Identifier" {
				if err := p.table(rhs.detail); err != nil {
					return err
				}
			}
		}
	case "Identifier":
		// A compound name whose first part is another database reads that
		// database (x IN system.disks, joinGet…); a column is never qualified
		// by a database name here.
		if first, _, ok := strings.Cut(n.detail, "."); ok && p.otherDatabase(first) {
			return refuse("names in database %s are not allowed", first)
		}
	default:
		if !slices.Contains(exprTypes, n.typ) {
			return refuse("%s is not allowed in ad-hoc SQL", n.typ)
		}
	}
	for _, c := range n.children {
		if err := p.walk(c); err != nil {
			return err
		}
	}
	return nil
}

// table checks a table name as the engine printed it: "name" (the current
// database, which is Vigie's, or a WITH name) or "database.name".
func (p Policy) table(name string) error {
	db, tbl, qualified := strings.Cut(name, ".")
	if !qualified {
		if !nameRE.MatchString(name) {
			return refuse("table name %q is not allowed: use plain names", name)
		}
		return nil
	}
	if !nameRE.MatchString(db) || !nameRE.MatchString(tbl) {
		return refuse("table name %q is not allowed: use plain database.table names", name)
	}
	if db == p.Database {
		return nil
	}
	if strings.EqualFold(db, "system") && slices.Contains(SystemTables, strings.ToLower(tbl)) {
		return nil
	}
	if strings.EqualFold(db, "system") {
		return refuse("system.%s is not allowed: ad-hoc SQL may read %s and system.%s only", tbl, p.Database, strings.Join(SystemTables, ", system."))
	}
	return refuse("table %s is not allowed: ad-hoc SQL reads the %s database only", name, p.Database)
}

func (p Policy) otherDatabase(name string) bool {
	l := strings.ToLower(name)
	return name != p.Database && (l == "system" || l == "information_schema" || l == "default" || l == "_local")
}

func statementName(n *node) string {
	name := strings.TrimSuffix(strings.TrimSuffix(n.typ, "Query"), "query")
	if name == "" || n.typ == "SYSTEM" {
		return strings.TrimSpace(n.typ + " " + n.detail)
	}
	return name
}
