//! The HTTP edge every service shares: JSON bodies with a size limit, unknown
//! fields refused, and every malformed body answered as a problem naming the field.

use actix_web::error::JsonPayloadError;
use actix_web::{HttpRequest, web};

use crate::ApiError;

/// JSON bodies: at most `limit` bytes; malformed ones answered as problems.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(move |err, _req: &HttpRequest| json_error(err, limit).into())
}

fn json_error(err: JsonPayloadError, limit: usize) -> ApiError {
    match err {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::payload_too_large(limit)
        }
        JsonPayloadError::ContentType => {
            ApiError::invalid_request("content-type", "the body must be application/json")
        }
        JsonPayloadError::Deserialize(e) => {
            let message = e.to_string();
            // serde names the field for unknown and duplicate fields: `unknown field `x``.
            let field = message
                .split('`')
                .nth(1)
                .filter(|_| {
                    message.starts_with("unknown field") || message.starts_with("duplicate field")
                })
                .unwrap_or("body")
                .to_owned();
            ApiError::invalid_request(field, format!("the body is not valid: {message}"))
        }
        other => ApiError::invalid_request("body", format!("the body could not be read: {other}")),
    }
}

/// A tenant id from the path. One that does not parse is answered exactly like one
/// that does not exist.
pub fn tenant_path(raw: &str) -> Result<crate::TenantId, ApiError> {
    crate::TenantId::parse(raw).map_err(|_| ApiError::not_found("tenant"))
}

/// The body of a mutation, or the problem that refused it.
pub fn body_of<T>(body: Result<web::Json<T>, actix_web::Error>) -> Result<T, ApiError> {
    match body {
        Ok(json) => Ok(json.into_inner()),
        Err(err) => Err(match err.as_error::<ApiError>() {
            Some(problem) => problem.clone(),
            None => ApiError::invalid_request("body", err.to_string()),
        }),
    }
}
