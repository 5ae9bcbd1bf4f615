-- The order's amount, so a test can check the order in which a tenant's events
-- were applied.
ALTER TABLE effects ADD COLUMN amount BIGINT;
