DROP INDEX invitations_invited_by_idx;
ALTER TABLE invitations DROP COLUMN revoked_at;
