//! The rules: who may import, review and decide module releases and manage the
//! trusted signers, what each records. Every function takes the verified caller
//! first, checks the permission, and runs its database work in one transaction
//! with its audit event; a refused action changes nothing and leaves one audit
//! event of its own.

use std::collections::BTreeMap;

use diesel_async::AsyncPgConnection;
use plinth_authz::{Authorized, on, to};
use plinth_bus::{Event, Outbox};
use plinth_core::{ApiError, Code, Region, ReqCtx, TenantId};
use plinth_db::{Pool, TenantScope, scoped_transaction};
use plinth_documents::checksum;
use plinth_service::{ServiceState, require_platform_wide};
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;

pub use plinth_db::now;

use crate::deployments::reassess_on_conn;
use crate::dsse::{Algorithm, Envelope, PublicKey};
use crate::enablement::flag_revoked_on_conn;
use crate::events::{Audited, Events, Outcome};
use crate::review::{CheckResult, Context, Policy, Review, Submission, TrustedKey, review};
use crate::store::{
    ReleaseRow, ReviewRow, SignerRow, other_manifests_on_conn, release_decide_on_conn,
    release_get_on_conn, release_insert_on_conn, release_list_on_conn, release_reviewed_on_conn,
    review_get_on_conn, review_insert_on_conn, review_latest_on_conn, review_list_on_conn,
    signer_end_on_conn, signer_get_on_conn, signer_insert_on_conn, signer_list_on_conn,
};

/// What the app functions work with.
pub struct AppState {
    pub pool: Pool,
    pub events: Events,
    pub region: Region,
    pub policy: Policy,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl ServiceState for AppState {
    fn pool(&self) -> &Pool {
        &self.pool
    }

    fn audit_event(
        &self,
        ctx: &ReqCtx,
        audited: &Audited,
        outcome: Outcome,
        reason: Option<&str>,
    ) -> Result<Event, ApiError> {
        self.events.audit(ctx, audited, outcome, reason)
    }

    /// Whether the registry's events told the catalog of `tenant`.
    async fn has_tenant_on_conn(
        &self,
        conn: &mut AsyncPgConnection,
        tenant: TenantId,
    ) -> Result<bool, ApiError> {
        Ok(
            crate::tenant_store::tenant_get_on_conn(conn, &tenant.to_string())
                .await?
                .is_some(),
        )
    }
}

/// A release as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Release {
    pub version_id: String,
    #[schema(example = "itsm-triage-agent")]
    pub module_id: String,
    #[schema(example = "1.0.0")]
    pub version: String,
    pub name: String,
    /// `IMPORTED`, `APPROVED`, `REJECTED`, `DEPRECATED` or `REVOKED`.
    #[schema(example = "IMPORTED")]
    pub status: String,
    pub image: String,
    /// `sha256:<64 hex>`: what an approved deployment must run.
    pub image_digest: String,
    pub source_repository: String,
    /// The trusted signer whose signature the latest review accepted.
    pub signer_id: Option<String>,
    /// Whether every check of the latest review passed.
    pub review_passed: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub imported_at: OffsetDateTime,
    pub imported_by: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub decided_at: Option<OffsetDateTime>,
    pub decided_by: Option<String>,
    pub decision_reason: Option<String>,
    /// The manifest, as imported (only on a single release).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<Value>,
    /// The latest review (only on a single release).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review: Option<ReviewView>,
}

impl Release {
    fn of(row: ReleaseRow, review: Option<ReviewView>, with_manifest: bool) -> Self {
        let text = |path: &str| {
            row.manifest
                .pointer(path)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        Release {
            name: text("/name"),
            image: text("/image"),
            source_repository: text("/source/repository"),
            version_id: row.version_id,
            module_id: row.module_id,
            version: row.version,
            status: row.status,
            image_digest: row.image_digest,
            signer_id: row.signer_id,
            review_passed: row.review_passed,
            imported_at: row.imported_at,
            imported_by: row.imported_by,
            decided_at: row.decided_at,
            decided_by: row.decided_by,
            decision_reason: row.decision_reason,
            manifest: with_manifest.then_some(row.manifest),
            review,
        }
    }
}

/// A review as the API shows it: every check with its result.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewView {
    pub review_id: String,
    /// The release it reviewed; none when the manifest failed the schema.
    pub version_id: Option<String>,
    pub module_id: Option<String>,
    pub version: Option<String>,
    pub passed: bool,
    pub checks: Vec<CheckResult>,
    #[serde(with = "time::serde::rfc3339")]
    pub reviewed_at: OffsetDateTime,
    pub reviewed_by: String,
}

impl TryFrom<ReviewRow> for ReviewView {
    type Error = ApiError;

    fn try_from(row: ReviewRow) -> Result<Self, ApiError> {
        Ok(ReviewView {
            review_id: row.review_id,
            version_id: row.version_id,
            module_id: row.module_id,
            version: row.version,
            passed: row.passed,
            checks: serde_json::from_value(row.checks).map_err(ApiError::internal)?,
            reviewed_at: row.reviewed_at,
            reviewed_by: row.reviewed_by,
        })
    }
}

/// A release as submitted for import.
#[derive(Debug)]
pub struct Import {
    /// The manifest's bytes: the envelope's payload, or the manifest as sent.
    pub body: Vec<u8>,
    pub envelope: Option<Envelope>,
    /// SHA-256 (hex) of the artifact uploaded with it.
    pub artifact_sha256: Option<String>,
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// The trusted signers as the review reads them (a key that does not parse
/// vouches for nothing).
fn trusted_keys(rows: &[SignerRow]) -> Vec<TrustedKey> {
    rows.iter()
        .filter_map(|row| {
            let algorithm = Algorithm::parse(&row.algorithm).ok()?;
            Some(TrustedKey {
                signer_id: row.signer_id.clone(),
                identity: row.identity.clone(),
                key_id: row.key_id.clone(),
                key: PublicKey::parse(algorithm, &row.public_key).ok()?,
                sources: row.sources.clone(),
                not_before: row.not_before,
                not_after: row.not_after,
                revoked: row.revoked_at.is_some(),
            })
        })
        .collect()
}

/// Reviews `submission` against what the catalog holds now.
async fn review_on_conn(
    app: &AppState,
    conn: &mut AsyncPgConnection,
    submission: &Submission<'_>,
) -> Result<Review, ApiError> {
    let signers = trusted_keys(&signer_list_on_conn(conn).await?);
    let module = serde_json::from_slice::<Value>(submission.body)
        .ok()
        .and_then(|m| m["id"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let mut taken = BTreeMap::new();
    for (other, manifest) in other_manifests_on_conn(conn, &module).await? {
        for tool in manifest["tools"].as_array().into_iter().flatten() {
            if let Some(id) = tool["id"].as_str() {
                taken.insert(id.to_owned(), other.clone());
            }
        }
    }
    Ok(review(
        submission,
        &Context {
            policy: &app.policy,
            signers: &signers,
            taken_tools: &taken,
            now: now(),
        },
    ))
}

fn review_row(
    review: &Review,
    version_id: Option<&str>,
    sha256: &str,
    at: OffsetDateTime,
    by: &str,
) -> Result<ReviewRow, ApiError> {
    let text = |path: &str| {
        review
            .manifest
            .as_ref()
            .and_then(|m| m.pointer(path))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    Ok(ReviewRow {
        review_id: new_id("rev"),
        version_id: version_id.map(str::to_owned),
        module_id: text("/id"),
        version: text("/version"),
        manifest_sha256: sha256.to_owned(),
        passed: review.passed(),
        checks: serde_json::to_value(&review.checks).map_err(ApiError::internal)?,
        reviewed_at: at,
        reviewed_by: by.to_owned(),
    })
}

/// Imports a release: reviews it and stores it with its review, `IMPORTED`
/// whatever the review found (approval needs every check passed). A manifest
/// the schema refuses is no release: its review is kept and the import refused
/// with every problem at its pointer. The same release again answers the stored
/// one (`false`: not created); another release of a stored version is refused.
pub async fn module_import(
    auth: &Authorized<on::Module, to::Create>,
    app: &AppState,
    import: Result<Import, ApiError>,
) -> Result<(Release, bool), ApiError> {
    let mut audited = Audited::new("module.import", "module_release");
    let result = async {
        let import = import?;
        let caller = auth.permit()?;
        require_platform_wide(caller)?;
        let by = caller.ctx.principal.subject.clone();
        let mut conn = app.conn().await?;
        let submission = Submission {
            body: &import.body,
            envelope: import.envelope.as_ref(),
            artifact_sha256: import.artifact_sha256.as_deref(),
        };
        let scope = TenantScope::All;
        let reviewed = scoped_transaction(&mut conn, &scope, async |conn| {
            review_on_conn(app, conn, &submission).await
        })
        .await?;
        let at = now();
        let (Some(manifest), None) = (&reviewed.manifest, reviewed.schema_problems()) else {
            // Kept, in a transaction of its own: the refusal is an answer.
            let sha = plinth_documents::sha256_hex(&import.body);
            let row = review_row(&reviewed, None, &sha, at, &by)?;
            let review_id = row.review_id.clone();
            scoped_transaction(&mut conn, &scope, async |conn| {
                review_insert_on_conn(conn, &row).await?;
                Ok::<_, ApiError>(())
            })
            .await?;
            let problems = reviewed.schema_problems().unwrap_or_default().to_vec();
            return Err(ApiError::invalid_request(
                "manifest",
                "the manifest does not follow the module manifest schema",
            )
            .with_code(Code::ManifestInvalid)
            .with_serialized("errors", &problems)
            .with_extension("attempt_id", review_id));
        };
        let module = manifest["id"].as_str().unwrap_or_default().to_owned();
        let version = manifest["version"].as_str().unwrap_or_default().to_owned();
        let sha = checksum(manifest);
        let resource = format!("{module}/{version}");
        let ctx = &caller.ctx;
        let audited_here = audited.clone().on_resource(&resource);
        scoped_transaction(&mut conn, &scope, async |conn| {
            if let Some(existing) = release_get_on_conn(conn, &module, &version, true).await? {
                if existing.manifest_sha256 == sha {
                    let review = latest_review_on_conn(conn, &existing.version_id).await?;
                    return Ok((Release::of(existing, review, true), false));
                }
                return Err(ApiError::conflict(format!(
                    "{module} {version} is imported with other content; a change is a new version"
                ))
                .with_code(Code::VersionExists));
            }
            let image = manifest["image"].as_str().unwrap_or_default();
            let row = ReleaseRow {
                version_id: new_id("mrl"),
                module_id: module.clone(),
                version: version.clone(),
                manifest: manifest.clone(),
                manifest_sha256: sha.clone(),
                image_digest: image
                    .split_once('@')
                    .map(|(_, d)| d.to_owned())
                    .unwrap_or_default(),
                envelope: import
                    .envelope
                    .as_ref()
                    .map(serde_json::to_value)
                    .transpose()
                    .map_err(ApiError::internal)?,
                artifact_sha256: import.artifact_sha256.clone(),
                signer_id: reviewed.signer_id.clone(),
                review_passed: reviewed.passed(),
                status: "IMPORTED".to_owned(),
                imported_at: at,
                imported_by: by.clone(),
                decided_at: None,
                decided_by: None,
                decision_reason: None,
            };
            release_insert_on_conn(conn, &row).await?;
            let review = review_row(&reviewed, Some(&row.version_id), &sha, at, &by)?;
            review_insert_on_conn(conn, &review).await?;
            let events = [
                app.events.imported(&row)?,
                app.events.audit(
                    ctx,
                    &audited_here
                        .clone()
                        .with_detail("review_passed", reviewed.passed())
                        .with_detail("manifest_sha256", &sha),
                    Outcome::Allowed,
                    None,
                )?,
            ];
            Outbox::enqueue(conn, &events).await?;
            Ok((Release::of(row, Some(review.try_into()?), true), true))
        })
        .await
    }
    .await;
    if let Ok((release, _)) = &result {
        audited = audited.on_resource(format!("{}/{}", release.module_id, release.version));
    }
    app.audited(auth, &audited, result).await
}

async fn latest_review_on_conn(
    conn: &mut AsyncPgConnection,
    version_id: &str,
) -> Result<Option<ReviewView>, ApiError> {
    review_latest_on_conn(conn, version_id)
        .await?
        .map(ReviewView::try_from)
        .transpose()
}

/// Every release, by module, newest version first.
pub async fn module_list(
    auth: &Authorized<on::Module, to::Read>,
    app: &AppState,
) -> Result<Vec<Release>, ApiError> {
    auth.permit()?;
    let mut conn = app.conn().await?;
    let mut rows = scoped_transaction(&mut conn, &TenantScope::All, async |conn| {
        Ok::<_, ApiError>(release_list_on_conn(conn).await?)
    })
    .await?;
    // By module, the newest version first.
    let order = |r: &ReleaseRow| semver::Version::parse(&r.version).ok();
    rows.sort_by(|a, b| {
        a.module_id
            .cmp(&b.module_id)
            .then_with(|| order(b).cmp(&order(a)))
    });
    Ok(rows
        .into_iter()
        .map(|r| Release::of(r, None, false))
        .collect())
}

/// One release, with its manifest and its latest review.
pub async fn module_get(
    auth: &Authorized<on::Module, to::Read>,
    app: &AppState,
    module: &str,
    version: &str,
) -> Result<Release, ApiError> {
    auth.permit()?;
    let mut conn = app.conn().await?;
    scoped_transaction(&mut conn, &TenantScope::All, async |conn| {
        let row = release_get_on_conn(conn, module, version, false)
            .await?
            .ok_or_else(|| ApiError::not_found("module release"))?;
        let review = latest_review_on_conn(conn, &row.version_id).await?;
        Ok(Release::of(row, review, true))
    })
    .await
}

/// A decision on a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
    Deprecate,
    Revoke,
}

impl Decision {
    fn action(self) -> &'static str {
        match self {
            Decision::Approve => "module.approve",
            Decision::Reject => "module.reject",
            Decision::Deprecate => "module.deprecate",
            Decision::Revoke => "module.revoke",
        }
    }

    /// The status it moves to, and the statuses it moves from.
    fn edge(self) -> (&'static str, &'static [&'static str]) {
        match self {
            Decision::Approve => ("APPROVED", &["IMPORTED"]),
            Decision::Reject => ("REJECTED", &["IMPORTED"]),
            Decision::Deprecate => ("DEPRECATED", &["APPROVED"]),
            Decision::Revoke => ("REVOKED", &["APPROVED", "DEPRECATED"]),
        }
    }
}

/// The decisions a release in `status` may take.
fn allowed_from(status: &str) -> Vec<&'static str> {
    [
        Decision::Approve,
        Decision::Reject,
        Decision::Deprecate,
        Decision::Revoke,
    ]
    .into_iter()
    .filter(|d| d.edge().1.contains(&status))
    .map(|d| d.edge().0)
    .collect()
}

/// Decides a release, with a reason: approve (every check of its latest review
/// passed) or reject an imported one, deprecate an approved one, revoke an
/// approved or deprecated one. The manifest never changes.
pub async fn module_decide(
    auth: &Authorized<on::Module, to::Update>,
    app: &AppState,
    module: &str,
    version: &str,
    decision: Decision,
    reason: Result<String, ApiError>,
) -> Result<Release, ApiError> {
    let audited = Audited::new(decision.action(), "module_release")
        .on_resource(format!("{module}/{version}"));
    let result = async {
        let reason = reason?;
        let caller = auth.permit()?;
        require_platform_wide(caller)?;
        let ctx = &caller.ctx;
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &TenantScope::All, async |conn| {
            let row = release_get_on_conn(conn, module, version, true)
                .await?
                .ok_or_else(|| ApiError::not_found("module release"))?;
            let (to, from) = decision.edge();
            if !from.contains(&row.status.as_str()) {
                return Err(ApiError::conflict(format!(
                    "{module} {version} is {}; it cannot become {to}",
                    row.status
                ))
                .with_code(Code::InvalidTransition)
                .with_extension("allowed", allowed_from(&row.status)));
            }
            if decision == Decision::Approve && !row.review_passed {
                return Err(ApiError::conflict(format!(
                    "{module} {version} has failed trust checks: fix them (a new version, or a trusted signer) and review it again"
                ))
                .with_code(Code::ReviewFailed));
            }
            let row = release_decide_on_conn(
                conn,
                &row.version_id,
                to,
                now(),
                &ctx.principal.subject,
                &reason,
            )
            .await?;
            let mut events = vec![
                app.events.decided(&row)?,
                app.events.audit(
                    ctx,
                    &audited
                        .clone()
                        .with_detail("status", to)
                        .with_detail("reason", &reason),
                    Outcome::Allowed,
                    None,
                )?,
            ];
            // Approving or revoking changes which digests may run here.
            if matches!(decision, Decision::Approve | Decision::Revoke) {
                let at = row.decided_at.unwrap_or_else(now);
                let reassessed =
                    reassess_on_conn(app, conn, module, None, at, &ctx.principal.subject).await?;
                events.extend(reassessed.drift);
            }
            // A revoked release must no longer run: every tenant running it is flagged.
            if decision == Decision::Revoke {
                let at = row.decided_at.unwrap_or_else(now);
                events.extend(
                    flag_revoked_on_conn(app, conn, &row, at, &ctx.principal.subject).await?,
                );
            }
            Outbox::enqueue(conn, &events).await?;
            let review = latest_review_on_conn(conn, &row.version_id).await?;
            Ok(Release::of(row, review, true))
        })
        .await
    }
    .await;
    app.audited(auth, &audited, result).await
}

/// Reviews a release again with what the catalog holds now (a signer added or
/// revoked since), with the envelope and artifact it came with.
pub async fn module_review(
    auth: &Authorized<on::Module, to::Update>,
    app: &AppState,
    module: &str,
    version: &str,
) -> Result<Release, ApiError> {
    let audited =
        Audited::new("module.review", "module_release").on_resource(format!("{module}/{version}"));
    let result = async {
        let caller = auth.permit()?;
        require_platform_wide(caller)?;
        let ctx = &caller.ctx;
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &TenantScope::All, async |conn| {
            let row = release_get_on_conn(conn, module, version, true)
                .await?
                .ok_or_else(|| ApiError::not_found("module release"))?;
            let envelope: Option<Envelope> = row
                .envelope
                .clone()
                .map(serde_json::from_value)
                .transpose()
                .map_err(ApiError::internal)?;
            let body = match &envelope {
                Some(envelope) => envelope.body().map_err(ApiError::internal)?,
                None => serde_json::to_vec(&row.manifest).map_err(ApiError::internal)?,
            };
            let submission = Submission {
                body: &body,
                envelope: envelope.as_ref(),
                artifact_sha256: row.artifact_sha256.as_deref(),
            };
            let reviewed = review_on_conn(app, conn, &submission).await?;
            let at = now();
            let review = review_row(
                &reviewed,
                Some(&row.version_id),
                &row.manifest_sha256,
                at,
                &ctx.principal.subject,
            )?;
            review_insert_on_conn(conn, &review).await?;
            let row = release_reviewed_on_conn(
                conn,
                &row.version_id,
                reviewed.passed(),
                reviewed.signer_id.as_deref(),
            )
            .await?;
            let event = app.events.audit(
                ctx,
                &audited
                    .clone()
                    .with_detail("review_passed", reviewed.passed()),
                Outcome::Allowed,
                None,
            )?;
            Outbox::enqueue(conn, &[event]).await?;
            Ok(Release::of(row, Some(review.try_into()?), true))
        })
        .await
    }
    .await;
    app.audited(auth, &audited, result).await
}

/// The newest reviews (at most 100), every release's and every refused import's.
pub async fn review_list(
    auth: &Authorized<on::Module, to::Read>,
    app: &AppState,
) -> Result<Vec<ReviewView>, ApiError> {
    auth.permit()?;
    let mut conn = app.conn().await?;
    let rows = scoped_transaction(&mut conn, &TenantScope::All, async |conn| {
        Ok::<_, ApiError>(review_list_on_conn(conn, 100).await?)
    })
    .await?;
    rows.into_iter().map(ReviewView::try_from).collect()
}

/// One review.
pub async fn review_get(
    auth: &Authorized<on::Module, to::Read>,
    app: &AppState,
    id: &str,
) -> Result<ReviewView, ApiError> {
    auth.permit()?;
    let mut conn = app.conn().await?;
    let row = scoped_transaction(&mut conn, &TenantScope::All, async |conn| {
        Ok::<_, ApiError>(review_get_on_conn(conn, id).await?)
    })
    .await?;
    row.ok_or_else(|| ApiError::not_found("review"))?.try_into()
}

/// A trusted signer as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Signer {
    pub signer_id: String,
    /// Who holds the key (a release pipeline, a team).
    pub identity: String,
    /// `ed25519` or `ecdsa-p256`.
    pub algorithm: String,
    /// The key id DSSE signatures name.
    pub key_id: String,
    /// The public key: PEM, or for Ed25519 the 32 bytes in hex.
    pub public_key: String,
    /// `host/organisation` (or `host`) of the sources it may sign for.
    pub sources: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    pub revoked_by: Option<String>,
    pub revoke_reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub added_at: OffsetDateTime,
    pub added_by: String,
}

impl From<SignerRow> for Signer {
    fn from(row: SignerRow) -> Self {
        Signer {
            signer_id: row.signer_id,
            identity: row.identity,
            algorithm: row.algorithm,
            key_id: row.key_id,
            public_key: row.public_key,
            sources: row.sources,
            not_before: row.not_before,
            not_after: row.not_after,
            revoked_at: row.revoked_at,
            revoked_by: row.revoked_by,
            revoke_reason: row.revoke_reason,
            added_at: row.added_at,
            added_by: row.added_by,
        }
    }
}

/// A signer to add, as parsed.
#[derive(Debug)]
pub struct NewSigner {
    pub identity: String,
    pub algorithm: Algorithm,
    pub key_id: String,
    pub public_key: String,
    pub sources: Vec<String>,
    pub not_before: Option<OffsetDateTime>,
    pub not_after: OffsetDateTime,
}

/// Adds a key to the trusted signer list.
pub async fn signer_add(
    auth: &Authorized<on::TrustedSigner, to::Create>,
    app: &AppState,
    new: Result<NewSigner, ApiError>,
) -> Result<Signer, ApiError> {
    let mut audited = Audited::new("module.signer_add", "trusted_signer");
    let result = async {
        let new = new?;
        let caller = auth.permit()?;
        require_platform_wide(caller)?;
        let ctx = &caller.ctx;
        let at = now();
        let row = SignerRow {
            signer_id: new_id("sgn"),
            identity: new.identity,
            algorithm: new.algorithm.as_str().to_owned(),
            key_id: new.key_id,
            public_key: new.public_key,
            sources: new.sources,
            not_before: new.not_before.unwrap_or(at),
            not_after: new.not_after,
            revoked_at: None,
            revoked_by: None,
            revoke_reason: None,
            added_at: at,
            added_by: ctx.principal.subject.clone(),
        };
        if row.not_after <= row.not_before {
            return Err(ApiError::invalid_request(
                "not_after",
                "`not_after` is after `not_before`",
            ));
        }
        let audited = audited
            .clone()
            .on_resource(&row.signer_id)
            .with_detail("key_id", &row.key_id);
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &TenantScope::All, async |conn| {
            signer_insert_on_conn(conn, &row).await?;
            let events = [
                app.events
                    .signer_changed("added", &row, at, &ctx.principal.subject)?,
                app.events.audit(ctx, &audited, Outcome::Allowed, None)?,
            ];
            Outbox::enqueue(conn, &events).await?;
            Ok(Signer::from(row.clone()))
        })
        .await
    }
    .await;
    if let Ok(signer) = &result {
        audited = audited.on_resource(&signer.signer_id);
    }
    app.audited(auth, &audited, result).await
}

/// The trusted signers, current and past.
pub async fn signer_list(
    auth: &Authorized<on::TrustedSigner, to::Read>,
    app: &AppState,
) -> Result<Vec<Signer>, ApiError> {
    auth.permit()?;
    let mut conn = app.conn().await?;
    let rows = scoped_transaction(&mut conn, &TenantScope::All, async |conn| {
        Ok::<_, ApiError>(signer_list_on_conn(conn).await?)
    })
    .await?;
    Ok(rows.into_iter().map(Signer::from).collect())
}

/// Ends a signer's trust: expired now (its past signatures were made while it
/// was trusted) or revoked with a reason (none of its signatures counts).
/// Releases are reviewed again to take it into account.
pub async fn signer_end(
    auth: &Authorized<on::TrustedSigner, to::Update>,
    app: &AppState,
    id: &str,
    revoke_reason: Option<Result<String, ApiError>>,
) -> Result<Signer, ApiError> {
    let action = if revoke_reason.is_some() {
        "module.signer_revoke"
    } else {
        "module.signer_expire"
    };
    let audited = Audited::new(action, "trusted_signer").on_resource(id);
    let result = async {
        let reason = revoke_reason.transpose()?;
        let caller = auth.permit()?;
        require_platform_wide(caller)?;
        let ctx = &caller.ctx;
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &TenantScope::All, async |conn| {
            let row = signer_get_on_conn(conn, id)
                .await?
                .ok_or_else(|| ApiError::not_found("trusted signer"))?;
            if row.revoked_at.is_some() {
                return Ok(Signer::from(row));
            }
            // The validity window stays a window: it ends no earlier than it starts.
            let at = now().max(row.not_before + time::Duration::microseconds(1));
            let by = ctx.principal.subject.clone();
            let row = signer_end_on_conn(conn, id, at, reason.as_deref().map(|r| (by.as_str(), r)))
                .await?;
            let change = if reason.is_some() {
                "revoked"
            } else {
                "expired"
            };
            let events = [
                app.events.signer_changed(change, &row, at, &by)?,
                app.events.audit(ctx, &audited, Outcome::Allowed, None)?,
            ];
            Outbox::enqueue(conn, &events).await?;
            Ok(Signer::from(row))
        })
        .await
    }
    .await;
    app.audited(auth, &audited, result).await
}
