DROP TABLE group_members;
DROP TABLE groups;
DROP INDEX users_account_display_name_idx;
DROP INDEX users_account_work_email_idx;
DROP INDEX users_account_external_id_idx;
ALTER TABLE users DROP COLUMN version;
ALTER TABLE users DROP COLUMN scim_json;
ALTER TABLE users DROP COLUMN work_email_lower;
ALTER TABLE users DROP COLUMN display_name_lower;
