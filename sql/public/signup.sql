-- name: SignupAttempt :one
-- SignupAttempt counts a self-service signup against its throttle keys
-- (signin_attempt: the sign-in throttle's table and function, with keys of
-- its own namespace), before the password is hashed. wait_seconds > 0 means
-- the signup is refused (and not counted).
SELECT signin_attempt(@keys::bytea[], @limits::integer[], @window_secs::integer)::integer AS wait_seconds;
