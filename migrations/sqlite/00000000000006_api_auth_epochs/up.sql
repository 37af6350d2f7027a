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

-- Rows outlive their account (a deleted account's epoch moves on and stays), so an epoch
-- never starts again from a number some cache already holds.
CREATE TRIGGER accounts_auth_epoch_insert AFTER INSERT ON accounts
BEGIN
    INSERT INTO api_auth_epochs (account_id, epoch) VALUES (NEW.id, 0)
    ON CONFLICT (account_id) DO UPDATE SET epoch = epoch + 1;
END;

CREATE TRIGGER accounts_auth_epoch_update AFTER UPDATE ON accounts
BEGIN
    UPDATE api_auth_epochs SET epoch = epoch + 1 WHERE account_id IN (OLD.id, NEW.id);
END;

CREATE TRIGGER accounts_auth_epoch_delete AFTER DELETE ON accounts
BEGIN
    UPDATE api_auth_epochs SET epoch = epoch + 1 WHERE account_id = OLD.id;
END;

CREATE TRIGGER api_keys_auth_epoch_update
AFTER UPDATE OF id, account_id, owner_id, description, prefix, secret_hash, created_at, revoked_at
ON api_keys
BEGIN
    UPDATE api_auth_epochs SET epoch = epoch + 1
    WHERE account_id IN (OLD.account_id, NEW.account_id);
END;

CREATE TRIGGER api_keys_auth_epoch_delete AFTER DELETE ON api_keys
BEGIN
    UPDATE api_auth_epochs SET epoch = epoch + 1 WHERE account_id = OLD.account_id;
END;

-- Only the owners of keys matter; other members change all day under SCIM.
CREATE TRIGGER users_auth_epoch_update AFTER UPDATE ON users
WHEN EXISTS (SELECT 1 FROM api_keys WHERE api_keys.owner_id = OLD.id)
BEGIN
    UPDATE api_auth_epochs SET epoch = epoch + 1
    WHERE account_id IN (OLD.account_id, NEW.account_id);
END;

-- Before, while the owner's keys are still there to be found.
CREATE TRIGGER users_auth_epoch_delete BEFORE DELETE ON users
WHEN EXISTS (SELECT 1 FROM api_keys WHERE api_keys.owner_id = OLD.id)
BEGIN
    UPDATE api_auth_epochs SET epoch = epoch + 1 WHERE account_id = OLD.account_id;
END;
