-- Question: which services failed the most over the incident, and how many
-- pupils did each leave without service?
-- Reads the stored aggregate states in agg_minute rather than minute_stats,
-- because distinct users cannot be added up across minutes: a pupil who
-- failed at 8:01 and 8:02 is one pupil. uniqCombined64Merge merges the
-- per-minute user sketches over the whole period.
SELECT
    platform,
    service,
    sum(n_error) + sum(n_timeout) + sum(n_rejected)                  AS failed,
    sum(n_total)                                                     AS events,
    round(sum(n_ok) / nullIf(sum(n_ok) + failed, 0), 4)              AS availability,
    uniqCombined64Merge(users_failed)                                AS pupils_failed,
    round(quantilesExactWeightedMerge(0.5, 0.9, 0.95, 0.99)(latency)[3]) AS p95_ms
FROM vigie.agg_minute
WHERE bucket >= toDateTime('2021-04-06 07:00:00', 'Europe/Paris') AND bucket < toDateTime('2021-04-06 12:00:00', 'Europe/Paris')   -- Paris time
GROUP BY platform, service
ORDER BY failed DESC, service
LIMIT 10;
