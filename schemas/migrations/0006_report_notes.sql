-- Vigie warehouse, version 6: estimates and the post-mortem's human part.
--
-- 1. events.sample_rate: the share of events the sender kept, in (0, 1]
--    (schema v1's optional sample_rate; 1 when the event had none, and for
--    every event written before this version). Reports weigh each event by
--    1 / sample_rate to estimate attempts and people of the whole population
--    (docs/reports.md). Aggregates stay unweighted: detection's confidence
--    bounds need the counts actually observed.
-- 2. report_annotations: what people add to an incident's timeline (first
--    complaints, ministry statements, a waiting room rolled out), with their
--    author and when they wrote it; kind is "event" for the timeline, or a
--    lesson: "well", "badly", "lucky". One row per version; deleted hides it.
-- 3. report_actions: the post-mortem's action items (owner, priority, due
--    date, state), versioned the same way.
-- 4. report_status: a report range's state, draft or final, with who set
--    it and when; the newest row wins.
-- These three tables are small and written by people: no TTL.
ALTER TABLE {db}.events {on_cluster}
    ADD COLUMN IF NOT EXISTS sample_rate Float64 DEFAULT 1 AFTER source
;
CREATE TABLE IF NOT EXISTS {db}.report_annotations {on_cluster}
(
    id         String,
    at         DateTime('UTC'),
    platform   LowCardinality(String),
    region     LowCardinality(String),
    kind       LowCardinality(String),
    text       String,
    author     String,
    written_at DateTime64(3, 'UTC'),
    deleted    UInt8 DEFAULT 0
)
ENGINE = {engine_prefix}ReplacingMergeTree(written_at)
ORDER BY id
;
CREATE TABLE IF NOT EXISTS {db}.report_actions {on_cluster}
(
    id         String,
    at         DateTime('UTC'),
    title      String,
    owner      String,
    priority   LowCardinality(String),
    due        Date,
    state      LowCardinality(String),
    author     String,
    written_at DateTime64(3, 'UTC'),
    deleted    UInt8 DEFAULT 0
)
ENGINE = {engine_prefix}ReplacingMergeTree(written_at)
ORDER BY id
;
CREATE TABLE IF NOT EXISTS {db}.report_status {on_cluster}
(
    range_from DateTime('UTC'),
    range_to   DateTime('UTC'),
    status     LowCardinality(String),
    author     String,
    written_at DateTime64(3, 'UTC')
)
ENGINE = {engine_prefix}ReplacingMergeTree(written_at)
ORDER BY (range_from, range_to)
