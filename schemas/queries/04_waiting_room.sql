-- Question: how long did pupils wait in waiting rooms (queues: an ENT under
-- quota, the CNED before a virtual class), per hour, region and service?
-- queued counts requests sent to the waiting room; mean and max wait come
-- from the queue events' queue_ms. Queued is not counted as a failure in
-- availability.
SELECT
    bucket                              AS hour,
    region,
    service,
    queued,
    round(mean_queue_ms / 1000, 1)      AS mean_wait_s,
    round(max_queue_ms / 1000, 1)       AS max_wait_s
FROM vigie.hour_stats
WHERE queued > 0
  AND bucket >= toDateTime('2021-04-06 00:00:00', 'Europe/Paris') AND bucket < toDateTime('2021-04-07 00:00:00', 'Europe/Paris')   -- Paris time
ORDER BY hour, region, service;
