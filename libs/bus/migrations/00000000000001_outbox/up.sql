-- The transactional outbox: events a service commits together with its business
-- change, published to Kafka by the relay afterwards.
CREATE TABLE outbox (
    id          BIGSERIAL PRIMARY KEY,
    event_id    UUID        NOT NULL UNIQUE,
    topic       TEXT        NOT NULL,
    -- Kafka message key: the tenant id, or `platform`.
    msg_key     TEXT        NOT NULL,
    ce_type     TEXT        NOT NULL,
    ce_source   TEXT        NOT NULL,
    ce_subject  TEXT,
    ce_time     TIMESTAMPTZ NOT NULL,
    traceparent TEXT,
    -- Avro single-object encoding of the event.
    payload     BYTEA       NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at     TIMESTAMPTZ
);

CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;
CREATE INDEX outbox_sent_at ON outbox (sent_at) WHERE sent_at IS NOT NULL;

-- Wake the relay once per inserting statement.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('plinth_outbox', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
