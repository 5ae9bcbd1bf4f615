//! Tenants: registration, reading, listing, and the operator's part of the lifecycle.

use diesel_async::AsyncPgConnection;
use plinth_authz::{Authorized, Caller, on, to};
use plinth_bus::Outbox;
use plinth_core::{ApiError, Code, DataMode, Page, PageParams, Region, ReqCtx, TenantId};
use plinth_db::scoped_transaction;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::{AppState, is_unbound_platform_admin, scope_of};
use crate::domain::{DeploymentModel, OwnerContact, TenantSlug, TenantStatus};
use crate::events::{Audited, Outcome};
use crate::store::tenants::{
    TenantFilterRow, TenantRow, tenant_get_on_conn, tenant_insert_on_conn, tenant_list_on_conn,
    tenant_status_set_on_conn,
};
use plinth_service::ServiceState as _;

/// A tenant as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Tenant {
    /// `ten_<region>_<32 hex>`: the id names the tenant's region.
    #[schema(value_type = String, example = "ten_us_0f3c5e7a9b1d4f6a8c2e4b6d8f0a1c3e")]
    pub tenant_id: TenantId,
    pub slug: String,
    pub display_name: String,
    /// Fixed at registration.
    #[schema(value_type = String, example = "us")]
    pub region: Region,
    pub status: TenantStatus,
    pub deployment_model: DeploymentModel,
    /// `metadata_only` (default) or `content`.
    #[schema(value_type = String, example = "metadata_only")]
    pub data_mode: DataMode,
    pub owner_contact: OwnerContact,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl TryFrom<TenantRow> for Tenant {
    type Error = ApiError;

    fn try_from(row: TenantRow) -> Result<Self, ApiError> {
        let corrupt = |what: &str| ApiError::internal(format!("stored tenant has a bad {what}"));
        Ok(Tenant {
            tenant_id: TenantId::parse(&row.tenant_id).map_err(|_| corrupt("id"))?,
            region: row.region.parse().map_err(|_| corrupt("region"))?,
            status: row.status.parse().map_err(|_| corrupt("status"))?,
            deployment_model: row
                .deployment_model
                .parse()
                .map_err(|_| corrupt("deployment model"))?,
            data_mode: row.data_mode.parse().map_err(|_| corrupt("data mode"))?,
            owner_contact: OwnerContact {
                name: row.owner_name,
                email: row.owner_email,
                phone: row.owner_phone,
            },
            slug: row.slug,
            display_name: row.display_name,
            created_at: row.created_at,
            created_by: row.created_by,
            updated_at: row.updated_at,
        })
    }
}

/// The tenant, in the open transaction (locked for the rest of it when `lock`);
/// `not_found` when the scope does not show it.
pub async fn tenant_on_conn(
    _ctx: &ReqCtx,
    conn: &mut AsyncPgConnection,
    id: TenantId,
    lock: bool,
) -> Result<Tenant, ApiError> {
    tenant_get_on_conn(conn, id, lock)
        .await?
        .ok_or_else(|| ApiError::not_found("tenant"))?
        .try_into()
}

/// A status an operator asks for, and why.
#[derive(Debug, Clone)]
pub struct StatusChange {
    pub to: TenantStatus,
    pub reason: Option<String>,
}

/// A tenant to register; every field already checked.
#[derive(Debug, Clone)]
pub struct NewTenant {
    pub slug: TenantSlug,
    pub display_name: String,
    pub region: Region,
    pub deployment_model: DeploymentModel,
    pub data_mode: DataMode,
    pub owner_contact: OwnerContact,
}

/// Registers a tenant in this deployment's region, PENDING, with `tenant.created`
/// and its audit event.
/// `new` is the request as the HTTP edge parsed it; a refusal there is audited
/// here, like every other refusal of the action.
pub async fn tenant_create(
    auth: &Authorized<on::Tenant, to::Create>,
    app: &AppState,
    new: Result<NewTenant, ApiError>,
) -> Result<Tenant, ApiError> {
    let audited = Audited::new("tenant.create", "tenant");
    let result = async {
        let new = new?;
        tenant_create_checked(auth.permit()?, app, new).await
    }
    .await;
    app.audited(auth, &audited, result).await
}

async fn tenant_create_checked(
    caller: &Caller,
    app: &AppState,
    new: NewTenant,
) -> Result<Tenant, ApiError> {
    let ctx = &caller.ctx;
    if !is_unbound_platform_admin(caller) {
        return Err(ApiError::forbidden(
            "only platform administrators bound to every tenant register tenants",
        ));
    }
    if new.region != ctx.region {
        return Err(ApiError::wrong_region(new.region, None));
    }
    let id = TenantId::new(new.region);
    let now = super::now();
    let row = TenantRow {
        tenant_id: id.to_string(),
        slug: new.slug.as_str().to_owned(),
        display_name: new.display_name,
        region: new.region.as_str().to_owned(),
        status: TenantStatus::Pending.as_str().to_owned(),
        deployment_model: new.deployment_model.as_str().to_owned(),
        data_mode: new.data_mode.as_str().to_owned(),
        owner_name: new.owner_contact.name,
        owner_email: new.owner_contact.email,
        owner_phone: new.owner_contact.phone,
        created_at: now,
        created_by: ctx.principal.subject.clone(),
        updated_at: now,
    };
    let tenant = Tenant::try_from(row.clone())?;
    let audited = Audited::new("tenant.create", "tenant")
        .on_tenant(id)
        .with_hash("after", &tenant);
    let events = vec![
        app.events.tenant_created(&row)?,
        app.events.audit(ctx, &audited, Outcome::Allowed, None)?,
    ];
    let mut conn = app.conn().await?;
    scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
        tenant_insert_on_conn(conn, &row).await.map_err(|e| {
            let err = ApiError::from(e);
            if err.code() == Code::AlreadyExists {
                ApiError::already_exists("a tenant with this slug already exists in this region")
                    .with_extension("field", "slug")
            } else {
                err
            }
        })?;
        Outbox::enqueue(conn, &events).await?;
        Ok::<_, ApiError>(())
    })
    .await?;
    Ok(tenant)
}

/// One tenant, if the caller reaches it; any other answers `not_found`.
pub async fn tenant_get(
    auth: &Authorized<on::Tenant, to::Read>,
    app: &AppState,
    id: TenantId,
) -> Result<Tenant, ApiError> {
    let caller = auth.permit()?;
    let ctx = &caller.ctx;
    let mut conn = app.conn().await?;
    scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
        tenant_on_conn(ctx, conn, id, false).await
    })
    .await
}

/// The tenants the caller reaches, in id order.
/// Which tenants a listing keeps; `None`: any.
#[derive(Debug, Default, Clone, Copy)]
pub struct TenantFilter {
    pub status: Option<TenantStatus>,
    pub deployment_model: Option<DeploymentModel>,
    pub data_mode: Option<DataMode>,
}

pub async fn tenant_list(
    auth: &Authorized<on::Tenant, to::Read>,
    app: &AppState,
    params: &PageParams,
    filter: TenantFilter,
) -> Result<Page<Tenant>, ApiError> {
    let caller = auth.permit()?;
    let limit = params.limit()?;
    let after: Option<String> = params.after()?;
    let mut conn = app.conn().await?;
    let rows = scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
        let kept = TenantFilterRow {
            status: filter.status.map(TenantStatus::as_str),
            deployment_model: filter.deployment_model.map(DeploymentModel::as_str),
            data_mode: filter.data_mode.map(DataMode::as_str),
        };
        tenant_list_on_conn(conn, after.as_deref(), i64::from(limit) + 1, kept).await
    })
    .await?;
    let tenants = rows
        .into_iter()
        .map(Tenant::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(tenants, limit, |t| t.tenant_id.to_string()))
}

/// Moves a tenant between ACTIVE and SUSPENDED, the part of the lifecycle an operator
/// sets directly. Any other transition is refused with `invalid_transition`, naming
/// the states the tenant may move to next.
/// `change` is the request as the HTTP edge parsed it; a refusal there is audited
/// here, like every other refusal of the action.
pub async fn tenant_status_set(
    auth: &Authorized<on::TenantStatus, to::Update>,
    app: &AppState,
    id: TenantId,
    change: Result<StatusChange, ApiError>,
) -> Result<Tenant, ApiError> {
    let audited = Audited::new("tenant.status_set", "tenant").on_tenant(id);
    let result = async {
        let StatusChange { to, reason } = change?;
        tenant_status_set_checked(auth.permit()?, app, id, to, reason).await
    }
    .await;
    app.audited(auth, &audited, result).await
}

async fn tenant_status_set_checked(
    caller: &Caller,
    app: &AppState,
    id: TenantId,
    to: TenantStatus,
    reason: Option<String>,
) -> Result<Tenant, ApiError> {
    let ctx = &caller.ctx;
    let mut conn = app.conn().await?;
    scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
        let before = tenant_on_conn(ctx, conn, id, true).await?;
        let from = before.status;
        if !from.operator_may_set(to) {
            let allowed: Vec<&str> = from.next().iter().map(|s| s.as_str()).collect();
            return Err(ApiError::conflict(format!(
                "a {from} tenant cannot become {to} here; next it may become {}",
                if allowed.is_empty() {
                    "nothing".to_owned()
                } else {
                    allowed.join(" or ")
                }
            ))
            .with_code(Code::InvalidTransition)
            .with_extension("allowed", allowed)
            .with_extension(
                "note",
                "ONBOARDING and OFFBOARDING start with their requests; ACTIVE after onboarding \
                 and OFFBOARDED follow from the readiness and cleanup checklists",
            ));
        }
        let after: Tenant = tenant_status_set_on_conn(conn, id, to.as_str())
            .await?
            .try_into()?;
        let audited = Audited::new("tenant.status_set", "tenant")
            .on_tenant(id)
            .with_hash("before", &before)
            .with_hash("after", &after);
        let mut events = app.events.tenant_status_changed(
            ctx,
            id,
            from,
            to,
            reason.as_deref(),
            after.updated_at,
        )?;
        events.push(app.events.audit(ctx, &audited, Outcome::Allowed, None)?);
        Outbox::enqueue(conn, &events).await?;
        Ok(after)
    })
    .await
}
