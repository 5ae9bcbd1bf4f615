//! Playbooks: versions published by the platform team (immutable), and linked by
//! a tenant to its active configuration — only when the version fits it: the
//! same domain, the pack version in its range, only tools the pack lists, a
//! trigger category the pack produces. A linked playbook that would not fit a
//! new pair prevents that activation.

use plinth_authz::{Authorized, on, to};
use plinth_bus::Outbox;
use plinth_core::{ApiError, Code, TenantId};
use plinth_db::scoped_transaction;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::import::domain_version;
use super::{AppState, now, require_changeable, require_platform_wide, scope_of, tenant_on_conn};
use crate::domain::{PackVersion, PlaybookName, PlaybookVersionId};
use crate::effective::{TenantVersion, combine};
use crate::events::{Audited, Outcome};
use crate::format::checks::{self, playbook_fit};
use crate::format::{Issue, PlaybookDoc, checksum, schemas};
use crate::store::active::{active_get_on_conn, active_touch_on_conn};
use crate::store::domain_packs::domain_pack_by_id_on_conn;
use crate::store::playbooks::{
    LinkRow, PlaybookVersionRow, link_delete_on_conn, link_list_on_conn, link_set_on_conn,
    playbook_get_on_conn, playbook_insert_on_conn, playbook_versions_on_conn,
};
use crate::store::tenant_packs::tenant_pack_by_id_on_conn;
use crate::store::tools::offered_on_conn;
use plinth_service::ServiceState as _;

/// A published playbook version.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlaybookVersion {
    #[schema(example = "pbv_5b0e1f2a3c4d4e5f8a9b0c1d2e3f4a5b")]
    pub playbook_version_id: String,
    #[schema(example = "invoice-dispute-triage")]
    pub playbook: String,
    #[schema(example = "1.0.0")]
    pub version: String,
    pub domain: String,
    pub name: String,
    pub checksum: String,
    #[serde(with = "time::serde::rfc3339")]
    pub published_at: OffsetDateTime,
    pub published_by: String,
    /// The version itself; in single-version reads only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub content: Option<Value>,
}

impl PlaybookVersion {
    fn of(row: PlaybookVersionRow, with_content: bool) -> Self {
        PlaybookVersion {
            playbook_version_id: row.playbook_version_id,
            playbook: row.playbook,
            version: row.version,
            domain: row.domain,
            name: row.name,
            checksum: row.checksum,
            published_at: row.published_at,
            published_by: row.published_by,
            content: with_content.then_some(row.content_json),
        }
    }
}

/// A playbook version a tenant runs.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlaybookLink {
    pub tenant_id: String,
    pub playbook: String,
    pub version: String,
    pub name: String,
    /// The Domain Pack version active when it was linked.
    pub domain_pack_version: String,
    #[serde(with = "time::serde::rfc3339")]
    pub linked_at: OffsetDateTime,
    pub linked_by: String,
}

/// `content` as a playbook document, checked: the schema, then the tools the
/// catalog offers and the gates; refused with every problem (`what` names the
/// document: a playbook, a workflow).
pub(super) async fn checked(
    conn: &mut diesel_async::AsyncPgConnection,
    content: &Value,
    what: &str,
) -> Result<PlaybookDoc, ApiError> {
    let mut errors = schemas::playbook(content);
    if errors.is_empty() {
        let doc = PlaybookDoc::deserialize(content).map_err(ApiError::internal)?;
        errors = checks::playbook(&doc, &offered_on_conn(conn).await?);
        if errors.is_empty() {
            return Ok(doc);
        }
    }
    Err(
        ApiError::invalid_request(what, format!("the {what} has {} problem(s)", errors.len()))
            .with_code(Code::PlaybookInvalid)
            .with_serialized("errors", &errors),
    )
}

/// Publishes a playbook version: `Ok((version, created))`; the same version with
/// the same content again answers the published one, with other content `409`.
pub async fn playbook_publish(
    auth: &Authorized<on::Playbook, to::Create>,
    app: &AppState,
    content: Result<Value, ApiError>,
) -> Result<(PlaybookVersion, bool), ApiError> {
    let mut audited = Audited::new("playbook.publish", "playbook");
    if let Ok(content) = &content
        && let (Some(id), Some(version)) = (content["id"].as_str(), content["version"].as_str())
        && let (Ok(id), Ok(version)) = (PlaybookName::parse(id), PackVersion::parse(version))
    {
        audited = audited.on_resource(format!("{id}/{version}"));
    }
    let result = async {
        let content = content?;
        let caller = auth.permit()?;
        require_platform_wide(caller)?;
        let mut conn = app.conn().await?;
        let doc = checked(&mut conn, &content, "playbook").await?;
        let version = PackVersion::parse(&doc.version).map_err(ApiError::internal)?;
        let sum = checksum(&content);
        let ctx = &caller.ctx;
        scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
            if let Some(existing) = playbook_get_on_conn(conn, &doc.id, &doc.version).await? {
                if existing.checksum == sum {
                    return Ok((PlaybookVersion::of(existing, true), false));
                }
                return Err(ApiError::conflict(
                    "this version is published with other content; versions are immutable: publish the change as a new version",
                )
                .with_code(Code::VersionExists));
            }
            let (major, minor, patch) = version.parts();
            let at = now();
            let row = PlaybookVersionRow {
                playbook_version_id: PlaybookVersionId::new().to_string(),
                playbook: doc.id.clone(),
                version: version.to_string(),
                major,
                minor,
                patch,
                domain: doc.domain.clone(),
                name: doc.name.clone(),
                content_json: content.clone(),
                checksum: sum.clone(),
                published_at: at,
                published_by: ctx.principal.subject.clone(),
            };
            playbook_insert_on_conn(conn, &row).await?;
            let events = [
                app.events.playbook_published(
                    &row.playbook,
                    &row.playbook_version_id,
                    &row.version,
                    &row.domain,
                    &row.checksum,
                    at,
                    &ctx.principal.subject,
                )?,
                app.events.audit(
                    ctx,
                    &audited.clone().with_detail("checksum", &sum),
                    Outcome::Allowed,
                    None,
                )?,
            ];
            Outbox::enqueue(conn, &events).await?;
            Ok((PlaybookVersion::of(row, true), true))
        })
        .await
    }
    .await;
    app.audited(auth, &audited, result).await
}

/// Every published version, each playbook's newest first.
pub async fn playbook_list(
    auth: &Authorized<on::Playbook, to::Read>,
    app: &AppState,
) -> Result<Vec<PlaybookVersion>, ApiError> {
    auth.permit()?;
    let mut conn = app.conn().await?;
    Ok(playbook_versions_on_conn(&mut conn, None)
        .await?
        .into_iter()
        .map(|row| PlaybookVersion::of(row, false))
        .collect())
}

pub async fn playbook_get(
    auth: &Authorized<on::Playbook, to::Read>,
    app: &AppState,
    playbook: &PlaybookName,
    version: &PackVersion,
) -> Result<PlaybookVersion, ApiError> {
    auth.permit()?;
    let mut conn = app.conn().await?;
    playbook_get_on_conn(&mut conn, playbook.as_str(), &version.to_string())
        .await?
        .map(|row| PlaybookVersion::of(row, true))
        .ok_or_else(|| ApiError::not_found("playbook version"))
}

pub async fn link_list(
    auth: &Authorized<on::PlaybookLink, to::Read>,
    app: &AppState,
    tenant: TenantId,
) -> Result<Vec<PlaybookLink>, ApiError> {
    let caller = auth.permit()?;
    let mut conn = app.conn().await?;
    scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
        tenant_on_conn(conn, tenant).await?;
        let mut out = Vec::new();
        for (link, version) in link_list_on_conn(conn, tenant).await? {
            let domain = domain_pack_by_id_on_conn(conn, &link.domain_pack_id)
                .await?
                .ok_or_else(|| ApiError::internal("a link names a missing domain pack"))?;
            out.push(PlaybookLink {
                tenant_id: link.tenant_id,
                playbook: link.playbook,
                version: version.version,
                name: version.name,
                domain_pack_version: domain.version,
                linked_at: link.linked_at,
                linked_by: link.linked_by,
            });
        }
        Ok(out)
    })
    .await
}

fn incompatible(reasons: Vec<Issue>) -> ApiError {
    ApiError::conflict(format!(
        "the playbook does not fit the active configuration: {}",
        reasons
            .iter()
            .map(|r| r.message.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    ))
    .with_code(Code::PlaybookIncompatible)
    .with_serialized("reasons", &reasons)
}

/// Links a published playbook version to the tenant's active configuration,
/// replacing its link of the same playbook.
pub async fn link_create(
    auth: &Authorized<on::PlaybookLink, to::Create>,
    app: &AppState,
    tenant: TenantId,
    request: Result<(PlaybookName, PackVersion), ApiError>,
) -> Result<PlaybookLink, ApiError> {
    let mut audited = Audited::new("playbook.link", "playbook_link").in_tenant(tenant);
    if let Ok((playbook, version)) = &request {
        audited = audited.on_resource(format!("{playbook}/{version}"));
    }
    let result = async {
        let (playbook, version) = request?;
        let playbook = playbook.into_string();
        let caller = auth.permit()?;
        let ctx = &caller.ctx;
        let mut conn = app.conn().await?;
        let link = scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
            require_changeable(&tenant_on_conn(conn, tenant).await?)?;
            let active = active_get_on_conn(conn, tenant, true)
                .await?
                .ok_or_else(|| {
                    ApiError::conflict(
                        "the tenant has no active configuration to link a playbook to",
                    )
                    .with_code(Code::NoActiveConfig)
                })?;
            let row = playbook_get_on_conn(conn, &playbook, &version.to_string())
                .await?
                .ok_or_else(|| {
                    ApiError::invalid_request(
                        "version",
                        format!("playbook {playbook} {version} is not published"),
                    )
                })?;
            let domain_row = domain_pack_by_id_on_conn(conn, &active.domain_pack_id)
                .await?
                .ok_or_else(|| ApiError::internal("the active config names a missing pack"))?;
            let domain = domain_version(&domain_row)?;
            let tenant_pack = match &active.tenant_pack_id {
                Some(id) => {
                    let row = tenant_pack_by_id_on_conn(conn, id).await?.ok_or_else(|| {
                        ApiError::internal("the active config names a missing pack")
                    })?;
                    Some(TenantVersion {
                        version: PackVersion::parse(&row.version).map_err(ApiError::internal)?,
                        doc: serde_json::from_value(row.content_json)
                            .map_err(ApiError::internal)?,
                        deprecated: false,
                    })
                }
                None => None,
            };
            let (effective, _) = combine(&domain, tenant_pack.as_ref()).map_err(incompatible)?;
            let doc: PlaybookDoc =
                PlaybookDoc::deserialize(&row.content_json).map_err(ApiError::internal)?;
            let misfits: Vec<Issue> = playbook_fit(&doc, &effective, &domain.version)
                .into_iter()
                .map(|m| Issue::new("/version", m.code, m.message))
                .collect();
            if !misfits.is_empty() {
                return Err(incompatible(misfits));
            }
            let at = now();
            let link = LinkRow {
                tenant_id: tenant.to_string(),
                playbook: playbook.clone(),
                playbook_version_id: row.playbook_version_id.clone(),
                domain_pack_id: domain_row.pack_id.clone(),
                linked_at: at,
                linked_by: ctx.principal.subject.clone(),
            };
            link_set_on_conn(conn, &link).await?;
            active_touch_on_conn(conn, tenant).await?;
            let events = [
                app.events.playbook_linked(
                    tenant,
                    &playbook,
                    Some(&row.version),
                    &domain_row.domain,
                    &domain_row.version,
                    at,
                    &ctx.principal.subject,
                )?,
                app.events.audit(ctx, &audited, Outcome::Allowed, None)?,
            ];
            Outbox::enqueue(conn, &events).await?;
            Ok(PlaybookLink {
                tenant_id: tenant.to_string(),
                playbook,
                version: row.version,
                name: row.name,
                domain_pack_version: domain_row.version,
                linked_at: at,
                linked_by: link.linked_by,
            })
        })
        .await?;
        app.cache.drop_tenant(tenant);
        Ok(link)
    }
    .await;
    app.audited(auth, &audited, result).await
}

/// Removes the tenant's link of a playbook.
pub async fn link_delete(
    auth: &Authorized<on::PlaybookLink, to::Delete>,
    app: &AppState,
    tenant: TenantId,
    playbook: Result<PlaybookName, ApiError>,
) -> Result<(), ApiError> {
    let mut audited = Audited::new("playbook.unlink", "playbook_link").in_tenant(tenant);
    if let Ok(playbook) = &playbook {
        audited = audited.on_resource(playbook.as_str());
    }
    let result = async {
        let playbook = playbook?.into_string();
        let caller = auth.permit()?;
        let ctx = &caller.ctx;
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
            require_changeable(&tenant_on_conn(conn, tenant).await?)?;
            let active = active_get_on_conn(conn, tenant, true).await?;
            if link_delete_on_conn(conn, tenant, &playbook).await? == 0 {
                return Err(ApiError::not_found("playbook link"));
            }
            let (domain, domain_version) = match &active {
                Some(active) => {
                    active_touch_on_conn(conn, tenant).await?;
                    let row = domain_pack_by_id_on_conn(conn, &active.domain_pack_id)
                        .await?
                        .ok_or_else(|| {
                            ApiError::internal("the active config names a missing pack")
                        })?;
                    (row.domain, row.version)
                }
                None => (String::new(), String::new()),
            };
            let events = [
                app.events.playbook_linked(
                    tenant,
                    &playbook,
                    None,
                    &domain,
                    &domain_version,
                    now(),
                    &ctx.principal.subject,
                )?,
                app.events.audit(ctx, &audited, Outcome::Allowed, None)?,
            ];
            Outbox::enqueue(conn, &events).await?;
            Ok(())
        })
        .await?;
        app.cache.drop_tenant(tenant);
        Ok(())
    }
    .await;
    app.audited(auth, &audited, result).await
}
