-- Onboarding: a tenant's activation request and its readiness checklist. Each item
-- is satisfied by an event of the service that owns it, or by an operator; the
-- tenant becomes ACTIVE when every item is satisfied.
CREATE TABLE onboarding_requests (
    tenant_id         TEXT        PRIMARY KEY REFERENCES tenants (tenant_id),
    deployment_model  TEXT        NOT NULL,
    requested_modules TEXT[]      NOT NULL DEFAULT '{}',
    requested_packs   TEXT[]      NOT NULL DEFAULT '{}',
    requested_at      TIMESTAMPTZ NOT NULL,
    requested_by      TEXT        NOT NULL,
    completed_at      TIMESTAMPTZ
);

CREATE TABLE onboarding_items (
    tenant_id  TEXT        NOT NULL REFERENCES onboarding_requests (tenant_id),
    item_key   TEXT        NOT NULL,
    -- The service that satisfies it (`audit`, `policy`, …), or `operator`.
    owner      TEXT        NOT NULL,
    state      TEXT        NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending', 'satisfied', 'failed')),
    reason     TEXT,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, item_key)
);

ALTER TABLE onboarding_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE onboarding_requests FORCE ROW LEVEL SECURITY;
CREATE POLICY onboarding_requests_scope ON onboarding_requests
    USING (plinth_in_scope(tenant_id)) WITH CHECK (plinth_in_scope(tenant_id));
ALTER TABLE onboarding_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE onboarding_items FORCE ROW LEVEL SECURITY;
CREATE POLICY onboarding_items_scope ON onboarding_items
    USING (plinth_in_scope(tenant_id)) WITH CHECK (plinth_in_scope(tenant_id));
