-- Portcullis foundation schema (SQLite). Keep in step with ../../postgres/ (same names).
-- Ids are uuid text, times are UTC `TIMESTAMP`s, JSON is text.

CREATE TABLE server_secrets (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE accounts (
    id TEXT PRIMARY KEY NOT NULL,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    enforcement TEXT NOT NULL,
    provisioning TEXT NOT NULL,
    api_ip_restrictions TEXT NOT NULL DEFAULT '[]',
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX accounts_slug_key ON accounts (slug);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    email_lower TEXT NOT NULL,
    display_name TEXT NOT NULL,
    kind TEXT NOT NULL,
    role TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    password_hash TEXT,
    external_id TEXT,
    origin TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX users_account_email_key ON users (account_id, email_lower);
CREATE INDEX users_account_created_idx ON users (account_id, created_at, id);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    method TEXT NOT NULL,
    idp_id TEXT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    owner_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    description TEXT NOT NULL,
    prefix TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE UNIQUE INDEX api_keys_secret_hash_key ON api_keys (secret_hash);
CREATE INDEX api_keys_account_idx ON api_keys (account_id, created_at);
CREATE INDEX api_keys_owner_idx ON api_keys (owner_id);

CREATE TABLE identity_providers (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    description TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    protocol TEXT NOT NULL,
    settings TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX identity_providers_account_idx ON identity_providers (account_id, created_at);

CREATE TABLE sso_links (
    idp_id TEXT NOT NULL REFERENCES identity_providers (id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (idp_id, subject)
);
CREATE UNIQUE INDEX sso_links_idp_user_key ON sso_links (idp_id, user_id);
CREATE INDEX sso_links_user_idx ON sso_links (user_id);

CREATE TABLE pending_logins (
    id TEXT PRIMARY KEY NOT NULL,
    idp_id TEXT NOT NULL REFERENCES identity_providers (id) ON DELETE CASCADE,
    browser_binding TEXT NOT NULL,
    nonce TEXT,
    pkce_verifier TEXT,
    return_to TEXT,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX pending_logins_expires_idx ON pending_logins (expires_at);

CREATE TABLE assertion_replay (
    idp_id TEXT NOT NULL REFERENCES identity_providers (id) ON DELETE CASCADE,
    assertion_id TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    PRIMARY KEY (idp_id, assertion_id)
);
CREATE INDEX assertion_replay_expires_idx ON assertion_replay (expires_at);

CREATE TABLE invitations (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    email_lower TEXT NOT NULL,
    role TEXT NOT NULL,
    invited_by TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    accepted_at TIMESTAMP
);
CREATE UNIQUE INDEX invitations_token_hash_key ON invitations (token_hash);
CREATE INDEX invitations_account_idx ON invitations (account_id, created_at);

CREATE TABLE audit_events (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    actor_kind TEXT NOT NULL,
    actor_id TEXT,
    action TEXT NOT NULL,
    target TEXT,
    ip TEXT,
    detail TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX audit_events_account_at_idx ON audit_events (account_id, at, id);
