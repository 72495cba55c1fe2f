-- name: DeleteStaleAccountTokens :execrows
-- DeleteStaleAccountTokens deletes the single-use links that expired or
-- were used more than a day ago (the day keeps a just-used link answering
-- "already used" rather than "unknown" in the logs of a confused user).
DELETE FROM account_tokens
WHERE expires_at < now() - interval '1 day' OR used_at < now() - interval '1 day';

-- name: DeleteStaleInvitations :execrows
-- DeleteStaleInvitations deletes invitations that were never accepted and
-- expired or were revoked more than 30 days ago. Accepted ones stay: they
-- say who invited whom.
DELETE FROM invitations
WHERE accepted_at IS NULL
  AND (expires_at < now() - interval '30 days' OR revoked_at < now() - interval '30 days');
