-- name: Throttle :one
-- Throttle counts one attempt against each of keys (public.signin_attempt:
-- the sign-in throttle, and the password and email flows with their own key
-- namespaces) and returns how many seconds the caller must wait: 0 when it
-- may go on.
SELECT public.signin_attempt(@keys::bytea[], @limits::integer[], @window_secs::integer)::integer AS wait_seconds;

-- name: ThrottleSucceeded :exec
-- ThrottleSucceeded gives back the attempt Throttle counted against
-- keys: a password proved right never counts.
SELECT public.signin_succeeded(@keys::bytea[]);

-- name: SignInUser :one
-- SignInUser looks up the user a sign-in names, after its attempt was
-- counted (Throttle). An unknown username gets id 0 and an empty hash, so
-- that it costs the same hashing work as a known one. The throttle is a
-- statement of its own, not a part of this one: on Citus a statement that
-- reads the tenant's tables runs on the tenant's worker, where public
-- (and its signin_attempts) does not exist.
SELECT coalesce(u.id, 0)::bigint AS id,
       coalesce(u.username, '')::text AS username,
       coalesce(u.email, '')::text AS email,
       coalesce(u.password_hash, '')::text AS password_hash,
       coalesce(u.is_active, false)::boolean AS is_active,
       coalesce(u.email_verified, false)::boolean AS email_verified
FROM (SELECT 1) AS one
LEFT JOIN users u ON u.username = @username::text;
