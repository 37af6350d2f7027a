ALTER TABLE identity_providers DROP COLUMN sp_certificate;
ALTER TABLE identity_providers DROP COLUMN sp_signing_key;
