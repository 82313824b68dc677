-- Question: minute by minute, how many requests failed and how slow was one
-- service in one region during the incident?
-- (Per-minute error and latency series; change service, region and times.)
-- Reads the finalized view minute_stats: availability = ok / (ok + errors +
-- timeouts + rejected); NULL when nothing was attempted. Latency quantiles
-- come from the 1 % relative-error sketch, in milliseconds.
SELECT
    bucket                                  AS minute,
    events,
    errors + timeouts + rejected            AS failed,
    round(availability, 4)                  AS availability,
    round(p50_ms)                           AS p50_ms,
    round(p95_ms)                           AS p95_ms,
    round(p99_ms)                           AS p99_ms,
    users_failed                            AS pupils_failed
FROM vigie.minute_stats
WHERE service = 'ent-11'
  AND region = '11'
  AND bucket >= toDateTime('2021-04-06 07:30:00', 'Europe/Paris') AND bucket < toDateTime('2021-04-06 12:00:00', 'Europe/Paris')   -- Paris time
ORDER BY minute;
