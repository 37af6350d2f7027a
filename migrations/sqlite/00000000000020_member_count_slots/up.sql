-- An account's member count (migration 5) in slots: the count is the sum of an
-- account's rows. On PostgreSQL each connection updates a slot of its own, so that
-- concurrent transactions adding people to one account do not wait for each other's
-- commit (see that folder's migration). SQLite has one writer and keeps every count in
-- slot 0; the schema is the same on both. The count written before is kept in slot 0.

DROP TRIGGER users_member_count_insert;
DROP TRIGGER users_member_count_delete;
DROP TRIGGER users_member_count_update;

CREATE TABLE account_member_count_slots (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    slot INTEGER NOT NULL,
    members BIGINT NOT NULL,
    PRIMARY KEY (account_id, slot)
);
INSERT INTO account_member_count_slots (account_id, slot, members)
SELECT account_id, 0, members FROM account_member_counts;
DROP TABLE account_member_counts;
ALTER TABLE account_member_count_slots RENAME TO account_member_counts;

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
