DROP TABLE known_tenants;
