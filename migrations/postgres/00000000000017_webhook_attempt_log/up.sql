-- Each delivery keeps the time, HTTP status and error of every attempt (a JSON array),
-- for the delivery log. Deliveries made before have an empty log.
-- Identical for SQLite and PostgreSQL; keep both folders in step.

ALTER TABLE webhook_deliveries ADD COLUMN attempt_log TEXT NOT NULL DEFAULT '[]';
