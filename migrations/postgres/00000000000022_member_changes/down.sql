-- Restores migration 20's trigger function and drops the count of changes.

CREATE OR REPLACE FUNCTION portcullis_count_members() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    mine INTEGER := pg_backend_pid() % 64;
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') AND OLD.kind = 'human' THEN
        -- Not for an account being deleted, whose counts go with it.
        INSERT INTO account_member_counts (account_id, slot, members)
        SELECT OLD.account_id, mine, -1
        WHERE EXISTS (SELECT 1 FROM accounts WHERE accounts.id = OLD.account_id)
        ON CONFLICT (account_id, slot)
        DO UPDATE SET members = account_member_counts.members - 1;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.kind = 'human' THEN
        INSERT INTO account_member_counts (account_id, slot, members)
        VALUES (NEW.account_id, mine, 1)
        ON CONFLICT (account_id, slot)
        DO UPDATE SET members = account_member_counts.members + 1;
    END IF;
    RETURN NULL;
END
$$;

ALTER TABLE account_member_counts DROP COLUMN changes;
