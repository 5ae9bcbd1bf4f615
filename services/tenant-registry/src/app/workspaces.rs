//! Workspaces of a tenant: created, read, listed, changed and deleted by the
//! platform team or the tenant's own administrators. A workspace's data mode may be
//! stricter than its tenant's, never looser.

use plinth_authz::{Authorized, Caller, on, to};
use plinth_bus::Outbox;
use plinth_core::{ApiError, Code, DataMode, Page, PageParams, TenantId, WorkspaceId};
use plinth_db::scoped_transaction;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::entitlements::workspace_quota_check_on_conn;
use super::tenants::{Tenant, tenant_on_conn};
use super::{AppState, now, scope_of};
use crate::domain::{ApprovalTier, TenantStatus, workspace_name};
use crate::events::{Audited, Outcome, WORKSPACE_CREATED, WORKSPACE_DELETED, WORKSPACE_UPDATED};
use crate::store::workspaces::{
    WorkspaceRow, WorkspaceSettings, workspace_delete_on_conn, workspace_get_on_conn,
    workspace_insert_on_conn, workspace_list_on_conn, workspace_update_on_conn,
};
use plinth_service::ServiceState as _;

/// A workspace as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Workspace {
    #[schema(value_type = String, example = "wsp_5b0e1f2a3c4d4e5f8a9b0c1d2e3f4a5b")]
    pub workspace_id: WorkspaceId,
    #[schema(value_type = String)]
    pub tenant_id: TenantId,
    pub name: String,
    #[schema(value_type = String, example = "metadata_only")]
    pub data_mode: DataMode,
    pub retention_days: i32,
    /// Most write actions per day; absent: no cap.
    pub write_cap_per_day: Option<i32>,
    pub approval_tier: ApprovalTier,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl TryFrom<WorkspaceRow> for Workspace {
    type Error = ApiError;

    fn try_from(row: WorkspaceRow) -> Result<Self, ApiError> {
        let corrupt = |what: &str| ApiError::internal(format!("stored workspace has a bad {what}"));
        Ok(Workspace {
            workspace_id: WorkspaceId::parse(&row.workspace_id).map_err(|_| corrupt("id"))?,
            tenant_id: TenantId::parse(&row.tenant_id).map_err(|_| corrupt("tenant"))?,
            data_mode: row.data_mode.parse().map_err(|_| corrupt("data mode"))?,
            approval_tier: row
                .approval_tier
                .parse()
                .map_err(|_| corrupt("approval tier"))?,
            name: row.name,
            retention_days: row.retention_days,
            write_cap_per_day: row.write_cap_per_day,
            created_at: row.created_at,
            created_by: row.created_by,
            updated_at: row.updated_at,
        })
    }
}

/// Settings of a workspace; on creation, what is absent takes its default
/// (metadata-only, 90 days, no cap, L2); on update, what is absent stays.
#[derive(Debug, Clone, Default)]
pub struct WorkspaceChange {
    pub name: Option<String>,
    pub data_mode: Option<DataMode>,
    pub retention_days: Option<i32>,
    /// `Some(None)` removes the cap.
    pub write_cap_per_day: Option<Option<i32>>,
    pub approval_tier: Option<ApprovalTier>,
}

const DEFAULT_RETENTION_DAYS: i32 = 90;

impl WorkspaceChange {
    /// The settings after applying this change to `current`, checked against the
    /// tenant.
    fn settings(
        self,
        current: Option<&Workspace>,
        tenant: &Tenant,
    ) -> Result<WorkspaceSettings, ApiError> {
        let name = match (self.name, current) {
            (Some(n), _) => workspace_name(&n)?,
            (None, Some(c)) => c.name.clone(),
            (None, None) => return Err(ApiError::invalid_request("name", "name is required")),
        };
        let data_mode = self
            .data_mode
            .or(current.map(|c| c.data_mode))
            .unwrap_or_default();
        if !data_mode.at_least_as_strict_as(tenant.data_mode) {
            return Err(ApiError::invalid_request(
                "data_mode",
                format!(
                    "a workspace may not keep content when its tenant is {}",
                    tenant.data_mode
                ),
            ));
        }
        let retention_days = self
            .retention_days
            .or(current.map(|c| c.retention_days))
            .unwrap_or(DEFAULT_RETENTION_DAYS);
        if !(1..=3650).contains(&retention_days) {
            return Err(ApiError::invalid_request(
                "retention_days",
                "retention_days is 1 to 3650",
            ));
        }
        let write_cap_per_day = match self.write_cap_per_day {
            Some(cap) => cap,
            None => current.and_then(|c| c.write_cap_per_day),
        };
        if write_cap_per_day.is_some_and(|c| c < 0) {
            return Err(ApiError::invalid_request(
                "write_cap_per_day",
                "write_cap_per_day is zero or more, or null for no cap",
            ));
        }
        let approval_tier = self
            .approval_tier
            .or(current.map(|c| c.approval_tier))
            .unwrap_or_default();
        Ok(WorkspaceSettings {
            name,
            data_mode: data_mode.as_str().to_owned(),
            retention_days,
            write_cap_per_day,
            approval_tier: approval_tier.as_str().to_owned(),
            updated_at: now(),
        })
    }
}

/// The tenant a workspace request is about, read in the request's transaction;
/// `conflict` once it is being offboarded and the request would change something.
async fn owner_on_conn(
    caller: &Caller,
    conn: &mut diesel_async::AsyncPgConnection,
    tenant: TenantId,
    changing: bool,
) -> Result<Tenant, ApiError> {
    let tenant = tenant_on_conn(&caller.ctx, conn, tenant, false).await?;
    if changing
        && matches!(
            tenant.status,
            TenantStatus::Offboarding | TenantStatus::Offboarded
        )
    {
        return Err(ApiError::conflict(format!(
            "the tenant is {}; its workspaces no longer change",
            tenant.status
        )));
    }
    Ok(tenant)
}

fn name_taken(err: diesel::result::Error) -> ApiError {
    let err = ApiError::from(err);
    if err.code() == Code::AlreadyExists {
        ApiError::already_exists("the tenant already has a workspace with this name")
            .with_extension("field", "name")
    } else {
        err
    }
}

/// `change` is the request as the HTTP edge parsed it; a refusal there is audited
/// here, like every other refusal of the action.
pub async fn workspace_create(
    auth: &Authorized<on::Workspace, to::Create>,
    app: &AppState,
    tenant: TenantId,
    change: Result<WorkspaceChange, ApiError>,
) -> Result<Workspace, ApiError> {
    let audited = Audited::new("workspace.create", "workspace").on_tenant(tenant);
    let result = async {
        let change = change?;
        let caller = auth.permit()?;
        let ctx = &caller.ctx;
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
            let owner = owner_on_conn(caller, conn, tenant, true).await?;
            let settings = change.settings(None, &owner)?;
            workspace_quota_check_on_conn(ctx, app, conn, tenant).await?;
            let id = WorkspaceId::new();
            let row = WorkspaceRow {
                workspace_id: id.to_string(),
                tenant_id: tenant.to_string(),
                name: settings.name,
                data_mode: settings.data_mode,
                retention_days: settings.retention_days,
                write_cap_per_day: settings.write_cap_per_day,
                approval_tier: settings.approval_tier,
                created_at: settings.updated_at,
                created_by: ctx.principal.subject.clone(),
                updated_at: settings.updated_at,
            };
            workspace_insert_on_conn(conn, &row)
                .await
                .map_err(name_taken)?;
            let workspace = Workspace::try_from(row.clone())?;
            let audited = Audited::new("workspace.create", "workspace")
                .on_tenant(tenant)
                .on_resource(id)
                .with_hash("after", &workspace);
            let events = [
                app.events
                    .workspace_changed(ctx, WORKSPACE_CREATED, &row, row.created_at)?,
                app.events.audit(ctx, &audited, Outcome::Allowed, None)?,
            ];
            Outbox::enqueue(conn, &events).await?;
            Ok(workspace)
        })
        .await
    }
    .await;
    app.audited(auth, &audited, result).await
}

pub async fn workspace_get(
    auth: &Authorized<on::Workspace, to::Read>,
    app: &AppState,
    tenant: TenantId,
    id: WorkspaceId,
) -> Result<Workspace, ApiError> {
    let caller = auth.permit()?;
    let mut conn = app.conn().await?;
    let row = scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
        workspace_get_on_conn(conn, tenant, id, false).await
    })
    .await?;
    row.ok_or_else(|| ApiError::not_found("workspace"))?
        .try_into()
}

pub async fn workspace_list(
    auth: &Authorized<on::Workspace, to::Read>,
    app: &AppState,
    tenant: TenantId,
    params: &PageParams,
) -> Result<Page<Workspace>, ApiError> {
    let caller = auth.permit()?;
    let limit = params.limit()?;
    let after: Option<String> = params.after()?;
    let mut conn = app.conn().await?;
    let rows = scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
        owner_on_conn(caller, conn, tenant, false).await?;
        Ok::<_, ApiError>(
            workspace_list_on_conn(conn, tenant, after.as_deref(), i64::from(limit) + 1).await?,
        )
    })
    .await?;
    let items = rows
        .into_iter()
        .map(Workspace::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, limit, |w| {
        w.workspace_id.to_string()
    }))
}

/// `change` is the request as the HTTP edge parsed it; a refusal there is audited
/// here, like every other refusal of the action.
pub async fn workspace_update(
    auth: &Authorized<on::Workspace, to::Update>,
    app: &AppState,
    tenant: TenantId,
    id: WorkspaceId,
    change: Result<WorkspaceChange, ApiError>,
) -> Result<Workspace, ApiError> {
    let audited = Audited::new("workspace.update", "workspace")
        .on_tenant(tenant)
        .on_resource(id);
    let result = async {
        let change = change?;
        let caller = auth.permit()?;
        let ctx = &caller.ctx;
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
            let owner = owner_on_conn(caller, conn, tenant, true).await?;
            let before: Workspace = workspace_get_on_conn(conn, tenant, id, true)
                .await?
                .ok_or_else(|| ApiError::not_found("workspace"))?
                .try_into()?;
            let settings = change.settings(Some(&before), &owner)?;
            let row = workspace_update_on_conn(conn, tenant, id, &settings)
                .await
                .map_err(name_taken)?;
            let after = Workspace::try_from(row.clone())?;
            let audited = audited
                .clone()
                .with_hash("before", &before)
                .with_hash("after", &after);
            let events = [
                app.events
                    .workspace_changed(ctx, WORKSPACE_UPDATED, &row, row.updated_at)?,
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

pub async fn workspace_delete(
    auth: &Authorized<on::Workspace, to::Delete>,
    app: &AppState,
    tenant: TenantId,
    id: WorkspaceId,
) -> Result<(), ApiError> {
    let audited = Audited::new("workspace.delete", "workspace")
        .on_tenant(tenant)
        .on_resource(id);
    let result = async {
        let caller = auth.permit()?;
        let ctx = &caller.ctx;
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
            owner_on_conn(caller, conn, tenant, true).await?;
            let row = workspace_get_on_conn(conn, tenant, id, true)
                .await?
                .ok_or_else(|| ApiError::not_found("workspace"))?;
            let before = Workspace::try_from(row.clone())?;
            workspace_delete_on_conn(conn, tenant, id).await?;
            let audited = audited.clone().with_hash("before", &before);
            let events = [
                app.events
                    .workspace_changed(ctx, WORKSPACE_DELETED, &row, now())?,
                app.events.audit(ctx, &audited, Outcome::Allowed, None)?,
            ];
            Outbox::enqueue(conn, &events).await?;
            Ok(())
        })
        .await
    }
    .await;
    app.audited(auth, &audited, result).await
}
