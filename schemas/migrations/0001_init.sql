-- Vigie warehouse, version 1.
-- Rendered by internal/warehouse/migrate: {db} is the database, {on_cluster} is
-- empty or "ON CLUSTER '<name>'", {engine_prefix} is empty or "Replicated",
-- {ttl_raw}, {ttl_minute}, {ttl_hour} are retention intervals in days.
-- Statements are separated by lines holding only ";".
--
-- TTLs run on received_at (ingestion time), never on event time: replayed
-- history (the 2021 and 2020 scenarios) would otherwise be deleted by the
-- first merge (seen on chDB 26.7).

CREATE DATABASE IF NOT EXISTS {db} {on_cluster}
;
-- Raw events, as the aggregator saw them (duplicates by id removed).
-- Daily partitions: retention is counted in days and old days drop whole.
-- ORDER BY the low-cardinality filters every post-incident question uses
-- (platform, region, service), then hour, then time.
CREATE TABLE IF NOT EXISTS {db}.events {on_cluster}
(
    id              String CODEC(ZSTD(1)),
    ts              DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    platform        LowCardinality(String),
    service         LowCardinality(String),
    region          LowCardinality(String),
    academy         LowCardinality(String),
    kind            LowCardinality(String),
    outcome         LowCardinality(String),
    status          UInt16 CODEC(T64, ZSTD(1)),        -- 0 when the event had none
    latency_ms      Nullable(Float32) CODEC(ZSTD(1)),  -- NULL when not measured
    queue_ms        Nullable(Float32) CODEC(ZSTD(1)),
    user            UInt64 CODEC(ZSTD(1)),             -- keyed-HMAC pseudonym, 0 when absent; never the raw id
    role            LowCardinality(String),
    source          LowCardinality(String),
    attrs           Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    kafka_partition UInt32 CODEC(T64),
    kafka_offset    Int64 CODEC(Delta, ZSTD(1)),
    received_at     DateTime DEFAULT now() CODEC(Delta, ZSTD(1)),
    INDEX user_bf user TYPE bloom_filter(0.01) GRANULARITY 4,
    INDEX offset_mm (kafka_partition, kafka_offset) TYPE minmax GRANULARITY 1
)
ENGINE = {engine_prefix}MergeTree
PARTITION BY toDate(ts)
ORDER BY (platform, region, service, toStartOfHour(ts), ts)
TTL received_at + INTERVAL {ttl_raw} DAY
SETTINGS non_replicated_deduplication_window = 10000
;
-- What the aggregator sends: one row per (minute, platform, service, region)
-- delta, with plain numbers. The Null engine stores nothing; the two
-- materialized views below turn each row into aggregate states on the server,
-- so Go never builds ClickHouse state bytes (not a stable format).
-- Insert de-duplication tokens apply to the views' target tables.
CREATE TABLE IF NOT EXISTS {db}.agg_in {on_cluster}
(
    bucket           DateTime('UTC'),
    platform         LowCardinality(String),
    service          LowCardinality(String),
    region           LowCardinality(String),
    n_total          UInt64,
    n_ok             UInt64,
    n_error          UInt64,
    n_timeout        UInt64,
    n_rejected       UInt64,
    n_queued         UInt64,
    n_login          UInt64,
    n_page           UInt64,
    n_api            UInt64,
    n_probe          UInt64,
    n_session_start  UInt64,
    n_session_end    UInt64,
    n_queue          UInt64,
    latency_n        UInt64,
    latency_sum      Float64,
    latency_max      Float32,
    queue_n          UInt64,
    queue_sum        Float64,
    queue_max        Float32,
    status_counts    Map(UInt16, UInt64),
    lat_values       Array(Float64),   -- latency sketch: bucket representatives (ms) ...
    lat_counts       Array(UInt64),    -- ... and their counts; relative error 1%
    users            Array(UInt64),    -- pseudonyms seen
    users_failed     Array(UInt64)     -- pseudonyms that saw error/timeout/rejected
)
ENGINE = Null
;
-- Minute and hour aggregates. AggregatingMergeTree adds up the deltas the
-- aggregator writes, so a late event simply adds to its own window; replayed
-- flushes are dropped by the insert de-duplication token.
CREATE TABLE IF NOT EXISTS {db}.agg_minute {on_cluster}
(
    bucket           DateTime('UTC') CODEC(Delta, ZSTD(1)),
    platform         LowCardinality(String),
    service          LowCardinality(String),
    region           LowCardinality(String),
    n_total          SimpleAggregateFunction(sum, UInt64),
    n_ok             SimpleAggregateFunction(sum, UInt64),
    n_error          SimpleAggregateFunction(sum, UInt64),
    n_timeout        SimpleAggregateFunction(sum, UInt64),
    n_rejected       SimpleAggregateFunction(sum, UInt64),
    n_queued         SimpleAggregateFunction(sum, UInt64),
    n_login          SimpleAggregateFunction(sum, UInt64),
    n_page           SimpleAggregateFunction(sum, UInt64),
    n_api            SimpleAggregateFunction(sum, UInt64),
    n_probe          SimpleAggregateFunction(sum, UInt64),
    n_session_start  SimpleAggregateFunction(sum, UInt64),
    n_session_end    SimpleAggregateFunction(sum, UInt64),
    n_queue          SimpleAggregateFunction(sum, UInt64),
    latency_n        SimpleAggregateFunction(sum, UInt64),
    latency_sum      SimpleAggregateFunction(sum, Float64),
    latency_max      SimpleAggregateFunction(max, Float32),
    queue_n          SimpleAggregateFunction(sum, UInt64),
    queue_sum        SimpleAggregateFunction(sum, Float64),
    queue_max        SimpleAggregateFunction(max, Float32),
    status_counts    SimpleAggregateFunction(sumMap, Map(UInt16, UInt64)),
    latency          AggregateFunction(quantilesExactWeighted(0.5, 0.9, 0.95, 0.99), Float64, UInt64),
    users            AggregateFunction(uniqCombined64, UInt64),
    users_failed     AggregateFunction(uniqCombined64, UInt64),
    received_at      SimpleAggregateFunction(max, DateTime)
)
ENGINE = {engine_prefix}AggregatingMergeTree
PARTITION BY toDate(bucket)
ORDER BY (platform, region, service, bucket)
TTL received_at + INTERVAL {ttl_minute} DAY
SETTINGS non_replicated_deduplication_window = 10000
;
CREATE TABLE IF NOT EXISTS {db}.agg_hour {on_cluster} AS {db}.agg_minute
ENGINE = {engine_prefix}AggregatingMergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (platform, region, service, bucket)
TTL received_at + INTERVAL {ttl_hour} DAY
SETTINGS non_replicated_deduplication_window = 10000
;
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.agg_minute_mv {on_cluster} TO {db}.agg_minute AS
SELECT bucket, platform, service, region,
       n_total, n_ok, n_error, n_timeout, n_rejected, n_queued,
       n_login, n_page, n_api, n_probe, n_session_start, n_session_end, n_queue,
       latency_n, latency_sum, latency_max, queue_n, queue_sum, queue_max, status_counts,
       arrayReduce('quantilesExactWeightedState(0.5, 0.9, 0.95, 0.99)', lat_values, lat_counts) AS latency,
       arrayReduce('uniqCombined64State', users) AS users,
       arrayReduce('uniqCombined64State', users_failed) AS users_failed,
       now() AS received_at
FROM {db}.agg_in
;
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.agg_hour_mv {on_cluster} TO {db}.agg_hour AS
SELECT toStartOfHour(bucket) AS bucket, platform, service, region,
       n_total, n_ok, n_error, n_timeout, n_rejected, n_queued,
       n_login, n_page, n_api, n_probe, n_session_start, n_session_end, n_queue,
       latency_n, latency_sum, latency_max, queue_n, queue_sum, queue_max, status_counts,
       arrayReduce('quantilesExactWeightedState(0.5, 0.9, 0.95, 0.99)', lat_values, lat_counts) AS latency,
       arrayReduce('uniqCombined64State', users) AS users,
       arrayReduce('uniqCombined64State', users_failed) AS users_failed,
       now() AS received_at
FROM {db}.agg_in
;
-- Finalized views for people and dashboards: one row per window, plain numbers.
-- availability = ok / (ok + error + timeout + rejected); queued is not a failure.
CREATE VIEW IF NOT EXISTS {db}.minute_stats {on_cluster} AS
SELECT bucket, platform, service, region,
       sum(n_total) AS events, sum(n_ok) AS ok, sum(n_error) AS errors, sum(n_timeout) AS timeouts,
       sum(n_rejected) AS rejected, sum(n_queued) AS queued,
       sum(n_login) AS logins, sum(n_session_start) AS sessions_started, sum(n_session_end) AS sessions_ended,
       if(ok + errors + timeouts + rejected = 0, NULL, ok / (ok + errors + timeouts + rejected)) AS availability,
       quantilesExactWeightedMerge(0.5, 0.9, 0.95, 0.99)(latency) AS latency_q,
       latency_q[1] AS p50_ms, latency_q[2] AS p90_ms, latency_q[3] AS p95_ms, latency_q[4] AS p99_ms,
       if(sum(latency_n) = 0, NULL, sum(latency_sum) / sum(latency_n)) AS mean_ms,
       max(latency_max) AS max_ms,
       if(sum(queue_n) = 0, NULL, sum(queue_sum) / sum(queue_n)) AS mean_queue_ms,
       max(queue_max) AS max_queue_ms,
       sumMap(status_counts) AS status_counts,
       uniqCombined64Merge(users) AS users,
       uniqCombined64Merge(users_failed) AS users_failed
FROM {db}.agg_minute
GROUP BY bucket, platform, service, region
;
CREATE VIEW IF NOT EXISTS {db}.hour_stats {on_cluster} AS
SELECT bucket, platform, service, region,
       sum(n_total) AS events, sum(n_ok) AS ok, sum(n_error) AS errors, sum(n_timeout) AS timeouts,
       sum(n_rejected) AS rejected, sum(n_queued) AS queued,
       sum(n_login) AS logins, sum(n_session_start) AS sessions_started, sum(n_session_end) AS sessions_ended,
       if(ok + errors + timeouts + rejected = 0, NULL, ok / (ok + errors + timeouts + rejected)) AS availability,
       quantilesExactWeightedMerge(0.5, 0.9, 0.95, 0.99)(latency) AS latency_q,
       latency_q[1] AS p50_ms, latency_q[2] AS p90_ms, latency_q[3] AS p95_ms, latency_q[4] AS p99_ms,
       if(sum(latency_n) = 0, NULL, sum(latency_sum) / sum(latency_n)) AS mean_ms,
       max(latency_max) AS max_ms,
       if(sum(queue_n) = 0, NULL, sum(queue_sum) / sum(queue_n)) AS mean_queue_ms,
       max(queue_max) AS max_queue_ms,
       sumMap(status_counts) AS status_counts,
       uniqCombined64Merge(users) AS users,
       uniqCombined64Merge(users_failed) AS users_failed
FROM {db}.agg_hour
GROUP BY bucket, platform, service, region
;
-- Which Kafka offsets the warehouse holds: the source of truth the aggregator
-- seeks to on start. 'before' is written before a flush's data, 'after' once
-- all of it is in (the Kafka Connect sink's recipe). ReplacingMergeTree keeps
-- the newest record per partition; readers take argMax(…, version).
CREATE TABLE IF NOT EXISTS {db}.consumer_offsets {on_cluster}
(
    consumer_group  LowCardinality(String),
    topic           LowCardinality(String),
    partition       UInt32,
    first_offset    Int64,
    last_offset     Int64,
    state           Enum8('before' = 1, 'after' = 2),
    version         UInt64,           -- last_offset * 2 + (state = 'after'): newer wins
    generation      Int32,
    written_at      DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = {engine_prefix}ReplacingMergeTree(version)
ORDER BY (consumer_group, topic, partition)
