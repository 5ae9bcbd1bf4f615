-- Outbox rows the broker or the client refused for good (larger than the broker
-- takes, an invalid record): the relay moves each here with the reason instead of
-- retrying it forever, and publishes the rows behind it. Nothing is lost: an
-- operator reads the row, fixes the cause and publishes it again by hand.
CREATE TABLE outbox_dead_letter (
    id          BIGINT      PRIMARY KEY,
    event_id    UUID        NOT NULL UNIQUE,
    topic       TEXT        NOT NULL,
    msg_key     TEXT        NOT NULL,
    ce_type     TEXT        NOT NULL,
    ce_source   TEXT        NOT NULL,
    ce_subject  TEXT,
    ce_time     TIMESTAMPTZ NOT NULL,
    traceparent TEXT,
    payload     BYTEA       NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    refused_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    reason      TEXT        NOT NULL
);
