-- The audit logs: one per tenant (log_id = the tenant id) and one for the platform
-- (log_id = 'platform'). Each is an append-only list of entries chained by hash, an
-- RFC 9162 Merkle tree kept as its stored hashes, and signed checkpoints.

-- The head of each log: its size, the leaf hash of its last entry, and its last
-- checkpoint. The only table whose rows change.
CREATE TABLE logs (
    log_id          TEXT        PRIMARY KEY,
    size            BIGINT      NOT NULL DEFAULT 0 CHECK (size >= 0),
    head            BYTEA       CHECK (head IS NULL OR length(head) = 32),
    checkpoint_size BIGINT      NOT NULL DEFAULT 0,
    checkpoint_at   TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    -- When offboarding sealed it with a final checkpoint.
    sealed_at       TIMESTAMPTZ
);

CREATE TABLE entries (
    log_id        TEXT        NOT NULL REFERENCES logs (log_id),
    idx           BIGINT      NOT NULL CHECK (idx >= 0),
    event_id      UUID        NOT NULL,
    -- The entry's RFC 8785 canonical JSON: exactly the bytes its leaf hash covers.
    body          TEXT        NOT NULL,
    leaf_hash     BYTEA       NOT NULL CHECK (length(leaf_hash) = 32),
    recorded_at   TIMESTAMPTZ NOT NULL,
    -- Copied out of the body for queries; the body is what counts.
    occurred_at   TIMESTAMPTZ NOT NULL,
    actor         TEXT        NOT NULL,
    action        TEXT        NOT NULL,
    resource_type TEXT        NOT NULL,
    resource_id   TEXT,
    outcome       TEXT        NOT NULL,
    PRIMARY KEY (log_id, idx),
    CONSTRAINT entries_event_once UNIQUE (log_id, event_id)
);
CREATE INDEX entries_by_time ON entries (log_id, occurred_at);
CREATE INDEX entries_by_actor ON entries (log_id, actor, idx);
CREATE INDEX entries_by_action ON entries (log_id, action, idx);
CREATE INDEX entries_by_resource ON entries (log_id, resource_type, resource_id, idx);

-- The Merkle tree's stored hashes: the hash of every complete subtree, at its
-- stored index (dense from 0; about two per entry).
CREATE TABLE tree_hashes (
    log_id TEXT   NOT NULL REFERENCES logs (log_id),
    idx    BIGINT NOT NULL CHECK (idx >= 0),
    hash   BYTEA  NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (log_id, idx)
);

CREATE TABLE checkpoints (
    log_id     TEXT        NOT NULL REFERENCES logs (log_id),
    size       BIGINT      NOT NULL CHECK (size >= 0),
    root_hash  BYTEA       NOT NULL CHECK (length(root_hash) = 32),
    signed_at  TIMESTAMPTZ NOT NULL,
    -- The C2SP signed note: all a verifier needs, with the public key.
    note       TEXT        NOT NULL,
    PRIMARY KEY (log_id, size)
);

-- Append-only for real: no statement changes or removes what was recorded, whoever
-- runs it. (Fixing a bad row is not possible by design; the log records what
-- happened, and a correction is a new entry.)
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON entries
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER tree_hashes_append_only BEFORE UPDATE OR DELETE ON tree_hashes
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER tree_hashes_no_truncate BEFORE TRUNCATE ON tree_hashes
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

-- And the service's role may only read and add to them: the migration runner's
-- default privileges granted it more, which are taken back from every role that is
-- not the owner.
DO $$
DECLARE
    grantee_name TEXT;
BEGIN
    FOR grantee_name IN
        SELECT DISTINCT grantee FROM information_schema.role_table_grants
        WHERE table_schema = current_schema()
          AND table_name IN ('entries', 'tree_hashes', 'checkpoints')
          AND grantee <> current_user
    LOOP
        EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON entries, tree_hashes, checkpoints FROM %I',
                       grantee_name);
    END LOOP;
END;
$$;
-- Row-level security: a scope sees its tenants' logs; the platform log only with
-- every tenant in scope.
ALTER TABLE logs ENABLE ROW LEVEL SECURITY;
ALTER TABLE logs FORCE ROW LEVEL SECURITY;
CREATE POLICY logs_scope ON logs
    USING (plinth_in_scope(log_id)) WITH CHECK (plinth_in_scope(log_id));
ALTER TABLE entries ENABLE ROW LEVEL SECURITY;
ALTER TABLE entries FORCE ROW LEVEL SECURITY;
CREATE POLICY entries_scope ON entries
    USING (plinth_in_scope(log_id)) WITH CHECK (plinth_in_scope(log_id));
ALTER TABLE tree_hashes ENABLE ROW LEVEL SECURITY;
ALTER TABLE tree_hashes FORCE ROW LEVEL SECURITY;
CREATE POLICY tree_hashes_scope ON tree_hashes
    USING (plinth_in_scope(log_id)) WITH CHECK (plinth_in_scope(log_id));
ALTER TABLE checkpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE checkpoints FORCE ROW LEVEL SECURITY;
CREATE POLICY checkpoints_scope ON checkpoints
    USING (plinth_in_scope(log_id)) WITH CHECK (plinth_in_scope(log_id));
