-- Question: how many sessions were open at once, at the peak of each hour,
-- per service? (The capacity a service would have needed.)
-- Concurrency is sessions_started - sessions_ended, cumulated minute by
-- minute from the start of the range: sessions already open before the
-- range are not counted, so start the range before the morning rush.
-- The counters are UInt64: cast before subtracting.
SELECT
    service,
    toStartOfHour(minute)           AS hour,
    max(open_sessions)              AS peak_sessions,
    argMax(minute, open_sessions)   AS peak_at
FROM
(
    SELECT
        service,
        minute,
        sum(delta) OVER (PARTITION BY service ORDER BY minute ROWS UNBOUNDED PRECEDING) AS open_sessions
    FROM
    (
        SELECT service, bucket AS minute,
               toInt64(sum(sessions_started)) - toInt64(sum(sessions_ended)) AS delta
        FROM vigie.minute_stats
        WHERE bucket >= toDateTime('2021-04-06 07:00:00', 'Europe/Paris') AND bucket < toDateTime('2021-04-06 12:00:00', 'Europe/Paris')   -- Paris time
        GROUP BY service, minute
    )
)
GROUP BY service, hour
ORDER BY service, hour;
