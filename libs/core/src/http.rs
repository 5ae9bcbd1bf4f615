//! The HTTP edge every service shares: JSON bodies with a size limit, unknown
//! fields refused, and every malformed body, query or path answered as a problem
//! naming what is wrong — never the framework's plain-text answers.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::JsonPayloadError;
use actix_web::http::{StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, web};
use futures_util::StreamExt as _;

use crate::{ApiError, Code, ErrorKind};

/// Each request in a span of its own that continues the caller's trace (the
/// `traceparent` the gateway passes on), so everything the handler does — the
/// outbox rows it writes, the events they become, the consumers that apply them —
/// carries the trace of the request that caused it.
pub async fn trace_middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    use tracing::Instrument as _;
    let span = tracing::info_span!(
        "http.request",
        http.request.method = %req.method(),
        url.path = %req.path(),
    );
    continue_trace(&span, req.headers());
    next.call(req).instrument(span).await
}

/// Makes `span` continue the trace a request's headers carry (`traceparent`,
/// `tracestate`); without one, `span` begins a trace of its own.
pub fn continue_trace(span: &tracing::Span, headers: &header::HeaderMap) {
    plinth_telemetry::set_parent(span, |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    });
}

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

/// Query strings that do not parse (`?limit=-1`), answered as problems.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req: &HttpRequest| {
        ApiError::invalid_request("query", format!("the query is not valid: {err}")).into()
    })
}

/// Path parameters that do not parse (`/entries/-1` where an index goes), answered
/// as problems.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, _req: &HttpRequest| {
        ApiError::invalid_request("path", format!("the path is not valid: {err}")).into()
    })
}

/// Whether a JSON text carries the escape `\u0000` (a NUL character) inside a
/// string: an escape, not an escaped backslash followed by `u0000`.
fn has_nul_escape(body: &[u8]) -> bool {
    const NUL: &[u8] = b"\\u0000";
    body.windows(NUL.len()).enumerate().any(|(at, window)| {
        window == NUL && body[..at].iter().rev().take_while(|b| **b == b'\\').count() % 2 == 0
    })
}

/// Actix middleware (with `from_fn`, given the body limit): refuses a JSON body
/// with a NUL character (`\u0000`) as `400 nul_character` before any handler
/// reads it. PostgreSQL stores no NUL in `text` or `jsonb`, so such a body would
/// otherwise fail deep inside a transaction as an internal error.
pub async fn refuse_nul_middleware(
    limit: usize,
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("json"));
    if !json {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let mut payload = req.parts_mut().1.take();
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(err) => {
                let refusal =
                    ApiError::invalid_request("body", format!("the body could not be read: {err}"));
                return Ok(req.error_response(refusal).map_into_right_body());
            }
        };
        body.extend_from_slice(&chunk);
        if body.len() > limit {
            // Over the limit: the handler's JSON extractor refuses it (and the
            // handler records the refusal) as it would have without this check.
            let read = futures_util::stream::once(std::future::ready(Ok(body.freeze())));
            req.set_payload(Payload::Stream {
                payload: Box::pin(read.chain(payload)),
            });
            return Ok(next.call(req).await?.map_into_left_body());
        }
    }
    if has_nul_escape(&body) {
        let refusal = ApiError::invalid_request(
            "body",
            "the body contains a NUL character (\\u0000), which no field may hold",
        )
        .with_code(Code::NulCharacter);
        return Ok(req.error_response(refusal).map_into_right_body());
    }
    req.set_payload(Payload::from(body.freeze()));
    Ok(next.call(req).await?.map_into_left_body())
}

/// Actix middleware (with `from_fn`): an error answer that is not already a
/// problem document — the router's `404` for an unknown path or `405` for a known
/// path with another method, an extractor's plain text — becomes one, with the
/// request id, so every client parses one shape.
pub async fn problem_fallback_middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let res = next.call(req).await?;
    let status = res.status();
    let problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/problem+json"));
    if problem || !(status.is_client_error() || status.is_server_error()) {
        return Ok(res.map_into_left_body());
    }
    let err = match status {
        StatusCode::NOT_FOUND => ApiError::not_found("route"),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::new(
            ErrorKind::MethodNotAllowed,
            format!("{} is not allowed here", res.request().method()),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(ErrorKind::PayloadTooLarge, "the request body is too large")
        }
        s if s.is_server_error() => ApiError::internal(format!("a {s} answer without a problem")),
        s => ApiError::invalid_request(
            "request",
            s.canonical_reason().unwrap_or("the request is not valid"),
        ),
    };
    let (req, _) = res.into_parts();
    Ok(ServiceResponse::from_err(err, req).map_into_right_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_escape_is_found_and_an_escaped_backslash_is_not_one() {
        assert!(has_nul_escape(br#"{"a\u0000b":1}"#));
        assert!(has_nul_escape(br#"{"a":"x\\\u0000"}"#));
        assert!(!has_nul_escape(br#"{"a":"x\\u0000"}"#));
        assert!(!has_nul_escape(br#"{"a":"\u0001"}"#));
    }
}
