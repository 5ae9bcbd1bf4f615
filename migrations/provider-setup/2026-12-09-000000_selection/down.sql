DROP FUNCTION provider_candidates(TEXT);
