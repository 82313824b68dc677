package sandbox

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/vigie-fr/vigie/internal/warehouse"
)

// PasswordVariable is the environment variable deploy/clickhouse/sandbox.sql
// expects the account password's SHA-256 in (hex), so that neither the
// file nor a shell history holds the password.
const PasswordVariable = "VIGIE_SANDBOX_PASSWORD_SHA256"

// ServerAccount is the SQL that creates, on a ClickHouse server, the account
// of minimal rights ad-hoc SQL logs in as (sandbox.clickhouse_username): it
// may SELECT from database and from the allowed system tables, nothing else
// (no table function: those need grants such as FILE, URL or REMOTE, which
// it has not), and a settings profile caps the limits lim sets at each
// statement. Statements in order, without the final semicolons.
//
// The caps are MAX constraints, not CONST: Vigie sends the same values with
// every statement (a CONST would refuse any value sent, even an equal one
// on older servers), and a lower value stays allowed.
func ServerAccount(user, database string, lim warehouse.Limits) []string {
	profile := user
	caps := []string{}
	capAt := func(name string, v string) {
		caps = append(caps, fmt.Sprintf("%s = %s MAX %s", name, v, v))
	}
	if lim.Timeout > 0 {
		capAt("max_execution_time", strconv.FormatFloat(lim.Timeout.Seconds(), 'f', -1, 64))
	}
	if lim.MaxMemory > 0 {
		capAt("max_memory_usage", strconv.FormatInt(lim.MaxMemory, 10))
	}
	if lim.MaxResultBytes > 0 {
		capAt("max_result_bytes", strconv.FormatInt(lim.MaxResultBytes, 10))
	}
	if lim.MaxThreads > 0 {
		capAt("max_threads", strconv.Itoa(lim.MaxThreads))
	}
	caps = append(caps,
		"result_overflow_mode = 'throw' CONST",
		"allow_ddl = 0 CONST",
		"allow_introspection_functions = 0 CONST",
	)
	out := []string{
		fmt.Sprintf("CREATE SETTINGS PROFILE OR REPLACE %s SETTINGS\n    %s", profile, strings.Join(caps, ",\n    ")),
		fmt.Sprintf("CREATE USER OR REPLACE %s\n    IDENTIFIED WITH sha256_hash BY '${%s}'\n    DEFAULT DATABASE %s\n    SETTINGS PROFILE '%s'", user, PasswordVariable, database, profile),
		fmt.Sprintf("GRANT SELECT ON %s.* TO %s", database, user),
	}
	for _, t := range SystemTables {
		out = append(out, fmt.Sprintf("GRANT SELECT ON system.%s TO %s", t, user))
	}
	return out
}

// ServerAccountFile is ServerAccount as the file deploy/clickhouse/sandbox.sql,
// with how to apply it.
func ServerAccountFile(user, database string, lim warehouse.Limits) string {
	var b strings.Builder
	b.WriteString(`-- Vigie: the ClickHouse server account of minimal rights for ad-hoc SQL
-- (vigie query, POST /api/v1/sql). See docs/security.md.
--
-- Generated from Vigie's defaults (warehouse.database, warehouse.query.timeout,
-- sandbox.*) by: go test ./internal/sandbox -run TestServerAccountFile -update
-- Edit the limits in Vigie's configuration and here together.
--
-- Apply it as an administrator, with the password's SHA-256 in the environment:
--   read -rs PASSWORD
--   export ` + PasswordVariable + `=$(printf %s "$PASSWORD" | sha256sum | cut -d' ' -f1)
--   envsubst < deploy/clickhouse/sandbox.sql | clickhouse-client --multiquery
-- then give Vigie the account:
--   sandbox.clickhouse_username: ` + user + `
--   VIGIE_SANDBOX_CLICKHOUSE_PASSWORD=<the password>
-- and, in the server's configuration, make every system table need a grant,
-- so that the ones below are the only ones this account reads:
--   <access_control_improvements>
--     <select_from_system_db_requires_grant>true</select_from_system_db_requires_grant>
--     <select_from_information_schema_requires_grant>true</select_from_information_schema_requires_grant>
--   </access_control_improvements>
`)
	for _, st := range ServerAccount(user, database, lim) {
		b.WriteString("\n" + st + ";\n")
	}
	return b.String()
}
