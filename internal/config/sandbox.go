package config

// SandboxConfig bounds engineers' ad-hoc SQL (`vigie query`, POST
// /api/v1/sql) beyond warehouse.query's time and rows: the engine enforces
// each on the sandbox's own sessions (docs/security.md).
type SandboxConfig struct {
	// Sessions is how many ad-hoc statements run at once, each on a
	// read-only session of its own; more wait for a free one.
	Sessions int `mapstructure:"sessions"`
	// MaxMemoryBytes is ClickHouse's max_memory_usage for one statement.
	MaxMemoryBytes int64 `mapstructure:"max_memory_bytes"`
	// MaxResultBytes is max_result_bytes: a larger answer is an error.
	MaxResultBytes int64 `mapstructure:"max_result_bytes"`
	// MaxThreads is max_threads for one statement, so that ad-hoc SQL
	// leaves cores to ingest and the aggregator.
	MaxThreads int `mapstructure:"max_threads"`
	// ClickHouseUsername, with a ClickHouse server, is the account of
	// minimal rights ad-hoc SQL logs in as (deploy/clickhouse/sandbox.sql);
	// empty: the warehouse's own account, on a pool of its own.
	ClickHouseUsername string `mapstructure:"clickhouse_username"`
	// ClickHousePassword is that account's password (a secret: give it
	// through VIGIE_SANDBOX_CLICKHOUSE_PASSWORD).
	ClickHousePassword string `mapstructure:"clickhouse_password"`
}

// DefaultSandbox is the sandbox part of Default: two sessions, 1 GiB of
// memory and 64 MiB of answer per statement, one thread each.
func DefaultSandbox() SandboxConfig {
	return SandboxConfig{Sessions: 2, MaxMemoryBytes: 1 << 30, MaxResultBytes: 64 << 20, MaxThreads: 1}
}

// validate checks the sandbox's keys with Validate's bad.
func (s SandboxConfig) validate(bad func(key string, val any, rule string), driver string) {
	if s.Sessions < 1 || s.Sessions > 16 {
		bad("sandbox.sessions", s.Sessions, "is not allowed, use 1 to 16")
	}
	if s.MaxMemoryBytes < 16<<20 {
		bad("sandbox.max_memory_bytes", s.MaxMemoryBytes, "is too small, use 16777216 (16 MiB) or more")
	}
	if s.MaxResultBytes < 1<<20 {
		bad("sandbox.max_result_bytes", s.MaxResultBytes, "is too small, use 1048576 (1 MiB) or more")
	}
	if s.MaxThreads < 1 || s.MaxThreads > 256 {
		bad("sandbox.max_threads", s.MaxThreads, "is not allowed, use 1 to 256")
	}
	if s.ClickHouseUsername != "" && driver != "clickhouse" {
		bad("sandbox.clickhouse_username", quote(s.ClickHouseUsername), "needs warehouse.driver: clickhouse (chDB has no accounts)")
	}
	if s.ClickHousePassword != "" && s.ClickHouseUsername == "" {
		bad("sandbox.clickhouse_password", "(hidden)", "is set without sandbox.clickhouse_username")
	}
}
