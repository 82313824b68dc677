-- Vigie warehouse, version 3: the collector of each raw event.
-- The collector is the authenticated sender (ingest.collectors[].name, "local"
-- for the data dir's token, "anonymous" on an open loopback server; empty for
-- events written before this version or produced to Kafka by something else
-- than Vigie's collector). Event ids are unique per collector: the aggregator
-- de-duplicates on (collector, id), and rebuilds that memory from this column.
ALTER TABLE {db}.events {on_cluster}
    ADD COLUMN IF NOT EXISTS collector LowCardinality(String) DEFAULT '' AFTER id
