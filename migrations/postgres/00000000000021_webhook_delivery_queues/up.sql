-- Each webhook's pending deliveries are a queue, claimed from its head (the store's
-- webhook/queue.rs): this index walks the webhooks that have pending deliveries and each
-- one's oldest, without reading the rows behind a head. It replaces the index on
-- (status, next_attempt_at), which claiming no longer reads. No row changes.
DROP INDEX webhook_deliveries_due_idx;
CREATE INDEX webhook_deliveries_queue_idx ON webhook_deliveries (status, webhook_id, id);
