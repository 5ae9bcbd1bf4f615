DROP TABLE tenants;
DROP FUNCTION tenants_region_immutable();
