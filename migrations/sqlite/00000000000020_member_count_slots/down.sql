-- Folds the slots back into one row per account and restores migration 5's triggers.

DROP TRIGGER users_member_count_insert;
DROP TRIGGER users_member_count_delete;
DROP TRIGGER users_member_count_update;

CREATE TABLE account_member_counts_whole (
    account_id TEXT PRIMARY KEY NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    members BIGINT NOT NULL
);
INSERT INTO account_member_counts_whole (account_id, members)
SELECT account_id, SUM(members) FROM account_member_counts GROUP BY account_id;
DROP TABLE account_member_counts;
ALTER TABLE account_member_counts_whole RENAME TO account_member_counts;

CREATE TRIGGER users_member_count_insert AFTER INSERT ON users
WHEN NEW.kind = 'human'
BEGIN
    INSERT INTO account_member_counts (account_id, members) VALUES (NEW.account_id, 1)
    ON CONFLICT (account_id) DO UPDATE SET members = members + 1;
END;

CREATE TRIGGER users_member_count_delete AFTER DELETE ON users
WHEN OLD.kind = 'human'
BEGIN
    UPDATE account_member_counts SET members = members - 1 WHERE account_id = OLD.account_id;
END;

CREATE TRIGGER users_member_count_update AFTER UPDATE OF kind, account_id ON users
WHEN OLD.kind IS NOT NEW.kind OR OLD.account_id IS NOT NEW.account_id
BEGIN
    UPDATE account_member_counts SET members = members - 1
    WHERE OLD.kind = 'human' AND account_id = OLD.account_id;
    INSERT INTO account_member_counts (account_id, members)
    SELECT NEW.account_id, 1 WHERE NEW.kind = 'human'
    ON CONFLICT (account_id) DO UPDATE SET members = members + 1;
END;
