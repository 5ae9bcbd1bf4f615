//! What every service's OpenAPI document shares: the problem document, the
//! internal-token security scheme, and the answers the gateway adds in front of
//! every operation.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, ToSchema};

/// An RFC 9457 problem document.
#[derive(Debug, ToSchema)]
pub struct Problem {
    /// `urn:plinth:problem:<code>`.
    #[schema(example = "urn:plinth:problem:invalid_request")]
    pub r#type: String,
    /// A short summary of the problem's kind.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
    /// The stable snake_case code: what clients branch on.
    #[schema(example = "invalid_request")]
    pub code: String,
    #[schema(example = "req_4f1c2b3a5d6e7f8091a2b3c4d5e6f708")]
    /// The request's id, as in the `x-request-id` header.
    pub request_id: String,
    /// For `invalid_request` and `already_exists`: the field at fault.
    pub field: Option<String>,
    /// For `invalid_transition`: the states the tenant may move to next.
    pub allowed: Option<Vec<String>>,
    /// For `wrong_region`: the region the tenant lives in.
    #[schema(example = "eu")]
    pub region: Option<String>,
    /// For `wrong_region`: that region's gateway, where the request belongs.
    #[schema(example = "https://eu.plinth.example")]
    pub region_base_url: Option<String>,
    /// For `too_many_requests`: seconds until a retry may succeed.
    pub retry_after: Option<u64>,
    /// For an invalid document (`pack_invalid`, `playbook_invalid`): every
    /// problem found, each at its JSON pointer.
    #[schema(inline)]
    pub errors: Option<Vec<PointedIssue>>,
    /// For a refused combination (`activation_incompatible`,
    /// `playbook_incompatible`): every reason it does not fit.
    #[schema(inline)]
    pub reasons: Option<Vec<PointedIssue>>,
    /// For a refused import: the stored attempt that records it.
    pub attempt_id: Option<String>,
}

/// One problem of a document, at its place in it.
#[derive(Debug, ToSchema)]
pub struct PointedIssue {
    /// An RFC 6901 JSON pointer into the document.
    #[schema(example = "/classification/rules/0/when/all/0/field")]
    pub pointer: String,
    /// A stable snake_case code.
    #[schema(example = "unknown_field")]
    pub code: String,
    /// What is wrong there.
    pub message: String,
}

/// Adds the `internal_token` security scheme every service's operations name.
#[derive(Debug)]
pub struct InternalToken;

impl Modify for InternalToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "internal_token",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("JWT (EdDSA), minted by the gateway")
                        .build(),
                ),
            );
        }
    }
}

/// Adds to every operation the answers the gateway gives before a service sees the
/// request, so a generated client knows them: `401` (no or a bad token or session),
/// `403` (no role here), `429` (the tenant's or the caller's rate limit), `413` for
/// a body, `400` for a body or query that does not parse, and `421 wrong_region`
/// where the path names a tenant. An operation's own description of a status wins.
#[derive(Debug)]
pub struct EdgeResponses;

impl Modify for EdgeResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let problem = || {
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build()
        };
        let answer = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content("application/problem+json", problem())
                .build()
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            let names_tenant = path.contains("{tenant_id}") || path.contains("{log}");
            let operations = [
                item.get.as_mut(),
                item.put.as_mut(),
                item.post.as_mut(),
                item.delete.as_mut(),
                item.patch.as_mut(),
            ];
            for op in operations.into_iter().flatten() {
                if op.security.is_none() {
                    continue;
                }
                let has_body = op.request_body.is_some();
                let responses = &mut op.responses.responses;
                let mut add = |status: &str, description: &str| {
                    responses
                        .entry(status.to_owned())
                        .or_insert_with(|| answer(description).into());
                };
                add(
                    "400",
                    "`invalid_request`: a parameter or the body does not parse",
                );
                add(
                    "401",
                    "`unauthenticated`: no valid bearer token or session (the gateway)",
                );
                add(
                    "403",
                    "`forbidden`: no role that allows this here (the gateway or the service)",
                );
                if has_body {
                    add("413", "`payload_too_large`: the body is over the limit");
                }
                if names_tenant {
                    add(
                        "421",
                        "`wrong_region`: the tenant lives in the other region; `region_base_url` names its gateway",
                    );
                }
                add(
                    "429",
                    "`too_many_requests`: a rate limit; `Retry-After` says when to try again",
                );
            }
        }
    }
}
