-- Every API call authenticates its key, its owner and its account. A server may keep
-- what it read in memory, but only as long as this account's epoch is unchanged: the
-- triggers below move it forward, in the same transaction, with every change that could
-- alter the answer (a key revoked or deleted, its owner changed or removed, the account's
-- settings or IP restrictions changed). Being kept by the database, the epoch is seen by
-- every replica and every process, whatever wrote the change.
--
-- Not counted: new keys (a cache never holds a key it has not read) and a key's
-- `last_used_at`, written at most once a minute per key.
CREATE TABLE api_auth_epochs (
    account_id TEXT PRIMARY KEY NOT NULL,
    epoch BIGINT NOT NULL
);

INSERT INTO api_auth_epochs (account_id, epoch) SELECT id, 0 FROM accounts;

-- Moves the epochs of the given accounts forward (NULLs and repeats are skipped). Rows
-- outlive their account (a deleted account's epoch moves on and stays), so an epoch never
-- starts again from a number some cache already holds.
CREATE FUNCTION portcullis_move_auth_epochs(VARIADIC accounts TEXT[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO api_auth_epochs (account_id, epoch)
    SELECT DISTINCT a, 0 FROM unnest(accounts) AS a WHERE a IS NOT NULL
    ON CONFLICT (account_id) DO UPDATE SET epoch = api_auth_epochs.epoch + 1;
$$;

-- For changes to accounts and API keys: the account(s) of OLD and NEW.
CREATE FUNCTION portcullis_bump_auth_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_account TEXT;
    new_account TEXT;
BEGIN
    -- One branch per table: PL/pgSQL resolves a field only when the statement runs.
    IF TG_TABLE_NAME = 'accounts' THEN
        IF TG_OP <> 'INSERT' THEN old_account := OLD.id; END IF;
        IF TG_OP <> 'DELETE' THEN new_account := NEW.id; END IF;
    ELSE
        IF TG_OP <> 'INSERT' THEN old_account := OLD.account_id; END IF;
        IF TG_OP <> 'DELETE' THEN new_account := NEW.account_id; END IF;
    END IF;
    PERFORM portcullis_move_auth_epochs(old_account, new_account);
    RETURN NULL;
END
$$;

CREATE TRIGGER accounts_auth_epoch AFTER INSERT OR UPDATE OR DELETE ON accounts
FOR EACH ROW EXECUTE FUNCTION portcullis_bump_auth_epoch();

CREATE TRIGGER api_keys_auth_epoch_update
AFTER UPDATE OF id, account_id, owner_id, description, prefix, secret_hash, created_at, revoked_at
ON api_keys
FOR EACH ROW EXECUTE FUNCTION portcullis_bump_auth_epoch();

CREATE TRIGGER api_keys_auth_epoch_delete AFTER DELETE ON api_keys
FOR EACH ROW EXECUTE FUNCTION portcullis_bump_auth_epoch();

-- Only the owners of keys matter; other members change all day under SCIM.
CREATE FUNCTION portcullis_bump_auth_epoch_of_key_owner() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    new_account TEXT;
BEGIN
    IF EXISTS (SELECT 1 FROM api_keys WHERE api_keys.owner_id = OLD.id) THEN
        IF TG_OP = 'UPDATE' THEN new_account := NEW.account_id; END IF;
        PERFORM portcullis_move_auth_epochs(OLD.account_id, new_account);
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER users_auth_epoch_update AFTER UPDATE ON users
FOR EACH ROW EXECUTE FUNCTION portcullis_bump_auth_epoch_of_key_owner();

-- Before, while the owner's keys are still there to be found.
CREATE TRIGGER users_auth_epoch_delete BEFORE DELETE ON users
FOR EACH ROW EXECUTE FUNCTION portcullis_bump_auth_epoch_of_key_owner();
