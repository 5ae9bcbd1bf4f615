-- Normalized health of connections: each check the service made (a minimal
-- completion with the active key) or result another component submitted
-- through the platform's gate, and the latest status on the connection.

ALTER TABLE connections
    ADD COLUMN health_status TEXT
        CHECK (health_status IN ('ready', 'degraded', 'rate_limited', 'auth_failed', 'unreachable')),
    ADD COLUMN health_checked_at TIMESTAMPTZ;

CREATE TABLE health_records (
    record_id     TEXT        PRIMARY KEY,
    connection_id TEXT        NOT NULL REFERENCES connections (connection_id),
    tenant_id     TEXT        REFERENCES tenants (tenant_id),
    status        TEXT        NOT NULL
        CHECK (status IN ('ready', 'degraded', 'rate_limited', 'auth_failed', 'unreachable')),
    -- What went wrong, when something did: provider_error, unexpected, timeout, …
    error_class   TEXT,
    http_status   INTEGER,
    latency_ms    INTEGER     NOT NULL CHECK (latency_ms >= 0),
    -- probe (this service checked) or submitted (through the gate).
    source        TEXT        NOT NULL CHECK (source IN ('probe', 'submitted')),
    -- Who submitted it (or the service, for a probe).
    recorded_by   TEXT        NOT NULL,
    -- When the result was observed (a submission says; a probe's is its own).
    observed_at   TIMESTAMPTZ NOT NULL,
    recorded_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX health_records_of_connection ON health_records (connection_id, recorded_at);
ALTER TABLE health_records ENABLE ROW LEVEL SECURITY;
ALTER TABLE health_records FORCE ROW LEVEL SECURITY;
CREATE POLICY health_records_scope ON health_records
    USING (plinth_in_scope(coalesce(tenant_id, '*')))
    WITH CHECK (plinth_in_scope(coalesce(tenant_id, '*')));
