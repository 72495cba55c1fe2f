-- migrate:up

-- Sign-in throttling (SECURITY.md), kept here rather than in a server's
-- memory so that every server process counts against the same limits. One
-- row per throttle key: how many attempts it made in its current fixed
-- window. A key is the SHA-256 of what it counts ("this address", "this
-- account from this address"): a fixed-size index entry however long the
-- username a client sends, and no usernames or addresses at rest.
CREATE TABLE signin_attempts (
    key          bytea PRIMARY KEY CHECK (length(key) = 32),
    window_start timestamptz NOT NULL,
    attempts     integer NOT NULL
);

-- Finds the rows whose window has ended, for signin_attempt to prune.
CREATE INDEX signin_attempts_window_start_idx ON signin_attempts (window_start);

-- signin_attempt counts one sign-in attempt against each of keys, BEFORE the
-- password is checked, and returns how many seconds the caller must wait: 0
-- when every key is within its limit (limits[i] for keys[i]) and the attempt
-- may go on. Counting first, in one atomic upsert per key, is what bounds
-- concurrent guesses: of N attempts sent at once only the first `limit` of a
-- key see a count within it, whatever the number of server processes. Each
-- key counts in a fixed window of window_secs from its first attempt. A
-- refused attempt is taken back at once (below), so a key's count never
-- stays above its limit. Calls wait for each other only in the upsert,
-- which locks rows in key order, so two calls cannot deadlock.
--
-- Each call also deletes up to 8 rows whose window has ended (oldest first,
-- skipping rows another call holds): a call adds at most 2 rows, so expired
-- rows cannot pile up while anyone signs in, and the table holds about one
-- window's worth of keys.
--
-- It is called from tenant transactions, whose search_path is the tenant's
-- schema alone: every name in it is qualified (pg_catalog is always searched).
CREATE FUNCTION signin_attempt(keys bytea[], limits integer[], window_secs integer) RETURNS integer
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

-- signin_succeeded gives back the attempt signin_attempt counted for each of
-- keys, once the password proved right: correct sign-ins never count, so an
-- office behind one address is not throttled by its own successes. (Should
-- the window have ended in between, the new window gains one attempt.)
CREATE FUNCTION signin_succeeded(keys bytea[]) RETURNS void
LANGUAGE sql VOLATILE AS $$
    -- Rows are locked in key order, as signin_attempt locks them.
    UPDATE public.signin_attempts SET attempts = attempts - 1
    WHERE key IN (SELECT o.key FROM public.signin_attempts o
                  WHERE o.key = ANY (keys) ORDER BY o.key FOR UPDATE)
      AND attempts > 0;
$$;

-- migrate:down
DROP FUNCTION signin_succeeded(bytea[]);
DROP FUNCTION signin_attempt(bytea[], integer[], integer);
DROP TABLE signin_attempts;
