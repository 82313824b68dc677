-- Question: did a few (pseudonymised) users send a large share of the
-- requests? (Attack signal from raw events: a bot or a scripted client
-- shows up as one pseudonym with hundreds of requests per minute.)
-- user = 0 means the event carried no user and is left out.
SELECT
    user,
    count()                             AS requests,
    countIf(outcome != 'ok')            AS not_ok,
    uniqExact(toStartOfMinute(ts))      AS active_minutes,
    round(requests / active_minutes, 1) AS requests_per_minute,
    arraySort(groupUniqArray(service))  AS services
FROM vigie.events
WHERE user != 0
  AND ts >= toDateTime('2021-04-06 07:00:00', 'Europe/Paris') AND ts < toDateTime('2021-04-06 12:00:00', 'Europe/Paris')   -- Paris time
GROUP BY user
ORDER BY requests DESC, user
LIMIT 20;
