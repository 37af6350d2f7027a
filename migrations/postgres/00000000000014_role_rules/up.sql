-- Issue 21, second part. An account may provision only members with an email on its
-- verified domains; and role rules let the identity provider decide who is an admin: a
-- rule gives its role to the members of a SCIM group (`scim_group`, by display name) or
-- to the people whose SSO sign-in carries a claim value (`sso_claim`, in `claim` or, when
-- that is NULL, the usual group and role claims). One rule per source, claim and value.
-- Identical for SQLite and PostgreSQL; keep both folders in step.

ALTER TABLE accounts ADD COLUMN provision_only_verified_domains BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE role_rules (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    claim TEXT,
    value TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX role_rules_key ON role_rules (account_id, source, COALESCE(claim, ''), value);
