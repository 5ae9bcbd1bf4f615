ALTER TABLE tenants DROP COLUMN withdrawn_at, DROP COLUMN enrolled_at;
