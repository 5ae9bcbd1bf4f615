//! The gateway's own endpoints.

use actix_web::http::header::AUTHORIZATION;
use actix_web::{HttpRequest, HttpResponse, web};
use plinth_core::ApiError;

use crate::denials::Denials;
use crate::identity::Identity;
use crate::proxy::{Proxy, forward};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/me", web::get().to(me))
        .route("/metrics", web::get().to(metrics))
        .default_service(web::to(forward));
}

/// The bearer token of a request, if it carries one.
pub fn bearer_token(req: &HttpRequest) -> Result<&str, ApiError> {
    let value = req
        .headers()
        .get(AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthenticated("a bearer token is required"))?
        .to_str()
        .map_err(|_| ApiError::unauthenticated("the Authorization header is not text"))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(ApiError::unauthenticated(
            "the Authorization header is not `Bearer <token>`",
        )),
    }
}

/// Who the bearer token says is calling: what an API client checks its token
/// with.
async fn me(req: HttpRequest, proxy: web::Data<Proxy>) -> Result<HttpResponse, ApiError> {
    let identity: Identity = proxy.verifier.verify(bearer_token(&req)?).await?;
    Ok(HttpResponse::Ok().json(identity))
}

/// The gateway's own counters, in the Prometheus text format.
async fn metrics(denials: web::Data<Denials>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(format!(
            "# HELP plinth_gateway_audit_undelivered_total Refusals whose audit event could not be buffered or published.\n\
             # TYPE plinth_gateway_audit_undelivered_total counter\n\
             plinth_gateway_audit_undelivered_total {}\n",
            denials.undelivered()
        ))
}
