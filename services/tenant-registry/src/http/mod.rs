//! The HTTP edge: extract, call the app, map the result. Bodies are JSON with unknown
//! fields refused and a size limit; every error is problem+json with a stable code.

pub mod entitlements;
pub mod offboarding;
pub mod onboarding;
pub mod openapi;
pub mod role_bindings;
pub mod tenants;
pub mod workspaces;

pub use plinth_core::http::{body_of, tenant_path};

use actix_web::web;
use plinth_core::{ApiError, TenantId};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin/tenants")
            .route("", web::post().to(tenants::create))
            .route("", web::get().to(tenants::list))
            .route("/{tenant_id}", web::get().to(tenants::get))
            .route("/{tenant_id}/status", web::patch().to(tenants::set_status))
            .route(
                "/{tenant_id}/role-bindings",
                web::post().to(role_bindings::create_binding),
            )
            .route(
                "/{tenant_id}/role-bindings",
                web::get().to(role_bindings::list_bindings),
            )
            .route(
                "/{tenant_id}/role-bindings/{binding_id}",
                web::delete().to(role_bindings::delete_binding),
            )
            .route(
                "/{tenant_id}/group-mappings",
                web::post().to(role_bindings::create_mapping),
            )
            .route(
                "/{tenant_id}/group-mappings",
                web::get().to(role_bindings::list_mappings),
            )
            .route(
                "/{tenant_id}/group-mappings/{binding_id}",
                web::delete().to(role_bindings::delete_mapping),
            )
            .route(
                "/{tenant_id}/entitlements",
                web::get().to(entitlements::get),
            )
            .route(
                "/{tenant_id}/entitlements",
                web::put().to(entitlements::set),
            )
            .route(
                "/{tenant_id}/entitlements/status",
                web::get().to(entitlements::status),
            )
            .route(
                "/{tenant_id}/onboarding",
                web::post().to(onboarding::request),
            )
            .route("/{tenant_id}/onboarding", web::get().to(onboarding::get))
            .route(
                "/{tenant_id}/onboarding/items/{key}/confirm",
                web::post().to(onboarding::confirm),
            )
            .route(
                "/{tenant_id}/onboarding/items/{key}/retry",
                web::post().to(onboarding::retry),
            )
            .route(
                "/{tenant_id}/offboarding",
                web::post().to(offboarding::request),
            )
            .route("/{tenant_id}/offboarding", web::get().to(offboarding::get))
            .route(
                "/{tenant_id}/offboarding/items/{key}/confirm",
                web::post().to(offboarding::confirm),
            )
            .route(
                "/{tenant_id}/offboarding/items/{key}/retry",
                web::post().to(offboarding::retry),
            )
            .route(
                "/{tenant_id}/workspaces",
                web::post().to(workspaces::create),
            )
            .route("/{tenant_id}/workspaces", web::get().to(workspaces::list))
            .route(
                "/{tenant_id}/workspaces/{workspace_id}",
                web::get().to(workspaces::get),
            )
            .route(
                "/{tenant_id}/workspaces/{workspace_id}",
                web::patch().to(workspaces::update),
            )
            .route(
                "/{tenant_id}/workspaces/{workspace_id}",
                web::delete().to(workspaces::delete),
            ),
    );
}

/// A tenant id and a checklist item's key from the path.
pub fn item_path(path: &(String, String)) -> Result<(TenantId, &str), ApiError> {
    Ok((tenant_path(&path.0)?, &path.1))
}
