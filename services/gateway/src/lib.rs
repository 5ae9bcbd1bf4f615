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
pub mod openapi;
pub mod ops;
pub mod projection;
pub mod proxy;
pub mod roles;
pub mod settings;

use std::sync::Arc;
use std::time::Duration;

use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use anyhow::Context as _;
use plinth_bus::{Area, BusConfig, TopicSpec, ensure_topics};
use plinth_core::http::{path_config, problem_fallback_middleware, query_config};
use plinth_core::request_id_middleware;
use plinth_core::service::{Service, Tasks, bind_listener, close_when_stopping};
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

/// A built gateway, bound and ready to serve: its server, the operators'
/// listener, and the tasks beside them (the projections, the refusals'
/// publisher), stopped in order on SIGTERM like every service.
#[derive(Debug)]
pub struct Application {
    service: Service,
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
        let mut tasks = Tasks::default();
        let stopping = web::Data::new(tasks.stopping());
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
        let listener = bind_listener(&server.host, server.port, server.reuse_port)?;
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
        tasks.adopt("tenants projection", stop.clone(), projection);
        tasks.adopt("sessions projection", stop.clone(), ended_sessions);
        tasks.adopt("refusals publisher", stop.clone(), denials_task);
        let denials = web::Data::new(denials);
        let metrics = web::Data::new(ops::Metrics::new(denials.clone(), proxy.clone()));
        let metrics_for_ops = metrics.clone();
        let upstream_timeout = Duration::from_secs(settings.http.upstream_timeout_seconds);
        let console_dir = settings.console_dir.clone();
        let projected = web::Data::from(projections.clone());
        let stopping_for_server = tasks.stopping();
        let server = HttpServer::new(move || {
            let stopping = stopping_for_server.clone();
            let app = App::new()
                .wrap(from_fn(move |req, next| {
                    close_when_stopping(stopping.clone(), req, next)
                }))
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
                .configure(|cfg| http::routes(cfg, login.is_some(), &console_dir));
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
        .disable_signals()
        .shutdown_timeout(settings.http.server.shutdown_timeout_seconds)
        .listen(listener)?
        .run();
        let internal = {
            let at = &settings.http.server;
            let listener = bind_listener(&at.host, at.internal_port, at.reuse_port)?;
            let port = listener.local_addr()?.port();
            let projections = projections.clone();
            let metrics = metrics_for_ops.clone();
            let stopping = stopping.clone();
            let server = HttpServer::new(move || {
                App::new()
                    .app_data(web::Data::from(projections.clone()))
                    .app_data(metrics.clone())
                    .app_data(stopping.clone())
                    .configure(ops::routes)
            })
            .workers(1)
            .disable_signals()
            .listen(listener)?
            .run();
            (port, server)
        };
        tracing::info!(port, internal_port = internal.0, region = %settings.region, "gateway listening");
        let shutdown = Duration::from_secs(settings.http.server.shutdown_timeout_seconds);
        Ok(Application {
            service: Service::of_server(port, server, shutdown, tasks)
                .with_internal(internal.0, internal.1),
        })
    }

    pub fn port(&self) -> u16 {
        self.service.port()
    }

    /// The operators' listener's port: `/metrics`, `/livez`, `/readyz`.
    pub fn internal_port(&self) -> u16 {
        self.service.internal_port().unwrap_or_default()
    }

    /// Serves until SIGTERM or SIGINT, then stops as every service does
    /// ([`Service::run_until_stopped`]).
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        Ok(self.service.run_until_stopped().await?)
    }
}
