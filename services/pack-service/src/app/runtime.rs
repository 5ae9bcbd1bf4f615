//! The runtime's side: a tenant's effective configuration, served from memory
//! (loaded once, dropped when it changes), and tickets classified by it — "Ops →
//! live behaviour". A classification is recorded as metadata (which rule, what
//! outcome, under which configuration); the ticket's fields are kept only for a
//! tenant in content mode, and never logged.

use std::sync::Arc;

use actix_web::web::Bytes;
use plinth_authz::{Authorized, Caller, on, to};
use plinth_bus::Outbox;
use plinth_core::{ApiError, Code, DataMode, TenantId};
use plinth_db::scoped_transaction;
use serde::Serialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::activation::links_on_conn;
use super::import::domain_version;
use super::{AppState, now, scope_of, tenant_on_conn};
use crate::cache::Cached;
use crate::classify::RuleSource;
use crate::domain::{ClassificationId, PackVersion};
use crate::effective::{Activated, TenantVersion, effective};
use crate::events::{Audited, Outcome};
use crate::format::Outcome as Classified;
use crate::store::active::active_get_on_conn;
use crate::store::classifications::{
    ClassificationRow, classification_insert_on_conn, classification_list_on_conn,
};
use crate::store::domain_packs::domain_pack_by_id_on_conn;
use crate::store::tenant_packs::tenant_pack_by_id_on_conn;
use plinth_service::ServiceState as _;

/// The tenant's view as the runtime reads it: from memory, or loaded and kept.
pub async fn runtime_config(
    auth: &Authorized<on::RuntimeConfig, to::Read>,
    app: &AppState,
    tenant: TenantId,
) -> Result<Arc<Cached>, ApiError> {
    cached_config(auth.permit()?, app, tenant).await
}

/// The tenant's view for a caller already allowed in the tenant (every role there
/// reads its runtime configuration).
async fn cached_config(
    caller: &Caller,
    app: &AppState,
    tenant: TenantId,
) -> Result<Arc<Cached>, ApiError> {
    if let Some(cached) = app.cache.get(tenant) {
        return Ok(cached);
    }
    let ticket = app.cache.begin_load(tenant);
    let mut conn = app.conn().await?;
    let cached = scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
        let row = tenant_on_conn(conn, tenant).await?;
        let active = active_get_on_conn(conn, tenant, false)
            .await?
            .ok_or_else(|| {
                ApiError::not_found("active configuration")
                    .with_internal("the tenant has no active configuration")
            })?;
        let domain_row = domain_pack_by_id_on_conn(conn, &active.domain_pack_id)
            .await?
            .ok_or_else(|| ApiError::internal("the active config names a missing pack"))?;
        let tenant_pack = match &active.tenant_pack_id {
            Some(id) => {
                let row = tenant_pack_by_id_on_conn(conn, id)
                    .await?
                    .ok_or_else(|| ApiError::internal("the active config names a missing pack"))?;
                Some(TenantVersion {
                    version: PackVersion::parse(&row.version).map_err(ApiError::internal)?,
                    doc: serde_json::from_value(row.content_json).map_err(ApiError::internal)?,
                    deprecated: false,
                })
            }
            None => None,
        };
        let links = links_on_conn(conn, tenant).await?;
        let effective = effective(
            &tenant.to_string(),
            &domain_version(&domain_row)?,
            tenant_pack.as_ref(),
            &links,
            &Activated {
                at: active.activated_at,
                by: active.activated_by,
            },
        )
        .map_err(|issues| {
            ApiError::internal(format!(
                "the active configuration does not combine: {issues:?}"
            ))
        })?;
        let data_mode = row
            .data_mode
            .parse::<DataMode>()
            .map_err(ApiError::internal)?;
        Ok::<_, ApiError>(Cached {
            body: Bytes::from(serde_json::to_vec(&effective.body).map_err(ApiError::internal)?),
            etag: format!("\"{}\"", effective.checksum),
            effective,
            data_mode,
            status: row.status,
        })
    })
    .await?;
    let cached = Arc::new(cached);
    app.cache.finish_load(tenant, ticket, cached.clone());
    Ok(cached)
}

/// A ticket to classify.
#[derive(Debug, Clone)]
pub struct Ticket {
    /// The ticket's id in the system it comes from (metadata).
    pub reference: Option<String>,
    pub fields: Map<String, Value>,
}

/// The rule that decided.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FiredRule {
    /// The rule's id; absent when the default applied.
    pub id: Option<String>,
    pub source: RuleSource,
}

/// The configuration that decided.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConfigVersion {
    pub checksum: String,
    pub domain: String,
    pub domain_pack_version: String,
    pub tenant_pack_version: Option<String>,
}

/// What classifying a ticket decided.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Classification {
    #[schema(example = "cls_5b0e1f2a3c4d4e5f8a9b0c1d2e3f4a5b")]
    pub classification_id: String,
    pub ticket_ref: Option<String>,
    #[schema(example = "billing-dispute")]
    pub category: String,
    #[schema(example = "P2")]
    pub priority: String,
    #[schema(example = "ap-disputes")]
    pub queue: String,
    pub rule: FiredRule,
    pub config: ConfigVersion,
    #[serde(with = "time::serde::rfc3339")]
    pub classified_at: OffsetDateTime,
}

fn config_version(cached: &Cached) -> ConfigVersion {
    let body = &cached.effective.body;
    let text = |key: &str| body[key].as_str().map(str::to_owned);
    ConfigVersion {
        checksum: cached.effective.checksum.clone(),
        domain: text("domain").unwrap_or_default(),
        domain_pack_version: text("domain_pack_version").unwrap_or_default(),
        tenant_pack_version: text("tenant_pack_version"),
    }
}

/// Classifies a ticket with the tenant's active configuration and records it.
pub async fn ticket_classify(
    auth: &Authorized<on::Classification, to::Create>,
    app: &AppState,
    tenant: TenantId,
    ticket: Result<Ticket, ApiError>,
) -> Result<Classification, ApiError> {
    let audited = Audited::new("ticket.classify", "classification").in_tenant(tenant);
    let result = async {
        let ticket = ticket?;
        let caller = auth.permit()?;
        let cached = cached_config(caller, app, tenant).await?;
        if matches!(
            cached.status.as_str(),
            "SUSPENDED" | "OFFBOARDING" | "OFFBOARDED"
        ) {
            return Err(ApiError::conflict(format!(
                "the tenant is {}: its tickets are not classified",
                cached.status
            ))
            .with_code(Code::TenantNotActive));
        }
        let decision = cached
            .effective
            .classifier
            .classify(&ticket.fields)
            .map_err(|e| {
                ApiError::invalid_request(format!("/ticket/fields/{}", e.field), e.to_string())
            })?;
        let outcome: &Classified = decision.outcome;
        let row = ClassificationRow {
            classification_id: ClassificationId::new().to_string(),
            tenant_id: tenant.to_string(),
            ticket_ref: ticket.reference.clone(),
            rule_id: decision.rule.map(str::to_owned),
            rule_source: decision.source.as_str().to_owned(),
            category: outcome.category.clone(),
            priority: outcome.priority.clone(),
            queue: outcome.queue.clone(),
            config_checksum: cached.effective.checksum.clone(),
            // Content only where the tenant keeps content.
            content_json: cached
                .data_mode
                .allows_content()
                .then(|| Value::Object(ticket.fields.clone())),
            classified_at: now(),
            classified_by: caller.ctx.principal.subject.clone(),
        };
        let audited = audited
            .clone()
            .on_resource(&row.classification_id)
            .with_detail("rule", row.rule_id.as_deref().unwrap_or("default"))
            .with_detail("category", &row.category)
            .with_detail("config_checksum", &row.config_checksum);
        let ctx = &caller.ctx;
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
            classification_insert_on_conn(conn, &row).await?;
            Outbox::enqueue(
                conn,
                &[app.events.audit(ctx, &audited, Outcome::Allowed, None)?],
            )
            .await?;
            Ok::<_, ApiError>(())
        })
        .await?;
        Ok(Classification {
            classification_id: row.classification_id,
            ticket_ref: row.ticket_ref,
            category: row.category,
            priority: row.priority,
            queue: row.queue,
            rule: FiredRule {
                id: row.rule_id,
                source: decision.source,
            },
            config: config_version(&cached),
            classified_at: row.classified_at,
        })
    }
    .await;
    app.audited(auth, &audited, result).await
}

/// A recorded classification (metadata; the ticket's fields for content mode).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClassificationRecord {
    pub classification_id: String,
    pub ticket_ref: Option<String>,
    pub rule_id: Option<String>,
    pub rule_source: String,
    pub category: String,
    pub priority: String,
    pub queue: String,
    pub config_checksum: String,
    /// The ticket's fields, for a tenant in content mode only.
    #[schema(value_type = Option<Object>)]
    pub content: Option<Value>,
    #[serde(with = "time::serde::rfc3339")]
    pub classified_at: OffsetDateTime,
    pub classified_by: String,
}

/// The tenant's newest classifications (at most 100).
pub async fn classification_list(
    auth: &Authorized<on::Classification, to::Read>,
    app: &AppState,
    tenant: TenantId,
) -> Result<Vec<ClassificationRecord>, ApiError> {
    let caller = auth.permit()?;
    let mut conn = app.conn().await?;
    let rows = scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
        tenant_on_conn(conn, tenant).await?;
        Ok::<_, ApiError>(classification_list_on_conn(conn, tenant, 100).await?)
    })
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ClassificationRecord {
            classification_id: r.classification_id,
            ticket_ref: r.ticket_ref,
            rule_id: r.rule_id,
            rule_source: r.rule_source,
            category: r.category,
            priority: r.priority,
            queue: r.queue,
            config_checksum: r.config_checksum,
            content: r.content_json,
            classified_at: r.classified_at,
            classified_by: r.classified_by,
        })
        .collect())
}
