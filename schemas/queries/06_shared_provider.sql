-- Question: at which minutes were several regions failing at the same time?
-- (Shared-provider signal: independent regional ENTs failing together point
-- to a common host or network, not to each one's own load.)
-- "Failing" here: availability under 95 % with at least 20 attempts in the
-- minute (the defaults of incidents.availability_target and min_events).
SELECT
    bucket                              AS minute,
    uniqExact(region)                   AS regions_failing,
    arraySort(groupUniqArray(region))   AS regions,
    arraySort(groupUniqArray(service))  AS services
FROM vigie.minute_stats
WHERE availability < 0.95
  AND ok + errors + timeouts + rejected >= 20
  AND bucket >= toDateTime('2021-04-06 07:00:00', 'Europe/Paris') AND bucket < toDateTime('2021-04-06 12:00:00', 'Europe/Paris')   -- Paris time
GROUP BY minute
HAVING regions_failing >= 2
ORDER BY minute;
