-- Who holds which role in a tenant (or one of its workspaces): a principal by its
-- subject, or every member of an identity-provider group (a group mapping).
CREATE TABLE role_bindings (
    binding_id     TEXT        PRIMARY KEY,
    tenant_id      TEXT        NOT NULL REFERENCES tenants (tenant_id),
    workspace_id   TEXT        REFERENCES workspaces (workspace_id) ON DELETE CASCADE,
    principal_kind TEXT        NOT NULL CHECK (principal_kind IN ('subject', 'group')),
    principal      TEXT        NOT NULL,
    role           TEXT        NOT NULL CHECK (role IN
                       ('WorkspaceAdmin', 'Operator', 'Approver', 'Auditor', 'IntegrationAdmin')),
    created_at     TIMESTAMPTZ NOT NULL,
    created_by     TEXT        NOT NULL
);
CREATE UNIQUE INDEX role_bindings_once ON role_bindings
    (tenant_id, coalesce(workspace_id, ''), principal_kind, principal, role);

ALTER TABLE role_bindings ENABLE ROW LEVEL SECURITY;
ALTER TABLE role_bindings FORCE ROW LEVEL SECURITY;
CREATE POLICY role_bindings_scope ON role_bindings
    USING (plinth_in_scope(tenant_id)) WITH CHECK (plinth_in_scope(tenant_id));
