-- The pack service's tables. Domain Packs and playbooks are the platform's (no
-- tenant, readable by every caller the service admits); everything else belongs to
-- one tenant and carries row-level security. Pack and playbook versions are
-- immutable once stored: only their lifecycle columns change.

-- What the service knows of tenants, from the tenant registry's events.
CREATE TABLE tenants (
    tenant_id    TEXT        PRIMARY KEY,
    slug         TEXT        NOT NULL,
    display_name TEXT        NOT NULL,
    status       TEXT        NOT NULL,
    data_mode    TEXT        NOT NULL CHECK (data_mode IN ('metadata_only', 'content')),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenants_scope ON tenants
    USING (plinth_in_scope(tenant_id)) WITH CHECK (plinth_in_scope(tenant_id));

CREATE TABLE domain_packs (
    pack_id        TEXT        PRIMARY KEY,
    domain         TEXT        NOT NULL,
    version        TEXT        NOT NULL,
    -- The version's parts, for ordering.
    major          BIGINT      NOT NULL,
    minor          BIGINT      NOT NULL,
    patch          BIGINT      NOT NULL,
    name           TEXT        NOT NULL,
    content_json   JSONB       NOT NULL,
    -- SHA-256 of the content's RFC 8785 canonical JSON, hex.
    checksum       TEXT        NOT NULL,
    -- How many tenants run this version now; ACTIVE while any does.
    active_tenants INTEGER     NOT NULL DEFAULT 0 CHECK (active_tenants >= 0),
    deprecated_at  TIMESTAMPTZ,
    deprecated_by  TEXT,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_by     TEXT        NOT NULL,
    CONSTRAINT domain_packs_version UNIQUE (domain, version)
);
CREATE INDEX domain_packs_order ON domain_packs (domain, major DESC, minor DESC, patch DESC);

CREATE TABLE tenant_packs (
    pack_id         TEXT        PRIMARY KEY,
    tenant_id       TEXT        NOT NULL REFERENCES tenants (tenant_id),
    version         TEXT        NOT NULL,
    major           BIGINT      NOT NULL,
    minor           BIGINT      NOT NULL,
    patch           BIGINT      NOT NULL,
    domain          TEXT        NOT NULL,
    domain_versions TEXT        NOT NULL,
    content_json    JSONB       NOT NULL,
    checksum        TEXT        NOT NULL,
    status          TEXT        NOT NULL DEFAULT 'DRAFT' CHECK (status IN ('DRAFT', 'ACTIVE', 'DEPRECATED')),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_by      TEXT        NOT NULL,
    CONSTRAINT tenant_packs_version UNIQUE (tenant_id, version)
);
ALTER TABLE tenant_packs ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_packs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_packs_scope ON tenant_packs
    USING (plinth_in_scope(tenant_id)) WITH CHECK (plinth_in_scope(tenant_id));

-- A pack's content, version and checksum never change once stored.
CREATE FUNCTION packs_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.content_json IS DISTINCT FROM OLD.content_json
       OR NEW.version IS DISTINCT FROM OLD.version
       OR NEW.checksum IS DISTINCT FROM OLD.checksum THEN
        RAISE EXCEPTION 'pack versions are immutable: import a new version'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER domain_packs_immutable BEFORE UPDATE ON domain_packs
    FOR EACH ROW EXECUTE FUNCTION packs_immutable();
CREATE TRIGGER tenant_packs_immutable BEFORE UPDATE ON tenant_packs
    FOR EACH ROW EXECUTE FUNCTION packs_immutable();

-- Every import and dry run, with what validation found. Domain Pack attempts have
-- no tenant and are the platform's.
CREATE TABLE import_attempts (
    attempt_id  TEXT        PRIMARY KEY,
    tenant_id   TEXT,
    kind        TEXT        NOT NULL CHECK (kind IN ('domain', 'tenant')),
    dry_run     BOOLEAN     NOT NULL,
    domain      TEXT,
    version     TEXT,
    checksum    TEXT        NOT NULL,
    -- imported, unchanged (the same content was already stored), valid (a dry run
    -- that passed), invalid.
    outcome     TEXT        NOT NULL CHECK (outcome IN ('imported', 'unchanged', 'valid', 'invalid')),
    pack_id     TEXT,
    errors      JSONB       NOT NULL DEFAULT '[]',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_by  TEXT        NOT NULL
);
ALTER TABLE import_attempts ENABLE ROW LEVEL SECURITY;
ALTER TABLE import_attempts FORCE ROW LEVEL SECURITY;
CREATE POLICY import_attempts_scope ON import_attempts
    USING (tenant_id IS NULL OR plinth_in_scope(tenant_id))
    WITH CHECK (tenant_id IS NULL OR plinth_in_scope(tenant_id));
CREATE INDEX import_attempts_by_tenant ON import_attempts (tenant_id, created_at DESC);

-- What each tenant runs: one row per tenant, replaced only by an explicit
-- activation (or withdrawn at offboarding).
CREATE TABLE tenant_active_config (
    tenant_id           TEXT        PRIMARY KEY REFERENCES tenants (tenant_id),
    domain_pack_id      TEXT        NOT NULL REFERENCES domain_packs (pack_id),
    tenant_pack_id      TEXT        REFERENCES tenant_packs (pack_id),
    -- Bumped by every activation and playbook link: the runtime's cache key.
    generation          BIGINT      NOT NULL DEFAULT 1,
    activated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    activated_by        TEXT        NOT NULL,
    change_request_id   TEXT
);
ALTER TABLE tenant_active_config ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_active_config FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_active_config_scope ON tenant_active_config
    USING (plinth_in_scope(tenant_id)) WITH CHECK (plinth_in_scope(tenant_id));

-- Every activation, in order: who ran what when (rollback is a new activation).
CREATE TABLE activations (
    activation_id     TEXT        PRIMARY KEY,
    tenant_id         TEXT        NOT NULL REFERENCES tenants (tenant_id),
    domain_pack_id    TEXT        NOT NULL REFERENCES domain_packs (pack_id),
    tenant_pack_id    TEXT        REFERENCES tenant_packs (pack_id),
    activated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    activated_by      TEXT        NOT NULL,
    change_request_id TEXT,
    reason            TEXT        NOT NULL
);
ALTER TABLE activations ENABLE ROW LEVEL SECURITY;
ALTER TABLE activations FORCE ROW LEVEL SECURITY;
CREATE POLICY activations_scope ON activations
    USING (plinth_in_scope(tenant_id)) WITH CHECK (plinth_in_scope(tenant_id));
CREATE INDEX activations_by_tenant ON activations (tenant_id, activated_at DESC);

-- Per-tenant settings of the pack service.
CREATE TABLE tenant_pack_settings (
    tenant_id         TEXT        PRIMARY KEY REFERENCES tenants (tenant_id),
    approval_required BOOLEAN     NOT NULL DEFAULT false,
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_by        TEXT        NOT NULL
);
ALTER TABLE tenant_pack_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_pack_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_pack_settings_scope ON tenant_pack_settings
    USING (plinth_in_scope(tenant_id)) WITH CHECK (plinth_in_scope(tenant_id));

-- Activations waiting for an approver, and what was decided.
CREATE TABLE config_change_requests (
    change_id      TEXT        PRIMARY KEY,
    tenant_id      TEXT        NOT NULL REFERENCES tenants (tenant_id),
    domain_pack_id TEXT        NOT NULL REFERENCES domain_packs (pack_id),
    tenant_pack_id TEXT        REFERENCES tenant_packs (pack_id),
    status         TEXT        NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'APPROVED', 'REJECTED')),
    reason         TEXT        NOT NULL,
    requested_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    requested_by   TEXT        NOT NULL,
    decided_at     TIMESTAMPTZ,
    decided_by     TEXT,
    decision_note  TEXT
);
ALTER TABLE config_change_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE config_change_requests FORCE ROW LEVEL SECURITY;
CREATE POLICY config_change_requests_scope ON config_change_requests
    USING (plinth_in_scope(tenant_id)) WITH CHECK (plinth_in_scope(tenant_id));
CREATE INDEX config_change_requests_by_tenant ON config_change_requests (tenant_id, requested_at DESC);

-- Playbooks: definitions and their published versions (the platform's).
CREATE TABLE playbook_versions (
    playbook_version_id TEXT        PRIMARY KEY,
    playbook            TEXT        NOT NULL,
    version             TEXT        NOT NULL,
    major               BIGINT      NOT NULL,
    minor               BIGINT      NOT NULL,
    patch               BIGINT      NOT NULL,
    domain              TEXT        NOT NULL,
    name                TEXT        NOT NULL,
    content_json        JSONB       NOT NULL,
    checksum            TEXT        NOT NULL,
    published_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    published_by        TEXT        NOT NULL,
    CONSTRAINT playbook_versions_version UNIQUE (playbook, version)
);
-- Published versions are immutable: neither changed nor removed.
CREATE FUNCTION playbook_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'published playbook versions are immutable: publish a new version'
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER playbook_versions_immutable BEFORE UPDATE OR DELETE ON playbook_versions
    FOR EACH ROW EXECUTE FUNCTION playbook_versions_immutable();

-- A tenant's linked playbook versions: one version per playbook at a time, linked
-- against the domain pack version active when linking.
CREATE TABLE playbook_links (
    tenant_id           TEXT        NOT NULL REFERENCES tenants (tenant_id),
    playbook            TEXT        NOT NULL,
    playbook_version_id TEXT        NOT NULL REFERENCES playbook_versions (playbook_version_id),
    domain_pack_id      TEXT        NOT NULL REFERENCES domain_packs (pack_id),
    linked_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    linked_by           TEXT        NOT NULL,
    PRIMARY KEY (tenant_id, playbook)
);
ALTER TABLE playbook_links ENABLE ROW LEVEL SECURITY;
ALTER TABLE playbook_links FORCE ROW LEVEL SECURITY;
CREATE POLICY playbook_links_scope ON playbook_links
    USING (plinth_in_scope(tenant_id)) WITH CHECK (plinth_in_scope(tenant_id));

-- Tickets classified at the runtime: metadata always (which rule, what outcome,
-- under which configuration); the ticket's content only for a tenant in content
-- mode.
CREATE TABLE classifications (
    classification_id TEXT        PRIMARY KEY,
    tenant_id         TEXT        NOT NULL REFERENCES tenants (tenant_id),
    ticket_ref        TEXT,
    rule_id           TEXT,
    rule_source       TEXT        NOT NULL CHECK (rule_source IN ('tenant', 'domain', 'default')),
    category          TEXT        NOT NULL,
    priority          TEXT        NOT NULL,
    queue             TEXT        NOT NULL,
    config_checksum   TEXT        NOT NULL,
    content_json      JSONB,
    classified_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    classified_by     TEXT        NOT NULL
);
ALTER TABLE classifications ENABLE ROW LEVEL SECURITY;
ALTER TABLE classifications FORCE ROW LEVEL SECURITY;
CREATE POLICY classifications_scope ON classifications
    USING (plinth_in_scope(tenant_id)) WITH CHECK (plinth_in_scope(tenant_id));
CREATE INDEX classifications_by_tenant ON classifications (tenant_id, classified_at DESC);
