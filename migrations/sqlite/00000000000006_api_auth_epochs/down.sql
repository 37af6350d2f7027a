DROP TRIGGER users_auth_epoch_delete;
DROP TRIGGER users_auth_epoch_update;
DROP TRIGGER api_keys_auth_epoch_delete;
DROP TRIGGER api_keys_auth_epoch_update;
DROP TRIGGER accounts_auth_epoch_delete;
DROP TRIGGER accounts_auth_epoch_update;
DROP TRIGGER accounts_auth_epoch_insert;
DROP TABLE api_auth_epochs;
