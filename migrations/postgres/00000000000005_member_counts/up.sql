-- SCIM answers every list with the exact number of the account's people (totalResults).
-- Counting 100,000 members means reading the whole index range on every page, so the
-- number is kept here instead, by a trigger, in the same transaction as the change:
-- no code path can forget it.
CREATE TABLE account_member_counts (
    account_id TEXT PRIMARY KEY NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    members BIGINT NOT NULL
);

INSERT INTO account_member_counts (account_id, members)
SELECT accounts.id,
       (SELECT count(*) FROM users WHERE users.account_id = accounts.id AND users.kind = 'human')
FROM accounts;

CREATE FUNCTION portcullis_count_members() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE TRIGGER users_member_count_change AFTER INSERT OR DELETE ON users
FOR EACH ROW EXECUTE FUNCTION portcullis_count_members();

CREATE TRIGGER users_member_count_move AFTER UPDATE OF kind, account_id ON users
FOR EACH ROW
WHEN (OLD.kind IS DISTINCT FROM NEW.kind OR OLD.account_id IS DISTINCT FROM NEW.account_id)
EXECUTE FUNCTION portcullis_count_members();
