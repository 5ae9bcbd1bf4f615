-- The module catalog: releases imported with their trust review, the platform's
-- decisions on them, and the keys it trusts to sign them. Platform-wide data (no
-- tenant's rows here): only the platform team changes it, every role reads the
-- catalog, the signers are the platform's to read.

CREATE TABLE trusted_signers (
    signer_id    TEXT        PRIMARY KEY,
    -- Who the key belongs to (a build system, a release team), as the platform
    -- team recorded it.
    identity     TEXT        NOT NULL,
    -- `ed25519` or `ecdsa-p256`.
    algorithm    TEXT        NOT NULL,
    -- The DSSE key id signatures name, unique among signers.
    key_id       TEXT        NOT NULL UNIQUE,
    public_key   TEXT        NOT NULL,
    -- Source prefixes (`github.com/plinth-modules`) whose releases it may sign.
    sources      TEXT[]      NOT NULL CHECK (array_position(sources, NULL) IS NULL),
    not_before   TIMESTAMPTZ NOT NULL,
    not_after    TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ,
    revoked_by   TEXT,
    revoke_reason TEXT,
    added_at     TIMESTAMPTZ NOT NULL,
    added_by     TEXT        NOT NULL,
    CONSTRAINT trusted_signers_window CHECK (not_before < not_after)
);

CREATE TABLE module_versions (
    version_id       TEXT        PRIMARY KEY,
    module_id        TEXT        NOT NULL,
    version          TEXT        NOT NULL,
    -- The manifest as imported: name, source, image and the rest are read from it.
    manifest         JSONB       NOT NULL,
    -- SHA-256 of the manifest's RFC 8785 canonical JSON: the same release
    -- imported again is recognised, another release of the same version refused.
    manifest_sha256  TEXT        NOT NULL,
    -- `sha256:<64 hex>`, the image's digest: what a deployment must run.
    image_digest     TEXT        NOT NULL,
    -- The DSSE envelope the release came in (reviewed again with it), if signed.
    envelope         JSONB,
    -- SHA-256 of the artifact uploaded with it, if one was.
    artifact_sha256  TEXT,
    -- The signer whose signature the latest review accepted, if any.
    signer_id        TEXT        REFERENCES trusted_signers (signer_id),
    -- Whether every check of the latest review passed.
    review_passed    BOOLEAN     NOT NULL,
    -- IMPORTED, APPROVED, REJECTED, DEPRECATED, REVOKED.
    status           TEXT        NOT NULL,
    imported_at      TIMESTAMPTZ NOT NULL,
    imported_by      TEXT        NOT NULL,
    decided_at       TIMESTAMPTZ,
    decided_by       TEXT,
    decision_reason  TEXT,
    CONSTRAINT module_versions_version UNIQUE (module_id, version)
);

-- The manifest of a release never changes; its status and review do.
CREATE FUNCTION module_versions_keep_manifest() RETURNS trigger AS $$
BEGIN
    IF NEW.manifest IS DISTINCT FROM OLD.manifest
       OR NEW.manifest_sha256 IS DISTINCT FROM OLD.manifest_sha256
       OR NEW.module_id IS DISTINCT FROM OLD.module_id
       OR NEW.version IS DISTINCT FROM OLD.version THEN
        RAISE EXCEPTION 'a module release is immutable';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER module_versions_immutable BEFORE UPDATE ON module_versions
    FOR EACH ROW EXECUTE FUNCTION module_versions_keep_manifest();

-- Every import attempt and every review: each check with its result. An import
-- refused by the schema check has no release; its attempt is kept all the same.
CREATE TABLE reviews (
    review_id    TEXT        PRIMARY KEY,
    version_id   TEXT        REFERENCES module_versions (version_id),
    module_id    TEXT,
    version      TEXT,
    manifest_sha256 TEXT     NOT NULL,
    passed       BOOLEAN     NOT NULL,
    -- [{check, passed, code, message, pointer}] in the order they ran.
    checks       JSONB       NOT NULL,
    reviewed_at  TIMESTAMPTZ NOT NULL,
    reviewed_by  TEXT        NOT NULL
);
CREATE INDEX reviews_of_version ON reviews (version_id, reviewed_at DESC);
CREATE INDEX reviews_newest ON reviews (reviewed_at DESC);
