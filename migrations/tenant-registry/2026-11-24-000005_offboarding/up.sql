-- Offboarding mirrors onboarding: a request, and a checklist each owning service
-- (or an operator) satisfies; the tenant becomes OFFBOARDED when every item is
-- satisfied. Both flows share one checklist table, told apart by `flow`.
-- The rename breaks the version before it, which expand-then-contract forbids once a
-- version has been released; the tenant registry has not been, so its first release
-- starts with this shape (dev databases are brought along by this migration).
ALTER TABLE onboarding_items RENAME TO checklist_items;
ALTER TABLE checklist_items ADD COLUMN flow TEXT NOT NULL DEFAULT 'onboarding'
    CHECK (flow IN ('onboarding', 'offboarding'));
ALTER TABLE checklist_items ALTER COLUMN flow DROP DEFAULT;
ALTER TABLE checklist_items DROP CONSTRAINT onboarding_items_pkey;
ALTER TABLE checklist_items ADD CONSTRAINT checklist_items_pkey
    PRIMARY KEY (tenant_id, flow, item_key);
ALTER TABLE checklist_items DROP CONSTRAINT onboarding_items_tenant_id_fkey;
ALTER TABLE checklist_items ADD CONSTRAINT checklist_items_tenant_id_fkey
    FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id);
ALTER TABLE checklist_items RENAME CONSTRAINT onboarding_items_state_check
    TO checklist_items_state_check;
ALTER POLICY onboarding_items_scope ON checklist_items RENAME TO checklist_items_scope;

CREATE TABLE offboarding_requests (
    tenant_id    TEXT        PRIMARY KEY REFERENCES tenants (tenant_id),
    -- Why the tenant leaves, as the operator recorded it.
    reason       TEXT        NOT NULL,
    requested_at TIMESTAMPTZ NOT NULL,
    requested_by TEXT        NOT NULL,
    -- When the tenant became OFFBOARDED.
    completed_at TIMESTAMPTZ
);

ALTER TABLE offboarding_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE offboarding_requests FORCE ROW LEVEL SECURITY;
CREATE POLICY offboarding_requests_scope ON offboarding_requests
    USING (plinth_in_scope(tenant_id)) WITH CHECK (plinth_in_scope(tenant_id));
