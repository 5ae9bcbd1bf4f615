//! The skeleton every Plinth service stands on, so that a service's `lib.rs` says
//! only what is its own: its state, its consumers and timers, its routes.
//!
//! - [`ServiceSettings`]: how a service's settings load (built-in defaults, then
//!   `PLINTH_CONFIG`'s TOML file, then `PLINTH_…` variables; or defaults with
//!   overrides, for tests) and the part of them every service shares ([`Base`]).
//! - [`Skeleton::start`]: migrates the database and opens the app role's pool,
//!   loads the gateway's token key, and starts the outbox relay if this process
//!   runs it; [`Skeleton::create_topics`] creates the topics the service writes
//!   and reads.
//! - [`Skeleton::consume`] and [`Skeleton::spawn`]: the service's consumers (if
//!   this process runs them) and timers.
//! - [`Skeleton::bind`]: the HTTP server with the service's state, the token
//!   verifier, `GET /openapi.json` and the service's routes.
//! - [`ServiceState`]: what every service's state does the same way: a
//!   connection from the pool, and a refused action recorded as its audit event
//!   in the right log; [`scope_of`], the row-level security scope of a caller.
//!
//! ```ignore
//! let mut skeleton = Skeleton::start(settings.base(), all_migrations()).await?;
//! skeleton.create_topics(&topics).await?;
//! let state = web::Data::new(AppState { pool: skeleton.pool.clone(), … });
//! skeleton.consume("projector", consumed, Projector::new(state.clone().into_inner()));
//! let service = skeleton.bind(state, ApiDoc::openapi(), http::routes)?;
//! ```

#![warn(missing_docs)]

use std::future::Future;
use std::sync::Arc;

use actix_web::web;
use diesel_async::AsyncPgConnection;
use plinth_authz::{Caller, Requester, TokenError, TokenVerifier};
use plinth_bus::{
    Audited, BusConfig, Consumer, ConsumerConfig, ConsumerStats, Event, Handler, Outcome, Relay,
    RelayConfig, RelayStats, TopicError, TopicSpec, ensure_topics,
};
use plinth_config::{AuthSettings, BusSettings, ConfigError, DatabaseSettings, HttpSettings};
use plinth_core::service::{Service, TaskError, Tasks};
use plinth_core::{ApiError, Region, ReqCtx, TenantId};
use plinth_db::{Pool, PooledConn, SetupError, TenantScope, migrated_pool};
use secrecy::ExposeSecret as _;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use crate::ops::Ops;

pub mod ops;

/// The metrics library, for a service's own collectors ([`Skeleton::collect`]).
pub use prometheus_client;

/// The settings every service has, borrowed from its own.
#[derive(Debug, Clone, Copy)]
pub struct Base<'a> {
    /// The service's name: the audience of the internal tokens it accepts, the
    /// first part of its consumer groups, its name in the logs.
    pub name: &'static str,
    /// The region this deployment serves; tenants of the other region are refused.
    pub region: Region,
    /// Where it listens.
    pub http: &'a HttpSettings,
    /// Its own database.
    pub database: &'a DatabaseSettings,
    /// The event bus.
    pub bus: &'a BusSettings,
    /// The gateway's public key for internal tokens.
    pub auth: &'a AuthSettings,
}

/// A service that could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Its settings do not load.
    #[error(transparent)]
    Settings(#[from] ConfigError),
    /// Its settings load but say something the service cannot do.
    #[error("the settings are not valid: {0}")]
    Invalid(String),
    /// Its database could not be migrated or its pool built.
    #[error(transparent)]
    Database(#[from] SetupError),
    /// The gateway's public key is not one.
    #[error(transparent)]
    Key(#[from] TokenError),
    /// Its topics could not be created.
    #[error(transparent)]
    Topics(#[from] TopicError),
    /// Its listener could not be bound.
    #[error(transparent)]
    Listen(#[from] std::io::Error),
    /// Its OpenAPI document does not serialize.
    #[error("the OpenAPI document does not serialize: {0}")]
    Document(#[from] serde_json::Error),
}

/// Every migration a service's database needs, in order: the shared ones
/// (row-level security's helpers, the outbox and the inbox), then `own`.
pub fn migrations(own: diesel_migrations::EmbeddedMigrations) -> plinth_db::MigrationSet<3> {
    plinth_db::MigrationSet([plinth_db::MIGRATIONS, plinth_bus::MIGRATIONS, own])
}

/// Why a service's process ended other than on request.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Logging and tracing could not be set up.
    #[error(transparent)]
    Telemetry(#[from] plinth_telemetry::TelemetryError),
    /// The service could not start.
    #[error(transparent)]
    Start(#[from] StartError),
    /// The server or a task beside it failed.
    #[error(transparent)]
    Stopped(#[from] plinth_core::service::Stopped),
}

/// A service's process, as its `main` runs it: telemetry named `name`, the
/// settings ([`ServiceSettings::load`]), `build`, then serving until SIGINT or
/// SIGTERM.
pub async fn run<S, F, Fut>(name: &str, build: F) -> Result<(), RunError>
where
    S: ServiceSettings,
    F: FnOnce(S) -> Fut,
    Fut: Future<Output = Result<Service, StartError>>,
{
    let _telemetry = plinth_telemetry::init(&plinth_telemetry::TelemetryConfig::new(name))?;
    let settings = S::load().map_err(StartError::from)?;
    build(settings).await?.run_until_stopped().await?;
    Ok(())
}

/// A service's settings: its built-in defaults and the part every service shares.
pub trait ServiceSettings: DeserializeOwned {
    /// The defaults for the dev stack (`make up`), as JSON.
    fn defaults() -> serde_json::Value;

    /// The settings the skeleton reads.
    fn base(&self) -> Base<'_>;

    /// Defaults, then `PLINTH_CONFIG`'s file if set, then `PLINTH_…` variables.
    fn load() -> Result<Self, ConfigError> {
        plinth_config::load(Self::defaults())
    }

    /// The defaults with `overrides` merged over them, key by key: how tests, and
    /// other crates' tests, run the service.
    fn with_overrides(overrides: serde_json::Value) -> Result<Self, ConfigError> {
        plinth_config::with_overrides(Self::defaults(), overrides)
    }
}

/// The settings every service has; a service's own settings hold them
/// flattened (`#[serde(flatten)] pub shared: SharedSettings`), so their keys stay
/// at the top level (`region`, `http.port`, `PLINTH_HTTP__PORT`).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct SharedSettings {
    /// The region this deployment serves; tenants of the other region are refused.
    pub region: Region,
    /// Where it listens.
    pub http: HttpSettings,
    /// Its own database.
    pub database: DatabaseSettings,
    /// The event bus, and whether this process runs the relay and the consumers.
    pub bus: BusSettings,
    /// The gateway's public key for internal tokens.
    pub auth: AuthSettings,
}

/// Implements [`ServiceSettings`] for a service's settings type whose shared
/// part is its field `shared` ([`SharedSettings`]):
/// `service_settings!(Settings, name = crate::AUDIENCE, defaults = dev_defaults);`
#[macro_export]
macro_rules! service_settings {
    ($settings:ty, name = $name:expr, defaults = $defaults:path) => {
        impl $crate::ServiceSettings for $settings {
            fn defaults() -> serde_json::Value {
                $defaults()
            }

            fn base(&self) -> $crate::Base<'_> {
                $crate::Base {
                    name: $name,
                    region: self.shared.region,
                    http: &self.shared.http,
                    database: &self.shared.database,
                    bus: &self.shared.bus,
                    auth: &self.shared.auth,
                }
            }
        }
    };
}

/// A service's defaults for the dev stack (`make up`): it listens on `port` of
/// 127.0.0.1 (its metrics and health on a free port: `make up` sets
/// `http.internal_port` to `port + 100`) and takes bodies up to
/// `body_limit_bytes`, keeps its data in the dev
/// PostgreSQL's database `database` (the app role for requests, the owner for
/// migrations), runs its relay and consumers on the dev broker, and serves the US
/// region; `own` adds the service's own sections. Production sets every URL and key.
pub fn dev_defaults(
    port: u16,
    database: &str,
    body_limit_bytes: usize,
    own: serde_json::Value,
) -> serde_json::Value {
    let mut defaults = serde_json::json!({
        "region": "us",
        "http": {
            "host": "127.0.0.1", "port": port,
            "body_limit_bytes": body_limit_bytes
        },
        "database": {
            "app_url": format!("postgres://plinth_app:plinth@127.0.0.1:5432/{database}"),
            "owner_url": format!("postgres://plinth_owner:plinth@127.0.0.1:5432/{database}"),
            "app_role": "plinth_app",
            "pool_size": 16
        },
        "bus": {
            "brokers": "127.0.0.1:19092", "topic_prefix": "", "partitions": 3,
            "relay": true, "consumers": true
        },
        "auth": { "internal_token_public_key": "" }
    });
    if let (Some(shared), serde_json::Value::Object(own)) = (defaults.as_object_mut(), own) {
        shared.extend(own);
    }
    defaults
}

/// A service started but not yet serving: its pool and bus for the service's own
/// parts, and the tasks and verifier [`Skeleton::bind`] hands to the server.
pub struct Skeleton {
    /// The app role's pool: row-level security applies to it.
    pub pool: Pool,
    /// The brokers, the topic prefix and this service's principal.
    pub bus: BusConfig,
    /// The region this deployment serves.
    pub region: Region,
    name: &'static str,
    consumers: bool,
    http: HttpSettings,
    verifier: web::Data<TokenVerifier>,
    tasks: Tasks,
    relay: Option<RelayStats>,
    consumer_stats: Vec<(String, ConsumerStats)>,
    collectors: Vec<Box<dyn prometheus_client::collector::Collector>>,
    scraped: Vec<ops::ScrapedGauge>,
    migrations: Vec<String>,
}

impl std::fmt::Debug for Skeleton {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Skeleton")
            .field("name", &self.name)
            .field("region", &self.region)
            .field("bus", &self.bus)
            .finish_non_exhaustive()
    }
}

impl Skeleton {
    /// Migrates the database (as its owner) and connects as the app role, reads
    /// the gateway's public key, and starts the outbox relay unless `bus.relay` is
    /// off.
    pub async fn start<M>(base: Base<'_>, migrations: M) -> Result<Self, StartError>
    where
        M: diesel::migration::MigrationSource<diesel::pg::Pg> + Send + 'static,
    {
        let versions = diesel::migration::MigrationSource::migrations(&migrations)
            .map_err(SetupError::Migration)?
            .iter()
            .map(|m| m.name().version().to_string())
            .collect();
        let pool = migrated_pool(base.database, migrations).await?;
        let bus = BusConfig::of(base.bus);
        let verifier = web::Data::new(TokenVerifier::from_base64url(
            &base.auth.internal_token_public_key,
            base.name,
            base.region,
        )?);
        let mut tasks = Tasks::default();
        let mut relay_stats = None;
        if base.bus.relay {
            let relay = Relay::new(
                pool.clone(),
                base.database.app_url.expose_secret(),
                bus.clone(),
                RelayConfig::default(),
            );
            relay_stats = Some(relay.stats());
            tasks.spawn("relay", |stop| relay.run(stop));
        }
        Ok(Skeleton {
            pool,
            bus,
            region: base.region,
            name: base.name,
            consumers: base.bus.consumers,
            http: base.http.clone(),
            verifier,
            tasks,
            relay: relay_stats,
            consumer_stats: Vec::new(),
            collectors: Vec::new(),
            scraped: Vec::new(),
            migrations: versions,
        })
    }

    /// Creates the topics of `specs` that do not exist yet (and leaves the others
    /// as they are).
    pub async fn create_topics(&self, specs: &[TopicSpec]) -> Result<(), StartError> {
        Ok(ensure_topics(&self.bus, specs).await?)
    }

    /// Whether this process runs the service's consumers (`bus.consumers`).
    pub fn runs_consumers(&self) -> bool {
        self.consumers
    }

    /// Runs `handler` over `topics` in the consumer group `<prefix><service>.<role>`,
    /// if this process runs consumers.
    pub fn consume<H: Handler>(&mut self, role: &str, topics: Vec<String>, handler: H) {
        if !self.consumers {
            return;
        }
        let group = format!("{}{}.{role}", self.bus.topic_prefix, self.name);
        let consumer = Consumer::new(
            self.pool.clone(),
            self.bus.clone(),
            ConsumerConfig::new(group.clone(), topics),
            handler,
        );
        self.consumer_stats.push((group, consumer.stats()));
        self.tasks
            .spawn(&format!("consumer {role}"), |stop| consumer.run(stop));
    }

    /// Adds the service's own figures to its `/metrics`, read at each scrape
    /// (e.g. a cache's hits and misses).
    pub fn collect(&mut self, collector: impl prometheus_client::collector::Collector) {
        self.collectors.push(Box::new(collector));
    }

    /// Adds a figure the service reads from its own tables at each scrape.
    pub fn scrape(&mut self, gauge: ops::ScrapedGauge) {
        self.scraped.push(gauge);
    }

    /// Runs `task`, named `name` in readiness, beside the server until the
    /// service stops.
    pub fn spawn<F, E>(&mut self, name: &str, task: impl FnOnce(CancellationToken) -> F)
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<TaskError> + 'static,
    {
        self.tasks.spawn(name, task);
    }

    /// Runs `round` every `period` beside the server until the service stops,
    /// named `name` in readiness (a timer: checkpoints, health checks, key
    /// shredding). A round that fails is logged and the next one runs as usual.
    pub fn every<F, Fut, E>(&mut self, name: &str, period: std::time::Duration, mut round: F)
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send,
        E: std::fmt::Display,
    {
        let task = name.to_owned();
        self.spawn(name, move |stop| async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = stop.cancelled() => return Ok::<(), TaskError>(()),
                    _ = tick.tick() => {}
                }
                if let Err(e) = round().await {
                    tracing::warn!(error = %e, task = %task, "a round failed; the next one runs as usual");
                }
            }
        });
    }

    /// Binds the HTTP server: `state` and the token verifier as shared data,
    /// `GET /openapi.json` answering `openapi`, then `routes`.
    pub fn bind<S, R>(
        self,
        state: web::Data<S>,
        openapi: utoipa::openapi::OpenApi,
        routes: R,
    ) -> Result<Service, StartError>
    where
        S: Send + Sync + 'static,
        R: Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
    {
        let document = web::Data::new(OpenApiDocument(document(&openapi)?.into()));
        let verifier = self.verifier;
        let ops = Arc::new(Ops::new(ops::Sources {
            service: self.name,
            pool: self.pool.clone(),
            relay: self.relay,
            consumers: self.consumer_stats,
            collectors: self.collectors,
            scraped: self.scraped,
            tasks: self.tasks.watches(),
            migrations: self.migrations,
            stopping: self.tasks.stopping(),
        }));
        let observer = ops.observer();
        let service = Service::bind_observed(
            self.http.listen(),
            self.tasks,
            Some(observer),
            move |config| {
                config
                    .app_data(state.clone())
                    .app_data(verifier.clone())
                    .app_data(document.clone())
                    .route("/openapi.json", web::get().to(openapi_document));
                routes(config);
            },
        )?
        .serve_internal(
            self.http.listen(),
            self.http.internal_port,
            ops::routes(web::Data::from(ops)),
        )?;
        tracing::info!(
            port = service.port(),
            internal_port = service.internal_port(),
            region = %self.region,
            "{} listening",
            self.name
        );
        Ok(service)
    }
}

/// The served OpenAPI document, rendered once at start-up.
#[derive(Debug)]
struct OpenApiDocument(web::Bytes);

/// The OpenAPI document, for partners and tools; it describes no tenant data and
/// is the one operation served without a token.
async fn openapi_document(document: web::Data<OpenApiDocument>) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("application/json")
        .body(document.0.clone())
}

/// `openapi` as checked in under `schemas/openapi/`: pretty JSON with a final
/// newline.
pub fn document(openapi: &utoipa::openapi::OpenApi) -> Result<String, serde_json::Error> {
    let mut json = openapi.to_pretty_json()?;
    json.push('\n');
    Ok(json)
}

/// What every service's state does the same way. A service implements the three
/// required methods; the rest come with them.
pub trait ServiceState: Sync {
    /// The app role's pool.
    fn pool(&self) -> &Pool;

    /// The service's audit event of `audited`, refused or allowed.
    fn audit_event(
        &self,
        ctx: &ReqCtx,
        audited: &Audited,
        outcome: Outcome,
        reason: Option<&str>,
    ) -> Result<Event, ApiError>;

    /// Whether this service knows `tenant`, in a transaction scoped to it: the
    /// registry's own row, another service's projection of the registry.
    fn has_tenant_on_conn(
        &self,
        conn: &mut AsyncPgConnection,
        tenant: TenantId,
    ) -> impl Future<Output = Result<bool, ApiError>> + Send;

    /// A connection from the pool; none in time is `503 unavailable`.
    fn conn(&self) -> impl Future<Output = Result<PooledConn, ApiError>> + Send {
        plinth_db::checkout(self.pool())
    }

    /// Passes `result` through; a refusal is recorded as the action's audit event.
    fn audited<T: Send>(
        &self,
        caller: &(impl Requester + Sync),
        audited: &Audited,
        result: Result<T, ApiError>,
    ) -> impl Future<Output = Result<T, ApiError>> + Send {
        async move {
            if let Err(err) = &result {
                self.audit_refusal(caller, audited, err).await;
            }
            result
        }
    }

    /// Records a refused action in a transaction of its own; a failure to record
    /// it is logged, and the caller still gets the original refusal. A refusal
    /// naming a tenant the caller does not reach, or one this service does not
    /// know, goes to the platform's log (`Audited::in_platform_log`), so nobody
    /// writes into another tenant's trail or opens a log for a made-up one.
    fn audit_refusal(
        &self,
        caller: &(impl Requester + Sync),
        audited: &Audited,
        err: &ApiError,
    ) -> impl Future<Output = ()> + Send {
        async move {
            let vouched = match audited.tenant {
                Some(tenant) => caller.reaches(tenant) && self.knows_tenant(tenant).await,
                None => true,
            };
            let audited = if vouched {
                audited.clone()
            } else {
                audited.clone().in_platform_log()
            };
            let event = self.audit_event(
                caller.ctx(),
                &audited,
                Outcome::of(err),
                Some(err.code().as_str()),
            );
            plinth_bus::record_refusal(self.pool(), event, audited.action).await;
        }
    }

    /// Whether this service knows `tenant`; a failure to find out is a no.
    fn knows_tenant(&self, tenant: TenantId) -> impl Future<Output = bool> + Send {
        async move {
            let Ok(mut conn) = self.conn().await else {
                return false;
            };
            plinth_db::scoped_transaction(&mut conn, &TenantScope::Tenant(tenant), async |conn| {
                self.has_tenant_on_conn(conn, tenant).await
            })
            .await
            .unwrap_or(false)
        }
    }
}

/// The row-level security scope of a caller: its own tenant for tenant roles; for
/// platform roles, the tenants it is bound to, or all.
pub fn scope_of(caller: &Caller) -> TenantScope {
    TenantScope::of(&caller.ctx, caller.bound_tenants.as_deref())
}

/// Platform-wide changes (Domain Packs, playbooks, module releases, trusted
/// signers) are the unbound platform team's: MSP staff bound to chosen tenants
/// act in those tenants only.
pub fn require_platform_wide(caller: &Caller) -> Result<(), ApiError> {
    if caller.bound_tenants.is_some() {
        return Err(ApiError::forbidden(
            "you act for chosen tenants only; platform-wide changes are the platform team's",
        ));
    }
    Ok(())
}
