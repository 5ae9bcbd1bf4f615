//! What operators see of the gateway, on its internal listener (never on the
//! public one): `/metrics` (its own counters, in the Prometheus text format),
//! `/livez`, and `/readyz`, which waits for the projections a request is decided
//! with — the tenants' roles and allowances, and the ended sessions — to have
//! caught up with their topics.

use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::denials::Denials;
use crate::proxy::Proxy;

/// Whether each projection has read what its topic held when the gateway started.
#[derive(Debug, Default)]
pub struct Projections {
    /// Roles from role bindings and group mappings, and tenants' allowances.
    pub tenants: AtomicBool,
    /// Sessions ended before their deadlines, at any gateway.
    pub sessions: AtomicBool,
}

/// The internal listener's routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(metrics))
        .route("/livez", web::get().to(livez))
        .route("/readyz", web::get().to(readyz));
}

/// The gateway's own counters, in the Prometheus text format.
async fn metrics(denials: web::Data<Denials>, proxy: web::Data<Proxy>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(format!(
            "# HELP plinth_gateway_audit_undelivered_total Refusals whose audit event could not be buffered or published.\n\
             # TYPE plinth_gateway_audit_undelivered_total counter\n\
             plinth_gateway_audit_undelivered_total {}\n\
             # HELP plinth_gateway_refusals_folded_total Anonymous refusals recorded only as part of a folded count.\n\
             # TYPE plinth_gateway_refusals_folded_total counter\n\
             plinth_gateway_refusals_folded_total {}\n\
             # HELP plinth_gateway_rate_limiters Rate limiters held: tenants' and callers' active in the last minute.\n\
             # TYPE plinth_gateway_rate_limiters gauge\n\
             plinth_gateway_rate_limiters {}\n",
            denials.undelivered(),
            denials.folded(),
            proxy.limiters(),
        ))
}

/// The process runs and answers.
async fn livez() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok\n")
}

/// Ready once both projections have caught up; `503` with the one behind before.
async fn readyz(projections: web::Data<Projections>) -> HttpResponse {
    let checks = [
        (
            "tenants projection",
            projections.tenants.load(Ordering::Relaxed),
        ),
        (
            "sessions projection",
            projections.sessions.load(Ordering::Relaxed),
        ),
    ]
    .map(|(name, ok)| json!({ "name": name, "ok": ok }));
    let ready = checks.iter().all(|c| c["ok"] == true);
    let answer = json!({ "ready": ready, "checks": checks });
    if ready {
        HttpResponse::Ok().json(answer)
    } else {
        HttpResponse::ServiceUnavailable().json(answer)
    }
}
