-- Question: were requests far more numerous than the people behind them?
-- (Attack signal: a DDoS sends many requests per active user; an overload
-- by real pupils sends a few each, retries included.)
-- users is the number of distinct pseudonymised users in the minute
-- (uniqCombined64: exact for small counts, an estimate for large ones).
SELECT
    bucket                          AS minute,
    service,
    region,
    events,
    users,
    round(events / nullIf(users, 0), 1) AS requests_per_user
FROM vigie.minute_stats
WHERE bucket >= toDateTime('2021-04-06 07:00:00', 'Europe/Paris') AND bucket < toDateTime('2021-04-06 12:00:00', 'Europe/Paris')   -- Paris time
ORDER BY requests_per_user DESC, minute, service, region
LIMIT 20;
