DELETE FROM role_bindings WHERE role IN ('PlatformAdmin', 'PlatformAuditor');
ALTER TABLE role_bindings DROP CONSTRAINT role_bindings_platform_whole_tenant;
ALTER TABLE role_bindings DROP CONSTRAINT role_bindings_role_check;
ALTER TABLE role_bindings ADD CONSTRAINT role_bindings_role_check CHECK (role IN
    ('WorkspaceAdmin', 'Operator', 'Approver', 'Auditor', 'IntegrationAdmin'));
