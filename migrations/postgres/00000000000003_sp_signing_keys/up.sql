-- The key pair each SAML IdP's SP signs its AuthnRequests with: the private key sealed
-- with the configured encryption key (`enc:v1:...`, never in clear), the self-signed
-- certificate (base64 DER) in clear, as the SP metadata publishes it. Both are NULL
-- until signing is first switched on. Whether requests are signed is a SAML setting in
-- the `settings` JSON. Identical for SQLite and PostgreSQL; keep both folders in step.

ALTER TABLE identity_providers ADD COLUMN sp_signing_key TEXT;
ALTER TABLE identity_providers ADD COLUMN sp_certificate TEXT;
