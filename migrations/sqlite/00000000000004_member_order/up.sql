-- SCIM lists an account's people (kind = 'human') in creation order and counts them
-- exactly. This index answers both from the index alone: the page in order, and the
-- count without reading a row of the table.
CREATE INDEX users_account_kind_created_idx ON users (account_id, kind, created_at, id);
