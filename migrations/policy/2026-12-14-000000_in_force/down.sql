DROP FUNCTION policy_in_force(TEXT, DATE);
