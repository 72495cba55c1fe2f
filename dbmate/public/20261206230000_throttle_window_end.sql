-- migrate:up

-- Throttle keys now count in windows of different lengths (sign-in: 5
-- minutes; password reset, verification resend, signup: longer). Each row
-- keeps when its own window ends, and signin_attempt prunes only rows whose
-- own window has ended: pruning by the caller's window cut the longer
-- windows short whenever a sign-in ran.
ALTER TABLE signin_attempts ADD COLUMN window_end timestamptz;
UPDATE signin_attempts SET window_end = window_start + interval '5 minutes';
ALTER TABLE signin_attempts ALTER COLUMN window_end SET NOT NULL;
DROP INDEX signin_attempts_window_start_idx;
CREATE INDEX signin_attempts_window_end_idx ON signin_attempts (window_end);

-- As before (20261206110000_signin_attempts.sql), with window_end.
CREATE OR REPLACE FUNCTION signin_attempt(keys bytea[], limits integer[], window_secs integer) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    win  interval := make_interval(secs => window_secs);
    wait integer;
BEGIN
    WITH counted AS (
        INSERT INTO public.signin_attempts AS s (key, window_start, window_end, attempts)
        SELECT k.key, now(), now() + win, 1 FROM unnest(keys) AS k(key) ORDER BY k.key
        ON CONFLICT (key) DO UPDATE SET
            window_start = CASE WHEN s.window_end <= now() THEN now() ELSE s.window_start END,
            window_end   = CASE WHEN s.window_end <= now() THEN now() + win ELSE s.window_end END,
            attempts     = CASE WHEN s.window_end <= now() THEN 1 ELSE s.attempts + 1 END
        RETURNING s.key, s.window_end, s.attempts
    )
    SELECT coalesce(max(greatest(ceil(extract(epoch FROM c.window_end - now())), 1)), 0)::integer
    INTO wait
    FROM counted c JOIN unnest(keys, limits) AS l(key, lim) ON l.key = c.key
    WHERE c.attempts > l.lim;
    IF wait > 0 THEN
        UPDATE public.signin_attempts SET attempts = attempts - 1 WHERE key = ANY (keys);
    END IF;
    DELETE FROM public.signin_attempts
    WHERE key IN (SELECT o.key FROM public.signin_attempts o
                  WHERE o.window_end <= now()
                  ORDER BY o.window_end LIMIT 8
                  FOR UPDATE SKIP LOCKED);
    RETURN wait;
END
$$;

-- migrate:down
CREATE OR REPLACE FUNCTION signin_attempt(keys bytea[], limits integer[], window_secs integer) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    win  interval := make_interval(secs => window_secs);
    wait integer;
BEGIN
    WITH counted AS (
        INSERT INTO public.signin_attempts AS s (key, window_start, attempts)
        SELECT k.key, now(), 1 FROM unnest(keys) AS k(key) ORDER BY k.key
        ON CONFLICT (key) DO UPDATE SET
            window_start = CASE WHEN s.window_start <= now() - win THEN now() ELSE s.window_start END,
            attempts     = CASE WHEN s.window_start <= now() - win THEN 1 ELSE s.attempts + 1 END
        RETURNING s.key, s.window_start, s.attempts
    )
    SELECT coalesce(max(greatest(ceil(extract(epoch FROM c.window_start + win - now())), 1)), 0)::integer
    INTO wait
    FROM counted c JOIN unnest(keys, limits) AS l(key, lim) ON l.key = c.key
    WHERE c.attempts > l.lim;
    IF wait > 0 THEN
        -- Refused: take the attempt back off every key (this call holds
        -- their rows). A refused attempt checks no password, so it need not
        -- count, and retrying while throttled must not use up the
        -- address's allowance for everyone behind it.
        UPDATE public.signin_attempts SET attempts = attempts - 1 WHERE key = ANY (keys);
    END IF;
    -- Prune last: holding only its own keys by now, it skips every row
    -- another call holds and so never waits, which keeps the one wait of
    -- this function (the upsert's, in key order) free of deadlocks.
    DELETE FROM public.signin_attempts
    WHERE key IN (SELECT o.key FROM public.signin_attempts o
                  WHERE o.window_start <= now() - win
                  ORDER BY o.window_start LIMIT 8
                  FOR UPDATE SKIP LOCKED);
    RETURN wait;
END
$$;
DROP INDEX signin_attempts_window_end_idx;
CREATE INDEX signin_attempts_window_start_idx ON signin_attempts (window_start);
ALTER TABLE signin_attempts DROP COLUMN window_end;
