ALTER TABLE tenant_pack_settings DROP COLUMN waived;
