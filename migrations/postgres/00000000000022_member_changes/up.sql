-- Each slot of an account's member count (migration 20) also counts the changes to its
-- members: every person added to or removed from the account adds one. Only the sum of
-- an account's slots means anything, and it never goes down while the account exists:
-- two equal readings mean no member was added or removed in between (a change commits
-- with its slot's row). The bookmarks into long member lists
-- (`crates/portcullis-store/src/scim/bookmarks.rs`) hold while it stays the same. Counts
-- written before start at 0 changes.

ALTER TABLE account_member_counts ADD COLUMN changes BIGINT NOT NULL DEFAULT 0;

CREATE OR REPLACE FUNCTION portcullis_count_members() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    mine INTEGER := pg_backend_pid() % 64;
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') AND OLD.kind = 'human' THEN
        -- Not for an account being deleted, whose counts go with it.
        INSERT INTO account_member_counts (account_id, slot, members, changes)
        SELECT OLD.account_id, mine, -1, 1
        WHERE EXISTS (SELECT 1 FROM accounts WHERE accounts.id = OLD.account_id)
        ON CONFLICT (account_id, slot)
        DO UPDATE SET members = account_member_counts.members - 1,
                      changes = account_member_counts.changes + 1;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.kind = 'human' THEN
        INSERT INTO account_member_counts (account_id, slot, members, changes)
        VALUES (NEW.account_id, mine, 1, 1)
        ON CONFLICT (account_id, slot)
        DO UPDATE SET members = account_member_counts.members + 1,
                      changes = account_member_counts.changes + 1;
    END IF;
    RETURN NULL;
END
$$;
