DROP TRIGGER users_member_count_update;
DROP TRIGGER users_member_count_delete;
DROP TRIGGER users_member_count_insert;
DROP TABLE account_member_counts;
