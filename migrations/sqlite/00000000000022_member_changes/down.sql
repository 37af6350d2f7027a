-- Restores migration 20's triggers and drops the count of changes.

DROP TRIGGER users_member_count_insert;
DROP TRIGGER users_member_count_delete;
DROP TRIGGER users_member_count_update;

ALTER TABLE account_member_counts DROP COLUMN changes;

CREATE TRIGGER users_member_count_insert AFTER INSERT ON users
WHEN NEW.kind = 'human'
BEGIN
    INSERT INTO account_member_counts (account_id, slot, members) VALUES (NEW.account_id, 0, 1)
    ON CONFLICT (account_id, slot) DO UPDATE SET members = members + 1;
END;

CREATE TRIGGER users_member_count_delete AFTER DELETE ON users
WHEN OLD.kind = 'human'
BEGIN
    UPDATE account_member_counts SET members = members - 1
    WHERE account_id = OLD.account_id AND slot = 0;
END;

CREATE TRIGGER users_member_count_update AFTER UPDATE OF kind, account_id ON users
WHEN OLD.kind IS NOT NEW.kind OR OLD.account_id IS NOT NEW.account_id
BEGIN
    UPDATE account_member_counts SET members = members - 1
    WHERE OLD.kind = 'human' AND account_id = OLD.account_id AND slot = 0;
    INSERT INTO account_member_counts (account_id, slot, members)
    SELECT NEW.account_id, 0, 1 WHERE NEW.kind = 'human'
    ON CONFLICT (account_id, slot) DO UPDATE SET members = members + 1;
END;
