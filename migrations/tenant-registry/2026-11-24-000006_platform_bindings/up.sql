-- MSP staff bound to chosen tenants: a platform role held in a tenant, for the
-- whole tenant (never a workspace). Granted by the platform team only (the app).
ALTER TABLE role_bindings DROP CONSTRAINT role_bindings_role_check;
ALTER TABLE role_bindings ADD CONSTRAINT role_bindings_role_check CHECK (role IN
    ('PlatformAdmin', 'PlatformAuditor',
     'WorkspaceAdmin', 'Operator', 'Approver', 'Auditor', 'IntegrationAdmin'));
ALTER TABLE role_bindings ADD CONSTRAINT role_bindings_platform_whole_tenant CHECK (
    role NOT IN ('PlatformAdmin', 'PlatformAuditor') OR workspace_id IS NULL);
