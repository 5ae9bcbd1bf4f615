//! The tenant registry's events as the other services read them: each service
//! keeps its own projection of the tenants (their status, data mode, workspaces
//! and entitlements) from these, never asking the registry.

use plinth_core::{Region, TenantId};
use serde::Deserialize;

use crate::HandlerError;

/// `id`, read from an event, as a tenant of `region` (the consuming
/// deployment's): another region's tenant is a message that should never have
/// reached it, which no retry mends.
pub fn tenant_of_region(id: &str, region: Region) -> Result<TenantId, HandlerError> {
    let tenant = TenantId::parse(id)
        .map_err(|e| HandlerError::Permanent(format!("tenant id {id:?}: {e}")))?;
    if tenant.region() != region {
        return Err(HandlerError::Permanent(format!(
            "{tenant} belongs to region {}; this deployment serves {region}",
            tenant.region()
        )));
    }
    Ok(tenant)
}

/// A tenant was registered.
pub const TENANT_CREATED: &str = "plinth.tenant.created";
/// A tenant's status changed (published with `activated`, `suspended` or
/// `offboarded` companions; this one carries every change).
pub const TENANT_STATUS_CHANGED: &str = "plinth.tenant.status_changed";
/// A workspace was created.
pub const WORKSPACE_CREATED: &str = "plinth.workspace.created";
/// A workspace's settings changed.
pub const WORKSPACE_UPDATED: &str = "plinth.workspace.updated";
/// A workspace was deleted.
pub const WORKSPACE_DELETED: &str = "plinth.workspace.deleted";
/// A tenant's entitlements changed.
pub const ENTITLEMENT_CHANGED: &str = "plinth.entitlement.changed";

/// `plinth.tenant.created`, as read.
#[derive(Debug, Clone, Deserialize)]
pub struct TenantCreated {
    /// The tenant.
    pub tenant_id: String,
    /// Its URL-safe name.
    pub slug: String,
    /// Its name for people.
    pub display_name: String,
    /// Its status when registered.
    pub status: String,
    /// `metadata_only` or `content`.
    pub data_mode: String,
}

impl TenantCreated {
    /// The schema's full name.
    pub const SCHEMA: &'static str = "plinth.tenant.TenantCreated";
}

/// `plinth.tenant.status_changed`, as read.
#[derive(Debug, Clone, Deserialize)]
pub struct TenantStatusChanged {
    /// The tenant.
    pub tenant_id: String,
    /// Its status now.
    pub to_status: String,
}

impl TenantStatusChanged {
    /// The schema's full name.
    pub const SCHEMA: &'static str = "plinth.tenant.TenantStatusChanged";
}

/// `plinth.workspace.created`, `.updated` or `.deleted`, as read.
#[derive(Debug, Clone, Deserialize)]
pub struct WorkspaceChanged {
    /// The tenant it belongs to.
    pub tenant_id: String,
    /// The workspace.
    pub workspace_id: String,
    /// Its name.
    pub name: String,
    /// `metadata_only` or `content`.
    pub data_mode: String,
    /// `L0`…`L3`: the least gate its steps get, whatever the policy says.
    pub approval_tier: String,
}

impl WorkspaceChanged {
    /// The schema's full name.
    pub const SCHEMA: &'static str = "plinth.tenant.WorkspaceChanged";
}

/// `plinth.entitlement.changed`, as read.
#[derive(Debug, Clone, Deserialize)]
pub struct EntitlementChanged {
    /// The tenant.
    pub tenant_id: String,
    /// The modules it may enable.
    pub modules: Vec<String>,
}

impl EntitlementChanged {
    /// The schema's full name.
    pub const SCHEMA: &'static str = "plinth.tenant.EntitlementChanged";
}
