-- Policy: what it knows of tenants (from the registry's events) and the AI
-- policy records — at the platform, a tenant, a module, or a tenant's module —
-- with every version of each. A version is a draft until published; a
-- published version is immutable, superseded by the next one published, or
-- retired with its record.
--
-- Platform and module records have no tenant (`tenant_id` NULL): they are
-- written platform-wide only and read by every tenant, whose effective policy
-- they are part of.

CREATE TABLE tenants (
    tenant_id  TEXT        PRIMARY KEY,
    status     TEXT        NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenants_scope ON tenants
    USING (plinth_in_scope(tenant_id)) WITH CHECK (plinth_in_scope(tenant_id));

CREATE TABLE records (
    record_id  TEXT        PRIMARY KEY,
    level      TEXT        NOT NULL CHECK (level IN ('platform', 'tenant', 'module', 'tenant_module')),
    tenant_id  TEXT        REFERENCES tenants (tenant_id),
    module_id  TEXT,
    name       TEXT        NOT NULL,
    -- ACTIVE (its published version, if any, is in force) or RETIRED.
    status     TEXT        NOT NULL CHECK (status IN ('ACTIVE', 'RETIRED')),
    -- The version in force; NULL until one is published.
    published_version INTEGER,
    created_at TIMESTAMPTZ NOT NULL,
    created_by TEXT        NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    retired_at TIMESTAMPTZ,
    retired_by TEXT,
    retired_reason TEXT,
    CHECK ((level IN ('tenant', 'tenant_module')) = (tenant_id IS NOT NULL)),
    CHECK ((level IN ('module', 'tenant_module')) = (module_id IS NOT NULL))
);
CREATE INDEX records_of_tenant ON records (tenant_id) WHERE tenant_id IS NOT NULL;
ALTER TABLE records ENABLE ROW LEVEL SECURITY;
ALTER TABLE records FORCE ROW LEVEL SECURITY;
CREATE POLICY records_scope ON records
    USING (plinth_in_scope(coalesce(tenant_id, '*')))
    WITH CHECK (plinth_in_scope(coalesce(tenant_id, '*')));
CREATE POLICY records_shared ON records FOR SELECT USING (tenant_id IS NULL);

CREATE TABLE record_versions (
    record_id    TEXT        NOT NULL REFERENCES records (record_id),
    version      INTEGER     NOT NULL CHECK (version > 0),
    tenant_id    TEXT        REFERENCES tenants (tenant_id),
    -- DRAFT, PUBLISHED (in force), SUPERSEDED (a later version was
    -- published) or RETIRED (with its record).
    status       TEXT        NOT NULL CHECK (status IN ('DRAFT', 'PUBLISHED', 'SUPERSEDED', 'RETIRED')),
    -- The record's document as schemas/json/policy-record.schema.json has it.
    document     JSONB       NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT        NOT NULL,
    published_at TIMESTAMPTZ,
    published_by TEXT,
    -- Why it was published: who, when and why are recorded for every version.
    reason       TEXT,
    PRIMARY KEY (record_id, version)
);
CREATE UNIQUE INDEX record_versions_one_draft ON record_versions (record_id) WHERE status = 'DRAFT';
CREATE UNIQUE INDEX record_versions_one_published ON record_versions (record_id) WHERE status = 'PUBLISHED';
ALTER TABLE record_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE record_versions FORCE ROW LEVEL SECURITY;
CREATE POLICY record_versions_scope ON record_versions
    USING (plinth_in_scope(coalesce(tenant_id, '*')))
    WITH CHECK (plinth_in_scope(coalesce(tenant_id, '*')));
CREATE POLICY record_versions_shared ON record_versions FOR SELECT USING (tenant_id IS NULL);

-- A published version is never changed: only its status moves on.
CREATE FUNCTION record_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status <> 'DRAFT' AND (NEW.document IS DISTINCT FROM OLD.document
        OR NEW.published_at IS DISTINCT FROM OLD.published_at
        OR NEW.published_by IS DISTINCT FROM OLD.published_by
        OR NEW.reason IS DISTINCT FROM OLD.reason) THEN
        RAISE EXCEPTION 'a published policy version is immutable';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER record_versions_immutable BEFORE UPDATE ON record_versions
    FOR EACH ROW EXECUTE FUNCTION record_versions_immutable();
