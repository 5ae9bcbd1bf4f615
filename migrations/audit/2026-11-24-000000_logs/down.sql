DROP TABLE checkpoints;
DROP TABLE tree_hashes;
DROP TABLE entries;
DROP TABLE logs;
DROP FUNCTION audit_append_only();
