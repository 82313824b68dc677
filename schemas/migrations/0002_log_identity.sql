-- Vigie warehouse, version 2: offsets are not identities.
--
-- A torn or corrupted segment, a deleted log, an unclean leader election or
-- a re-created topic reuse offsets. Each committed range therefore keeps a
-- hash of the record at its last offset (last_hash, 0 for "unknown"), which
-- the aggregator checks against the log before it resumes; and an epoch,
-- raised by the operator's `vigie offsets resume` when a partition is
-- restarted on a log that no longer matches, so that the versions of the
-- new log's markers win over the old ones (version = epoch << 40 | last * 2
-- + after).
ALTER TABLE {db}.consumer_offsets {on_cluster}
    ADD COLUMN IF NOT EXISTS last_hash UInt64 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS epoch UInt32 DEFAULT 0
;
-- The raw events say which log epoch they were read in: after a restart on
-- a new log, the same offsets name other events, and de-duplication must
-- not take one for the other.
ALTER TABLE {db}.events {on_cluster}
    ADD COLUMN IF NOT EXISTS kafka_epoch UInt32 DEFAULT 0
;
-- Re-sent ids are confirmed against the raw events by id: a bloom filter
-- index lets the engine skip the granules that cannot hold them.
ALTER TABLE {db}.events {on_cluster}
    ADD INDEX IF NOT EXISTS id_bloom id TYPE bloom_filter(0.001) GRANULARITY 1

