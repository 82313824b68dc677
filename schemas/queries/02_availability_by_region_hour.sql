-- Question: hour by hour, how available was remote school in each region
-- (all services of the region together)?
-- Availability is recomputed from the counts (sum of ok / sum of attempts):
-- averaging the per-service availabilities would weigh a small service like
-- a big one.
SELECT
    bucket                                                        AS hour,
    region,
    sum(events)                                                   AS events,
    sum(errors + timeouts + rejected)                             AS failed,
    round(sum(ok) / nullIf(sum(ok + errors + timeouts + rejected), 0), 4) AS availability
FROM vigie.hour_stats
WHERE bucket >= toDateTime('2021-04-06 00:00:00', 'Europe/Paris') AND bucket < toDateTime('2021-04-07 00:00:00', 'Europe/Paris')   -- Paris time
GROUP BY hour, region
ORDER BY hour, region;
