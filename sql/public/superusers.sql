-- name: CreateSuperuser :one
INSERT INTO superusers (username, email, password_hash)
VALUES (@username, @email, @password_hash)
RETURNING *;

-- name: GetSuperuserByUsername :one
SELECT * FROM superusers WHERE username = @username;

-- name: ListSuperusers :many
SELECT * FROM superusers ORDER BY username;

-- name: StartSuperuserSignIn :one
-- StartSuperuserSignIn counts a superuser sign-in attempt against its
-- throttle keys (signin_attempt, before the password is checked) and looks
-- the superuser up, in one statement. wait_seconds > 0 means the attempt is
-- throttled. An unknown username gets id 0 and an empty hash.
SELECT a.wait::integer AS wait_seconds,
       coalesce(u.id, 0)::bigint AS id,
       coalesce(u.username, '')::text AS username,
       coalesce(u.password_hash, '')::text AS password_hash,
       coalesce(u.is_active, false)::boolean AS is_active
FROM signin_attempt(@keys::bytea[], @limits::integer[], @window_secs::integer) AS a (wait)
LEFT JOIN superusers u ON u.username = @username::text;

-- name: RecordSuperuserSignIn :exec
-- RecordSuperuserSignIn stores the superuser's last login and gives back the
-- attempt StartSuperuserSignIn counted (signin_succeeded), in one statement.
WITH g AS (
    SELECT signin_succeeded(@keys::bytea[])
)
UPDATE superusers SET last_login = now() FROM g WHERE superusers.id = @id;
