DROP TABLE record_versions;
DROP FUNCTION record_versions_immutable();
DROP TABLE records;
DROP TABLE tenants;
