-- The lifecycle sagas' part: a tenant enrolled in the policy registry when it
-- is onboarded, and withdrawn when it is offboarded — from then on every
-- decision for it is a refusal. Its records and usage stay for the record.
ALTER TABLE tenants ADD COLUMN enrolled_at TIMESTAMPTZ, ADD COLUMN withdrawn_at TIMESTAMPTZ;
