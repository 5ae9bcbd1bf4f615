//! The tenant registry: tenants (region-pinned, with a data mode and a lifecycle),
//! and the events and audit records every change produces.
//!
//! [`Application::build`] migrates the database, creates the service's topics,
//! starts the outbox relay and binds the HTTP server; [`Application::run_until_stopped`]
//! serves until the process is asked to stop. `main.rs` and the tests call the same
//! two functions.

pub mod app;
pub mod domain;
pub mod events;
pub mod http;
pub mod saga;
mod schema;
pub mod settings;
pub mod store;

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use anyhow::Context as _;
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use plinth_authz::TokenVerifier;
use plinth_bus::{
    BusConfig, Consumer, ConsumerConfig, Relay, RelayConfig, TopicSpec, ensure_topics,
};
use plinth_core::request_id_middleware;
use plinth_db::{MigrationSet, connect_pool, migrate};
use secrecy::ExposeSecret;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::app::AppState;
use crate::events::Events;
use crate::saga::Saga;
pub use crate::settings::Settings;

/// The service's own migrations (`migrations/tenant-registry`).
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/tenant-registry");

/// Every migration the service's database needs, in order.
pub fn all_migrations() -> MigrationSet<3> {
    MigrationSet([plinth_db::MIGRATIONS, plinth_bus::MIGRATIONS, MIGRATIONS])
}

/// The audience of the internal tokens this service accepts.
pub const AUDIENCE: &str = "tenant-registry";

/// A built service, bound and ready to serve.
pub struct Application {
    port: u16,
    server: Server,
    relay: Option<(CancellationToken, JoinHandle<anyhow::Result<()>>)>,
    saga: Option<(CancellationToken, JoinHandle<anyhow::Result<()>>)>,
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
        let applied = migrate(
            settings.database.owner_url.expose_secret(),
            &settings.database.app_role,
            all_migrations(),
        )
        .await
        .context("migrating the database")?;
        if !applied.is_empty() {
            tracing::info!(?applied, "migrations applied");
        }
        let app_url = settings.database.app_url.expose_secret().to_owned();
        let pool = connect_pool(&app_url, settings.database.pool_size)?;
        let bus = BusConfig::new(&settings.bus.brokers)
            .with_topic_prefix(&settings.bus.topic_prefix)
            .with_properties(&settings.bus.properties);
        let events = Events::new(&bus, settings.region);
        let state = Arc::new(AppState {
            pool: pool.clone(),
            events,
            onboarding: settings.onboarding.clone(),
            offboarding: settings.offboarding.clone(),
            default_entitlements: settings.default_entitlements.clone(),
        });
        let saga = Saga::new(state.clone(), settings.region)?;
        let saga_topics = saga.topics(&bus);
        let mut topics = state.events.topics(settings.bus.partitions);
        topics.extend(saga_topics.iter().flat_map(|t| {
            let spec = TopicSpec::new(t, settings.bus.partitions);
            [spec.dlq(), spec]
        }));
        ensure_topics(&bus, &topics)
            .await
            .context("creating topics")?;
        let verifier = web::Data::new(TokenVerifier::from_base64url(
            &settings.auth.internal_token_public_key,
            AUDIENCE,
            settings.region,
        )?);

        let relay = settings.bus.relay.then(|| {
            let stop = CancellationToken::new();
            let relay = Relay::new(pool.clone(), &app_url, bus.clone(), RelayConfig::default());
            (stop.clone(), tokio::spawn(relay.run(stop)))
        });

        let saga = settings.bus.consumers.then(|| {
            let stop = CancellationToken::new();
            let group = format!("{}tenant-registry.onboarding", settings.bus.topic_prefix);
            let consumer = Consumer::new(
                pool.clone(),
                bus.clone(),
                ConsumerConfig::new(group, saga_topics),
                saga,
            );
            (stop.clone(), tokio::spawn(consumer.run(stop)))
        });
        let state = web::Data::from(state);
        let listener = TcpListener::bind((settings.http.host.as_str(), settings.http.port))
            .with_context(|| format!("binding {}:{}", settings.http.host, settings.http.port))?;
        let port = listener.local_addr()?.port();
        let limit = settings.http.body_limit_bytes;
        let server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(request_id_middleware))
                .app_data(state.clone())
                .app_data(verifier.clone())
                .app_data(http::json_config(limit))
                .configure(http::routes)
        })
        .listen(listener)?
        .run();
        tracing::info!(port, region = %settings.region, "tenant-registry listening");
        Ok(Application {
            port,
            server,
            relay,
            saga,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until the server stops (on SIGINT or SIGTERM), then stops the relay.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let served = self.server.await;
        for (stop, task) in [self.relay, self.saga].into_iter().flatten() {
            stop.cancel();
            task.await??;
        }
        Ok(served?)
    }
}
