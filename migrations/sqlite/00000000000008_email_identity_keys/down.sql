-- The keys before this migration were Unicode lower-cased, which SQLite cannot compute;
-- the identity keys are kept (they never merge two addresses the old keys told apart).
SELECT 1;
