ALTER TABLE onboarding_requests
    DROP CONSTRAINT onboarding_requests_packs_no_null,
    DROP CONSTRAINT onboarding_requests_modules_no_null;
ALTER TABLE entitlements DROP CONSTRAINT entitlements_modules_no_null;
