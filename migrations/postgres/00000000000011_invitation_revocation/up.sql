-- Invitations can be revoked: by an admin, and at once for every pending invitation a
-- member made when that member is deactivated or deleted (found by `invited_by`).
ALTER TABLE invitations ADD COLUMN revoked_at TIMESTAMP;
CREATE INDEX invitations_invited_by_idx ON invitations (invited_by);
