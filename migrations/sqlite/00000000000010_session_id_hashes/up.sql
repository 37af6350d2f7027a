-- Sessions are stored by the SHA-256 of their id rather than the id the cookie carries,
-- so that a copy of the database cannot be replayed as cookies. The ids of the sessions
-- stored before are hashed by the store right after this migration
-- (`migrate::hash_session_ids`); a cookie signed before still finds its session.
-- Sessions are also ended by account and method (a switch to SSO enforced ends the
-- account's password sessions) and by IdP (a disabled or deleted IdP ends the sessions
-- that signed in through it): an index for each.
CREATE INDEX sessions_account_method_idx ON sessions (account_id, method);
CREATE INDEX sessions_idp_idx ON sessions (idp_id);
