DROP TABLE usage_monthly;
ALTER TABLE tenants DROP COLUMN monthly_token_budget;
