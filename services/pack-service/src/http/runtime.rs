//! `/runtime/tenants/{tenant_id}/…`: what the runtime reads — the effective
//! configuration, with its checksum as ETag — and ticket classification.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use plinth_authz::{Authorized, on, to};
use plinth_core::ApiError;
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::openapi::{ClassificationItems, Problem};
use super::{Items, body_of, tenant_path};
use crate::app::AppState;
use crate::app::runtime::{
    Classification, Ticket, classification_list, runtime_config, ticket_classify,
};

/// Whether an `If-None-Match` header names `etag` (or is `*`).
fn matches(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag == etag || tag.strip_prefix("W/") == Some(etag))
}

/// The tenant's effective configuration: its Domain Pack with the Tenant Pack's
/// overrides merged in, the tenant's rules before the domain's, and its linked
/// playbooks.
#[utoipa::path(
    get,
    path = "/runtime/tenants/{tenant_id}/config",
    operation_id = "runtime_config",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier answer"),
    ),
    responses(
        (status = 200, description = "The configuration; `ETag` is its checksum", body = Object),
        (status = 304, description = "Unchanged since the ETag given"),
        (status = 404, description = "No such tenant, or no active configuration", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "runtime"
)]
pub async fn config(
    req: HttpRequest,
    auth: Authorized<on::RuntimeConfig, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path)?;
    let cached = runtime_config(&auth, &app, tenant).await?;
    let unchanged = matches(&req, &cached.etag);
    let mut answer = if unchanged {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    answer
        .insert_header((header::ETAG, cached.etag.clone()))
        .insert_header((header::CACHE_CONTROL, "no-cache"));
    Ok(if unchanged {
        answer.finish()
    } else {
        answer
            .content_type("application/json")
            .body(cached.body.clone())
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketBody {
    /// The ticket's id where it comes from.
    #[schema(example = "INC-20391")]
    id: Option<String>,
    /// The ticket's fields, as the domain's entity declares them.
    #[schema(value_type = Object, example = json!({ "subject": "Invoice 4411 charged twice", "amount": 1250.0 }))]
    fields: Map<String, Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassifyBody {
    ticket: TicketBody,
}

/// Classify a ticket with the tenant's active configuration.
#[utoipa::path(
    post,
    path = "/runtime/tenants/{tenant_id}/classify",
    operation_id = "ticket_classify",
    params(("tenant_id" = String, Path, description = "The tenant's id")),
    request_body = ClassifyBody,
    responses(
        (status = 200, description = "Category, priority and queue, the rule that fired, and the configuration that decided", body = Classification),
        (status = 400, description = "A field the entity does not have, or of the wrong type (`field` names it)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only the people who run the tenant's operations", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant, or no active configuration", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`tenant_not_active`: the tenant is suspended or leaving", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "runtime"
)]
pub async fn classify(
    auth: Authorized<on::Classification, to::Create>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    body: Result<web::Json<ClassifyBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path)?;
    let ticket = body_of(body).map(|b| Ticket {
        reference: b.ticket.id,
        fields: b.ticket.fields,
    });
    Ok(HttpResponse::Ok().json(ticket_classify(&auth, &app, tenant, ticket).await?))
}

/// The tenant's newest classifications.
#[utoipa::path(
    get,
    path = "/runtime/tenants/{tenant_id}/classifications",
    operation_id = "classification_list",
    params(("tenant_id" = String, Path, description = "The tenant's id")),
    responses(
        (status = 200, description = "The newest (at most 100); a ticket's fields only for a tenant in content mode", body = ClassificationItems),
        (status = 404, description = "No such tenant, or not one the caller reaches", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "runtime"
)]
pub async fn classifications(
    auth: Authorized<on::Classification, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path)?;
    Ok(HttpResponse::Ok().json(Items::of(classification_list(&auth, &app, tenant).await?)))
}
