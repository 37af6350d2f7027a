-- Drops the index of the account's active admins.

DROP INDEX users_active_admins_idx;
