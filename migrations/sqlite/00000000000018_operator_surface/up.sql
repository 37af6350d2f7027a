-- The operator surface: accounts an operator suspended, the operator log (which names
-- accounts by id and slug without a foreign key, so it outlives a deleted account), and
-- setup links for a customer's IT admin. And what signing out at the IdP needs, kept
-- with an SSO session (sealed JSON: the OIDC ID token, or the SAML NameID and
-- SessionIndex).
-- Identical for SQLite and PostgreSQL; keep both folders in step.

ALTER TABLE accounts ADD COLUMN suspended_at TIMESTAMP;
ALTER TABLE sessions ADD COLUMN logout_hint TEXT;

CREATE TABLE operator_log (
    id TEXT PRIMARY KEY NOT NULL,
    at TIMESTAMP NOT NULL,
    action TEXT NOT NULL,
    account_id TEXT NOT NULL,
    account_slug TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX operator_log_at_idx ON operator_log (at);

CREATE TABLE setup_links (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL,
    sections TEXT NOT NULL,
    idp_id TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE UNIQUE INDEX setup_links_token_hash_key ON setup_links (token_hash);
CREATE INDEX setup_links_account_idx ON setup_links (account_id, created_at);
