-- Question: what exactly did the failing requests of one service look like
-- in the first minutes of its failure? (Raw events drill-down.)
-- user is the keyed-HMAC pseudonym (UInt64), never the raw id: it tells
-- requests of one user apart, not who the user is. Raw events are kept for
-- warehouse.retention.raw (90 days by default).
SELECT
    ts,
    region,
    academy,
    kind,
    outcome,
    status,
    latency_ms,
    user,
    attrs
FROM vigie.events
WHERE service = 'ent-11'
  AND ts >= toDateTime('2021-04-06 08:00:00', 'Europe/Paris') AND ts < toDateTime('2021-04-06 08:10:00', 'Europe/Paris')   -- Paris time
  AND outcome != 'ok'
ORDER BY ts, id
LIMIT 100;
