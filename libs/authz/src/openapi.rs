//! What every service's OpenAPI document shares: the problem document and the
//! internal-token security scheme.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, ToSchema};

/// An RFC 9457 problem document.
#[derive(Debug, ToSchema)]
pub struct Problem {
    /// `urn:plinth:problem:<code>`.
    #[schema(example = "urn:plinth:problem:invalid_request")]
    pub r#type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The stable snake_case code: what clients branch on.
    #[schema(example = "invalid_request")]
    pub code: String,
    #[schema(example = "req_4f1c2b3a5d6e7f8091a2b3c4d5e6f708")]
    pub request_id: String,
    /// For `invalid_request` and `already_exists`: the field at fault.
    pub field: Option<String>,
    /// For `invalid_transition`: the states the tenant may move to next.
    pub allowed: Option<Vec<String>>,
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
