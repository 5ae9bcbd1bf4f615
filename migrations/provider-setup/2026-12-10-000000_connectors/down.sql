CREATE OR REPLACE FUNCTION provider_candidates(tenant TEXT) RETURNS SETOF connections
LANGUAGE sql VOLATILE SECURITY INVOKER AS $$
    SELECT set_config('plinth.tenant_scope', tenant, true);
    SELECT c.* FROM connections c
    WHERE c.tenant_id = tenant
       OR (c.tenant_id IS NULL AND c.connection_id IN (
               SELECT g.connection_id FROM pool_grants g WHERE g.tenant_id = tenant))
    ORDER BY c.tenant_id IS NULL, c.name;
$$;
CREATE TEMPORARY TABLE connectors AS
    SELECT connection_id FROM connector_installations;
DROP TABLE connector_installations;
DELETE FROM health_records WHERE connection_id IN (SELECT connection_id FROM connectors);
DELETE FROM validations WHERE connection_id IN (SELECT connection_id FROM connectors);
DELETE FROM key_versions WHERE connection_id IN (SELECT connection_id FROM connectors);
DELETE FROM setup_links WHERE connection_id IN (SELECT connection_id FROM connectors);
DELETE FROM setup_requests WHERE connection_id IN (SELECT connection_id FROM connectors);
DELETE FROM connections WHERE connection_id IN (SELECT connection_id FROM connectors);
DROP TABLE connectors;
ALTER TABLE connections
    DROP CONSTRAINT connections_connector_shape,
    DROP CONSTRAINT connections_kind_check,
    ADD CONSTRAINT connections_kind_check CHECK (kind IN ('openai', 'azure_openai', 'anthropic'));
DROP TABLE workspaces;
