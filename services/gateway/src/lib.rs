//! The gateway: the edge every person and API client comes through.
//!
//! [`Application::build`] discovers the identity provider's keys and binds the HTTP
//! server; [`Application::run_until_stopped`] serves until the process is asked to
//! stop.

pub mod denials;
pub mod http;
pub mod identity;
pub mod limits;
pub mod login;
pub mod ops;
pub mod projection;
pub mod proxy;
pub mod roles;
pub mod settings;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use anyhow::Context as _;
use plinth_bus::{Area, BusConfig, TopicSpec, ensure_topics};
use plinth_core::http::{path_config, problem_fallback_middleware, query_config};
use plinth_core::request_id_middleware;
use tokio_util::sync::CancellationToken;

use crate::denials::Denials;
use crate::identity::BearerVerifier;
use crate::identity::ended::EndedSessions;
use crate::identity::session::Sessions;
use crate::limits::RateLimits;
use crate::login::Login;
use crate::proxy::Proxy;
use crate::roles::Roles;
pub use crate::settings::Settings;

/// A built gateway, bound and ready to serve.
pub struct Application {
    port: u16,
    server: Server,
    /// The operators' listener: metrics and health, never routed.
    internal: (u16, Server),
    /// The background tasks (the projection, the refusals' publisher), and how to
    /// stop them.
    stop: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let http = settings.oidc.http_client()?;
        let verifier = BearerVerifier::new(http.clone(), &settings.oidc)
            .await
            .with_context(|| format!("the identity provider {}", settings.oidc.issuer))?;
        let roles = Arc::new(Roles::new(settings.platform_groups.clone()));
        let bus = BusConfig::of(&settings.bus);
        let stop = CancellationToken::new();
        let bus_for_topics = bus.clone();
        let limits = Arc::new(RateLimits::new(
            settings.rate_limits.default_per_second,
            settings.rate_limits.caller_per_second,
            settings.rate_limits.unauthenticated_per_second,
        ));
        let projections = Arc::new(ops::Projections::default());
        let projection = {
            let (roles, limits, stop) = (roles.clone(), limits.clone(), stop.clone());
            let projected = projections.clone();
            let schemas = projection::schemas()?;
            tokio::spawn(async move {
                projection::follow(&roles, &limits, bus, schemas, stop, &projected.tenants).await
            })
        };
        let server = &settings.http.server;
        let listener = TcpListener::bind((server.host.as_str(), server.port))
            .with_context(|| format!("binding {}:{}", server.host, server.port))?;
        let port = listener.local_addr()?.port();
        let public_url = if settings.login.public_url.is_empty() {
            format!("http://{}:{port}", server.host)
        } else {
            settings.login.public_url.trim_end_matches('/').to_owned()
        };
        let sessions = Sessions::new(&settings.login, &public_url, settings.region)?;
        let ended = Arc::new(EndedSessions::new(&bus_for_topics, settings.region)?);
        let login = if settings.login.enabled {
            Some(web::Data::new(
                Login::discover(
                    http,
                    &settings.oidc.issuer,
                    &settings.login,
                    &public_url,
                    Duration::from_secs(settings.oidc.jwks_refresh_min_seconds),
                )
                .await
                .with_context(|| format!("the identity provider {}", settings.oidc.issuer))?,
            ))
        } else {
            None
        };
        let proxy = web::Data::new(Proxy::new(
            &settings,
            verifier,
            sessions,
            ended.clone(),
            roles,
            limits,
        )?);
        let audit_topic =
            TopicSpec::new(bus_for_topics.topic(Area::Audit), settings.bus.partitions);
        let session_topic = EndedSessions::topic_spec(&bus_for_topics, settings.bus.partitions);
        ensure_topics(
            &bus_for_topics,
            &[audit_topic.dlq(), audit_topic, session_topic],
        )
        .await
        .context("creating the audit and session topics")?;
        let ended_sessions = {
            let (bus, stop) = (bus_for_topics.clone(), stop.clone());
            let projected = projections.clone();
            tokio::spawn(async move {
                identity::ended::follow(&ended, bus, stop, &projected.sessions).await
            })
        };
        let (denials, denials_task) =
            Denials::start(&bus_for_topics, settings.region, stop.clone())?;
        let denials = web::Data::new(denials);
        let metrics = web::Data::new(ops::Metrics::new(denials.clone(), proxy.clone()));
        let metrics_for_ops = metrics.clone();
        let upstream_timeout = Duration::from_secs(settings.http.upstream_timeout_seconds);
        let projected = web::Data::from(projections.clone());
        let server = HttpServer::new(move || {
            let app = App::new()
                .wrap(from_fn(ops::observe))
                .wrap(from_fn(problem_fallback_middleware))
                .wrap(from_fn(request_id_middleware))
                .app_data(query_config())
                .app_data(path_config())
                .app_data(proxy.clone())
                .app_data(denials.clone())
                .app_data(projected.clone())
                .app_data(metrics.clone())
                // One upstream client per worker: it keeps its connections. A
                // service's redirect is the caller's to follow, not the gateway's.
                .app_data(web::Data::new(
                    awc::Client::builder()
                        .timeout(upstream_timeout)
                        .disable_redirects()
                        .finish(),
                ))
                .configure(|cfg| http::routes(cfg, login.is_some()));
            match login.clone() {
                Some(login) => app.app_data(login),
                None => app,
            }
        })
        .workers(if settings.http.workers == 0 {
            std::thread::available_parallelism().map_or(1, usize::from)
        } else {
            settings.http.workers
        })
        .listen(listener)?
        .run();
        let internal = {
            let at = &settings.http.server;
            let listener = TcpListener::bind((at.host.as_str(), at.internal_port))
                .with_context(|| format!("binding {}:{}", at.host, at.internal_port))?;
            let port = listener.local_addr()?.port();
            let projections = projections.clone();
            let metrics = metrics_for_ops.clone();
            let server = HttpServer::new(move || {
                App::new()
                    .app_data(web::Data::from(projections.clone()))
                    .app_data(metrics.clone())
                    .configure(ops::routes)
            })
            .workers(1)
            .listen(listener)?
            .run();
            (port, server)
        };
        tracing::info!(port, internal_port = internal.0, region = %settings.region, "gateway listening");
        Ok(Application {
            port,
            server,
            internal,
            stop,
            tasks: vec![projection, denials_task, ended_sessions],
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The operators' listener's port: `/metrics`, `/livez`, `/readyz`.
    pub fn internal_port(&self) -> u16 {
        self.internal.0
    }

    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let (served, internal) = tokio::join!(self.server, self.internal.1);
        let served = served.and(internal);
        self.stop.cancel();
        for task in self.tasks {
            task.await??;
        }
        Ok(served?)
    }
}
