-- Runtime selection in one round trip: the connections a tenant may use (its
-- own, then pooled ones shared with it, by name), read under row-level security
-- in the tenant's scope, which the function sets for its own statement only
-- (`set_config(…, true)` outside a transaction block lasts the statement). It
-- runs as its caller (SECURITY INVOKER): the app role, subject to every policy.
CREATE FUNCTION provider_candidates(tenant TEXT) RETURNS SETOF connections
LANGUAGE sql VOLATILE SECURITY INVOKER AS $$
    SELECT set_config('plinth.tenant_scope', tenant, true);
    SELECT c.* FROM connections c
    WHERE c.tenant_id = tenant
       OR (c.tenant_id IS NULL AND c.connection_id IN (
               SELECT g.connection_id FROM pool_grants g WHERE g.tenant_id = tenant))
    ORDER BY c.tenant_id IS NULL, c.name;
$$;
