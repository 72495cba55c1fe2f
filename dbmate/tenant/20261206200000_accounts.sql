-- migrate:up

-- Accounts (issue #12): invitations, and the single-use links of password
-- resets and email verifications. Only a hash (SHA-256) of a link's secret
-- is stored, so a copy of the database holds no usable link.

CREATE TABLE invitations (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email       text NOT NULL,
    role        text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    token_hash  bytea NOT NULL UNIQUE,
    invited_by  bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    -- Set once: accepted (with the user it made), or revoked (by a DELETE,
    -- or replaced by a newer invitation of the same address).
    accepted_at timestamptz,
    user_id     bigint REFERENCES users (id) ON DELETE SET NULL,
    revoked_at  timestamptz
);

-- One pending invitation per address: inviting it again replaces it.
CREATE UNIQUE INDEX invitations_pending_email_idx ON invitations (lower(email))
    WHERE accepted_at IS NULL AND revoked_at IS NULL;

CREATE TABLE account_tokens (
    token_hash bytea PRIMARY KEY,
    purpose    text NOT NULL CHECK (purpose IN ('password_reset', 'email_verification')),
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The address the link was sent to: a verification verifies this
    -- address only, and neither works once the user's address changed.
    email      text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

CREATE INDEX account_tokens_user_idx ON account_tokens (user_id, purpose);

-- Access tokens issued before this instant are refused (a password change
-- or reset ends the user's other sign-ins at once, not when their access
-- tokens expire). NULL: none is.
ALTER TABLE users ADD COLUMN tokens_valid_after timestamptz;

-- migrate:down
ALTER TABLE users DROP COLUMN tokens_valid_after;
DROP TABLE account_tokens;
DROP TABLE invitations;
