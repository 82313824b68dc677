-- Vigie warehouse, version 4: what live incident detection needs.
--
-- 1. The latency histogram as a plain map (sketch representative in
--    microseconds -> count; sumMap takes no Float64 key), summed by the
--    aggregating tables. The quantile states of
--    `latency` cannot say how many samples lie above a threshold, and a
--    confidence bound on a latency quantile needs exactly that, for any
--    service's own threshold. Rows written before this migration have an
--    empty map: their latency is judged from the stored quantile alone.
-- 2. The materialized views are recreated to fill it (the data lives in
--    their target tables, which are untouched). Run migrations with the
--    aggregators stopped (migrate_on_start does): an insert between the DROP
--    and the CREATE would not reach agg_minute/agg_hour.
-- 3. incident_state: the live detector's incidents, one row per version
--    (opened, updated, resolved); ReplacingMergeTree keeps the newest.
-- 4. alert_deliveries: which notification of which incident state each
--    receiver acknowledged, so a restarted process does not send it again.
ALTER TABLE {db}.agg_minute {on_cluster} ADD COLUMN IF NOT EXISTS lat_hist SimpleAggregateFunction(sumMap, Map(UInt64, UInt64)) AFTER latency
;
ALTER TABLE {db}.agg_hour {on_cluster} ADD COLUMN IF NOT EXISTS lat_hist SimpleAggregateFunction(sumMap, Map(UInt64, UInt64)) AFTER latency
;
DROP VIEW IF EXISTS {db}.agg_minute_mv {on_cluster}
;
DROP VIEW IF EXISTS {db}.agg_hour_mv {on_cluster}
;
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.agg_minute_mv {on_cluster} TO {db}.agg_minute AS
SELECT bucket, platform, service, region,
       n_total, n_ok, n_error, n_timeout, n_rejected, n_queued,
       n_login, n_page, n_api, n_probe, n_session_start, n_session_end, n_queue,
       latency_n, latency_sum, latency_max, queue_n, queue_sum, queue_max, status_counts,
       arrayReduce('quantilesExactWeightedState(0.5, 0.9, 0.95, 0.99)', lat_values, lat_counts) AS latency,
       CAST((arrayMap(v -> toUInt64(round(v * 1000)), lat_values), lat_counts), 'Map(UInt64, UInt64)') AS lat_hist,
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
       CAST((arrayMap(v -> toUInt64(round(v * 1000)), lat_values), lat_counts), 'Map(UInt64, UInt64)') AS lat_hist,
       arrayReduce('uniqCombined64State', users) AS users,
       arrayReduce('uniqCombined64State', users_failed) AS users_failed,
       now() AS received_at
FROM {db}.agg_in
;
CREATE TABLE IF NOT EXISTS {db}.incident_state {on_cluster}
(
    id                 String,
    platform           LowCardinality(String),
    service            LowCardinality(String),
    region             LowCardinality(String),
    reason             LowCardinality(String),
    state              Enum8('open' = 1, 'resolved' = 2),
    start              DateTime('UTC'),
    end                DateTime('UTC'),
    alert_at           DateTime('UTC'),
    worst_availability Float64,
    worst_p95_ms       Float64,
    events             UInt64,
    failed             UInt64,
    updated_at         DateTime64(3, 'UTC'),
    version            UInt64
)
ENGINE = {engine_prefix}ReplacingMergeTree(version)
ORDER BY id
;
CREATE TABLE IF NOT EXISTS {db}.alert_deliveries {on_cluster}
(
    incident_id  String,
    receiver     LowCardinality(String),
    state        Enum8('open' = 1, 'resolved' = 2),
    delivered_at DateTime64(3, 'UTC')
)
ENGINE = {engine_prefix}ReplacingMergeTree(delivered_at)
ORDER BY (incident_id, receiver, state)
