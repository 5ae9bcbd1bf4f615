-- Row-level security policies of tenant-owned tables call this: a row is visible
-- (and writable) when its tenant is in the transaction's scope. The scope is set
-- with `SET LOCAL` by the service from the request's verified context
-- (`plinth_db::scoped_transaction`): one tenant, a list of tenants (MSP staff bound
-- to chosen tenants), or `*` for platform-wide work. Unset, nothing is visible.
CREATE FUNCTION plinth_in_scope(tenant TEXT) RETURNS BOOLEAN
LANGUAGE sql STABLE AS $$
    SELECT coalesce(
        current_setting('plinth.tenant_scope', true) = '*'
        OR tenant = ANY (string_to_array(current_setting('plinth.tenant_scope', true), ',')),
        false)
$$;
