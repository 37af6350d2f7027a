ALTER TABLE api_keys DROP COLUMN legacy_full_access;
ALTER TABLE api_keys DROP COLUMN scopes;
