//! The service's OpenAPI document, generated from the handlers and checked in at
//! `schemas/openapi/tenant-registry.json` (a test fails when they drift).

pub use plinth_authz::openapi::{EdgeResponses, InternalToken, Problem};
use utoipa::{OpenApi, ToSchema};

use super::{entitlements, offboarding, onboarding, role_bindings, tenants, workspaces};
use crate::app::checklist::{ChecklistItem, ItemState};
use crate::app::entitlements::{EntitlementStatus, Entitlements, Usage};
use crate::app::offboarding::Offboarding;
use crate::app::onboarding::Onboarding;
use crate::app::role_bindings::RoleBinding;
use crate::app::tenants::Tenant;
use crate::app::workspaces::Workspace;
use crate::domain::{ApprovalTier, DeploymentModel, OwnerContact, TenantStatus};

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Plinth tenant registry",
        description = "Tenants of an MSP's platform: registration (region-pinned, metadata-only by default), reading, listing, the lifecycle with its onboarding and offboarding checklists, workspaces, entitlements, role bindings and group mappings. Called through the gateway, which forwards each request with a short-lived internal token.",
        version = "1"
    ),
    paths(
        tenants::create,
        tenants::list,
        tenants::get,
        tenants::set_status,
        workspaces::create,
        workspaces::list,
        workspaces::get,
        workspaces::update,
        workspaces::delete,
        onboarding::request,
        onboarding::get,
        onboarding::confirm,
        onboarding::retry,
        offboarding::request,
        offboarding::get,
        offboarding::confirm,
        offboarding::retry,
        entitlements::get,
        entitlements::set,
        entitlements::status,
        role_bindings::create_binding,
        role_bindings::list_bindings,
        role_bindings::delete_binding,
        role_bindings::create_mapping,
        role_bindings::list_mappings,
        role_bindings::delete_mapping
    ),
    components(schemas(
        Tenant,
        TenantPage,
        TenantStatus,
        DeploymentModel,
        OwnerContact,
        tenants::CreateTenantBody,
        tenants::OwnerContactBody,
        tenants::StatusBody,
        Workspace,
        WorkspacePage,
        ApprovalTier,
        workspaces::WorkspaceBody,
        Onboarding,
        ChecklistItem,
        ItemState,
        onboarding::ActivationBody,
        Offboarding,
        offboarding::OffboardingBody,
        Entitlements,
        EntitlementStatus,
        Usage,
        entitlements::EntitlementBody,
        RoleBinding,
        RoleBindingPage,
        role_bindings::RoleBindingBody,
        role_bindings::GroupMappingBody,
        Problem
    )),
    modifiers(&InternalToken, &EdgeResponses),
    tags(
        (name = "tenants", description = "Tenants and their lifecycle"),
        (name = "workspaces", description = "A tenant's workspaces and their settings"),
        (name = "onboarding", description = "The activation request and the readiness checklist"),
        (name = "offboarding", description = "The offboarding request and the cleanup checklist, with each service's guidance"),
        (name = "entitlements", description = "Plan, modules, quotas and the entitlement status"),
        (name = "access", description = "Role bindings and identity-provider group mappings")
    )
)]
pub struct ApiDoc;

/// The pages of `GET /admin/tenants`.
#[derive(Debug, ToSchema)]
pub struct TenantPage {
    pub items: Vec<Tenant>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

/// The pages of `GET /admin/tenants/{tenant_id}/workspaces`.
#[derive(Debug, ToSchema)]
pub struct WorkspacePage {
    pub items: Vec<Workspace>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

/// The pages of the role-binding and group-mapping listings.
#[derive(Debug, ToSchema)]
pub struct RoleBindingPage {
    pub items: Vec<RoleBinding>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

/// The document as checked in: pretty JSON with a final newline.
pub fn document() -> Result<String, serde_json::Error> {
    plinth_service::document(&ApiDoc::openapi())
}
