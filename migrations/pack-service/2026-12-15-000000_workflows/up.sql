-- Workflows: playbooks at a workspace's scope. A tenant's workspace
-- administrators publish them into one of its workspaces, each version
-- immutable, in the playbooks' document format. The workspaces are the
-- registry's (from its events); a deleted workspace keeps its workflows' history
-- and takes no new version.

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

CREATE TABLE workflow_versions (
    workflow_version_id TEXT        PRIMARY KEY,
    tenant_id           TEXT        NOT NULL REFERENCES tenants (tenant_id),
    workspace_id        TEXT        NOT NULL REFERENCES workspaces (workspace_id),
    workflow            TEXT        NOT NULL,
    version             TEXT        NOT NULL,
    major               BIGINT      NOT NULL,
    minor               BIGINT      NOT NULL,
    patch               BIGINT      NOT NULL,
    domain              TEXT        NOT NULL,
    name                TEXT        NOT NULL,
    content_json        JSONB       NOT NULL,
    checksum            TEXT        NOT NULL,
    published_at        TIMESTAMPTZ NOT NULL,
    published_by        TEXT        NOT NULL,
    CONSTRAINT workflow_versions_version UNIQUE (workspace_id, workflow, version)
);
CREATE INDEX workflow_versions_of_tenant ON workflow_versions (tenant_id, workspace_id);
ALTER TABLE workflow_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE workflow_versions FORCE ROW LEVEL SECURITY;
CREATE POLICY workflow_versions_scope ON workflow_versions
    USING (plinth_in_scope(tenant_id)) WITH CHECK (plinth_in_scope(tenant_id));
-- Published versions are immutable: neither changed nor removed.
CREATE FUNCTION workflow_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'published workflow versions are immutable: publish a new version'
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER workflow_versions_immutable BEFORE UPDATE OR DELETE ON workflow_versions
    FOR EACH ROW EXECUTE FUNCTION workflow_versions_immutable();
