-- What a tenant is entitled to: its plan, the modules it may enable, and its quotas.
-- A tenant without a row has the installation's defaults.
CREATE TABLE entitlements (
    tenant_id                TEXT        PRIMARY KEY REFERENCES tenants (tenant_id),
    plan                     TEXT        NOT NULL,
    modules                  TEXT[]      NOT NULL DEFAULT '{}',
    api_rate_per_second      INTEGER     NOT NULL CHECK (api_rate_per_second > 0),
    max_workspaces           INTEGER     NOT NULL CHECK (max_workspaces >= 0),
    max_provider_connections INTEGER     NOT NULL CHECK (max_provider_connections >= 0),
    monthly_token_budget     BIGINT      NOT NULL CHECK (monthly_token_budget >= 0),
    updated_at               TIMESTAMPTZ NOT NULL,
    updated_by               TEXT        NOT NULL
);

ALTER TABLE entitlements ENABLE ROW LEVEL SECURITY;
ALTER TABLE entitlements FORCE ROW LEVEL SECURITY;
CREATE POLICY entitlements_scope ON entitlements
    USING (plinth_in_scope(tenant_id)) WITH CHECK (plinth_in_scope(tenant_id));
