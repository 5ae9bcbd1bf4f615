//! What a tenant is entitled to: its plan, the modules it may enable, and its quotas;
//! and the entitlement status partners and the console read. Set by the platform
//! team; a tenant never set has the installation's defaults.

use diesel_async::AsyncPgConnection;
use plinth_authz::{Authorized, on, to};
use plinth_bus::Outbox;
use plinth_core::{ApiError, Code, ReqCtx, TenantId};
use plinth_db::scoped_transaction;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::tenants::tenant_on_conn;
use super::{AppState, now, scope_of};
use crate::domain::TenantStatus;
use crate::events::{Audited, Outcome};
use crate::store::entitlements::{
    EntitlementRow, entitlement_get_on_conn, entitlement_set_on_conn, workspace_count_on_conn,
};
use plinth_service::ServiceState as _;

/// A tenant's entitlements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Entitlements {
    #[schema(value_type = String)]
    pub tenant_id: TenantId,
    #[schema(example = "standard")]
    pub plan: String,
    /// Modules the tenant may enable, by name.
    pub modules: Vec<String>,
    pub api_rate_per_second: i32,
    pub max_workspaces: i32,
    pub max_provider_connections: i32,
    pub monthly_token_budget: i64,
    /// Whether these are the installation's defaults (never set for this tenant).
    pub defaulted: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
    pub updated_by: Option<String>,
}

/// New entitlements; every field is given (they replace the old ones).
#[derive(Debug, Clone)]
pub struct EntitlementChange {
    pub plan: String,
    pub modules: Vec<String>,
    pub api_rate_per_second: i32,
    pub max_workspaces: i32,
    pub max_provider_connections: i32,
    pub monthly_token_budget: i64,
}

/// Usage against a quota.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Usage {
    pub used: i64,
    pub limit: i64,
}

/// Whether a tenant may use the platform now, and why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct EntitlementStatus {
    #[schema(value_type = String)]
    pub tenant_id: TenantId,
    pub tenant_status: TenantStatus,
    /// True when the tenant is ACTIVE.
    pub active: bool,
    /// Why it is not active, in words for a screen.
    pub reason: Option<String>,
    pub plan: String,
    pub modules: Vec<String>,
    pub workspaces: Usage,
}

fn view(tenant: TenantId, row: EntitlementRow, defaulted: bool) -> Entitlements {
    Entitlements {
        tenant_id: tenant,
        plan: row.plan,
        modules: row.modules,
        api_rate_per_second: row.api_rate_per_second,
        max_workspaces: row.max_workspaces,
        max_provider_connections: row.max_provider_connections,
        monthly_token_budget: row.monthly_token_budget,
        defaulted,
        updated_at: (!defaulted).then_some(row.updated_at),
        updated_by: (!defaulted).then_some(row.updated_by),
    }
}

/// The tenant's entitlements, or the defaults.
pub async fn entitlements_on_conn(
    _ctx: &ReqCtx,
    app: &AppState,
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
) -> Result<Entitlements, ApiError> {
    Ok(match entitlement_get_on_conn(conn, tenant).await? {
        Some(row) => view(tenant, row, false),
        None => {
            let d = &app.default_entitlements;
            let row = EntitlementRow {
                tenant_id: tenant.to_string(),
                plan: d.plan.clone(),
                modules: Vec::new(),
                api_rate_per_second: d.api_rate_per_second,
                max_workspaces: d.max_workspaces,
                max_provider_connections: d.max_provider_connections,
                monthly_token_budget: d.monthly_token_budget,
                updated_at: now(),
                updated_by: String::new(),
            };
            view(tenant, row, true)
        }
    })
}

/// Refuses a new workspace beyond the tenant's quota.
pub async fn workspace_quota_check_on_conn(
    ctx: &ReqCtx,
    app: &AppState,
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
) -> Result<(), ApiError> {
    let limit = entitlements_on_conn(ctx, app, conn, tenant)
        .await?
        .max_workspaces;
    let used = workspace_count_on_conn(conn, tenant).await?;
    if used >= i64::from(limit) {
        return Err(ApiError::conflict(format!(
            "the tenant's plan allows {limit} workspaces and it has {used}"
        ))
        .with_code(Code::QuotaExceeded)
        .with_extension("limit", limit)
        .with_extension("used", used));
    }
    Ok(())
}

pub async fn entitlement_get(
    auth: &Authorized<on::Entitlement, to::Read>,
    app: &AppState,
    tenant: TenantId,
) -> Result<Entitlements, ApiError> {
    let caller = auth.permit()?;
    let ctx = &caller.ctx;
    let mut conn = app.conn().await?;
    scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
        tenant_on_conn(ctx, conn, tenant, false).await?;
        entitlements_on_conn(ctx, app, conn, tenant).await
    })
    .await
}

/// Replaces the tenant's entitlements, with `plinth.entitlement.changed`.
/// `change` is the request as the HTTP edge parsed it; a refusal there is audited
/// here, like every other refusal of the action.
pub async fn entitlement_set(
    auth: &Authorized<on::Entitlement, to::Update>,
    app: &AppState,
    tenant: TenantId,
    change: Result<EntitlementChange, ApiError>,
) -> Result<Entitlements, ApiError> {
    let audited = Audited::new("entitlement.set", "entitlement").on_tenant(tenant);
    let result = async {
        let change = change?;
        let caller = auth.permit()?;
        let ctx = &caller.ctx;
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
            tenant_on_conn(ctx, conn, tenant, false).await?;
            let before = entitlements_on_conn(ctx, app, conn, tenant).await?;
            let row = EntitlementRow {
                tenant_id: tenant.to_string(),
                plan: change.plan,
                modules: change.modules,
                api_rate_per_second: change.api_rate_per_second,
                max_workspaces: change.max_workspaces,
                max_provider_connections: change.max_provider_connections,
                monthly_token_budget: change.monthly_token_budget,
                updated_at: now(),
                updated_by: ctx.principal.subject.clone(),
            };
            entitlement_set_on_conn(conn, &row).await?;
            let after = view(tenant, row.clone(), false);
            let audited = audited
                .clone()
                .with_hash("before", &before)
                .with_hash("after", &after);
            let events = [
                app.events.entitlement_changed(ctx, &row)?,
                app.events.audit(ctx, &audited, Outcome::Allowed, None)?,
            ];
            Outbox::enqueue(conn, &events).await?;
            Ok(after)
        })
        .await
    }
    .await;
    app.audited(auth, &audited, result).await
}

/// Whether the tenant may use the platform now, its plan and its usage.
pub async fn entitlement_status(
    auth: &Authorized<on::Entitlement, to::Read>,
    app: &AppState,
    tenant: TenantId,
) -> Result<EntitlementStatus, ApiError> {
    let caller = auth.permit()?;
    let ctx = &caller.ctx;
    let mut conn = app.conn().await?;
    scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
        let current = tenant_on_conn(ctx, conn, tenant, false).await?;
        let entitled = entitlements_on_conn(ctx, app, conn, tenant).await?;
        let used = workspace_count_on_conn(conn, tenant).await?;
        let reason = match current.status {
            TenantStatus::Active => None,
            TenantStatus::Pending => Some("activation has not been requested".to_owned()),
            TenantStatus::Onboarding => Some("readiness checklist incomplete".to_owned()),
            TenantStatus::Suspended => Some("suspended by the platform team".to_owned()),
            TenantStatus::Offboarding | TenantStatus::Offboarded => Some("offboarded".to_owned()),
        };
        Ok(EntitlementStatus {
            tenant_id: tenant,
            tenant_status: current.status,
            active: reason.is_none(),
            reason,
            plan: entitled.plan,
            modules: entitled.modules,
            workspaces: Usage {
                used,
                limit: i64::from(entitled.max_workspaces),
            },
        })
    })
    .await
}
