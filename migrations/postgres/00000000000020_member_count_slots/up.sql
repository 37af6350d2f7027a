-- An account's member count (migration 5) in slots. One row per account made every
-- transaction that adds or removes a person hold that row's lock until it committed, so
-- on PostgreSQL concurrent creates in one account waited for each other: most of a
-- create's time under load was that wait. The count is now the sum of up to 64 rows per
-- account, and a change updates the slot of the connection it runs on (its backend's pid
-- modulo 64), so concurrent transactions seldom meet on one row. A slot may hold a
-- negative number (its connection removed more people than it added); only the sum
-- means anything. The count written before is kept whole in slot 0.
-- SQLite (one writer) keeps every count in slot 0; the schema is the same on both.

ALTER TABLE account_member_counts ADD COLUMN slot INTEGER NOT NULL DEFAULT 0;
ALTER TABLE account_member_counts DROP CONSTRAINT account_member_counts_pkey;
ALTER TABLE account_member_counts ADD PRIMARY KEY (account_id, slot);
ALTER TABLE account_member_counts ALTER COLUMN slot DROP DEFAULT;

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
