DROP TABLE validations;
DROP TABLE key_versions;
DROP TABLE setup_links;
DROP TABLE setup_requests;
DROP POLICY connections_granted ON connections;
DROP TABLE pool_grants;
DROP TABLE connections;
DROP TABLE tenants;
