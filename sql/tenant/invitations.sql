-- Queries of invitations (server/invitations.go). An invitation is pending
-- while it is neither accepted nor revoked and has not expired; the unique
-- index invitations_pending_email_idx keeps one unaccepted, unrevoked
-- invitation per address (expired ones included, until replaced).

-- name: LockInvitationAddress :exec
-- LockInvitationAddress serialises the invitations of one address in this
-- tenant until the transaction ends, so that two concurrent invitations of
-- it replace one another instead of colliding on the unique index.
SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || ':invitation:' || lower(@email::text), 0));

-- name: LockOpenInvitationByEmail :one
-- LockOpenInvitationByEmail returns the unaccepted, unrevoked invitation of
-- an address (expired or not), locked.
SELECT * FROM invitations
WHERE lower(email) = lower(@email::text) AND accepted_at IS NULL AND revoked_at IS NULL
FOR UPDATE;

-- name: LockOpenInvitation :one
-- LockOpenInvitation returns invitation id, locked, if it is neither
-- accepted nor revoked; pending only (not expired either) if @pending.
SELECT * FROM invitations
WHERE id = @id AND accepted_at IS NULL AND revoked_at IS NULL
  AND (NOT @pending::boolean OR expires_at > now())
FOR UPDATE;

-- name: RevokeInvitation :exec
UPDATE invitations SET revoked_at = now() WHERE id = @id AND revoked_at IS NULL;

-- name: CreateInvitation :one
-- CreateInvitation stores a new invitation, valid for ttl_secs seconds,
-- with the hash of its link's secret.
INSERT INTO invitations (email, role, token_hash, invited_by, expires_at)
VALUES (@email, @role, @token_hash, sqlc.narg('invited_by'), now() + make_interval(secs => @ttl_secs::float8))
RETURNING *;

-- name: EmailTaken :one
-- EmailTaken reports whether a user of the tenant has the address.
SELECT EXISTS (SELECT 1 FROM users WHERE lower(email) = lower(@email::text)) AS taken;

-- name: ListPendingInvitations :many
-- ListPendingInvitations returns one page of the pending invitations whose
-- address matches every ILIKE pattern of @patterns, newest first, with the
-- number of all of them.
SELECT i.id, i.email, i.role, i.invited_by, i.created_at, i.expires_at,
       coalesce(u.username, '')::text AS invited_by_username,
       count(*) OVER () AS total
FROM invitations i
LEFT JOIN users u ON u.id = i.invited_by
WHERE i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > now()
  AND NOT EXISTS (
      SELECT 1 FROM unnest(@patterns::text[]) AS p(pattern)
      WHERE NOT i.email ILIKE p.pattern ESCAPE '\'
  )
ORDER BY i.created_at DESC, i.id DESC
LIMIT @lim::int OFFSET @off::bigint;

-- name: GetPendingInvitationByToken :one
-- GetPendingInvitationByToken returns the pending invitation whose link
-- has the secret hashed as @token_hash, with who sent it.
SELECT i.id, i.email, i.role, i.expires_at,
       coalesce(u.username, '')::text AS invited_by_username
FROM invitations i
LEFT JOIN users u ON u.id = i.invited_by
WHERE i.token_hash = @token_hash AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > now();

-- name: LockPendingInvitationByToken :one
-- LockPendingInvitationByToken is GetPendingInvitationByToken for accepting
-- it: the invitation is locked, and a concurrent acceptance that committed
-- first makes it no longer match.
SELECT * FROM invitations
WHERE token_hash = @token_hash AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()
FOR UPDATE;

-- name: MarkInvitationAccepted :exec
UPDATE invitations SET accepted_at = now(), user_id = @user_id WHERE id = @id;

-- name: CreateInvitedUser :one
-- CreateInvitedUser creates the user an invitation makes: its address is
-- verified, since the invitation's link was sent to it.
INSERT INTO users (username, email, password_hash, is_staff, role, email_verified)
VALUES (@username, @email, @password_hash, @is_staff, @role, true)
RETURNING *;

-- name: GetInvitation :one
SELECT * FROM invitations WHERE id = @id;
