CREATE TABLE notes (
    id BIGSERIAL PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    body TEXT NOT NULL,
    CONSTRAINT notes_body_unique UNIQUE (tenant_id, body)
);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE notes FORCE ROW LEVEL SECURITY;
CREATE POLICY notes_tenant ON notes
    USING (tenant_id = current_setting('plinth.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('plinth.tenant_id', true));
