-- name: StartSignIn :one
-- StartSignIn counts a sign-in attempt against its throttle keys
-- (public.signin_attempt, before the password is checked) and looks the
-- user up, in one statement: one round trip. wait_seconds > 0 means the
-- attempt is throttled. An unknown username gets id 0 and an empty hash.
-- It writes, but as a single statement it is atomic on its own, so it may
-- run as an implicit transaction (db.ReadTenant).
SELECT a.wait::integer AS wait_seconds,
       coalesce(u.id, 0)::bigint AS id,
       coalesce(u.username, '')::text AS username,
       coalesce(u.email, '')::text AS email,
       coalesce(u.password_hash, '')::text AS password_hash,
       coalesce(u.is_active, false)::boolean AS is_active,
       coalesce(u.email_verified, false)::boolean AS email_verified
FROM public.signin_attempt(@keys::bytea[], @limits::integer[], @window_secs::integer) AS a (wait)
LEFT JOIN users u ON u.username = @username::text;
