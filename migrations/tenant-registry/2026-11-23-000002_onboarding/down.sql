DROP TABLE onboarding_items;
DROP TABLE onboarding_requests;
