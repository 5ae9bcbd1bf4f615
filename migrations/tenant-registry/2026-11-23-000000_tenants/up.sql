-- Tenants: the client organizations an MSP runs. A tenant's id carries its region
-- (`ten_<region>_<hex>`), and the region never changes.
CREATE TABLE tenants (
    tenant_id        TEXT        PRIMARY KEY,
    slug             TEXT        NOT NULL,
    display_name     TEXT        NOT NULL,
    region           TEXT        NOT NULL CHECK (region IN ('us', 'eu')),
    status           TEXT        NOT NULL DEFAULT 'PENDING' CHECK (status IN
                         ('PENDING', 'ONBOARDING', 'ACTIVE', 'SUSPENDED', 'OFFBOARDING', 'OFFBOARDED')),
    deployment_model TEXT        NOT NULL CHECK (deployment_model IN
                         ('hosted_saas', 'self_hosted_enterprise', 'hybrid')),
    data_mode        TEXT        NOT NULL DEFAULT 'metadata_only'
                         CHECK (data_mode IN ('metadata_only', 'content')),
    -- Contact metadata of the client's owner; never published in events.
    owner_name       TEXT        NOT NULL,
    owner_email      TEXT        NOT NULL,
    owner_phone      TEXT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_by       TEXT        NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT tenants_slug_per_region UNIQUE (region, slug),
    CONSTRAINT tenants_id_names_region CHECK (tenant_id LIKE 'ten\_' || region || '\_%')
);

-- The region is fixed at creation: no statement may change it.
CREATE FUNCTION tenants_region_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.region <> OLD.region OR NEW.tenant_id <> OLD.tenant_id THEN
        RAISE EXCEPTION 'a tenant''s region and id never change' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER tenants_region_immutable BEFORE UPDATE ON tenants
    FOR EACH ROW EXECUTE FUNCTION tenants_region_immutable();

ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenants_scope ON tenants
    USING (plinth_in_scope(tenant_id)) WITH CHECK (plinth_in_scope(tenant_id));
