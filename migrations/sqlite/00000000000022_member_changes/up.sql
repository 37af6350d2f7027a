-- Each slot of an account's member count (migration 20) also counts the changes to its
-- members: every person added to or removed from the account adds one. Only the sum of
-- an account's slots means anything, and it never goes down while the account exists:
-- two equal readings mean no member was added or removed in between. The bookmarks into
-- long member lists (`crates/portcullis-store/src/scim/bookmarks.rs`) hold while it
-- stays the same. Counts written before start at 0 changes.

ALTER TABLE account_member_counts ADD COLUMN changes BIGINT NOT NULL DEFAULT 0;

DROP TRIGGER users_member_count_insert;
DROP TRIGGER users_member_count_delete;
DROP TRIGGER users_member_count_update;

CREATE TRIGGER users_member_count_insert AFTER INSERT ON users
WHEN NEW.kind = 'human'
BEGIN
    INSERT INTO account_member_counts (account_id, slot, members, changes)
    VALUES (NEW.account_id, 0, 1, 1)
    ON CONFLICT (account_id, slot)
    DO UPDATE SET members = members + 1, changes = changes + 1;
END;

CREATE TRIGGER users_member_count_delete AFTER DELETE ON users
WHEN OLD.kind = 'human'
BEGIN
    UPDATE account_member_counts SET members = members - 1, changes = changes + 1
    WHERE account_id = OLD.account_id AND slot = 0;
END;

CREATE TRIGGER users_member_count_update AFTER UPDATE OF kind, account_id ON users
WHEN OLD.kind IS NOT NEW.kind OR OLD.account_id IS NOT NEW.account_id
BEGIN
    UPDATE account_member_counts SET members = members - 1, changes = changes + 1
    WHERE OLD.kind = 'human' AND account_id = OLD.account_id AND slot = 0;
    INSERT INTO account_member_counts (account_id, slot, members, changes)
    SELECT NEW.account_id, 0, 1, 1 WHERE NEW.kind = 'human'
    ON CONFLICT (account_id, slot)
    DO UPDATE SET members = members + 1, changes = changes + 1;
END;
