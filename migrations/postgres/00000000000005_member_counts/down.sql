DROP TRIGGER users_member_count_move ON users;
DROP TRIGGER users_member_count_change ON users;
DROP FUNCTION portcullis_count_members();
DROP TABLE account_member_counts;
