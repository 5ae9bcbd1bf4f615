//! Who holds which role in a tenant: role bindings (a principal, by subject) and
//! group mappings (every member of an identity-provider group). Tenant roles only;
//! platform roles are the platform team's own. Managed by the platform team and the
//! tenant's workspace administrators.

use plinth_authz::{Authorized, Caller, Resources, on, to};
use plinth_bus::Outbox;
use plinth_core::{ApiError, Code, Page, PageParams, Role, TenantId, WorkspaceId};
use plinth_db::scoped_transaction;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::tenants::tenant_on_conn;
use super::{AppState, is_unbound_platform_admin, now, scope_of};
use crate::domain::RoleBindingId;
use crate::events::{
    Audited, GROUP_MAPPING_CREATED, GROUP_MAPPING_DELETED, Outcome, ROLE_BINDING_CREATED,
    ROLE_BINDING_DELETED,
};
use crate::store::role_bindings::{
    RoleBindingRow, role_binding_delete_on_conn, role_binding_insert_on_conn,
    role_binding_list_on_conn,
};
use crate::store::workspaces::workspace_get_on_conn;
use plinth_service::ServiceState as _;

/// A principal by subject, or an identity-provider group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingKind {
    Subject,
    Group,
}

impl BindingKind {
    fn as_str(self) -> &'static str {
        match self {
            BindingKind::Subject => "subject",
            BindingKind::Group => "group",
        }
    }

    fn action(self, verb: &str) -> &'static str {
        match (self, verb) {
            (BindingKind::Subject, "create") => "role_binding.create",
            (BindingKind::Subject, _) => "role_binding.delete",
            (BindingKind::Group, "create") => "group_mapping.create",
            (BindingKind::Group, _) => "group_mapping.delete",
        }
    }

    fn resource_type(self) -> &'static str {
        match self {
            BindingKind::Subject => "role_binding",
            BindingKind::Group => "group_mapping",
        }
    }

    fn events(self) -> (&'static str, &'static str) {
        match self {
            BindingKind::Subject => (ROLE_BINDING_CREATED, ROLE_BINDING_DELETED),
            BindingKind::Group => (GROUP_MAPPING_CREATED, GROUP_MAPPING_DELETED),
        }
    }

    /// The request field that names the principal.
    pub fn field(self) -> &'static str {
        match self {
            BindingKind::Subject => "subject",
            BindingKind::Group => "idp_group",
        }
    }
}

/// A role held in a tenant, or in one of its workspaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RoleBinding {
    #[schema(example = "rbd_2c4e6a8b0d1f4a3c9e7b5d3f1a2c4e6b")]
    pub binding_id: String,
    #[schema(value_type = String)]
    pub tenant_id: TenantId,
    /// Absent: the whole tenant.
    pub workspace_id: Option<String>,
    /// `subject` (a role binding) or `group` (a group mapping).
    pub principal_kind: String,
    /// The principal's subject, or the group's name at the identity provider.
    pub principal: String,
    #[schema(value_type = String, example = "Operator")]
    pub role: Role,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub created_by: String,
}

impl TryFrom<RoleBindingRow> for RoleBinding {
    type Error = ApiError;

    fn try_from(row: RoleBindingRow) -> Result<Self, ApiError> {
        Ok(RoleBinding {
            tenant_id: TenantId::parse(&row.tenant_id)
                .map_err(|_| ApiError::internal("stored binding has a bad tenant"))?,
            role: row
                .role
                .parse()
                .map_err(|_| ApiError::internal("stored binding has a bad role"))?,
            binding_id: row.binding_id,
            workspace_id: row.workspace_id,
            principal_kind: row.principal_kind,
            principal: row.principal,
            created_at: row.created_at,
            created_by: row.created_by,
        })
    }
}

/// A binding to create, checked.
#[derive(Debug, Clone)]
pub struct NewBinding {
    pub principal: String,
    pub role: Role,
    pub workspace: Option<WorkspaceId>,
}

impl NewBinding {
    pub fn parse(
        kind: BindingKind,
        principal: &str,
        role: &str,
        workspace: Option<&str>,
    ) -> Result<Self, ApiError> {
        let field = kind.field();
        let principal = principal.trim();
        if principal.is_empty() || principal.len() > 200 || principal.chars().any(char::is_control)
        {
            return Err(ApiError::invalid_request(
                field,
                format!("{field} is 1 to 200 printable characters"),
            ));
        }
        let role: Role = role
            .parse()
            .map_err(|_| ApiError::invalid_request("role", "role is not one of Plinth's roles"))?;
        // A platform role held in a tenant binds MSP staff to it: the whole tenant.
        if role.is_platform() && workspace.is_some() {
            return Err(ApiError::invalid_request(
                "workspace_id",
                "a platform role binds MSP staff to a whole tenant, not a workspace",
            ));
        }
        let workspace = workspace
            .map(|w| {
                WorkspaceId::parse(w).map_err(|_| {
                    ApiError::invalid_request("workspace_id", "no such workspace in this tenant")
                })
            })
            .transpose()?;
        Ok(NewBinding {
            principal: principal.to_owned(),
            role,
            workspace,
        })
    }
}

/// Platform roles held in a tenant (MSP staff bound to chosen tenants) are granted
/// and withdrawn by the platform team only, never by the tenant.
/// The two resources the binding routes act on, each with its kind of principal.
pub trait BindingResource: Resources {
    /// Who is bound: a principal's subject, or an identity provider group.
    const KIND: BindingKind;
}

impl BindingResource for on::RoleBinding {
    const KIND: BindingKind = BindingKind::Subject;
}

impl BindingResource for on::GroupMapping {
    const KIND: BindingKind = BindingKind::Group;
}

fn require_platform_grant(caller: &Caller, role: Role) -> Result<(), ApiError> {
    if role.is_platform() && !is_unbound_platform_admin(caller) {
        Err(ApiError::forbidden(
            "only platform administrators bound to every tenant bind MSP staff to tenants",
        ))
    } else {
        Ok(())
    }
}

/// `new` is the request as the HTTP edge parsed it; a refusal there is audited
/// here, like every other refusal of the action.
pub async fn binding_create<R: BindingResource>(
    auth: &Authorized<R, to::Create>,
    app: &AppState,
    tenant: TenantId,
    new: Result<NewBinding, ApiError>,
) -> Result<RoleBinding, ApiError> {
    let kind = R::KIND;
    let audited = Audited::new(kind.action("create"), kind.resource_type()).on_tenant(tenant);
    let result = async {
        let new = new?;
        let caller = auth.permit()?;
        require_platform_grant(caller, new.role)?;
        let ctx = &caller.ctx;
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
            tenant_on_conn(ctx, conn, tenant, false).await?;
            if let Some(ws) = new.workspace
                && workspace_get_on_conn(conn, tenant, ws, false)
                    .await?
                    .is_none()
            {
                return Err(ApiError::invalid_request(
                    "workspace_id",
                    "no such workspace in this tenant",
                ));
            }
            let row = RoleBindingRow {
                binding_id: RoleBindingId::new().to_string(),
                tenant_id: tenant.to_string(),
                workspace_id: new.workspace.map(|w| w.to_string()),
                principal_kind: kind.as_str().to_owned(),
                principal: new.principal.clone(),
                role: new.role.as_str().to_owned(),
                created_at: now(),
                created_by: ctx.principal.subject.clone(),
            };
            role_binding_insert_on_conn(conn, &row).await.map_err(|e| {
                let err = ApiError::from(e);
                if err.code() == Code::AlreadyExists {
                    ApiError::already_exists(format!(
                        "this {} already holds this role here",
                        kind.field()
                    ))
                } else {
                    err
                }
            })?;
            let binding = RoleBinding::try_from(row.clone())?;
            let audited = audited
                .clone()
                .on_resource(&row.binding_id)
                .with_hash("after", &binding);
            let events = [
                app.events
                    .role_binding_changed(ctx, kind.events().0, &row, row.created_at)?,
                app.events.audit(ctx, &audited, Outcome::Allowed, None)?,
            ];
            Outbox::enqueue(conn, &events).await?;
            Ok(binding)
        })
        .await
    }
    .await;
    app.audited(auth, &audited, result).await
}

pub async fn binding_list<R: BindingResource>(
    auth: &Authorized<R, to::Read>,
    app: &AppState,
    tenant: TenantId,
    params: &PageParams,
) -> Result<Page<RoleBinding>, ApiError> {
    let kind = R::KIND;
    let caller = auth.permit()?;
    let limit = params.limit()?;
    let after: Option<String> = params.after()?;
    let ctx = &caller.ctx;
    let mut conn = app.conn().await?;
    let rows = scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
        tenant_on_conn(ctx, conn, tenant, false).await?;
        Ok::<_, ApiError>(
            role_binding_list_on_conn(
                conn,
                tenant,
                kind.as_str(),
                after.as_deref(),
                i64::from(limit) + 1,
            )
            .await?,
        )
    })
    .await?;
    let items = rows
        .into_iter()
        .map(RoleBinding::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, limit, |b| b.binding_id.clone()))
}

pub async fn binding_delete<R: BindingResource>(
    auth: &Authorized<R, to::Delete>,
    app: &AppState,
    tenant: TenantId,
    id: &str,
) -> Result<(), ApiError> {
    let kind = R::KIND;
    let mut audited = Audited::new(kind.action("delete"), kind.resource_type()).on_tenant(tenant);
    let parsed = RoleBindingId::parse(id);
    if let Ok(id) = &parsed {
        audited = audited.on_resource(id);
    }
    let result = async {
        // An id that is not a binding id names no binding, and is not recorded.
        let id = &parsed
            .map_err(|_| ApiError::not_found(kind.resource_type()))?
            .to_string();
        let caller = auth.permit()?;
        let ctx = &caller.ctx;
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
            let row = role_binding_delete_on_conn(conn, tenant, kind.as_str(), id)
                .await?
                .ok_or_else(|| ApiError::not_found(kind.resource_type()))?;
            // Deleting inside the transaction and refusing rolls the delete back.
            require_platform_grant(
                caller,
                row.role
                    .parse()
                    .map_err(|_| ApiError::internal(format!("stored role {}", row.role)))?,
            )?;
            let before = RoleBinding::try_from(row.clone())?;
            let audited = audited.clone().with_hash("before", &before);
            let events = [
                app.events
                    .role_binding_changed(ctx, kind.events().1, &row, now())?,
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
