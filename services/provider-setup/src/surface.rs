//! The delegated setup surface: a page of its own (not the console) where
//! whoever holds a setup link enters the key, and the two calls it makes. It
//! takes no session and no token but the link's: the link grants reading what
//! it is for and entering one key, nothing else. The token travels in the
//! URL's fragment and in request bodies, never in a path or a query, so no
//! access log holds it; answers are never cached and the page is not framed.

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use plinth_core::ApiError;
use plinth_core::http::body_of;
use secrecy::SecretString;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::app::AppState;
use crate::redeem::{Entered, LinkFacts, Redeemed, link_describe, redeem};

const PAGE: &str = include_str!("../assets/setup.html");
const SCRIPT: &str = include_str!("../assets/surface.js");
const STYLE: &str = include_str!("../assets/surface.css");

/// The surface's policy: its own script and style, calls to its own origin,
/// no frames, no forms elsewhere, no referrer.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                   img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/setup")
            .route("", web::get().to(page))
            .route("/surface.js", web::get().to(script))
            .route("/surface.css", web::get().to(style))
            .route("/api/link", web::post().to(link))
            .route("/api/redeem", web::post().to(enter)),
    );
}

fn guarded(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .body(body)
}

async fn page() -> HttpResponse {
    guarded("text/html; charset=utf-8", PAGE)
}

async fn script() -> HttpResponse {
    guarded("text/javascript; charset=utf-8", SCRIPT)
}

async fn style() -> HttpResponse {
    guarded("text/css; charset=utf-8", STYLE)
}

/// `POST /setup/api/link`: the link's token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    /// The token from the link's fragment (`…/setup#<token>`).
    token: String,
}

/// What a setup link is for: the connection, its provider and endpoint, the
/// request's purpose and note, and when the link expires.
#[utoipa::path(
    post,
    path = "/setup/api/link",
    operation_id = "setup_link_describe",
    request_body = LinkBody,
    responses(
        (status = 200, description = "What the link is for", body = LinkFacts),
        (status = 404, description = "`not_found`: no such link", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 410, description = "`link_used`, `link_expired` or `link_revoked`", body = crate::http::Problem, content_type = "application/problem+json"),
    ),
    tag = "setup surface"
)]
pub async fn link(
    app: web::Data<AppState>,
    body: Result<web::Json<LinkBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let body = body_of(body)?;
    let facts = link_describe(&app, &body.token).await?;
    Ok(private(HttpResponse::Ok()).json(facts))
}

/// `POST /setup/api/redeem`: the link's token and what it asks for — a
/// provider's `key`, or a connector's `credentials`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemBody {
    token: String,
    /// The provider's API key. Never logged, never shown again.
    #[schema(value_type = Option<String>, format = Password)]
    key: Option<SecretString>,
    /// A connector's credentials by field (the link's `fields`). Never
    /// logged, never shown again.
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    credentials: Option<BTreeMap<String, SecretString>>,
}

impl std::fmt::Debug for RedeemBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedeemBody").finish_non_exhaustive()
    }
}

/// Enters the key the link was made for: checked with the provider, sealed,
/// and made the connection's active version. A key the provider does not
/// accept is stored nowhere and the link stays usable until it expires.
#[utoipa::path(
    post,
    path = "/setup/api/redeem",
    operation_id = "setup_link_redeem",
    request_body = RedeemBody,
    responses(
        (status = 200, description = "The key is the connection's active version", body = Redeemed),
        (status = 400, description = "`invalid_request`: no key, or not one", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such link", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`link_busy`: another entry through the link is being checked", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 410, description = "`link_used`, `link_expired` or `link_revoked`", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`key_rejected`: the provider did not accept the key (`outcome`)", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_requests`: too many entries through the link or for the tenant", body = crate::http::Problem, content_type = "application/problem+json"),
    ),
    tag = "setup surface"
)]
pub async fn enter(
    app: web::Data<AppState>,
    body: Result<web::Json<RedeemBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    // A body that does not parse is refused without echoing any of it: a key
    // sent in the wrong shape must not come back in a message or a log line.
    let shape = || {
        ApiError::invalid_request(
            "body",
            "the body is a JSON object with the string `token` and either the string `key` or the object `credentials`",
        )
    };
    let body = body.map_err(|_| shape())?.into_inner();
    let entered = match (body.key, body.credentials) {
        (Some(key), None) => Entered::Key(key),
        (None, Some(credentials)) => Entered::Credentials(credentials),
        _ => return Err(shape()),
    };
    let redeemed = redeem(&app, &body.token, entered).await?;
    Ok(private(HttpResponse::Ok()).json(redeemed))
}

fn private(mut answer: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    answer
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"));
    answer
}
