-- The tenants the registry has announced (`plinth.tenant.created`): a refusal that
-- names any other tenant is recorded in the platform's log, so nobody can open a
-- log for a made-up tenant. Tenants with a log already are known.
CREATE TABLE known_tenants (
    tenant_id TEXT PRIMARY KEY,
    known_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- Reading every log's name takes every tenant in scope (row-level security applies
-- to the owner too), for this transaction only.
SELECT set_config('plinth.tenant_scope', '*', true);
INSERT INTO known_tenants (tenant_id)
    SELECT log_id FROM logs WHERE log_id <> 'platform';
ALTER TABLE known_tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE known_tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY known_tenants_scope ON known_tenants
    USING (plinth_in_scope(tenant_id)) WITH CHECK (plinth_in_scope(tenant_id));
