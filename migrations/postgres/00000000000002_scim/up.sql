-- SCIM: per-user SCIM attributes with a version for ETags, the lower-cased columns that
-- case-insensitive filters compare with, and groups with their members.
-- Identical for SQLite and PostgreSQL; keep both folders in step.

ALTER TABLE users ADD COLUMN display_name_lower TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN work_email_lower TEXT;
ALTER TABLE users ADD COLUMN scim_json TEXT;
ALTER TABLE users ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
UPDATE users SET display_name_lower = lower(display_name), work_email_lower = email_lower;
CREATE INDEX users_account_external_id_idx ON users (account_id, external_id);
CREATE INDEX users_account_work_email_idx ON users (account_id, work_email_lower);
CREATE INDEX users_account_display_name_idx ON users (account_id, display_name_lower);

CREATE TABLE groups (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    display_name TEXT NOT NULL,
    display_name_lower TEXT NOT NULL,
    external_id TEXT,
    scim_json TEXT,
    version BIGINT NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX groups_account_display_name_key ON groups (account_id, display_name_lower);
CREATE INDEX groups_account_external_id_idx ON groups (account_id, external_id);
CREATE INDEX groups_account_created_idx ON groups (account_id, created_at, id);

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user_idx ON group_members (user_id);
