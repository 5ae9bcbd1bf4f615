DROP TABLE workflow_versions;
DROP FUNCTION workflow_versions_immutable();
DROP TABLE workspaces;
