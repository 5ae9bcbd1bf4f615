-- Connector installations: a PSA or directory connector (ConnectWise Manage,
-- Datto Autotask, HaloPSA, Microsoft Graph) installed in one of a tenant's
-- workspaces. An installation is a connection of a connector kind — so its
-- credentials are entered through the same setup requests and delegated links
-- as a provider key, and sealed the same way — with a row here naming its
-- workspace and its non-secret settings. Runtime selection and health checks
-- are for AI provider connections only.

-- The tenants' workspaces, from the registry's events: where connectors are
-- installed. A deleted workspace is kept, marked, so its installations name it.
CREATE TABLE workspaces (
    workspace_id TEXT        PRIMARY KEY,
    tenant_id    TEXT        NOT NULL REFERENCES tenants (tenant_id),
    name         TEXT        NOT NULL,
    deleted_at   TIMESTAMPTZ,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX workspaces_of_tenant ON workspaces (tenant_id);
ALTER TABLE workspaces ENABLE ROW LEVEL SECURITY;
ALTER TABLE workspaces FORCE ROW LEVEL SECURITY;
CREATE POLICY workspaces_scope ON workspaces
    USING (plinth_in_scope(tenant_id)) WITH CHECK (plinth_in_scope(tenant_id));

ALTER TABLE connections
    DROP CONSTRAINT connections_kind_check,
    ADD CONSTRAINT connections_kind_check CHECK (kind IN (
        'openai', 'azure_openai', 'anthropic',
        'connectwise_manage', 'datto_autotask', 'halopsa', 'microsoft_graph')),
    -- A connector is a tenant's, and has no model.
    ADD CONSTRAINT connections_connector_shape CHECK (
        kind IN ('openai', 'azure_openai', 'anthropic')
        OR (tenant_id IS NOT NULL AND default_model = ''));

CREATE TABLE connector_installations (
    connection_id TEXT  PRIMARY KEY REFERENCES connections (connection_id),
    tenant_id     TEXT  NOT NULL REFERENCES tenants (tenant_id),
    workspace_id  TEXT  NOT NULL REFERENCES workspaces (workspace_id),
    -- The connector's non-secret settings (company, client id, …).
    settings      JSONB NOT NULL
);
CREATE INDEX connector_installations_of_workspace ON connector_installations (workspace_id);
ALTER TABLE connector_installations ENABLE ROW LEVEL SECURITY;
ALTER TABLE connector_installations FORCE ROW LEVEL SECURITY;
CREATE POLICY connector_installations_scope ON connector_installations
    USING (plinth_in_scope(tenant_id)) WITH CHECK (plinth_in_scope(tenant_id));

-- Selection reads AI provider connections only.
CREATE OR REPLACE FUNCTION provider_candidates(tenant TEXT) RETURNS SETOF connections
LANGUAGE sql VOLATILE SECURITY INVOKER AS $$
    SELECT set_config('plinth.tenant_scope', tenant, true);
    SELECT c.* FROM connections c
    WHERE c.kind IN ('openai', 'azure_openai', 'anthropic')
      AND (c.tenant_id = tenant
           OR (c.tenant_id IS NULL AND c.connection_id IN (
                   SELECT g.connection_id FROM pool_grants g WHERE g.tenant_id = tenant)))
    ORDER BY c.tenant_id IS NULL, c.name;
$$;
