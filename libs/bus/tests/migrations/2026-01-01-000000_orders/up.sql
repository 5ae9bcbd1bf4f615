-- A stand-in business table, written by tests in tenant-scoped transactions.
CREATE TABLE orders (
    id          UUID PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    amount      BIGINT NOT NULL,
    traceparent TEXT
);
ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE orders FORCE ROW LEVEL SECURITY;
CREATE POLICY orders_tenant ON orders
    USING (tenant_id = current_setting('plinth.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('plinth.tenant_id', true));

-- What the consumer under test does with each event. Deliberately without a unique
-- key: an effect applied twice shows up as a second row.
CREATE TABLE effects (
    seq         BIGSERIAL PRIMARY KEY,
    event_id    UUID NOT NULL,
    order_id    UUID NOT NULL,
    msg_key     TEXT,
    traceparent TEXT
);
