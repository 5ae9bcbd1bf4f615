//! What operators see of the gateway, on its internal listener (never on the
//! public one): `/metrics` (its own counters, in the Prometheus text format),
//! `/livez`, and `/readyz`, which waits for the projections a request is decided
//! with — the tenants' roles and allowances, and the ended sessions — to have
//! caught up with their topics.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use plinth_core::{ApiError, Role};
use serde_json::{Value, json};

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

/// `GET /admin/readiness`: every service's readiness in this region, asked of
/// their operators' listeners now, and the gateway's own. For the platform team
/// (administrators and auditors over every tenant); refusals are audited like
/// any other at the gateway.
pub async fn region_readiness(
    req: HttpRequest,
    proxy: web::Data<Proxy>,
    denials: web::Data<Denials>,
    projections: web::Data<Projections>,
    client: web::Data<awc::Client>,
) -> Result<HttpResponse, ApiError> {
    let (identity, _) = match proxy.authenticate(&req).await {
        Ok(found) => found,
        Err(error) => return Err(refused(&req, &denials, None, error)),
    };
    let held = proxy.roles.held(&identity);
    if !held
        .platform
        .iter()
        .any(|r| matches!(r, Role::PlatformAdmin | Role::PlatformAuditor))
    {
        let error = ApiError::forbidden(
            "the region's readiness is for platform administrators and auditors over every tenant",
        );
        return Err(refused(&req, &denials, Some(identity.subject), error));
    }
    let asked = proxy.readiness.iter().map(|(name, base)| {
        let client = client.clone();
        async move {
            let answer = client
                .get(format!("{}/readyz", base.trim_end_matches('/')))
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            let report = match answer {
                Ok(mut answer) => match answer.json::<Value>().await {
                    Ok(report) => report,
                    Err(e) => {
                        json!({ "ready": false, "reason": format!("no readiness report: {e}") })
                    }
                },
                Err(e) => json!({ "ready": false, "reason": format!("unreachable: {e}") }),
            };
            json!({
                "service": name,
                "ready": report["ready"] == true,
                "checks": report.get("checks").cloned().unwrap_or(json!([])),
                "reason": report.get("reason").cloned().unwrap_or(Value::Null),
            })
        }
    });
    let services = futures_util::future::join_all(asked).await;
    let gateway_ready =
        projections.tenants.load(Ordering::Relaxed) && projections.sessions.load(Ordering::Relaxed);
    let ready = gateway_ready && services.iter().all(|s| s["ready"] == true);
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({
            "region": proxy.region,
            "ready": ready,
            "gateway": { "ready": gateway_ready },
            "services": services,
        })))
}

/// Records `error` as the gateway's refusal of `req`, and hands it back.
fn refused(
    req: &HttpRequest,
    denials: &Denials,
    actor: Option<String>,
    error: ApiError,
) -> ApiError {
    denials.record_request(req, actor, None, &error);
    error
}
