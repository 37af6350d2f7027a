DROP INDEX sessions_logout_subject_idx;
ALTER TABLE sessions DROP COLUMN logout_subject;
ALTER TABLE identity_providers DROP COLUMN sp_encryption_keys;
