-- Every email of a member, one row per element of their SCIM `emails`, so that filters
-- match when any of them does (RFC 7644 §3.4.2.2): `emails[type eq "work" and value eq
-- "…"]` finds a member by their second work address. A member SCIM never described has
-- their email as their one work email, as SCIM shows them. Unassigned sub-attributes are
-- NULL. It replaces the single work email column. The store fills it right after this
-- migration: that needs the identity rule of `portcullis_domain::email` and the SCIM
-- JSON each member was stored with, both outside SQL.
-- Identical for SQLite and PostgreSQL but for the last statements (PostgreSQL only);
-- keep both folders in step.

CREATE TABLE user_emails (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    account_id TEXT NOT NULL,
    value_key TEXT COLLATE "C",
    type_lower TEXT COLLATE "C",
    is_primary BOOLEAN,
    PRIMARY KEY (user_id, position)
);
CREATE INDEX user_emails_account_value_idx ON user_emails (account_id, value_key);

DROP INDEX users_account_work_email_idx;
ALTER TABLE users DROP COLUMN work_email_lower;

-- The columns SCIM filters compare with `gt`/`lt` and sorts order by compare by code
-- point, as SQLite does and as the server's own evaluator does, whatever collation the
-- database was created with (a linguistic one orders "a-b" and "ab" by other rules).
-- Equality, and so every unique index, is unchanged.
ALTER TABLE users ALTER COLUMN email_lower TYPE TEXT COLLATE "C";
ALTER TABLE users ALTER COLUMN display_name_lower TYPE TEXT COLLATE "C";
ALTER TABLE users ALTER COLUMN external_id TYPE TEXT COLLATE "C";
ALTER TABLE groups ALTER COLUMN display_name_lower TYPE TEXT COLLATE "C";
ALTER TABLE groups ALTER COLUMN external_id TYPE TEXT COLLATE "C";
