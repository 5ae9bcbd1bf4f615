-- The tenant side: what the catalog knows of tenants and their workspaces (from
-- the tenant registry's events), and the module releases each tenant enabled.
-- Every row belongs to one tenant and carries row-level security.

CREATE TABLE tenants (
    tenant_id  TEXT        PRIMARY KEY,
    status     TEXT        NOT NULL,
    data_mode  TEXT        NOT NULL CHECK (data_mode IN ('metadata_only', 'content')),
    -- The modules its entitlements allow it to enable.
    modules    TEXT[]      NOT NULL DEFAULT '{}' CHECK (array_position(modules, NULL) IS NULL),
    updated_at TIMESTAMPTZ NOT NULL
);
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenants_scope ON tenants
    USING (plinth_in_scope(tenant_id)) WITH CHECK (plinth_in_scope(tenant_id));

CREATE TABLE workspaces (
    workspace_id TEXT        PRIMARY KEY,
    tenant_id    TEXT        NOT NULL REFERENCES tenants (tenant_id),
    name         TEXT        NOT NULL,
    data_mode    TEXT        NOT NULL CHECK (data_mode IN ('metadata_only', 'content')),
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX workspaces_of_tenant ON workspaces (tenant_id);
ALTER TABLE workspaces ENABLE ROW LEVEL SECURITY;
ALTER TABLE workspaces FORCE ROW LEVEL SECURITY;
CREATE POLICY workspaces_scope ON workspaces
    USING (plinth_in_scope(tenant_id)) WITH CHECK (plinth_in_scope(tenant_id));

-- A module enabled for a tenant, for all its workspaces (`workspace_id` '') or
-- one. Disabling keeps the row (DISABLED) with the cleanup guidance and its
-- follow-through checklist.
CREATE TABLE enablements (
    enablement_id TEXT        PRIMARY KEY,
    tenant_id     TEXT        NOT NULL REFERENCES tenants (tenant_id),
    module_id     TEXT        NOT NULL,
    workspace_id  TEXT        NOT NULL DEFAULT '',
    version       TEXT        NOT NULL,
    -- ENABLED or DISABLED.
    status        TEXT        NOT NULL CHECK (status IN ('ENABLED', 'DISABLED')),
    -- The readiness checks that were unknown when it was enabled (or last
    -- upgraded), which whoever enabled it acknowledged.
    acknowledged  TEXT[]      NOT NULL DEFAULT '{}' CHECK (array_position(acknowledged, NULL) IS NULL),
    -- Set when the release it runs was revoked: the tenant must move off it.
    revoked_at    TIMESTAMPTZ,
    enabled_at    TIMESTAMPTZ NOT NULL,
    enabled_by    TEXT        NOT NULL,
    disabled_at   TIMESTAMPTZ,
    disabled_by   TEXT,
    -- On disablement: the manifest's cleanup steps, each with whether the
    -- operator has done it ([{id, kind, description, done_at, done_by}]).
    cleanup       JSONB,
    CONSTRAINT enablements_scope UNIQUE (tenant_id, module_id, workspace_id)
);
ALTER TABLE enablements ENABLE ROW LEVEL SECURITY;
ALTER TABLE enablements FORCE ROW LEVEL SECURITY;
CREATE POLICY enablements_scope ON enablements
    USING (plinth_in_scope(tenant_id)) WITH CHECK (plinth_in_scope(tenant_id));
