DROP TABLE enablements;
DROP TABLE workspaces;
DROP TABLE tenants;
