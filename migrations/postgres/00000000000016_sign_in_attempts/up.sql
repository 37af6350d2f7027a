-- The sign-in debugger (issue 22): every SSO attempt with its steps (JSON: name, outcome,
-- detail) and the IdP's answer with signature values and certificates blanked out; kept
-- 7 days.
-- Identical for SQLite and PostgreSQL; keep both folders in step.

CREATE TABLE sign_in_attempts (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    idp_id TEXT NOT NULL,
    protocol TEXT NOT NULL,
    succeeded BOOLEAN NOT NULL,
    reason TEXT NOT NULL,
    email TEXT,
    steps TEXT NOT NULL,
    response TEXT,
    at TIMESTAMP NOT NULL
);
CREATE INDEX sign_in_attempts_account_at_idx ON sign_in_attempts (account_id, at);
