-- The text arrays hold no NULL element: the service reads them as lists of strings
-- (`Array<Text>` in src/schema.rs, through schema.patch), so the database says so
-- too and refuses a NULL element written by anyone.
ALTER TABLE entitlements
    ADD CONSTRAINT entitlements_modules_no_null
        CHECK (array_position(modules, NULL) IS NULL);
ALTER TABLE onboarding_requests
    ADD CONSTRAINT onboarding_requests_modules_no_null
        CHECK (array_position(requested_modules, NULL) IS NULL),
    ADD CONSTRAINT onboarding_requests_packs_no_null
        CHECK (array_position(requested_packs, NULL) IS NULL);
