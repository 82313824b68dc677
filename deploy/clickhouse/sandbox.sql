-- Vigie: the ClickHouse server account of minimal rights for ad-hoc SQL
-- (vigie query, POST /api/v1/sql). See docs/security.md.
--
-- Generated from Vigie's defaults (warehouse.database, warehouse.query.timeout,
-- sandbox.*) by: go test ./internal/sandbox -run TestServerAccountFile -update
-- Edit the limits in Vigie's configuration and here together.
--
-- Apply it as an administrator, with the password's SHA-256 in the environment:
--   read -rs PASSWORD
--   export VIGIE_SANDBOX_PASSWORD_SHA256=$(printf %s "$PASSWORD" | sha256sum | cut -d' ' -f1)
--   envsubst < deploy/clickhouse/sandbox.sql | clickhouse-client --multiquery
-- then give Vigie the account:
--   sandbox.clickhouse_username: vigie_sandbox
--   VIGIE_SANDBOX_CLICKHOUSE_PASSWORD=<the password>
-- and, in the server's configuration, make every system table need a grant,
-- so that the ones below are the only ones this account reads:
--   <access_control_improvements>
--     <select_from_system_db_requires_grant>true</select_from_system_db_requires_grant>
--     <select_from_information_schema_requires_grant>true</select_from_information_schema_requires_grant>
--   </access_control_improvements>

CREATE SETTINGS PROFILE OR REPLACE vigie_sandbox SETTINGS
    max_execution_time = 30 MAX 30,
    max_memory_usage = 1073741824 MAX 1073741824,
    max_result_bytes = 67108864 MAX 67108864,
    max_threads = 1 MAX 1,
    result_overflow_mode = 'throw' CONST,
    allow_ddl = 0 CONST,
    allow_introspection_functions = 0 CONST;

CREATE USER OR REPLACE vigie_sandbox
    IDENTIFIED WITH sha256_hash BY '${VIGIE_SANDBOX_PASSWORD_SHA256}'
    DEFAULT DATABASE vigie
    SETTINGS PROFILE 'vigie_sandbox';

GRANT SELECT ON vigie.* TO vigie_sandbox;

GRANT SELECT ON system.one TO vigie_sandbox;

GRANT SELECT ON system.numbers TO vigie_sandbox;

GRANT SELECT ON system.numbers_mt TO vigie_sandbox;

GRANT SELECT ON system.zeros TO vigie_sandbox;

GRANT SELECT ON system.zeros_mt TO vigie_sandbox;

GRANT SELECT ON system.columns TO vigie_sandbox;

GRANT SELECT ON system.functions TO vigie_sandbox;

GRANT SELECT ON system.data_type_families TO vigie_sandbox;

GRANT SELECT ON system.time_zones TO vigie_sandbox;
