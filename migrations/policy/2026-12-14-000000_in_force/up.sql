-- What a decision needs of a tenant, in one round trip: whether the service
-- knows the tenant (no row: it does not), whether offboarding withdrew its
-- policies, its entitled monthly token budget, the tokens it spent in `month`,
-- and the published versions in force — the platform's and modules' and its
-- own — with their rules. Runs with the caller's rights, the row-level
-- security scope set to the tenant for its own statement. PL/pgSQL, so that
-- each connection plans the query once.
CREATE OR REPLACE FUNCTION policy_in_force(tenant TEXT, month DATE)
RETURNS TABLE (withdrawn BOOLEAN, monthly_token_budget BIGINT, spent BIGINT, records JSONB)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER AS $$
BEGIN
    PERFORM set_config('plinth.tenant_scope', tenant, true);
    RETURN QUERY
    SELECT
        t.withdrawn_at IS NOT NULL,
        t.monthly_token_budget,
        (SELECT coalesce(sum(u.tokens_in + u.tokens_out), 0)::BIGINT
           FROM usage_monthly u
          WHERE u.tenant_id = policy_in_force.tenant AND u.month = policy_in_force.month),
        (SELECT coalesce(jsonb_agg(jsonb_build_object(
                    'record_id', r.record_id, 'level', r.level, 'module_id', r.module_id,
                    'version', v.version, 'rules', v.document -> 'rules')
                    ORDER BY r.level, r.record_id), '[]'::jsonb)
           FROM public.records r
           JOIN record_versions v ON v.record_id = r.record_id AND v.version = r.published_version
          WHERE r.status = 'ACTIVE'
            AND (r.tenant_id IS NULL OR r.tenant_id = policy_in_force.tenant))
    FROM tenants t
    WHERE t.tenant_id = policy_in_force.tenant;
END;
$$;
