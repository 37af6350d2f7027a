-- Folds the slots back into one row per account and restores migration 5's trigger.

CREATE TEMPORARY TABLE member_count_sums AS
SELECT account_id, SUM(members)::BIGINT AS members FROM account_member_counts GROUP BY account_id;
DELETE FROM account_member_counts;
ALTER TABLE account_member_counts DROP CONSTRAINT account_member_counts_pkey;
ALTER TABLE account_member_counts DROP COLUMN slot;
ALTER TABLE account_member_counts ADD PRIMARY KEY (account_id);
INSERT INTO account_member_counts (account_id, members)
SELECT account_id, members FROM member_count_sums;
DROP TABLE member_count_sums;

CREATE OR REPLACE FUNCTION portcullis_count_members() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') AND OLD.kind = 'human' THEN
        UPDATE account_member_counts SET members = members - 1
        WHERE account_id = OLD.account_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.kind = 'human' THEN
        INSERT INTO account_member_counts (account_id, members) VALUES (NEW.account_id, 1)
        ON CONFLICT (account_id)
        DO UPDATE SET members = account_member_counts.members + 1;
    END IF;
    RETURN NULL;
END
$$;
