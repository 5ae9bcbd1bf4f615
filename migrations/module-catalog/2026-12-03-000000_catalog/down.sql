DROP TABLE reviews;
DROP TRIGGER module_versions_immutable ON module_versions;
DROP FUNCTION module_versions_keep_manifest();
DROP TABLE module_versions;
DROP TABLE trusted_signers;
