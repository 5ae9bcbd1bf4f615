//! The service's tables: `module_versions` (the releases, immutable but for
//! their status and latest review), `reviews` (every review, with each check's
//! result) and `trusted_signers`.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use time::OffsetDateTime;

use crate::schema::{deployments, module_versions, reviews, trusted_signers};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = module_versions)]
pub struct ReleaseRow {
    pub version_id: String,
    pub module_id: String,
    pub version: String,
    pub manifest: serde_json::Value,
    pub manifest_sha256: String,
    pub image_digest: String,
    pub envelope: Option<serde_json::Value>,
    pub artifact_sha256: Option<String>,
    pub signer_id: Option<String>,
    pub review_passed: bool,
    pub status: String,
    pub imported_at: OffsetDateTime,
    pub imported_by: String,
    pub decided_at: Option<OffsetDateTime>,
    pub decided_by: Option<String>,
    pub decision_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = reviews)]
pub struct ReviewRow {
    pub review_id: String,
    pub version_id: Option<String>,
    pub module_id: Option<String>,
    pub version: Option<String>,
    pub manifest_sha256: String,
    pub passed: bool,
    pub checks: serde_json::Value,
    pub reviewed_at: OffsetDateTime,
    pub reviewed_by: String,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = trusted_signers)]
pub struct SignerRow {
    pub signer_id: String,
    pub identity: String,
    pub algorithm: String,
    pub key_id: String,
    pub public_key: String,
    pub sources: Vec<String>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    pub revoked_by: Option<String>,
    pub revoke_reason: Option<String>,
    pub added_at: OffsetDateTime,
    pub added_by: String,
}

pub async fn release_insert_on_conn(
    conn: &mut AsyncPgConnection,
    row: &ReleaseRow,
) -> QueryResult<()> {
    diesel::insert_into(module_versions::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

/// Release `version` of `module`, locked for the transaction when `for_update`.
pub async fn release_get_on_conn(
    conn: &mut AsyncPgConnection,
    module: &str,
    version: &str,
    for_update: bool,
) -> QueryResult<Option<ReleaseRow>> {
    let query = module_versions::table
        .filter(module_versions::module_id.eq(module))
        .filter(module_versions::version.eq(version))
        .select(ReleaseRow::as_select());
    if for_update {
        query.for_update().first(conn).await.optional()
    } else {
        query.first(conn).await.optional()
    }
}

/// Every release, by module.
pub async fn release_list_on_conn(conn: &mut AsyncPgConnection) -> QueryResult<Vec<ReleaseRow>> {
    module_versions::table
        .order((
            module_versions::module_id.asc(),
            module_versions::imported_at.desc(),
        ))
        .select(ReleaseRow::as_select())
        .load(conn)
        .await
}

/// The manifests of the releases other than `module`'s that still count (not
/// rejected or revoked): whose tools are taken.
pub async fn other_manifests_on_conn(
    conn: &mut AsyncPgConnection,
    module: &str,
) -> QueryResult<Vec<(String, serde_json::Value)>> {
    module_versions::table
        .filter(module_versions::module_id.ne(module))
        .filter(module_versions::status.ne_all(["REJECTED", "REVOKED"]))
        .select((module_versions::module_id, module_versions::manifest))
        .load(conn)
        .await
}

/// Sets a release's status and decision.
pub async fn release_decide_on_conn(
    conn: &mut AsyncPgConnection,
    version_id: &str,
    status: &str,
    at: OffsetDateTime,
    by: &str,
    reason: &str,
) -> QueryResult<ReleaseRow> {
    diesel::update(module_versions::table.find(version_id))
        .set((
            module_versions::status.eq(status),
            module_versions::decided_at.eq(at),
            module_versions::decided_by.eq(by),
            module_versions::decision_reason.eq(reason),
        ))
        .returning(ReleaseRow::as_returning())
        .get_result(conn)
        .await
}

/// Records a release's latest review.
pub async fn release_reviewed_on_conn(
    conn: &mut AsyncPgConnection,
    version_id: &str,
    passed: bool,
    signer: Option<&str>,
) -> QueryResult<ReleaseRow> {
    diesel::update(module_versions::table.find(version_id))
        .set((
            module_versions::review_passed.eq(passed),
            module_versions::signer_id.eq(signer),
        ))
        .returning(ReleaseRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn review_insert_on_conn(
    conn: &mut AsyncPgConnection,
    row: &ReviewRow,
) -> QueryResult<()> {
    diesel::insert_into(reviews::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

/// A release's latest review.
pub async fn review_latest_on_conn(
    conn: &mut AsyncPgConnection,
    version_id: &str,
) -> QueryResult<Option<ReviewRow>> {
    reviews::table
        .filter(reviews::version_id.eq(version_id))
        .order(reviews::reviewed_at.desc())
        .select(ReviewRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn review_get_on_conn(
    conn: &mut AsyncPgConnection,
    id: &str,
) -> QueryResult<Option<ReviewRow>> {
    reviews::table
        .find(id)
        .select(ReviewRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The newest reviews, every release's and every refused import's.
pub async fn review_list_on_conn(
    conn: &mut AsyncPgConnection,
    limit: i64,
) -> QueryResult<Vec<ReviewRow>> {
    reviews::table
        .order(reviews::reviewed_at.desc())
        .limit(limit)
        .select(ReviewRow::as_select())
        .load(conn)
        .await
}

pub async fn signer_insert_on_conn(
    conn: &mut AsyncPgConnection,
    row: &SignerRow,
) -> QueryResult<()> {
    diesel::insert_into(trusted_signers::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn signer_list_on_conn(conn: &mut AsyncPgConnection) -> QueryResult<Vec<SignerRow>> {
    trusted_signers::table
        .order(trusted_signers::added_at.asc())
        .select(SignerRow::as_select())
        .load(conn)
        .await
}

pub async fn signer_get_on_conn(
    conn: &mut AsyncPgConnection,
    id: &str,
) -> QueryResult<Option<SignerRow>> {
    trusted_signers::table
        .find(id)
        .for_update()
        .select(SignerRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Ends a signer's validity now (expire), or revokes it with a reason.
pub async fn signer_end_on_conn(
    conn: &mut AsyncPgConnection,
    id: &str,
    at: OffsetDateTime,
    revoked: Option<(&str, &str)>,
) -> QueryResult<SignerRow> {
    let target = diesel::update(trusted_signers::table.find(id));
    match revoked {
        Some((by, reason)) => {
            target
                .set((
                    trusted_signers::revoked_at.eq(at),
                    trusted_signers::revoked_by.eq(by),
                    trusted_signers::revoke_reason.eq(reason),
                ))
                .returning(SignerRow::as_returning())
                .get_result(conn)
                .await
        }
        None => {
            target
                .set(trusted_signers::not_after.eq(at))
                .returning(SignerRow::as_returning())
                .get_result(conn)
                .await
        }
    }
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = deployments)]
pub struct DeploymentRow {
    pub module_id: String,
    pub image: String,
    pub image_digest: String,
    pub version: Option<String>,
    pub drift: bool,
    pub reported_at: OffsetDateTime,
    pub reported_by: String,
}

/// Every deployed image, by module (`None`), or one module's, locked for the
/// transaction.
pub async fn deployment_list_on_conn(
    conn: &mut AsyncPgConnection,
    module: Option<&str>,
) -> QueryResult<Vec<DeploymentRow>> {
    let query = deployments::table
        .order((deployments::module_id.asc(), deployments::image.asc()))
        .select(DeploymentRow::as_select());
    match module {
        Some(module) => {
            query
                .filter(deployments::module_id.eq(module))
                .for_update()
                .load(conn)
                .await
        }
        None => query.load(conn).await,
    }
}

/// Replaces `module`'s deployed images with `rows`.
pub async fn deployment_replace_on_conn(
    conn: &mut AsyncPgConnection,
    module: &str,
    rows: &[DeploymentRow],
) -> QueryResult<()> {
    diesel::delete(deployments::table.filter(deployments::module_id.eq(module)))
        .execute(conn)
        .await?;
    diesel::insert_into(deployments::table)
        .values(rows)
        .execute(conn)
        .await
        .map(drop)
}

/// The approved (or deprecated) releases of every module (`None`) or of one:
/// `(module, version, digest, status)`.
pub async fn approved_digests_on_conn(
    conn: &mut AsyncPgConnection,
    module: Option<&str>,
) -> QueryResult<Vec<(String, String, String, String)>> {
    let query = module_versions::table
        .filter(module_versions::status.eq_any(["APPROVED", "DEPRECATED"]))
        .select((
            module_versions::module_id,
            module_versions::version,
            module_versions::image_digest,
            module_versions::status,
        ));
    match module {
        Some(module) => {
            query
                .filter(module_versions::module_id.eq(module))
                .load(conn)
                .await
        }
        None => query.load(conn).await,
    }
}
