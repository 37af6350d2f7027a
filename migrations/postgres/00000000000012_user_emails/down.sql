ALTER TABLE users ALTER COLUMN email_lower TYPE TEXT COLLATE "default";
ALTER TABLE users ALTER COLUMN display_name_lower TYPE TEXT COLLATE "default";
ALTER TABLE users ALTER COLUMN external_id TYPE TEXT COLLATE "default";
ALTER TABLE groups ALTER COLUMN display_name_lower TYPE TEXT COLLATE "default";
ALTER TABLE groups ALTER COLUMN external_id TYPE TEXT COLLATE "default";
ALTER TABLE users ADD COLUMN work_email_lower TEXT;
UPDATE users SET work_email_lower = (
    SELECT e.value_key FROM user_emails e WHERE e.user_id = users.id
    ORDER BY COALESCE(e.type_lower = 'work', FALSE) DESC,
             COALESCE(e.is_primary, FALSE) DESC,
             e.position
    LIMIT 1
);
CREATE INDEX users_account_work_email_idx ON users (account_id, work_email_lower);
DROP TABLE user_emails;
