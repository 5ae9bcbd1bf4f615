//! The HTTP edge: `/admin/audit/…`. Extract, call the app, map the result; every
//! error is problem+json with a stable code.

pub mod openapi;

use actix_web::{HttpResponse, web};
use plinth_authz::{Authenticated, Authorized, on, to};
use plinth_core::{ApiError, PageParams};
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

pub use plinth_core::http::body_of;

use self::openapi::{EntryPage, KeyView, Problem};
use crate::app::AppState;
use crate::app::export::{export_lines, export_size};
use crate::app::oscal::{oscal_document, oscal_head};
use crate::app::read::{
    CheckpointView, Consistency, ProvedEntry, checkpoint_get, consistency, entries_list,
    entry_proved, open_log, verify,
};
use crate::store::entries::EntryFilter;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin/audit")
            .route("/key", web::get().to(key))
            .route("/logs/{log}/entries", web::get().to(list))
            .route("/logs/{log}/entries/{index}", web::get().to(entry))
            .route("/logs/{log}/checkpoints/latest", web::get().to(latest))
            .route("/logs/{log}/checkpoints/{size}", web::get().to(checkpoint))
            .route("/logs/{log}/consistency", web::get().to(consistent))
            .route("/logs/{log}/verify", web::post().to(verify_log))
            .route("/logs/{log}/export", web::get().to(export))
            .route("/logs/{log}/export/oscal", web::get().to(export_oscal)),
    );
}

/// The installation's log key, to verify checkpoints and exports with.
#[utoipa::path(
    get,
    path = "/admin/audit/key",
    operation_id = "audit_key",
    responses((status = 200, description = "The verifier key and the origin prefix", body = KeyView)),
    security(("internal_token" = [])),
    tag = "audit"
)]
pub async fn key(_: Authenticated, app: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(KeyView {
        verifier_key: app.signer.verifier_key().to_owned(),
        origin_prefix: app.signer.origin_prefix().to_owned(),
    })
}

/// Filters of an entry query; each narrows it.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EntryQuery {
    actor: Option<String>,
    action: Option<String>,
    resource_type: Option<String>,
    resource_id: Option<String>,
    /// `ALLOWED`, `DENIED` or `FAILED`.
    outcome: Option<String>,
    /// Occurred at or after (RFC 3339).
    from: Option<String>,
    /// Occurred before (RFC 3339).
    to: Option<String>,
    /// Page size, 1 to 200 (50 by default).
    limit: Option<u32>,
    /// From the previous page's `next_cursor`.
    cursor: Option<String>,
}

fn time_param(field: &str, raw: Option<String>) -> Result<Option<OffsetDateTime>, ApiError> {
    raw.map(|t| {
        OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339)
            .map_err(|_| ApiError::invalid_request(field, format!("{field} is an RFC 3339 time")))
    })
    .transpose()
}

fn query_of(
    query: Result<web::Query<EntryQuery>, actix_web::Error>,
) -> Result<(EntryFilter, PageParams), ApiError> {
    let q = query
        .map_err(|e| ApiError::invalid_request("query", e.to_string()))?
        .into_inner();
    if let Some(outcome) = &q.outcome
        && !["ALLOWED", "DENIED", "FAILED"].contains(&outcome.as_str())
    {
        return Err(ApiError::invalid_request(
            "outcome",
            "outcome is one of ALLOWED, DENIED, FAILED",
        ));
    }
    Ok((
        EntryFilter {
            actor: q.actor,
            action: q.action,
            resource_type: q.resource_type,
            resource_id: q.resource_id,
            outcome: q.outcome,
            from: time_param("from", q.from)?,
            to: time_param("to", q.to)?,
        },
        PageParams {
            limit: q.limit,
            cursor: q.cursor,
        },
    ))
}

/// A log's entries, in order, filtered.
#[utoipa::path(
    get,
    path = "/admin/audit/logs/{log}/entries",
    operation_id = "audit_entries",
    params(("log" = String, Path, description = "A tenant id, or `platform`"), EntryQuery),
    responses(
        (status = 200, description = "A page of entries", body = EntryPage),
        (status = 400, description = "A filter is invalid; `field` names it", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only administrators and auditors read audit logs", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such log, or not one the caller reaches", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "audit"
)]
pub async fn list(
    auth: Authorized<on::AuditLog, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    query: Result<web::Query<EntryQuery>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let log = open_log(&app, &auth, &path, "entries").await?;
    let (filter, page) = query_of(query)?;
    Ok(HttpResponse::Ok().json(entries_list(&app, &log, &filter, &page).await?))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProofQuery {
    /// Prove against the checkpoint of this size (the latest by default).
    tree_size: Option<u64>,
}

/// One entry with its inclusion proof against a signed checkpoint.
#[utoipa::path(
    get,
    path = "/admin/audit/logs/{log}/entries/{index}",
    operation_id = "audit_entry",
    params(
        ("log" = String, Path, description = "A tenant id, or `platform`"),
        ("index" = u64, Path, description = "The entry's position, from 0"),
        ProofQuery,
    ),
    responses(
        (status = 200, description = "The entry, its proof, and the checkpoint it is proved against", body = ProvedEntry),
        (status = 400, description = "The checkpoint asked for does not cover the entry", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such log, entry or checkpoint", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "audit"
)]
pub async fn entry(
    auth: Authorized<on::AuditLog, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<(String, u64)>,
    query: Result<web::Query<ProofQuery>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let (log, index) = path.into_inner();
    let log = open_log(&app, &auth, &log, "entry").await?;
    let query = query.map_err(|e| ApiError::invalid_request("query", e.to_string()))?;
    Ok(HttpResponse::Ok().json(entry_proved(&app, &log, index, query.tree_size).await?))
}

/// The log's latest signed checkpoint.
#[utoipa::path(
    get,
    path = "/admin/audit/logs/{log}/checkpoints/latest",
    operation_id = "audit_checkpoint_latest",
    params(("log" = String, Path, description = "A tenant id, or `platform`")),
    responses(
        (status = 200, description = "The checkpoint", body = CheckpointView),
        (status = 404, description = "No such log, or no checkpoint yet", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "audit"
)]
pub async fn latest(
    auth: Authorized<on::AuditLog, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let log = open_log(&app, &auth, &path, "checkpoint").await?;
    Ok(HttpResponse::Ok().json(checkpoint_get(&app, &log, None).await?))
}

/// The log's checkpoint at a size.
#[utoipa::path(
    get,
    path = "/admin/audit/logs/{log}/checkpoints/{size}",
    operation_id = "audit_checkpoint",
    params(
        ("log" = String, Path, description = "A tenant id, or `platform`"),
        ("size" = u64, Path, description = "Entries the checkpoint covers"),
    ),
    responses(
        (status = 200, description = "The checkpoint", body = CheckpointView),
        (status = 404, description = "No such log, or no checkpoint at that size", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "audit"
)]
pub async fn checkpoint(
    auth: Authorized<on::AuditLog, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<(String, u64)>,
) -> Result<HttpResponse, ApiError> {
    let (log, size) = path.into_inner();
    let log = open_log(&app, &auth, &log, "checkpoint").await?;
    Ok(HttpResponse::Ok().json(checkpoint_get(&app, &log, Some(size)).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyQuery {
    /// The older size.
    from: u64,
    /// The newer size.
    to: u64,
}

/// The proof that the log at `from` entries is a prefix of the log at `to`.
#[utoipa::path(
    get,
    path = "/admin/audit/logs/{log}/consistency",
    operation_id = "audit_consistency",
    params(("log" = String, Path, description = "A tenant id, or `platform`"), ConsistencyQuery),
    responses(
        (status = 200, description = "The proof, with both roots", body = Consistency),
        (status = 400, description = "The sizes are reversed or past the end", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such log", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "audit"
)]
pub async fn consistent(
    auth: Authorized<on::AuditLog, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    query: Result<web::Query<ConsistencyQuery>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let log = open_log(&app, &auth, &path, "consistency").await?;
    let query = query.map_err(|e| ApiError::invalid_request("query", e.to_string()))?;
    Ok(HttpResponse::Ok().json(consistency(&app, &log, query.from, query.to).await?))
}

/// What to verify.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    /// Verify the first `to` entries (the whole log when absent).
    to: Option<u64>,
    /// Checkpoints kept outside the service (signed notes, e.g. from
    /// `plinth.audit.checkpoint_signed` events): the log must agree with each. A
    /// history rewritten inside the database cannot.
    #[serde(default)]
    checkpoints: Vec<String>,
}

/// Verify the log as stored: chain, indexes, leaf hashes, the Merkle tree, and
/// every checkpoint's signature and root.
#[utoipa::path(
    post,
    path = "/admin/audit/logs/{log}/verify",
    operation_id = "audit_verify",
    params(("log" = String, Path, description = "A tenant id, or `platform`")),
    request_body = VerifyBody,
    responses(
        (status = 200, description = "`ok`, or the first bad index and why", body = openapi::VerdictView),
        (status = 404, description = "No such log", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "audit"
)]
pub async fn verify_log(
    auth: Authorized<on::AuditLog, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    body: Result<web::Json<VerifyBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let log = open_log(&app, &auth, &path, "verify").await?;
    let body = body_of(body)?;
    Ok(HttpResponse::Ok().json(verify(&app, &log, body.to, &body.checkpoints).await?))
}

/// The log as JSON Lines: every entry in order, then every checkpoint; check it
/// offline with `plinth-audit verify`.
#[utoipa::path(
    get,
    path = "/admin/audit/logs/{log}/export",
    operation_id = "audit_export",
    params(("log" = String, Path, description = "A tenant id, or `platform`")),
    responses(
        (status = 200, description = "JSON Lines", content_type = "application/jsonl"),
        (status = 404, description = "No such log", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "audit"
)]
pub async fn export(
    auth: Authorized<on::AuditLog, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let log = open_log(&app, &auth, &path, "export").await?;
    let size = export_size(&app, &log).await?;
    let name = format!("audit-{}-{size}.jsonl", log.id);
    Ok(HttpResponse::Ok()
        .content_type("application/jsonl")
        .insert_header((
            "content-disposition",
            format!("attachment; filename=\"{name}\""),
        ))
        .streaming(export_lines(app.into_inner(), log, size)))
}

/// The log as an OSCAL 1.1.2 assessment-results document: one observation per
/// entry, and a finding on the log's integrity, verified as the export is made.
#[utoipa::path(
    get,
    path = "/admin/audit/logs/{log}/export/oscal",
    operation_id = "audit_export_oscal",
    params(("log" = String, Path, description = "A tenant id, or `platform`")),
    responses(
        (status = 200, description = "An OSCAL assessment-results document", content_type = "application/json"),
        (status = 404, description = "No such log", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "audit"
)]
pub async fn export_oscal(
    auth: Authorized<on::AuditLog, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let log = open_log(&app, &auth, &path, "export_oscal").await?;
    let verdict = verify(&app, &log, None, &[]).await?;
    let head = oscal_head(&app, &log, verdict).await?;
    let name = format!("audit-{}-oscal.json", log.id);
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            "content-disposition",
            format!("attachment; filename=\"{name}\""),
        ))
        .streaming(oscal_document(app.into_inner(), log, head)))
}
