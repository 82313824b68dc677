-- Vigie warehouse, version 5: claims fence a stale aggregator member.
--
-- Before a member writes a range of a partition, it claims the range's
-- first offset: one row inserted with the de-duplication token
-- claim/<group>/<topic>/<partition>/e<epoch>/<first offset>. The engine keeps
-- the first claim of a start and drops every later one, whoever sends it
-- (token de-duplication of one block is atomic). The member reads the claim
-- back and writes its range only when the claim covers exactly that range.
-- A member that stalled (a GC pause, a frozen VM) while another took its
-- partitions and wakes up to flush finds the other's claim: it writes
-- nothing and re-reads the claimed range instead. So two members never
-- write overlapping ranges with different tokens: harmless by construction,
-- whatever the timing (docs/design.md, "Exactly once").
--
-- The de-duplication window counts blocks of this table (every flush of
-- every partition is one): a million covers days of flushes, far longer than
-- any stall a member can survive. Claims are kept 30 days.
CREATE TABLE IF NOT EXISTS {db}.offset_claims {on_cluster}
(
    consumer_group LowCardinality(String),
    topic          LowCardinality(String),
    partition      UInt32,
    epoch          UInt32,
    first_offset   Int64,
    last_offset    Int64,
    claimant       String,
    claimed_at     DateTime DEFAULT now()
)
ENGINE = {engine_prefix}MergeTree
ORDER BY (consumer_group, topic, partition, epoch, first_offset)
TTL claimed_at + INTERVAL 30 DAY
SETTINGS non_replicated_deduplication_window = 1000000
