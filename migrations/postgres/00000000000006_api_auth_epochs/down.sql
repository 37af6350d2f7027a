DROP TRIGGER users_auth_epoch_delete ON users;
DROP TRIGGER users_auth_epoch_update ON users;
DROP FUNCTION portcullis_bump_auth_epoch_of_key_owner();
DROP TRIGGER api_keys_auth_epoch_delete ON api_keys;
DROP TRIGGER api_keys_auth_epoch_update ON api_keys;
DROP TRIGGER accounts_auth_epoch ON accounts;
DROP FUNCTION portcullis_bump_auth_epoch();
DROP FUNCTION portcullis_move_auth_epochs(TEXT[]);
DROP TABLE api_auth_epochs;
