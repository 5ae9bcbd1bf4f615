//! The HTTP edge: extract, call the app, map the result. Bodies are JSON with a
//! size limit (packs of megabytes are fine); every error is problem+json with a
//! stable code.

pub mod activation;
pub mod openapi;
pub mod packs;
pub mod playbooks;
pub mod runtime;
pub mod workflows;

pub use plinth_core::http::{body_of, tenant_path};

use actix_web::web;
use plinth_core::{ApiError, TenantId};
use serde::Serialize;
use utoipa::ToSchema;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin/packs")
            .route("/domain/import", web::post().to(packs::domain_import))
            .route("/tenant/import", web::post().to(packs::tenant_import))
            .route("/validate", web::post().to(packs::validate))
            .route("/activate", web::post().to(activation::activate))
            .route("/attempts", web::get().to(packs::platform_attempts))
            .route("/attempts/{attempt_id}", web::get().to(packs::attempt))
            .route("/domain", web::get().to(packs::domain_list))
            .route("/tools", web::get().to(packs::tools))
            .route(
                "/domain/{domain}/{version}",
                web::get().to(packs::domain_get),
            )
            .route(
                "/domain/{domain}/{version}/deprecate",
                web::post().to(packs::domain_deprecate),
            )
            .route("/tenant/{tenant_id}", web::get().to(packs::tenant_list))
            .route(
                "/tenant/{tenant_id}/active",
                web::get().to(activation::active),
            )
            .route(
                "/tenant/{tenant_id}/settings",
                web::get().to(activation::settings_get),
            )
            .route(
                "/tenant/{tenant_id}/settings",
                web::put().to(activation::settings_set),
            )
            .route(
                "/tenant/{tenant_id}/changes",
                web::get().to(activation::changes),
            )
            .route(
                "/tenant/{tenant_id}/changes/{change_id}/approve",
                web::post().to(activation::approve),
            )
            .route(
                "/tenant/{tenant_id}/changes/{change_id}/reject",
                web::post().to(activation::reject),
            )
            .route(
                "/tenant/{tenant_id}/playbooks",
                web::get().to(playbooks::links),
            )
            .route(
                "/tenant/{tenant_id}/playbooks",
                web::post().to(playbooks::link),
            )
            .route(
                "/tenant/{tenant_id}/playbooks/{playbook}",
                web::delete().to(playbooks::unlink),
            )
            .route(
                "/tenant/{tenant_id}/attempts",
                web::get().to(packs::tenant_attempts),
            )
            .route(
                "/tenant/{tenant_id}/workspaces/{workspace_id}/workflows",
                web::post().to(workflows::publish),
            )
            .route(
                "/tenant/{tenant_id}/workspaces/{workspace_id}/workflows",
                web::get().to(workflows::list),
            )
            .route(
                "/tenant/{tenant_id}/workspaces/{workspace_id}/workflows/{workflow}/{version}",
                web::get().to(workflows::get),
            )
            .route(
                "/tenant/{tenant_id}/{version}",
                web::get().to(packs::tenant_get),
            )
            .route(
                "/tenant/{tenant_id}/{version}/deprecate",
                web::post().to(packs::tenant_deprecate),
            ),
    );
    cfg.service(
        web::scope("/admin/playbooks")
            .route("", web::post().to(playbooks::publish))
            .route("", web::get().to(playbooks::list))
            .route("/{playbook}/{version}", web::get().to(playbooks::get)),
    );
    cfg.service(
        web::scope("/runtime/tenants/{tenant_id}")
            .route("/config", web::get().to(runtime::config))
            .route("/classify", web::post().to(runtime::classify))
            .route("/classifications", web::get().to(runtime::classifications)),
    );
}

/// A tenant id from a body: one that does not parse is a bad field.
pub fn tenant_field(raw: &str) -> Result<TenantId, ApiError> {
    TenantId::parse(raw).map_err(|e| ApiError::invalid_request("tenant_id", e.to_string()))
}

/// A listing.
#[derive(Debug, Serialize, ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}

impl<T> Items<T> {
    pub fn of(items: Vec<T>) -> Self {
        Items { items }
    }
}
