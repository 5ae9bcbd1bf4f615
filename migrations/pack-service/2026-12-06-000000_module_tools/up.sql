-- The tool catalog packs and playbooks are checked against: the tools each module
-- release provides, with the release's latest decision, from the module catalog's
-- events (the platform's, no tenant). Packs and playbooks may call the tools of
-- APPROVED and DEPRECATED releases.
CREATE TABLE module_tools (
    module_id    TEXT        NOT NULL,
    version      TEXT        NOT NULL,
    tool_id      TEXT        NOT NULL,
    action_class TEXT        NOT NULL,
    status       TEXT        NOT NULL
        CHECK (status IN ('APPROVED', 'REJECTED', 'DEPRECATED', 'REVOKED')),
    decided_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (module_id, version, tool_id)
);
CREATE INDEX module_tools_offered ON module_tools (tool_id)
    WHERE status IN ('APPROVED', 'DEPRECATED');
