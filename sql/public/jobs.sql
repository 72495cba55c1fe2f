-- name: JobQueueDepth :many
-- JobQueueDepth counts the background jobs not finished yet, by state, and
-- how long the oldest of each has been due (its scheduled_at; negative for
-- jobs scheduled in the future). Finished jobs (completed, cancelled,
-- discarded) are not counted: River keeps them for a day, and their count
-- says nothing about the queue.
SELECT state::text AS state,
       count(*)::bigint AS jobs,
       coalesce(extract(epoch FROM now() - min(scheduled_at)), 0)::float8 AS oldest_seconds
FROM river.river_job
WHERE state IN ('available', 'pending', 'retryable', 'running', 'scheduled')
GROUP BY state
ORDER BY state;
