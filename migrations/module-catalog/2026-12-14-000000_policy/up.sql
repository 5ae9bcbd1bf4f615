-- The policy records in force, as the policy service publishes them
-- (plinth.policy.v1): the platform's, the modules' and each tenant's, which
-- the readiness check "policy" decides by. Records without a tenant are read
-- by every tenant's scope.
CREATE TABLE policy_records (
    record_id  TEXT        PRIMARY KEY,
    level      TEXT        NOT NULL,
    tenant_id  TEXT,
    module_id  TEXT,
    version    INTEGER     NOT NULL,
    rules      JSONB       NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
ALTER TABLE policy_records ENABLE ROW LEVEL SECURITY;
ALTER TABLE policy_records FORCE ROW LEVEL SECURITY;
CREATE POLICY policy_records_scope ON policy_records
    USING (plinth_in_scope(coalesce(tenant_id, '*')))
    WITH CHECK (plinth_in_scope(coalesce(tenant_id, '*')));
CREATE POLICY policy_records_shared ON policy_records FOR SELECT USING (tenant_id IS NULL);
