-- API keys carry scopes: `scim` (the SCIM API) and `admin` (the admin API), stored as
-- their names separated by spaces. Keys made before scopes existed were full admin
-- credentials; they keep both scopes, so nothing running breaks, and are marked to be
-- replaced with scoped keys. (The defaults also cover keys an older replica makes during
-- an upgrade: those are full-access keys too.)
ALTER TABLE api_keys ADD COLUMN scopes TEXT NOT NULL DEFAULT 'scim admin';
ALTER TABLE api_keys ADD COLUMN legacy_full_access BOOLEAN NOT NULL DEFAULT TRUE;
