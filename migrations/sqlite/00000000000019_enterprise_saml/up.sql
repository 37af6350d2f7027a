-- Enterprise SAML. A SAML IdP's SP encryption keys: one sealed JSON value (`enc:v1:...`,
-- never in clear) holding the current key pair and, after a rotation, the previous pair
-- with the time it stops decrypting; NULL until encryption is first switched on. Whether
-- assertions are encrypted, and the IdP's SingleLogoutService URL, are SAML settings in
-- the `settings` JSON.
-- A SAML session's logout subject: the SHA-256 of its IdP and NameID, so that a
-- LogoutRequest from the IdP finds the sessions it names; NULL for other sessions.
-- Identical for SQLite and PostgreSQL; keep both folders in step.

ALTER TABLE identity_providers ADD COLUMN sp_encryption_keys TEXT;
ALTER TABLE sessions ADD COLUMN logout_subject TEXT;
CREATE INDEX sessions_logout_subject_idx ON sessions (logout_subject);
