-- The account's active admins, in the order of the member list, for the last-admin rule
-- (`Store::active_admins`), which reads them whenever an active admin is demoted,
-- deactivated or removed. Without this index that read went through the account's
-- members in list order until it had found two: all of them, in a large account whose
-- second admin joined late or that has only one. The index holds only active admins
-- (its condition is written out in that read, as a partial index needs), so writing any
-- other member does not write it.

CREATE INDEX users_active_admins_idx ON users (account_id, kind, created_at, id)
WHERE role = 'admin' AND active;
