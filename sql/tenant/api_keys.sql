-- Queries of API keys (server/apikeys.go). A key is stored as the SHA-256
-- of its whole text; it is live while neither revoked nor expired, and
-- acts as its creator while that user is active.

-- name: CreateAPIKey :one
-- CreateAPIKey stores a new key of the user @created_by.
INSERT INTO api_keys (name, prefix, key_hash, scope, created_by, expires_at)
VALUES (@name, @prefix, @key_hash, @scope, @created_by, sqlc.narg('expires_at'))
RETURNING *;

-- name: ListAPIKeys :many
-- ListAPIKeys returns one page of the keys not revoked (expired ones
-- included), newest first, with the number of all of them.
SELECT id, name, prefix, scope, created_by, created_at, expires_at, last_used_at,
       count(*) OVER () AS total
FROM api_keys
WHERE revoked_at IS NULL
ORDER BY created_at DESC, id DESC
LIMIT @lim::int OFFSET @off::bigint;

-- name: RevokeAPIKey :one
-- RevokeAPIKey revokes key id, if it is not revoked yet, and returns it.
UPDATE api_keys SET revoked_at = now()
WHERE id = @id AND revoked_at IS NULL
RETURNING *;

-- name: GetAPIKeyUser :one
-- GetAPIKeyUser returns the key whose hash is @key_hash, whether it is
-- still usable, and the user it acts as: one statement, so that a request
-- with a key costs the round trip of one with an access token.
SELECT k.id AS key_id, k.name AS key_name, k.scope AS key_scope, k.last_used_at AS key_last_used_at,
       (k.revoked_at IS NOT NULL)::boolean AS key_revoked,
       (k.expires_at IS NOT NULL AND k.expires_at <= now())::boolean AS key_expired,
       sqlc.embed(u)
FROM api_keys k
JOIN users u ON u.id = k.created_by
WHERE k.key_hash = @key_hash;

-- name: TouchAPIKey :exec
-- TouchAPIKey records that key id was used, at most once a minute: a
-- concurrent or recent touch leaves the row alone.
UPDATE api_keys SET last_used_at = now()
WHERE id = @id AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute');
