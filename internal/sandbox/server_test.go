package sandbox_test

import (
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/vigie-fr/vigie/cmd/vigie/app"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/sandbox"
	"github.com/vigie-fr/vigie/internal/warehouse"
)

var update = flag.Bool("update", false, "rewrite deploy/clickhouse/sandbox.sql")

const accountFile = "../../deploy/clickhouse/sandbox.sql"

// The shipped SQL is what Vigie's defaults give, and each statement is one
// that ClickHouse's parser reads.
func TestServerAccountFile(t *testing.T) {
	cfg := config.Default()
	got := sandbox.ServerAccountFile("vigie_sandbox", cfg.Warehouse.Database, app.SQLLimits(cfg))
	if *update {
		if err := os.WriteFile(accountFile, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(accountFile)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("%s is not what the defaults give (go test ./internal/sandbox -run TestServerAccountFile -update):\n%s", accountFile, got)
	}
	for _, must := range []string{
		"max_execution_time = 30 MAX 30", "max_memory_usage = 1073741824 MAX 1073741824",
		"max_result_bytes = 67108864 MAX 67108864", "max_threads = 1 MAX 1",
		"GRANT SELECT ON vigie.* TO vigie_sandbox;", "GRANT SELECT ON system.one TO vigie_sandbox;",
		"DEFAULT DATABASE vigie", "sha256_hash BY '${VIGIE_SANDBOX_PASSWORD_SHA256}'",
	} {
		if !strings.Contains(got, must) {
			t.Errorf("the account SQL lacks %q", must)
		}
	}
	// Every grant is a SELECT on Vigie's database or an allowed system table.
	grant := regexp.MustCompile(`^GRANT SELECT ON (vigie\.\*|system\.(` + strings.Join(sandbox.SystemTables, "|") + `)) TO vigie_sandbox$`)
	grants := 0
	for _, st := range sandbox.ServerAccount("vigie_sandbox", "vigie", app.SQLLimits(cfg)) {
		if strings.HasPrefix(st, "GRANT") {
			grants++
			if !grant.MatchString(st) {
				t.Errorf("unexpected grant: %s", st)
			}
		}
	}
	if grants != 1+len(sandbox.SystemTables) {
		t.Errorf("%d grants, want %d", grants, 1+len(sandbox.SystemTables))
	}

	db := needDB(t)
	for _, st := range sandbox.ServerAccount("vigie_sandbox", "vigie", app.SQLLimits(cfg)) {
		if _, err := db.Query(t.Context(), "SELECT formatQuery("+warehouse.QuoteString(st)+")", nil); err != nil {
			t.Errorf("ClickHouse's parser refuses\n%s\n%v", st, err)
		}
	}
}
