//! The gateway's own endpoints.

use actix_web::http::header::{self, AUTHORIZATION};
use actix_web::{HttpRequest, HttpResponse, web};
use plinth_core::ApiError;

use crate::identity::session::now;
use crate::login;
use crate::proxy::{Proxy, forward};

/// The gateway's routes; the browser login's only when it is on, and the
/// console's when its files are given.
pub fn routes(cfg: &mut web::ServiceConfig, browser_login: bool, console_dir: &str) {
    if !console_dir.is_empty() {
        cfg.route(
            "/console",
            web::get().to(|| async {
                HttpResponse::MovedPermanently()
                    .insert_header((header::LOCATION, "/console/"))
                    .finish()
            }),
        )
        .service(console(console_dir.to_owned()));
    }
    if browser_login {
        cfg.route("/", web::get().to(home))
            .route(
                "/home.js",
                web::get().to(|| asset("text/javascript", HOME_JS)),
            )
            .route("/home.css", web::get().to(|| asset("text/css", HOME_CSS)))
            .route("/auth/login", web::get().to(login::start))
            .route("/auth/callback", web::get().to(login::callback))
            .route("/auth/logout", web::post().to(login::logout));
    }
    cfg.route("/auth/me", web::get().to(me))
        .route(
            "/admin/readiness",
            web::get().to(crate::ops::region_readiness),
        )
        .default_service(web::to(forward));
}

/// The console's files at `/console/`; any other path under it is one of the
/// console's own routes, answered with its page. Scripts only from this origin,
/// never framed.
fn console(
    dir: String,
) -> actix_web::Scope<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let index = std::path::Path::new(&dir).join("index.html");
    web::scope("/console")
        .wrap(
            actix_web::middleware::DefaultHeaders::new()
                .add(("content-security-policy", CONTENT_SECURITY_POLICY))
                .add(("x-content-type-options", "nosniff"))
                .add((header::CACHE_CONTROL, "no-cache")),
        )
        .service(
            actix_files::Files::new("/", dir)
                .index_file("index.html")
                .default_handler(web::to(move || {
                    let index = index.clone();
                    async move { actix_files::NamedFile::open_async(index).await }
                })),
        )
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

/// Who is calling: what an API client checks its token with, and what the
/// console learns its person, session deadlines and CSRF token from.
async fn me(req: HttpRequest, proxy: web::Data<Proxy>) -> Result<HttpResponse, ApiError> {
    let (identity, session) = proxy.authenticate(&req).await?;
    let Some(session) = session else {
        return Ok(HttpResponse::Ok().json(identity));
    };
    let mut answer = HttpResponse::Ok();
    answer.insert_header((header::CACHE_CONTROL, "no-store"));
    let touched = proxy.sessions.touch(&session);
    let last_seen = touched.as_ref().map_or(session.last_seen, |_| now());
    if let Some(cookie) = touched {
        answer.cookie(cookie);
    }
    Ok(answer.json(serde_json::json!({
        "subject": identity.subject,
        "email": identity.email,
        "groups": identity.groups,
        "issuer": identity.issuer,
        "session": {
            "csrf_token": session.csrf,
            "idle_expires_at": last_seen + proxy.sessions.idle_seconds(),
            "expires_at": proxy.sessions.expires_at(&session),
        }
    })))
}

const HOME_HTML: &str = include_str!("../assets/home.html");
const HOME_JS: &str = include_str!("../assets/home.js");
const HOME_CSS: &str = include_str!("../assets/home.css");

/// Only this origin's scripts, styles and requests; never framed.
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

fn page(content_type: &'static str, body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("content-security-policy", CONTENT_SECURITY_POLICY))
        .insert_header(("x-content-type-options", "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body)
}

async fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    page(content_type, body.to_owned())
}

/// The home page: who is logged in, their tenants, registering one, and a
/// tenant's audit trail, through the same API as any client.
async fn home(proxy: web::Data<Proxy>) -> HttpResponse {
    let region = proxy.region();
    page(
        "text/html; charset=utf-8",
        HOME_HTML
            .replace("{{region}}", &region.to_string())
            .replace("{{region_name}}", &region.to_string().to_uppercase()),
    )
}
