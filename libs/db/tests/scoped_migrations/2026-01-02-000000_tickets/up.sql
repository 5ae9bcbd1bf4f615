CREATE TABLE tickets (
    id        BIGSERIAL PRIMARY KEY,
    tenant_id TEXT NOT NULL
);
ALTER TABLE tickets ENABLE ROW LEVEL SECURITY;
ALTER TABLE tickets FORCE ROW LEVEL SECURITY;
CREATE POLICY tickets_scope ON tickets
    USING (plinth_in_scope(tenant_id)) WITH CHECK (plinth_in_scope(tenant_id));
