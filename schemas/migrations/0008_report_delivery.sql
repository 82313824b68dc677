-- Vigie warehouse, version 8: reports sent by e-mail on a schedule.
--
-- 1. report_subscriptions: the subscriptions administrators add through
--    the API (those of the configuration file are not stored). One row
--    per version; ReplacingMergeTree keeps the newest, and a removal is a
--    version with deleted = 1, so the history says who changed what.
-- 2. report_deliveries: one row per (subscription, period) and version.
--    A period is recorded as pending before its e-mail is sent, and as
--    sent once the mail server answered 250 to the message: a restarted
--    process sends exactly the periods not marked sent, with the same
--    Message-ID, so a receiver can drop the one repeat that a crash
--    between the server's 250 and the mark would cause.
CREATE TABLE IF NOT EXISTS {db}.report_subscriptions {on_cluster}
(
    name       String,
    recipients Array(String),
    regions    Array(LowCardinality(String)),
    platforms  Array(LowCardinality(String)),
    lang       LowCardinality(String),
    schedule   String,
    covers     LowCardinality(String),
    deleted    UInt8,
    author     String,
    updated_at DateTime64(3, 'UTC'),
    version    UInt64
)
ENGINE = {engine_prefix}ReplacingMergeTree(version)
ORDER BY name
;
CREATE TABLE IF NOT EXISTS {db}.report_deliveries {on_cluster}
(
    subscription String,
    due          DateTime('UTC'),
    range_from   DateTime('UTC'),
    range_to     DateTime('UTC'),
    state        Enum8('pending' = 1, 'sent' = 2, 'expired' = 3),
    attempts     UInt32,
    next_try     DateTime64(3, 'UTC'),
    message_id   String,
    last_error   String,
    sent_at      DateTime64(3, 'UTC'),
    updated_at   DateTime64(3, 'UTC'),
    version      UInt64
)
ENGINE = {engine_prefix}ReplacingMergeTree(version)
ORDER BY (subscription, due)
