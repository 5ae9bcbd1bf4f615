-- The records of published batches are dropped; their rows are gone already.
ALTER TABLE outbox ADD COLUMN sent_at TIMESTAMPTZ;
CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;
CREATE INDEX outbox_sent_at ON outbox (sent_at) WHERE sent_at IS NOT NULL;
DROP TABLE outbox_sent;
