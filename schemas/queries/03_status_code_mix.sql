-- Question: which HTTP status codes did each service answer during the
-- incident, and in what share? (503 = overloaded, 429 = quota, 0 = no status)
-- status_counts is a Map(status, count) per minute; sumMap adds the maps up
-- over the period and ARRAY JOIN turns the map into one row per status.
SELECT
    service,
    status,
    n,
    round(n / sum(n) OVER (PARTITION BY service), 4) AS share
FROM
(
    SELECT service, sumMap(status_counts) AS m
    FROM vigie.agg_minute
    WHERE bucket >= toDateTime('2021-04-06 07:00:00', 'Europe/Paris') AND bucket < toDateTime('2021-04-06 12:00:00', 'Europe/Paris')   -- Paris time
    GROUP BY service
)
ARRAY JOIN mapKeys(m) AS status, mapValues(m) AS n
ORDER BY service, n DESC, status;
