//! What operators see of the gateway, on its internal listener (never on the
//! public one): `/metrics` (its requests by method, route and status, and its
//! own counters, in the Prometheus text format),
//! `/livez`, and `/readyz`, which waits for the projections a request is decided
//! with — the tenants' roles and allowances, and the ended sessions — to have
//! caught up with their topics.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, web};
use plinth_core::service::{Observed, Stopping};
use plinth_core::{ApiError, Role};
use plinth_service::ops::RequestMetrics;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use serde::Deserialize;
use serde_json::json;

use crate::denials::Denials;
use crate::openapi::{
    GatewayReadiness, Problem, ReadinessCheck, RegionReadiness, ServiceReadiness,
};
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

/// The gateway's metrics: its requests, and its own counters read at each scrape.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: RequestMetrics,
}

impl Metrics {
    /// The requests' histogram, and the counters of `denials` and `proxy`.
    pub fn new(denials: web::Data<Denials>, proxy: web::Data<Proxy>) -> Self {
        let mut registry = plinth_service::ops::registry("gateway");
        let requests = RequestMetrics::register(&mut registry);
        registry.register_collector(Box::new(Counters { denials, proxy }));
        Metrics { registry, requests }
    }
}

/// Records each request the public listener answers. A forwarded request's
/// route is the prefix of the service route it matched (`/admin/tenants`), so
/// the series are bounded by the gateway's routes, never by tenants or paths.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let (Some(metrics), Some(proxy)) = (
        req.app_data::<web::Data<Metrics>>().cloned(),
        req.app_data::<web::Data<Proxy>>().cloned(),
    ) else {
        return next.call(req).await;
    };
    let started = Instant::now();
    let method = req.method().clone();
    let route = req
        .match_pattern()
        .or_else(|| proxy.route_prefix(req.path()).map(str::to_owned));
    let answered = next.call(req).await;
    let status = match &answered {
        Ok(res) => res.status().as_u16(),
        Err(err) => err.as_response_error().status_code().as_u16(),
    };
    metrics.requests.observe(Observed {
        method: method.as_str(),
        route: route.as_deref(),
        status,
        elapsed: started.elapsed(),
    });
    answered
}

/// The gateway's counters kept elsewhere, read at each scrape.
#[derive(Debug)]
struct Counters {
    denials: web::Data<Denials>,
    proxy: web::Data<Proxy>,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AllowanceLabel {
    allowance: &'static str,
}

impl Collector for Counters {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        plinth_service::ops::encode_counters(
            &mut encoder,
            &[
                (
                    "plinth_gateway_audit_undelivered",
                    "Refusals whose audit event could not be buffered or published",
                    self.denials.undelivered(),
                ),
                (
                    "plinth_gateway_refusals_folded",
                    "Anonymous refusals recorded only as part of a folded count",
                    self.denials.folded(),
                ),
            ],
        )?;
        let refused = self.proxy.limits().refused();
        let mut family = encoder.encode_descriptor(
            "plinth_gateway_rate_limited",
            "Requests refused with 429, by the allowance spent: a tenant's, a caller's, or an address's failed authentications",
            None,
            MetricType::Counter,
        )?;
        for (allowance, count) in [
            ("tenant", &refused.tenant),
            ("caller", &refused.caller),
            ("address", &refused.address),
        ] {
            ConstCounter::new(count.load(Ordering::Relaxed))
                .encode(family.encode_family(&AllowanceLabel { allowance })?)?;
        }
        let limiters = ConstGauge::new(self.proxy.limiters() as i64);
        limiters.encode(encoder.encode_descriptor(
            "plinth_gateway_rate_limiters",
            "Rate limiters held: tenants', callers' and addresses' active in the last minute",
            None,
            limiters.metric_type(),
        )?)
    }
}

/// The gateway's metrics, in the text format Prometheus scrapes.
async fn metrics(metrics: web::Data<Metrics>) -> HttpResponse {
    plinth_service::ops::exposition(&metrics.registry)
}

/// The process runs and answers.
async fn livez() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok\n")
}

/// Ready once both projections have caught up and until it begins to stop;
/// `503` with the check that fails otherwise.
async fn readyz(
    projections: web::Data<Projections>,
    stopping: web::Data<Stopping>,
) -> HttpResponse {
    let checks = [
        ("accepting requests", !stopping.is_stopping()),
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
#[utoipa::path(
    get,
    path = "/admin/readiness",
    operation_id = "region_readiness",
    responses(
        (status = 200, description = "Each service's readiness and the gateway's (`ready`: all of them)", body = RegionReadiness),
        (status = 401, description = "`unauthenticated`: no valid bearer token or session", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: not a platform administrator or auditor over every tenant", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("session" = [])),
    tag = "operations"
)]
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
                Ok(mut answer) => answer
                    .json::<Report>()
                    .await
                    .unwrap_or_else(|e| Report::not_ready(format!("no readiness report: {e}"))),
                Err(e) => Report::not_ready(format!("unreachable: {e}")),
            };
            ServiceReadiness {
                service: name.clone(),
                ready: report.ready,
                checks: report.checks,
                reason: report.reason,
            }
        }
    });
    let services = futures_util::future::join_all(asked).await;
    let gateway_ready =
        projections.tenants.load(Ordering::Relaxed) && projections.sessions.load(Ordering::Relaxed);
    let ready = gateway_ready && services.iter().all(|s| s.ready);
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(RegionReadiness {
            region: proxy.region.to_string(),
            ready,
            gateway: GatewayReadiness {
                ready: gateway_ready,
            },
            services,
        }))
}

/// A service's `/readyz` answer.
#[derive(Debug, Deserialize)]
struct Report {
    ready: bool,
    #[serde(default)]
    checks: Vec<ReadinessCheck>,
    #[serde(default)]
    reason: Option<String>,
}

impl Report {
    fn not_ready(reason: String) -> Report {
        Report {
            ready: false,
            checks: Vec::new(),
            reason: Some(reason),
        }
    }
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
