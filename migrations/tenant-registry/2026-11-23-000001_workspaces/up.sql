-- Workspaces: the units a tenant organises its work in. A workspace's data mode may
-- be stricter than its tenant's, never looser (checked by the service, which knows
-- both).
CREATE TABLE workspaces (
    workspace_id      TEXT        PRIMARY KEY,
    tenant_id         TEXT        NOT NULL REFERENCES tenants (tenant_id),
    name              TEXT        NOT NULL,
    data_mode         TEXT        NOT NULL DEFAULT 'metadata_only'
                          CHECK (data_mode IN ('metadata_only', 'content')),
    -- How long the workspace's records are kept.
    retention_days    INTEGER     NOT NULL DEFAULT 90 CHECK (retention_days BETWEEN 1 AND 3650),
    -- Most write actions (changes made in connected systems) per day; NULL: no cap.
    write_cap_per_day INTEGER     CHECK (write_cap_per_day IS NULL OR write_cap_per_day >= 0),
    -- The human-in-the-loop gate level applied by default: L0 automated … L3 human only.
    approval_tier     TEXT        NOT NULL DEFAULT 'L2' CHECK (approval_tier IN ('L0', 'L1', 'L2', 'L3')),
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_by        TEXT        NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT workspaces_name_per_tenant UNIQUE (tenant_id, name)
);

ALTER TABLE workspaces ENABLE ROW LEVEL SECURITY;
ALTER TABLE workspaces FORCE ROW LEVEL SECURITY;
CREATE POLICY workspaces_scope ON workspaces
    USING (plinth_in_scope(tenant_id)) WITH CHECK (plinth_in_scope(tenant_id));
