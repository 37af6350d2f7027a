-- The ids themselves cannot be recovered from their hashes: the sessions stored under
-- hashes end (their members sign in again).
DELETE FROM sessions;
DROP INDEX sessions_idp_idx;
DROP INDEX sessions_account_method_idx;
