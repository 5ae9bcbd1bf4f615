-- Provider setup: what it knows of tenants (from the registry's events), the AI
-- provider connections — a tenant's own, or pooled (the platform's, shared with
-- chosen tenants) — the delegated setup links keys are entered through, every
-- sealed key version, and every validation of an entered key. Keys are stored
-- only sealed (envelope encryption); a link's token only as its SHA-256.
--
-- A row of a pooled connection has no tenant (`tenant_id` NULL): it is the
-- platform's, written in the platform-wide scope only; a tenant reads a pooled
-- connection it was granted.

CREATE TABLE tenants (
    tenant_id  TEXT        PRIMARY KEY,
    status     TEXT        NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenants_scope ON tenants
    USING (plinth_in_scope(tenant_id)) WITH CHECK (plinth_in_scope(tenant_id));

CREATE TABLE connections (
    connection_id  TEXT        PRIMARY KEY,
    -- NULL: pooled, the platform's.
    tenant_id      TEXT        REFERENCES tenants (tenant_id),
    name           TEXT        NOT NULL,
    kind           TEXT        NOT NULL CHECK (kind IN ('openai', 'azure_openai', 'anthropic')),
    base_url       TEXT        NOT NULL,
    -- Azure OpenAI only.
    deployment     TEXT,
    api_version    TEXT,
    -- The model the runtime uses unless it asks for another.
    default_model  TEXT        NOT NULL,
    -- PENDING (no key yet), ACTIVE (a validated key), DISABLED, DESTROYED (every
    -- key shredded).
    status         TEXT        NOT NULL CHECK (status IN ('PENDING', 'ACTIVE', 'DISABLED', 'DESTROYED')),
    -- The key version the runtime gets; NULL before the first key.
    active_version INTEGER,
    created_at     TIMESTAMPTZ NOT NULL,
    created_by     TEXT        NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    CHECK ((kind = 'azure_openai') = (deployment IS NOT NULL AND api_version IS NOT NULL))
);
CREATE UNIQUE INDEX connections_name ON connections (coalesce(tenant_id, ''), name);
ALTER TABLE connections ENABLE ROW LEVEL SECURITY;
ALTER TABLE connections FORCE ROW LEVEL SECURITY;

-- A pooled connection shared with a tenant, with the tenant's limits on it.
CREATE TABLE pool_grants (
    connection_id       TEXT        NOT NULL REFERENCES connections (connection_id),
    tenant_id           TEXT        NOT NULL REFERENCES tenants (tenant_id),
    -- Requests per minute and tokens per month the tenant may spend on it.
    requests_per_minute INTEGER     NOT NULL CHECK (requests_per_minute > 0),
    tokens_per_month    BIGINT      NOT NULL CHECK (tokens_per_month > 0),
    granted_at          TIMESTAMPTZ NOT NULL,
    granted_by          TEXT        NOT NULL,
    PRIMARY KEY (connection_id, tenant_id)
);
CREATE INDEX pool_grants_of_tenant ON pool_grants (tenant_id);
ALTER TABLE pool_grants ENABLE ROW LEVEL SECURITY;
ALTER TABLE pool_grants FORCE ROW LEVEL SECURITY;
CREATE POLICY pool_grants_scope ON pool_grants
    USING (plinth_in_scope(tenant_id)) WITH CHECK (plinth_in_scope(tenant_id));

-- A tenant's own connections in its scope; pooled ones written platform-wide
-- only, and read by a tenant granted one.
CREATE POLICY connections_scope ON connections
    USING (plinth_in_scope(coalesce(tenant_id, '*')))
    WITH CHECK (plinth_in_scope(coalesce(tenant_id, '*')));
CREATE POLICY connections_granted ON connections FOR SELECT
    USING (tenant_id IS NULL AND EXISTS (
        SELECT 1 FROM pool_grants g
        WHERE g.connection_id = connections.connection_id AND plinth_in_scope(g.tenant_id)));

-- A request for a connection's key (its first, or a rotation's), entered
-- through the delegated links minted for it; one link lives at a time.
CREATE TABLE setup_requests (
    request_id    TEXT        PRIMARY KEY,
    connection_id TEXT        NOT NULL REFERENCES connections (connection_id),
    tenant_id     TEXT        REFERENCES tenants (tenant_id),
    -- initial or rotation.
    purpose       TEXT        NOT NULL CHECK (purpose IN ('initial', 'rotation')),
    -- OPEN, COMPLETED (a key was entered and activated), CANCELLED.
    status        TEXT        NOT NULL CHECK (status IN ('OPEN', 'COMPLETED', 'CANCELLED')),
    note          TEXT        NOT NULL DEFAULT '',
    created_at    TIMESTAMPTZ NOT NULL,
    created_by    TEXT        NOT NULL,
    completed_at  TIMESTAMPTZ
);
CREATE UNIQUE INDEX setup_requests_one_open ON setup_requests (connection_id) WHERE status = 'OPEN';
ALTER TABLE setup_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE setup_requests FORCE ROW LEVEL SECURITY;
CREATE POLICY setup_requests_scope ON setup_requests
    USING (plinth_in_scope(coalesce(tenant_id, '*')))
    WITH CHECK (plinth_in_scope(coalesce(tenant_id, '*')));

-- A delegated link: its token is shown once, when minted, and kept only as its
-- SHA-256. While a redemption validates the key entered, the link is claimed
-- (`claimed_until`) so no other redemption runs at the same time.
CREATE TABLE setup_links (
    link_id       TEXT        PRIMARY KEY,
    request_id    TEXT        NOT NULL REFERENCES setup_requests (request_id),
    connection_id TEXT        NOT NULL REFERENCES connections (connection_id),
    tenant_id     TEXT        REFERENCES tenants (tenant_id),
    token_sha256  BYTEA       NOT NULL UNIQUE,
    created_at    TIMESTAMPTZ NOT NULL,
    created_by    TEXT        NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL,
    claimed_until TIMESTAMPTZ,
    attempts      INTEGER     NOT NULL DEFAULT 0,
    redeemed_at   TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ,
    revoked_by    TEXT
);
CREATE INDEX setup_links_of_request ON setup_links (request_id);
ALTER TABLE setup_links ENABLE ROW LEVEL SECURITY;
ALTER TABLE setup_links FORCE ROW LEVEL SECURITY;
CREATE POLICY setup_links_scope ON setup_links
    USING (plinth_in_scope(coalesce(tenant_id, '*')))
    WITH CHECK (plinth_in_scope(coalesce(tenant_id, '*')));

-- A key version of a connection, sealed. Shredding deletes its wrapped data key
-- (and its ciphertext): the key is gone for good.
CREATE TABLE key_versions (
    connection_id TEXT        NOT NULL REFERENCES connections (connection_id),
    version       INTEGER     NOT NULL CHECK (version > 0),
    tenant_id     TEXT        REFERENCES tenants (tenant_id),
    backend       TEXT        NOT NULL,
    key_id        TEXT        NOT NULL,
    wrapped_key   BYTEA,
    nonce         BYTEA,
    ciphertext    BYTEA,
    -- ACTIVE, PREVIOUS (usable until `usable_until`), DESTROYED.
    status        TEXT        NOT NULL CHECK (status IN ('ACTIVE', 'PREVIOUS', 'DESTROYED')),
    link_id       TEXT        NOT NULL REFERENCES setup_links (link_id),
    created_at    TIMESTAMPTZ NOT NULL,
    usable_until  TIMESTAMPTZ,
    destroyed_at  TIMESTAMPTZ,
    PRIMARY KEY (connection_id, version),
    CHECK ((status = 'DESTROYED') = (wrapped_key IS NULL))
);
ALTER TABLE key_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE key_versions FORCE ROW LEVEL SECURITY;
CREATE POLICY key_versions_scope ON key_versions
    USING (plinth_in_scope(coalesce(tenant_id, '*')))
    WITH CHECK (plinth_in_scope(coalesce(tenant_id, '*')));

-- Every validation of a key entered through a link: what the provider answered,
-- normalized. Never the key.
CREATE TABLE validations (
    validation_id TEXT        PRIMARY KEY,
    connection_id TEXT        NOT NULL REFERENCES connections (connection_id),
    tenant_id     TEXT        REFERENCES tenants (tenant_id),
    link_id       TEXT        NOT NULL REFERENCES setup_links (link_id),
    outcome       TEXT        NOT NULL,
    http_status   INTEGER,
    latency_ms    INTEGER     NOT NULL,
    models        INTEGER     NOT NULL,
    activated     BOOLEAN     NOT NULL,
    checked_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX validations_of_connection ON validations (connection_id, checked_at);
ALTER TABLE validations ENABLE ROW LEVEL SECURITY;
ALTER TABLE validations FORCE ROW LEVEL SECURITY;
CREATE POLICY validations_scope ON validations
    USING (plinth_in_scope(coalesce(tenant_id, '*')))
    WITH CHECK (plinth_in_scope(coalesce(tenant_id, '*')));
