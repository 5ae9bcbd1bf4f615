-- Events a consumer has applied, recorded in the same transaction as the effect, so a
-- redelivered event is recognised and skipped.
CREATE TABLE inbox (
    consumer    TEXT        NOT NULL,
    event_id    UUID        NOT NULL,
    topic       TEXT        NOT NULL,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
