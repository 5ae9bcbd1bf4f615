DROP FUNCTION plinth_in_scope(TEXT);
