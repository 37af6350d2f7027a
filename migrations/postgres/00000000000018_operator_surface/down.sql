DROP TABLE setup_links;
DROP TABLE operator_log;
ALTER TABLE accounts DROP COLUMN suspended_at;
