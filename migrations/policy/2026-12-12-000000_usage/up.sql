-- Usage and budgets: the tenant's entitled monthly token budget (from the
-- registry's entitlement events), and the runtimes' usage (from
-- plinth.metering.v1) summed per tenant, month, workspace, module, provider
-- and model — each event counted once (the inbox records it in the same
-- transaction). An empty string stands for none in the key columns.

ALTER TABLE tenants ADD COLUMN monthly_token_budget BIGINT;

CREATE TABLE usage_monthly (
    tenant_id            TEXT   NOT NULL REFERENCES tenants (tenant_id),
    month                DATE   NOT NULL CHECK (extract(day FROM month) = 1),
    workspace_id         TEXT   NOT NULL,
    module_id            TEXT   NOT NULL,
    provider_kind        TEXT   NOT NULL,
    model                TEXT   NOT NULL,
    connector            TEXT   NOT NULL,
    tokens_in            BIGINT NOT NULL CHECK (tokens_in >= 0),
    tokens_out           BIGINT NOT NULL CHECK (tokens_out >= 0),
    connector_operations BIGINT NOT NULL CHECK (connector_operations >= 0),
    events               BIGINT NOT NULL CHECK (events > 0),
    PRIMARY KEY (tenant_id, month, workspace_id, module_id, provider_kind, model, connector)
);
ALTER TABLE usage_monthly ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage_monthly FORCE ROW LEVEL SECURITY;
CREATE POLICY usage_monthly_scope ON usage_monthly
    USING (plinth_in_scope(tenant_id)) WITH CHECK (plinth_in_scope(tenant_id));
