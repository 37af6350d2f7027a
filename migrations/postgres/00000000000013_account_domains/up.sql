-- The email domains an account claims, each proved with a DNS TXT record. A domain is
-- claimed once per account, and verified by one account at most: the partial unique
-- index lets several accounts claim a name while none has verified it, and refuses a
-- second verification.
-- Identical for SQLite and PostgreSQL; keep both folders in step.

CREATE TABLE account_domains (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    domain TEXT NOT NULL,
    token TEXT NOT NULL,
    verified_at TIMESTAMP,
    checked_at TIMESTAMP,
    missing_since TIMESTAMP,
    sso_required BOOLEAN NOT NULL DEFAULT FALSE,
    idp_id TEXT REFERENCES identity_providers (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX account_domains_account_domain_key ON account_domains (account_id, domain);
CREATE UNIQUE INDEX account_domains_verified_key ON account_domains (domain)
    WHERE verified_at IS NOT NULL;
