DROP TABLE setup_links;
DROP TABLE operator_log;
ALTER TABLE sessions DROP COLUMN logout_hint;
ALTER TABLE accounts DROP COLUMN suspended_at;
