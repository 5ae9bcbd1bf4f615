-- Whether the last change switched approval off (an approver's waiver): its author
-- may not activate without approval.
ALTER TABLE tenant_pack_settings ADD COLUMN waived BOOLEAN NOT NULL DEFAULT false;
