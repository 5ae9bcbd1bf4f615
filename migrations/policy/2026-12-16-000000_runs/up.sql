-- Runs: what the runtime does for a tenant, step by step, each step decided at
-- its gate — L0 proceeds, L1 proceeds and notifies, L2 waits for an approver,
-- L3 is done by a person. The gate is the stricter of the tenant's policy and
-- its workspace's approval tier (from the registry's workspace events).
--
-- Metadata only: a run's trigger is a ticket's identifiers, never its text; a
-- step's decision support (what will change, the AI's recommendation and risk
-- summary) is kept only for a workspace in `content` mode.

CREATE TABLE workspaces (
    workspace_id  TEXT        PRIMARY KEY,
    tenant_id     TEXT        NOT NULL REFERENCES tenants (tenant_id),
    approval_tier TEXT        NOT NULL CHECK (approval_tier IN ('L0', 'L1', 'L2', 'L3')),
    data_mode     TEXT        NOT NULL CHECK (data_mode IN ('metadata_only', 'content')),
    deleted_at    TIMESTAMPTZ,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX workspaces_of_tenant ON workspaces (tenant_id);
ALTER TABLE workspaces ENABLE ROW LEVEL SECURITY;
ALTER TABLE workspaces FORCE ROW LEVEL SECURITY;
CREATE POLICY workspaces_scope ON workspaces
    USING (plinth_in_scope(tenant_id)) WITH CHECK (plinth_in_scope(tenant_id));

CREATE TABLE runs (
    run_id          TEXT        PRIMARY KEY,
    tenant_id       TEXT        NOT NULL REFERENCES tenants (tenant_id),
    workspace_id    TEXT        NOT NULL REFERENCES workspaces (workspace_id),
    -- What runs: a workspace's workflow version or a linked playbook version.
    subject_kind    TEXT        NOT NULL CHECK (subject_kind IN ('workflow', 'playbook')),
    subject_id      TEXT        NOT NULL,
    subject_version TEXT        NOT NULL,
    -- The tenant's active configuration it ran under.
    config_version  TEXT,
    -- What triggered it: identifiers only (source, ticket id, event type, category).
    trigger_json    JSONB       NOT NULL,
    -- The person the run acts for (who submitted the ticket), if any: never an
    -- approver of its requests.
    requested_by    TEXT,
    status          TEXT        NOT NULL CHECK (status IN (
        'RUNNING', 'WAITING_APPROVAL', 'WAITING_HUMAN', 'SUCCEEDED', 'FAILED', 'CANCELLED')),
    steps           INTEGER     NOT NULL DEFAULT 0,
    reported_by     TEXT        NOT NULL,
    started_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    ended_at        TIMESTAMPTZ,
    CHECK ((status IN ('SUCCEEDED', 'FAILED', 'CANCELLED')) = (ended_at IS NOT NULL))
);
CREATE INDEX runs_of_tenant ON runs (tenant_id, started_at DESC, run_id DESC);
ALTER TABLE runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE runs FORCE ROW LEVEL SECURITY;
CREATE POLICY runs_scope ON runs
    USING (plinth_in_scope(tenant_id)) WITH CHECK (plinth_in_scope(tenant_id));

CREATE TABLE run_steps (
    run_id          TEXT        NOT NULL REFERENCES runs (run_id),
    seq             INTEGER     NOT NULL CHECK (seq > 0),
    tenant_id       TEXT        NOT NULL REFERENCES tenants (tenant_id),
    step_key        TEXT        NOT NULL,
    action_class    TEXT        NOT NULL,
    tool            TEXT,
    module_id       TEXT,
    -- The gate and how it was decided: the stricter of the policy's gate and
    -- the workspace's tier, the decision, and (`detail`) its reasons,
    -- obligations and the request as decided (provider, model, tokens
    -- estimated, whether content goes out, connector), under the policy
    -- version (bundle tag) in force.
    gate            TEXT        NOT NULL CHECK (gate IN ('L0', 'L1', 'L2', 'L3')),
    workspace_tier  TEXT        NOT NULL,
    decision        TEXT        NOT NULL,
    detail          JSONB       NOT NULL,
    policy_etag     TEXT        NOT NULL,
    -- Decision support for a person (L2, L3): its texts kept in `content`
    -- mode only.
    support         JSONB,
    status          TEXT        NOT NULL CHECK (status IN (
        'PROCEEDING', 'WAITING_APPROVAL', 'APPROVED', 'REJECTED', 'EXPIRED',
        'WAITING_HUMAN', 'DENIED', 'DONE', 'FAILED', 'ROLLED_BACK')),
    decided_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX run_steps_of_tenant ON run_steps (tenant_id);
-- A step decided counts in its run, in the same statement.
CREATE FUNCTION run_steps_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE runs SET steps = NEW.seq, updated_at = NEW.decided_at WHERE run_id = NEW.run_id;
    RETURN NULL;
END $$;
CREATE TRIGGER run_steps_counted AFTER INSERT ON run_steps
    FOR EACH ROW EXECUTE FUNCTION run_steps_counted();
-- One step of a run is open at a time: it ends before the next is decided.
CREATE UNIQUE INDEX run_steps_one_open ON run_steps (run_id)
    WHERE status IN ('PROCEEDING', 'WAITING_APPROVAL', 'APPROVED', 'WAITING_HUMAN');
ALTER TABLE run_steps ENABLE ROW LEVEL SECURITY;
ALTER TABLE run_steps FORCE ROW LEVEL SECURITY;
CREATE POLICY run_steps_scope ON run_steps
    USING (plinth_in_scope(tenant_id)) WITH CHECK (plinth_in_scope(tenant_id));

-- How a step ended: done, failed or rolled back (what the runtime reports, or
-- the person who did a human-only step), or not run (denied, rejected,
-- expired). One end a step.
CREATE TABLE step_ends (
    run_id        TEXT        NOT NULL,
    seq           INTEGER     NOT NULL,
    tenant_id     TEXT        NOT NULL REFERENCES tenants (tenant_id),
    provider_kind TEXT,
    model         TEXT,
    connection_id TEXT,
    tokens_in     BIGINT      NOT NULL DEFAULT 0 CHECK (tokens_in >= 0),
    tokens_out    BIGINT      NOT NULL DEFAULT 0 CHECK (tokens_out >= 0),
    -- How it ended, in the runtime's or the person's words (metadata: never
    -- a ticket's text), and what was undone when it was rolled back.
    outcome       TEXT,
    rollback      TEXT,
    ended_at      TIMESTAMPTZ NOT NULL,
    ended_by      TEXT        NOT NULL,
    PRIMARY KEY (run_id, seq),
    FOREIGN KEY (run_id, seq) REFERENCES run_steps (run_id, seq)
);
ALTER TABLE step_ends ENABLE ROW LEVEL SECURITY;
ALTER TABLE step_ends FORCE ROW LEVEL SECURITY;
CREATE POLICY step_ends_scope ON step_ends
    USING (plinth_in_scope(tenant_id)) WITH CHECK (plinth_in_scope(tenant_id));

CREATE TABLE approval_requests (
    request_id   TEXT        PRIMARY KEY,
    tenant_id    TEXT        NOT NULL REFERENCES tenants (tenant_id),
    workspace_id TEXT        NOT NULL REFERENCES workspaces (workspace_id),
    run_id       TEXT        NOT NULL,
    seq          INTEGER     NOT NULL,
    requested_by TEXT,
    -- PENDING until an approver decides or it expires (which counts as a
    -- rejection).
    status       TEXT        NOT NULL CHECK (status IN ('PENDING', 'APPROVED', 'REJECTED', 'EXPIRED')),
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    decided_at   TIMESTAMPTZ,
    decided_by   TEXT,
    reason       TEXT,
    FOREIGN KEY (run_id, seq) REFERENCES run_steps (run_id, seq),
    CONSTRAINT approval_requests_one_per_step UNIQUE (run_id, seq),
    CHECK ((status = 'PENDING') = (decided_at IS NULL))
);
CREATE INDEX approval_requests_pending ON approval_requests (tenant_id, expires_at)
    WHERE status = 'PENDING';
ALTER TABLE approval_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE approval_requests FORCE ROW LEVEL SECURITY;
CREATE POLICY approval_requests_scope ON approval_requests
    USING (plinth_in_scope(tenant_id)) WITH CHECK (plinth_in_scope(tenant_id));

CREATE TABLE notifications (
    notification_id TEXT        PRIMARY KEY,
    tenant_id       TEXT        NOT NULL REFERENCES tenants (tenant_id),
    workspace_id    TEXT        NOT NULL REFERENCES workspaces (workspace_id),
    run_id          TEXT        NOT NULL,
    seq             INTEGER     NOT NULL,
    -- Who it is for: the tenant's people in these roles.
    roles           TEXT[]      NOT NULL,
    title           TEXT        NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (run_id, seq) REFERENCES run_steps (run_id, seq)
);
CREATE INDEX notifications_of_tenant ON notifications (tenant_id, created_at DESC);
ALTER TABLE notifications ENABLE ROW LEVEL SECURITY;
ALTER TABLE notifications FORCE ROW LEVEL SECURITY;
CREATE POLICY notifications_scope ON notifications
    USING (plinth_in_scope(tenant_id)) WITH CHECK (plinth_in_scope(tenant_id));
