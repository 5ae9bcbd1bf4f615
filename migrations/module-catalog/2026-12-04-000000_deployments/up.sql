-- What runs in this region: each module's deployed images as the deployment
-- system last reported them, each resolved to the digest it runs, and whether
-- that digest is one the platform approved for the module. Platform-wide, like
-- the releases: no tenant's rows.

CREATE TABLE deployments (
    module_id    TEXT        NOT NULL,
    -- The image as deployed, by tag: `registry/repository:tag`.
    image        TEXT        NOT NULL,
    -- `sha256:<64 hex>`: what the tag resolved to where it runs.
    image_digest TEXT        NOT NULL,
    -- The approved (or deprecated) release of the module with this digest.
    version      TEXT,
    -- The digest is no approved digest of the module.
    drift        BOOLEAN     NOT NULL,
    reported_at  TIMESTAMPTZ NOT NULL,
    reported_by  TEXT        NOT NULL,
    PRIMARY KEY (module_id, image),
    CONSTRAINT deployments_drift CHECK (drift = (version IS NULL))
);
