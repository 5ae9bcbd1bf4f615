DROP TABLE offboarding_requests;
DELETE FROM checklist_items WHERE flow = 'offboarding';
ALTER POLICY checklist_items_scope ON checklist_items RENAME TO onboarding_items_scope;
ALTER TABLE checklist_items RENAME CONSTRAINT checklist_items_state_check
    TO onboarding_items_state_check;
ALTER TABLE checklist_items DROP CONSTRAINT checklist_items_tenant_id_fkey;
ALTER TABLE checklist_items ADD CONSTRAINT onboarding_items_tenant_id_fkey
    FOREIGN KEY (tenant_id) REFERENCES onboarding_requests (tenant_id);
ALTER TABLE checklist_items DROP CONSTRAINT checklist_items_pkey;
ALTER TABLE checklist_items ADD CONSTRAINT onboarding_items_pkey PRIMARY KEY (tenant_id, item_key);
ALTER TABLE checklist_items DROP COLUMN flow;
ALTER TABLE checklist_items RENAME TO onboarding_items;
